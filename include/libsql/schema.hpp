// libsql/schema.hpp: storage and structure: create and drop a local database, dump its schema (with the applied
// migration versions) as SQL text, load such a dump into another database.
//
//   libsql::create_database("data/app.db");                // false when it already existed
//   auto dump = libsql::dump_schema(conn);                  // CREATE … ; … INSERT INTO schema_migrations …
//   libsql::load_schema(fresh, dump);                       // one transaction: all of it or nothing
//   libsql::drop_database("data/app.db");                   // the file and its -wal, -shm and -journal
//
// The dump holds the schema only, no rows, except the rows of schema_migrations (see migrations.hpp), so a database
// loaded from it knows which migrations its schema already contains. Order: tables, then indexes, views, triggers,
// each group in creation order (sqlite_schema's rowid), which keeps it loadable (a view over a view made earlier,
// an INSTEAD OF trigger on a view). Left out: SQLite's own objects (sqlite_sequence, sqlite_stat1, automatic
// indexes), the shadow tables of virtual tables (the CREATE VIRTUAL TABLE remakes them), temp objects, attached
// databases, and PRAGMA settings (user_version, journal_mode, …).
//
// dump_schema() and load_schema() use only the public connection API, so they work on every transport;
// create_database() and drop_database() are for local files.
#pragma once

#include "libsql/connection.hpp"

#include <filesystem>
#include <string>
#include <string_view>

namespace libsql {

/// SQL text recreating the main database's schema, then one INSERT per row of schema_migrations when that table
/// exists. Statements end with ";\n"; the text starts with a "--" comment line.
[[nodiscard]] std::string dump_schema(connection& conn);

/// Runs a dump (any SQL, in fact) as one transactional batch: inside a transaction of its own, or a savepoint when
/// the connection is already in one. On error nothing of it stays and the error propagates.
void load_schema(connection& conn, std::string_view dump);

/// Creates an empty database file (and its parent folders). Returns false, changing nothing, when the file already
/// exists. ":memory:", "" and "file:" URIs are a usage_error.
bool create_database(const std::filesystem::path& path);

/// Deletes a database file together with its -wal, -shm and -journal files. Returns false when the database file
/// did not exist (leftover companion files are still removed). ":memory:", "" and "file:" URIs are a usage_error.
/// No connection may be open on it (SQLite does not notice the file going away; it would keep writing into a
/// deleted file).
bool drop_database(const std::filesystem::path& path);

} // namespace libsql
