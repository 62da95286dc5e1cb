// libsql/pragma.hpp: typed helpers for the PRAGMAs applications set most, plus a generic query.
//
//   libsql::pragma::enable_foreign_keys(conn);
//   libsql::pragma::set_journal_mode(conn, libsql::pragma::journal_mode::wal);
//   for (auto& c : libsql::pragma::table_info(conn, "users")) std::cout << c.name << ' ' << c.type << '\n';
#pragma once

#include "libsql/connection.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace libsql::pragma {

enum class journal_mode : std::uint8_t { delete_, truncate, persist, memory, wal, off };
enum class synchronous : std::uint8_t { off = 0, normal = 1, full = 2, extra = 3 };
[[nodiscard]] std::string_view to_string(journal_mode m) noexcept;
[[nodiscard]] std::string_view to_string(synchronous s) noexcept;

/// One column, as PRAGMA table_info reports it.
struct column_description {
    int cid = 0;
    std::string name;
    std::string type;
    bool not_null = false;
    std::optional<std::string> default_value;  ///< the default's SQL text
    int primary_key = 0;                       ///< 1-based position in the primary key, 0 when not part of it
    friend bool operator==(const column_description&, const column_description&) = default;
};

/// One table or view, as PRAGMA table_list reports it.
struct table_description {
    std::string schema;
    std::string name;
    std::string type;  ///< "table", "view", "shadow" or "virtual"
    int column_count = 0;
    bool without_rowid = false;
    bool strict = false;
};

void enable_foreign_keys(connection& c);
void disable_foreign_keys(connection& c);
[[nodiscard]] bool foreign_keys(connection& c);

/// Returns the mode actually in effect (an in-memory database stays in memory mode, for one).
journal_mode set_journal_mode(connection& c, journal_mode m);
[[nodiscard]] journal_mode get_journal_mode(connection& c);

void set_synchronous(connection& c, synchronous s);
[[nodiscard]] synchronous get_synchronous(connection& c);

/// Columns of a table in the main schema; an empty result for a table that does not exist.
[[nodiscard]] std::vector<column_description> table_info(connection& c, std::string_view table);
[[nodiscard]] std::vector<table_description> table_list(connection& c);

[[nodiscard]] std::int64_t user_version(connection& c);
void set_user_version(connection& c, std::int64_t v);

/// Pages when positive, KiB when negative (SQLite's convention).
[[nodiscard]] std::int64_t cache_size(connection& c);
void set_cache_size(connection& c, std::int64_t v);

/// Runs any PRAGMA: query(c, "integrity_check") or query(c, "PRAGMA integrity_check"); the rows it returns.
[[nodiscard]] rows query(connection& c, std::string_view pragma_text);

} // namespace libsql::pragma
