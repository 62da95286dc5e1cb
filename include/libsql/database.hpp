// libsql/database.hpp: a database to connect to. Opening checks the options; connect() gives connections.
//
//   libsql::database db("app.db");                // a file (created if missing)
//   libsql::database mem(":memory:");             // in memory, shared by all connections of this object
//   libsql::database uri("file:app.db?mode=ro");  // a SQLite URI
//   libsql::database remote("libsql://db.example.turso.io", {.auth_token = token});  // a server (Hrana over HTTP)
//   libsql::database replica("local.db", {.auth_token = token, .sync_url = "https://..."});  // embedded replica
//   auto conn = db.connect();
//
// A database is shared freely between threads: connect() may be called from any thread at any time.
#pragma once

#include "libsql/connection.hpp"
#include "libsql/options.hpp"
#include "libsql/replication.hpp"

#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace libsql {

namespace detail { class database_backend; }

class database {
public:
    explicit database(std::string_view path, connect_options options = {});
    database(database&&) noexcept;
    database& operator=(database&&) noexcept;
    ~database();

    /// A new connection, with the options' busy_timeout already applied.
    [[nodiscard]] connection connect() const;
    [[nodiscard]] const std::string& path() const noexcept;
    [[nodiscard]] const connect_options& options() const noexcept;
    /// Which transport connections of this database use.
    [[nodiscard]] libsql::transport transport() const noexcept;

    /// Re-encrypts the file with new_key (the cipher of the options), or decrypts it when new_key is empty; an
    /// unencrypted file is encrypted. Local files only (unsupported elsewhere). Crash-safe: the file is rewritten
    /// beside itself and renamed over, so after a crash it opens with either the old or the new key. Needs the file
    /// to itself: a connection of this database still open makes it fail with usage_error (and connections of
    /// other processes must be closed too). Connections opened afterwards use the new key.
    void rekey(std::string_view new_key);

    // --- embedded replicas (sync_url set). On other databases these raise libsql::unsupported.
    /// Pulls and applies what the primary committed since the last sync.
    sync_result sync();
    /// Syncs until the replica's replication index is at least `index` (or the primary has nothing more).
    sync_result sync_until(std::uint64_t index);
    /// The primary's frame number of the last commit applied locally; none before the first frame.
    [[nodiscard]] std::optional<std::uint64_t> replication_index() const;
    /// Makes durable whatever has been applied and returns the committed replication index (0 when none).
    std::uint64_t flush_replicator();
    /// Stops replicating for good: the file becomes a plain local database (data intact, local writes allowed).
    /// Connections opened afterwards are local ones; the replica's metadata file is removed.
    void freeze();

private:
    std::shared_ptr<detail::database_backend> d_;
};

} // namespace libsql
