// libsql/migrations.hpp: versioned schema migrations.
//
//   auto m = libsql::migrator::from_directory("db/migrations");   // 0001_users.up.sql, 0001_users.down.sql, …
//   m.add({.version = 42, .name = "index_email", .up = "CREATE INDEX …", .down = "DROP INDEX …"});
//   m.up(conn);                          // every pending migration, in version order
//   for (const auto& s : m.status(conn)) std::cout << s.version << (s.applied ? " applied" : " pending") << '\n';
//
// Bookkeeping lives in the table schema_migrations(version INTEGER PRIMARY KEY, name TEXT, applied_at TEXT), with
// applied_at an ISO-8601 UTC time ("2026-11-26T16:47:31.123Z").
//
// Atomicity: each migration runs in its own transaction together with the insert (or delete) of its
// schema_migrations row, so a migration that fails leaves no trace (neither its changes nor its row), its error
// propagates unchanged, and later migrations do not run. Migration SQL therefore must not contain BEGIN, COMMIT or
// other statements SQLite refuses inside a transaction (VACUUM, changing journal_mode); PRAGMA foreign_keys is
// silently ignored inside one, so a table rebuild that needs it off must be done by the caller around up().
//
// Concurrency: every migration step opens its transaction with BEGIN IMMEDIATE, which takes the database's write
// lock, and only then re-reads whether that version is applied. Two migrators (threads or processes, each with
// its own connection) on one database are therefore serialised step by step, and the second one sees the first
// one's row and skips the step: each migration is applied exactly once. The wait for the lock is the connection's
// busy timeout; beyond it the step fails with libsql::busy and nothing of it is applied.
//
// Only the public connection API is used, so a migrator works on every transport.
#pragma once

#include "libsql/connection.hpp"

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace libsql {

struct migration {
    std::int64_t version = 0;  ///< unique, positive; migrations run in increasing version order
    std::string name;
    std::string up;            ///< SQL applying the change (one or more statements)
    std::string down;          ///< SQL undoing it; empty: the migration cannot be reverted
    friend bool operator==(const migration&, const migration&) = default;
};

/// One line of migrator::status().
struct migration_status {
    std::int64_t version = 0;
    std::string name;
    bool applied = false;
    std::optional<std::string> applied_at;  ///< set when applied
    bool known = true;  ///< false: recorded in schema_migrations but not registered in this migrator
    friend bool operator==(const migration_status&, const migration_status&) = default;
};

class migrator {
public:
    static constexpr const char* table_name = "schema_migrations";

    migrator() = default;
    /// From migrations given in code; a duplicate or non-positive version is a usage_error.
    explicit migrator(std::vector<migration> migrations);

    /// From a folder of NNNN_name.up.sql and (optional) NNNN_name.down.sql files. Other files are ignored. A
    /// malformed name, two files for one version and direction, a down file without its up file, or a version
    /// registered twice is a usage_error naming the file.
    [[nodiscard]] static migrator from_directory(const std::filesystem::path& dir);

    /// Registers one more migration (kept sorted); a duplicate or non-positive version is a usage_error.
    migrator& add(migration m);
    /// The registered migrations, by increasing version.
    [[nodiscard]] const std::vector<migration>& migrations() const noexcept { return migrations_; }

    /// Applies every pending migration, in version order; returns the versions this call applied.
    std::vector<std::int64_t> up(connection& conn) const;
    /// Applies the pending migrations with version <= target.
    std::vector<std::int64_t> up_to(connection& conn, std::int64_t target) const;
    /// Reverts the most recently applied (highest) version; none when nothing is applied.
    std::optional<std::int64_t> down(connection& conn) const;
    /// Reverts every applied version above target, highest first; returns them.
    std::vector<std::int64_t> down_to(connection& conn, std::int64_t target) const;
    /// Every registered migration and every recorded one, by version, with its applied flag and time. Does not
    /// write to the database (a missing schema_migrations table reads as nothing applied).
    [[nodiscard]] std::vector<migration_status> status(connection& conn) const;
    /// The highest applied version, none when nothing is applied.
    [[nodiscard]] std::optional<std::int64_t> current_version(connection& conn) const;

private:
    [[nodiscard]] const migration* find(std::int64_t version) const noexcept;
    std::vector<std::int64_t> apply_through(connection& conn, std::optional<std::int64_t> target) const;
    bool apply(connection& conn, const migration& m) const;
    std::optional<std::int64_t> revert_highest_above(connection& conn, std::int64_t above) const;

    std::vector<migration> migrations_;
};

} // namespace libsql
