// Schema dump and load, create and drop of local database files (see libsql/schema.hpp).
#include "libsql/schema.hpp"

#include "libsql/database.hpp"
#include "libsql/error.hpp"
#include "libsql/rows.hpp"

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <system_error>
#include <utility>

namespace libsql {

namespace {

/// 'text' as a SQL string literal.
std::string sql_quoted(std::string_view text) {
    std::string out;
    out.reserve(text.size() + 2);
    out += '\'';
    for (const char c : text) {
        if (c == '\'') out += '\'';
        out += c;
    }
    out += '\'';
    return out;
}

std::string literal(const std::optional<std::string>& text) { return text ? sql_quoted(*text) : std::string("NULL"); }

/// Names of the shadow tables of virtual tables (PRAGMA table_list, SQLite 3.37+).
std::set<std::string> shadow_tables(connection& conn) {
    std::set<std::string> names;
    for (auto r : conn.query("SELECT name FROM pragma_table_list WHERE schema = 'main' AND type = 'shadow'")) {
        names.insert(r.get<std::string>(0));
    }
    return names;
}

void check_local_path(const std::filesystem::path& path, const char* what) {
    const std::string text = path.string();
    if (text.empty() || text == ":memory:" || text.starts_with("file:")) {
        throw usage_error(std::string(what) + ": expected the path of a local database file, got \"" + text +
                          "\" (in-memory databases and URIs are not files it can manage)");
    }
}

} // namespace

std::string dump_schema(connection& conn) {
    const std::set<std::string> shadows = shadow_tables(conn);
    std::string out = "-- libsql schema dump\n";
    bool has_migrations = false;
    for (auto r : conn.query("SELECT type, name, sql FROM sqlite_schema "
                             "WHERE sql IS NOT NULL AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' "
                             "ORDER BY CASE type WHEN 'table' THEN 0 WHEN 'index' THEN 1 WHEN 'view' THEN 2 ELSE 3 END, "
                             "rowid")) {
        const auto type = r.get<std::string>(0);
        const auto name = r.get<std::string>(1);
        if (type == "table" && shadows.contains(name)) continue;
        if (type == "table" && name == "schema_migrations") has_migrations = true;
        out += r.get<std::string>(2);
        out += ";\n";
    }
    if (has_migrations) {
        for (auto r : conn.query("SELECT version, name, applied_at FROM schema_migrations ORDER BY version")) {
            out += "INSERT INTO schema_migrations(version, name, applied_at) VALUES (";
            out += std::to_string(r.get<std::int64_t>(0));
            out += ", ";
            out += literal(r.get<std::optional<std::string>>(1));
            out += ", ";
            out += literal(r.get<std::optional<std::string>>(2));
            out += ");\n";
        }
    }
    return out;
}

void load_schema(connection& conn, std::string_view dump) { conn.execute_transactional_batch(dump); }

bool create_database(const std::filesystem::path& path) {
    check_local_path(path, "create_database");
    if (std::filesystem::exists(path)) return false;
    if (const auto parent = path.parent_path(); !parent.empty()) std::filesystem::create_directories(parent);
    const database db(path.string());
    auto conn = db.connect();
    // Writing the header makes the file a database (SQLite otherwise leaves it empty until the first write).
    conn.execute_batch("PRAGMA user_version = 0");
    (void)conn.query_value<std::int64_t>("SELECT count(*) FROM sqlite_schema");
    return true;
}

bool drop_database(const std::filesystem::path& path) {
    check_local_path(path, "drop_database");
    const bool existed = std::filesystem::remove(path);
    for (const char* suffix : {"-wal", "-shm", "-journal"}) {
        std::filesystem::path companion = path;
        companion += suffix;
        std::filesystem::remove(companion);
    }
    return existed;
}

} // namespace libsql
