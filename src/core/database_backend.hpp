// What a libsql::database holds: one backend per transport. database.cpp picks the backend from the path and the
// options; each transport's folder implements its own (src/local, src/remote, src/replica).
#pragma once

#include "libsql/database.hpp"

#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace libsql::detail {

class database_backend {
public:
    virtual ~database_backend();

    /// A new connection's backend (database::connect() wraps it in a libsql::connection).
    [[nodiscard]] virtual std::shared_ptr<connection_backend> connect() = 0;
    [[nodiscard]] virtual const std::string& path() const noexcept = 0;
    [[nodiscard]] virtual const connect_options& options() const noexcept = 0;
    [[nodiscard]] virtual libsql::transport transport() const noexcept = 0;

    /// database::rekey(); the default raises unsupported (only local files override it).
    virtual void rekey(std::string_view new_key);

    // Replication control; the default raises unsupported (only replicas override these).
    virtual sync_result sync();
    virtual sync_result sync_until(std::uint64_t index);
    [[nodiscard]] virtual std::optional<std::uint64_t> replication_index() const;
    virtual std::uint64_t flush_replicator();
    virtual void freeze();
};

/// True for libsql://, http(s):// and ws(s):// URLs.
[[nodiscard]] bool is_remote_url(std::string_view path) noexcept;

/// src/core/database.cpp: a local file or :memory:.
[[nodiscard]] std::shared_ptr<database_backend> open_local_database(std::string_view path, const connect_options& options);
/// src/remote/remote_database.cpp: a server reached over Hrana. `url` as the user gave it.
[[nodiscard]] std::shared_ptr<database_backend> open_remote_database(std::string_view url, const connect_options& options);
/// src/replica/replica_database.cpp: a local file synced from options.sync_url.
[[nodiscard]] std::shared_ptr<database_backend> open_replica_database(std::string_view path, const connect_options& options);

} // namespace libsql::detail
