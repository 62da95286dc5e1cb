// Embedded replicas: a local file synced from a primary over the legacy Turso sync protocol (GET /info,
// /export/{g}, /sync/{g}/{start}/{end}); reads run on the file, writes go to the primary over Hrana.
// docs/REPLICATION.md describes the design and the metadata file.
#pragma once

#include "core/database_backend.hpp"
#include "replica/apply.hpp"
#include "replica/sync_client.hpp"

#include <atomic>
#include <exception>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

namespace libsql::detail::replica {

/// Frames asked for per /sync request (as the official engine).
inline constexpr std::uint64_t pull_batch = 128;

/// What the replica's database object and its connections share: the file, its metadata, the sync client, the
/// primary's remote database. Sync is serialised by one mutex.
class replica_core {
public:
    replica_core(std::string path, connect_options options);
    ~replica_core();
    replica_core(const replica_core&) = delete;
    replica_core& operator=(const replica_core&) = delete;

    [[nodiscard]] const std::string& path() const noexcept { return path_; }
    [[nodiscard]] const connect_options& options() const noexcept { return options_; }
    /// Options for the local connections on the file.
    [[nodiscard]] const connect_options& local_options() const noexcept { return local_options_; }

    sync_result sync(bool background = false);
    sync_result sync_until(std::uint64_t index);
    [[nodiscard]] std::optional<std::uint64_t> replication_index() const noexcept;
    std::uint64_t flush_replicator();
    void freeze();
    [[nodiscard]] bool frozen() const noexcept { return frozen_.load(std::memory_order_acquire); }

    /// The primary as a remote database (opened on first use), for the writes of replica connections.
    std::shared_ptr<database_backend> remote_database();

    /// Stops a background sync in progress (the database is going away).
    void cancel_background() noexcept;

    /// The last error a background sync met (kept; the next interval retries).
    [[nodiscard]] std::exception_ptr last_background_error() const;

private:
    void open();
    void bootstrap_new_file();
    /// bootstrap_new_file() for an encrypted replica: the export's pages applied to a new encrypted file.
    void bootstrap_encrypted(const std::string& export_file, std::uint64_t size, std::uint32_t page_size);
    void open_apply_connection();
    void resolve_pending();
    sync_result sync_locked(bool background);
    /// Pulls frames of `generation` from meta_.frame + 1 on. Returns the end record when the server sent one.
    std::optional<pull_result> pull_generation(std::uint64_t generation, bool background, std::uint64_t& frames);
    std::uint64_t apply_ready(ready_set ready, std::uint64_t generation);
    void rebootstrap(std::uint64_t generation);
    /// Writes the metadata with `pending`, applies, and advances meta_ if the apply went through.
    void apply_with_pending(const std::map<std::uint32_t, std::string>& pages, pending_apply p);
    void write_meta();
    void check_cancel(bool background) const;
    sync_client& client();

    std::string path_;
    std::string meta_path_;
    connect_options options_;
    connect_options local_options_;

    mutable std::mutex mu_;                      // serialises sync, flush, freeze; guards everything below
    metadata meta_;                              // the last applied commit (what the file holds)
    bool meta_dirty_ = false;                    // the file on disk lags meta_ (a pending record resolving to it)
    std::unique_ptr<sync_client> client_;
    std::shared_ptr<local_connection> apply_;    // the connection that applies pages
    std::exception_ptr background_error_;

    std::atomic<std::uint64_t> index_{0};
    std::atomic<bool> frozen_{false};
    std::atomic<bool> cancel_{false};
    std::atomic<bool> background_running_{false};

    std::mutex remote_mu_;
    std::shared_ptr<database_backend> remote_;
};

/// A connection of a replica (src/replica/replica_connection.cpp).
[[nodiscard]] std::shared_ptr<connection_backend> make_replica_connection(std::shared_ptr<replica_core> core);

} // namespace libsql::detail::replica
