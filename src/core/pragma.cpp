#include "libsql/pragma.hpp"

#include <cctype>

namespace libsql::pragma {

namespace {
std::string lower(std::string s) {
    for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return s;
}
} // namespace

std::string_view to_string(journal_mode m) noexcept {
    switch (m) {
    case journal_mode::delete_: return "delete";
    case journal_mode::truncate: return "truncate";
    case journal_mode::persist: return "persist";
    case journal_mode::memory: return "memory";
    case journal_mode::wal: return "wal";
    case journal_mode::off: return "off";
    }
    return "delete";
}

std::string_view to_string(synchronous s) noexcept {
    switch (s) {
    case synchronous::off: return "off";
    case synchronous::normal: return "normal";
    case synchronous::full: return "full";
    case synchronous::extra: return "extra";
    }
    return "full";
}

namespace {
journal_mode parse_journal_mode(const std::string& text) {
    const auto t = lower(text);
    for (auto m : {journal_mode::delete_, journal_mode::truncate, journal_mode::persist, journal_mode::memory,
                   journal_mode::wal, journal_mode::off})
        if (to_string(m) == t) return m;
    throw protocol_error("unknown journal mode '" + text + "' reported by the database");
}
} // namespace

void enable_foreign_keys(connection& c) { c.execute("PRAGMA foreign_keys = ON"); }
void disable_foreign_keys(connection& c) { c.execute("PRAGMA foreign_keys = OFF"); }
bool foreign_keys(connection& c) { return c.query_value<bool>("PRAGMA foreign_keys"); }

journal_mode set_journal_mode(connection& c, journal_mode m) {
    return parse_journal_mode(c.query_value<std::string>("PRAGMA journal_mode = " + std::string(to_string(m))));
}
journal_mode get_journal_mode(connection& c) { return parse_journal_mode(c.query_value<std::string>("PRAGMA journal_mode")); }

void set_synchronous(connection& c, synchronous s) { c.execute("PRAGMA synchronous = " + std::to_string(static_cast<int>(s))); }
synchronous get_synchronous(connection& c) {
    const auto v = c.query_value<int>("PRAGMA synchronous");
    if (v < 0 || v > 3) throw protocol_error("unknown synchronous level " + std::to_string(v));
    return static_cast<synchronous>(v);
}

std::vector<column_description> table_info(connection& c, std::string_view table) {
    std::vector<column_description> out;
    // The table-valued form takes the name as a bound parameter: no quoting, no injection.
    for (auto r : c.query("SELECT cid, name, type, \"notnull\", dflt_value, pk FROM pragma_table_info(?)", table)) {
        out.push_back(column_description{r.get<int>(0), r.get<std::string>(1), r.get<std::string>(2), r.get<bool>(3),
                                         r.get<std::optional<std::string>>(4), r.get<int>(5)});
    }
    return out;
}

std::vector<table_description> table_list(connection& c) {
    std::vector<table_description> out;
    for (auto r : c.query("SELECT schema, name, type, ncol, wr, strict FROM pragma_table_list")) {
        out.push_back(table_description{r.get<std::string>(0), r.get<std::string>(1), r.get<std::string>(2),
                                        r.get<int>(3), r.get<bool>(4), r.get<bool>(5)});
    }
    return out;
}

std::int64_t user_version(connection& c) { return c.query_value<std::int64_t>("PRAGMA user_version"); }
void set_user_version(connection& c, std::int64_t v) {
    if (v < INT32_MIN || v > INT32_MAX) throw usage_error("user_version is a 32-bit signed integer");
    c.execute("PRAGMA user_version = " + std::to_string(v));
}

std::int64_t cache_size(connection& c) { return c.query_value<std::int64_t>("PRAGMA cache_size"); }
void set_cache_size(connection& c, std::int64_t v) { c.execute("PRAGMA cache_size = " + std::to_string(v)); }

rows query(connection& c, std::string_view pragma_text) {
    std::string_view t = pragma_text;
    while (!t.empty() && std::isspace(static_cast<unsigned char>(t.front()))) t.remove_prefix(1);
    const bool has_keyword = t.size() >= 6 && lower(std::string(t.substr(0, 6))) == "pragma" &&
                             (t.size() == 6 || !std::isalnum(static_cast<unsigned char>(t[6])));
    return c.query(has_keyword ? std::string(t) : "PRAGMA " + std::string(t));
}

} // namespace libsql::pragma
