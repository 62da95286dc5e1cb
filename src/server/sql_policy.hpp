// Internal to libsql serve: what a client's SQL may do on a server connection. One authorizer (installed through
// libsql::connection::authorizer on every connection the service opens) decides, statement by statement:
//
// - File-system safety, for every token: nothing may reach outside the served database. ATTACH (and VACUUM INTO,
//   which SQLite runs as an ATTACH of its output file) is refused unless the file lies under the folder given by
//   --attach-dir (canonicalised, so neither ".." nor a symlink escapes it); temporary and in-memory attachments
//   ('' and ':memory:', which plain VACUUM uses) are allowed. Refused as well: PRAGMA writable_schema, schema_version
//   assignments and journal_mode=OFF (each can corrupt the file), writes to the sqlite_dbpage virtual table (raw
//   pages), PRAGMAs that change the process rather than the connection (temp_store_directory, data_store_directory,
//   soft/hard_heap_limit, threads), and load_extension().
// - Read-only tokens: statements that would write are refused. BEGIN IMMEDIATE/EXCLUSIVE are not visible to an
//   authorizer (it sees every BEGIN alike): the service runs read-only streams with PRAGMA query_only=1 for that.
// - Replication: clients may not checkpoint nor change the journal mode (only the service checkpoints).
//
// A refusal fails the statement's prepare with SQLITE_AUTH; the guard keeps the reason so that the Hrana error says
// what was refused and why.
#pragma once

#include "libsql/hooks.hpp"

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

namespace libsql::server::detail {

/// The service-wide part of the policy (same for every connection).
struct sql_policy {
    /// Canonical folder under which ATTACH may open files; none: ATTACH of files is refused.
    std::optional<std::filesystem::path> attach_dir;
};

/// Canonicalises the --attach-dir folder; throws libsql::usage_error when it is not an existing directory.
[[nodiscard]] sql_policy make_sql_policy(const std::optional<std::string>& attach_dir);

/// What the authorizer of one connection reads and records.
struct guard_state {
    bool read_only = false;    ///< the current request's token may only read
    bool internal = false;     ///< the server's own statements (query_only, describe): neither denied nor recorded
    bool dirty = false;        ///< the connection's state changed in a way a later stream must not inherit
    bool protect_wal = false;  ///< replication is on: clients may not checkpoint nor change the journal mode
    bool schema_write = false; ///< a statement prepared since the last look changes the main schema (CREATE…)
    std::string denial;        ///< why the last refusal happened (empty: none since cleared)
    /// The one file URI the statement being prepared may ATTACH: another namespace, read-only (set by the service
    /// around the prepare of a rewritten `ATTACH 'ns' AS alias`; empty otherwise).
    std::string namespace_attach;
};

[[nodiscard]] authorizer_result authorize(const sql_policy& policy, guard_state& g, const authorizer_request& r);

/// Whether path (as SQLite would open it, relative to the working directory) lies inside dir (canonical).
[[nodiscard]] bool path_inside(const std::filesystem::path& dir, std::string_view path);

[[nodiscard]] bool iequal(std::string_view a, std::string_view b) noexcept;

} // namespace libsql::server::detail
