// The legacy Turso sync protocol (protocol F of the notes) over HTTP: GET /info, GET /export/{g},
// GET /sync/{g}/{start}/{end}. One client per replica, used under the replica's sync mutex.
#pragma once

#include "remote/http.hpp"

#include "libsql/options.hpp"

#include <cstdint>
#include <memory>
#include <string>

namespace libsql::detail::replica {

/// What a /sync request gave: frames, or the end of what the generation has.
struct pull_result {
    bool end = false;               ///< "checkpoint_needed": nothing (more) in this generation
    std::uint64_t generation = 0;   ///< with end: the generation the server reported
    std::uint64_t max_frame_no = 0; ///< with end: the last frame the generation holds
    std::string body;               ///< without end: concatenated WAL frames
};

class sync_client {
public:
    sync_client(const std::string& sync_url, const connect_options& options);

    /// GET /info: the primary's current generation (>= 1).
    std::uint64_t info();
    /// GET /export/{generation} streamed into `file` (created or truncated); returns its size. The file is fsynced.
    std::uint64_t export_to(std::uint64_t generation, const std::string& file);
    /// GET /sync/{generation}/{start}/{end}.
    pull_result pull(std::uint64_t generation, std::uint64_t start, std::uint64_t end);
    /// Aborts the request in flight (any thread).
    void interrupt() noexcept { http_.interrupt(); }
    [[nodiscard]] const std::string& base_url() const noexcept { return base_; }

private:
    http::response get(const std::string& path);

    std::string base_;
    http::client http_;
};

} // namespace libsql::detail::replica
