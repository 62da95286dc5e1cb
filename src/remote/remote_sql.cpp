// Client-side SQL scanning for the remote transport: parameters (numbered as SQLite numbers them), statement
// boundaries and leading keywords. Used where the server cannot tell us (servers without describe or sequence),
// to track transactions by keyword, and to avoid a round trip per execute for the parameter count.
#include "remote/remote.hpp"

#include <algorithm>
#include <cstdio>

namespace libsql::detail::remote {

namespace {

enum class tok : std::uint8_t { word, quoted_id, string, param, semicolon, other, end };

struct token {
    tok kind = tok::end;
    std::size_t begin = 0;
    std::size_t end = 0;
};

// ASCII classes by arithmetic, not <cctype>: the tokenizer runs over every statement sent, and SQLite's own classes
// are ASCII ones whatever the locale.
constexpr bool ascii_digit(unsigned char c) noexcept { return c >= '0' && c <= '9'; }
constexpr bool ascii_alpha(unsigned char c) noexcept { return (c | 0x20) >= 'a' && (c | 0x20) <= 'z'; }
enum : std::uint8_t { c_space = 1, c_id = 2, c_id_start = 4, c_stop = 8 };
struct char_classes {
    std::uint8_t of[256] = {};
    constexpr char_classes() {
        for (unsigned c = 0; c < 256; ++c) {
            const auto u = static_cast<unsigned char>(c);
            std::uint8_t k = 0;
            if (u == ' ' || u == '\t' || u == '\n' || u == '\r' || u == '\f' || u == '\v') k |= c_space;
            if (ascii_alpha(u) || ascii_digit(u) || u == '_' || u == '$' || u >= 0x80) k |= c_id;
            if (ascii_alpha(u) || u == '_' || u >= 0x80) k |= c_id_start;
            // Where find_terminator() must look closer: a ';', or what may start a literal, a quoted name, a
            // comment or a ':'/'@'/'#'/'$' parameter (whose "(...)" suffix may hold a ';').
            for (const char stop : std::string_view(";'\"`[-/:@#$")) if (c == static_cast<unsigned>(static_cast<unsigned char>(stop))) k |= c_stop;
            of[c] = k;
        }
    }
};
constexpr char_classes classes;
constexpr bool id_char(unsigned char c) noexcept { return (classes.of[c] & c_id) != 0; }
constexpr bool id_start(unsigned char c) noexcept { return (classes.of[c] & c_id_start) != 0; }
constexpr bool space(unsigned char c) noexcept { return (classes.of[c] & c_space) != 0; }

/// The next token at or after i, skipping whitespace and comments. Unterminated literals and comments run to the end.
token next(std::string_view s, std::size_t& i) {
    const std::size_t n = s.size();
    for (;;) {
        while (i < n && space(static_cast<unsigned char>(s[i]))) ++i;
        if (i + 1 < n && s[i] == '-' && s[i + 1] == '-') {
            while (i < n && s[i] != '\n') ++i;
            continue;
        }
        // As SQLite's tokenizer: "/*" with nothing after it is not a comment but the operators '/' and '*'.
        if (i + 2 < n && s[i] == '/' && s[i + 1] == '*') {
            const auto close = s.find("*/", i + 2);
            i = close == std::string_view::npos ? n : close + 2;
            continue;
        }
        break;
    }
    token t;
    t.begin = i;
    if (i >= n) {
        t.end = n;
        return t;
    }
    const auto c = static_cast<unsigned char>(s[i]);
    auto quoted = [&](char q, tok k) {
        ++i;
        while (i < n) {
            if (s[i] == q) {
                if (i + 1 < n && s[i + 1] == q) {
                    i += 2;
                    continue;
                }
                ++i;
                break;
            }
            ++i;
        }
        t.kind = k;
    };
    if (c == '\'') {
        quoted('\'', tok::string);
    } else if (c == '"') {
        quoted('"', tok::quoted_id);
    } else if (c == '`') {
        quoted('`', tok::quoted_id);
    } else if (c == '[') {
        const auto close = s.find(']', i);
        i = close == std::string_view::npos ? n : close + 1;
        t.kind = tok::quoted_id;
    } else if (c == ';') {
        ++i;
        t.kind = tok::semicolon;
    } else if (c == '?') {
        ++i;
        while (i < n && ascii_digit(static_cast<unsigned char>(s[i]))) ++i;
        t.kind = tok::param;
    } else if (c == ':' || c == '@' || c == '$' || c == '#') {
        // As SQLite's tokenizer: identifier characters, with Tcl-style "::" and a "(...)" suffix.
        std::size_t j = i + 1;
        int len = 0;
        while (j < n) {
            const auto d = static_cast<unsigned char>(s[j]);
            if (id_char(d)) {
                ++len;
                ++j;
            } else if (d == '(' && len > 0) {
                while (j < n && !space(static_cast<unsigned char>(s[j])) && s[j] != ')') ++j;
                if (j < n && s[j] == ')') ++j;
                break;
            } else if (d == ':' && j + 1 < n && s[j + 1] == ':') {
                j += 2;
            } else {
                break;
            }
        }
        if (len > 0) {
            i = j;
            t.kind = tok::param;
        } else {
            ++i;
            t.kind = tok::other;
        }
    } else if ((c == 'x' || c == 'X') && i + 1 < n && s[i + 1] == '\'') {
        ++i;
        quoted('\'', tok::string);
    } else if (id_start(c)) {
        while (i < n && id_char(static_cast<unsigned char>(s[i]))) ++i;
        t.kind = tok::word;
    } else if (ascii_digit(c) || (c == '.' && i + 1 < n && ascii_digit(static_cast<unsigned char>(s[i + 1])))) {
        // As SQLite: an exponent's sign belongs to the number only when a digit follows it ("1e--" is "1e" and a
        // comment).
        while (i < n && (id_char(static_cast<unsigned char>(s[i])) || s[i] == '.' ||
                         ((s[i] == '+' || s[i] == '-') && (s[i - 1] == 'e' || s[i - 1] == 'E') && i + 1 < n &&
                          ascii_digit(static_cast<unsigned char>(s[i + 1])))))
            ++i;
        t.kind = tok::other;
    } else {
        ++i;
        t.kind = tok::other;
    }
    t.end = i;
    return t;
}

// ASCII case folding, as SQLite's keyword matching (sqlite3UpperToLower touches ASCII letters only).
constexpr char ascii_upper(char c) noexcept { return c >= 'a' && c <= 'z' ? static_cast<char>(c - 'a' + 'A') : c; }

std::string upper(std::string_view w) {
    std::string r(w);
    for (auto& ch : r) ch = ascii_upper(ch);
    return r;
}

/// a equals b, ASCII letters compared without case; b is an upper-case keyword.
bool iequals(std::string_view a, std::string_view b) noexcept {
    if (a.size() != b.size()) return false;
    for (std::size_t k = 0; k < a.size(); ++k)
        if (ascii_upper(a[k]) != b[k]) return false;
    return true;
}

/// Where the statement that starts before i ends: the index of its terminating ';' (or the text's end), for a
/// statement known not to be CREATE TRIGGER (whose body holds semicolons). The same boundaries as calling next()
/// token by token, faster: only a byte that may start a literal, a quoted name, a comment or a parameter stops the
/// scan. Words, numbers, operators and whitespace need no tokenizing to find a ';': a number's exponent sign is
/// followed by a digit ("1e-5"), so a '-' seen here starts a comment exactly when the next byte is '-' too, as it
/// does for SQLite's tokenizer ("1e--" is 1e and a comment); and a '$' right after an identifier character is part
/// of that identifier, not a parameter.
std::size_t find_terminator(std::string_view s, std::size_t i) {
    const std::size_t n = s.size();
    while (i < n) {
        while (i < n && (classes.of[static_cast<unsigned char>(s[i])] & c_stop) == 0) ++i;
        if (i >= n) break;
        switch (s[i]) {
        case ';': return i;
        case '-':
            if (i + 1 < n && s[i + 1] == '-') break;
            ++i;
            continue;
        case '/':
            if (i + 2 < n && s[i + 1] == '*') break;
            ++i;
            continue;
        case '$':
            if (i > 0 && id_char(static_cast<unsigned char>(s[i - 1]))) {
                ++i;
                continue;
            }
            break;
        default: break;
        }
        const std::size_t before = i;
        const token t = next(s, i);
        if (t.kind == tok::semicolon) return t.begin;
        if (t.kind == tok::end) return n;
        if (i == before) ++i;  // cannot happen (every token has a length); never loop
    }
    return n;
}

/// A name token's text without its quotes.
std::string unquote(std::string_view s, const token& t) {
    std::string_view text = s.substr(t.begin, t.end - t.begin);
    if (t.kind != tok::quoted_id && t.kind != tok::string) return std::string(text);
    if (text.size() < 2) return std::string(text);
    const char q = text.front() == '[' ? ']' : text.front();
    text = text.substr(1, text.back() == q ? text.size() - 2 : text.size() - 1);
    std::string out;
    for (std::size_t k = 0; k < text.size(); ++k) {
        out += text[k];
        if (text[k] == q && q != ']' && k + 1 < text.size() && text[k + 1] == q) ++k;
    }
    return out;
}

/// The first `count` significant tokens.
std::vector<token> leading(std::string_view s, std::size_t count) {
    std::vector<token> out;
    std::size_t i = 0;
    while (out.size() < count) {
        const token t = next(s, i);
        if (t.kind == tok::end) break;
        out.push_back(t);
    }
    return out;
}

bool is_word(std::string_view s, const token& t, std::string_view w) {
    return t.kind == tok::word && iequals(s.substr(t.begin, t.end - t.begin), w);
}

} // namespace

sql_parameters scan_parameters(std::string_view sql) {
    sql_parameters out;
    std::size_t i = 0;
    for (;;) {
        const token t = next(sql, i);
        if (t.kind == tok::end) break;
        if (t.kind != tok::param) continue;
        const std::string_view text = sql.substr(t.begin, t.end - t.begin);
        int index = 0;
        if (text.front() == '?') {
            if (text.size() == 1) {
                index = out.count + 1;
            } else {
                long long v = 0;
                for (char ch : text.substr(1)) {
                    v = v * 10 + (ch - '0');
                    if (v > 32766) break;
                }
                index = static_cast<int>(std::clamp<long long>(v, 1, 32766));
                // SQLite names ?NNN parameters after themselves; a later ?NNN with the same number is the same one.
                if (static_cast<std::size_t>(index) > out.names.size()) out.names.resize(static_cast<std::size_t>(index));
                if (out.names[static_cast<std::size_t>(index - 1)].empty()) out.names[static_cast<std::size_t>(index - 1)] = "?" + std::to_string(index);
            }
        } else {
            for (std::size_t k = 0; k < out.names.size(); ++k)
                if (out.names[k] == text) {
                    index = static_cast<int>(k) + 1;
                    break;
                }
            if (index == 0) {
                index = out.count + 1;
                if (static_cast<std::size_t>(index) > out.names.size()) out.names.resize(static_cast<std::size_t>(index));
                out.names[static_cast<std::size_t>(index - 1)] = std::string(text);
            }
        }
        out.count = std::max(out.count, index);
        out.tokens.push_back({index, t.begin, t.end});
    }
    out.names.resize(static_cast<std::size_t>(out.count));
    return out;
}

std::vector<std::string_view> split_statements(std::string_view sql) {
    // Where a statement ends is decided as sqlite3_complete() decides it (SQLite's complete.c): a ';' ends it, except
    // inside CREATE [TEMP] TRIGGER ... BEGIN ... END, whose body ends at an END right after a ';'. The states and
    // their transitions are complete.c's; EXPLAIN [anything] may precede CREATE.
    enum state : std::uint8_t { start, normal, explain, create, trigger, trigger_semi, trigger_end };
    enum key : std::uint8_t { k_semi, k_other, k_explain, k_create, k_temp, k_trigger, k_end };
    static constexpr state after[7][7] = {
        // semi          other    explain  create   temp     trigger  end
        {start,         normal,  explain, create,  normal,  normal,  normal},   // start
        {start,         normal,  normal,  normal,  normal,  normal,  normal},   // normal
        {start,         explain, normal,  create,  normal,  normal,  normal},   // explain
        {start,         normal,  normal,  normal,  create,  trigger, normal},   // create
        {trigger_semi,  trigger, trigger, trigger, trigger, trigger, trigger},  // trigger
        {trigger_semi,  trigger, trigger, trigger, trigger, trigger, trigger_end},  // trigger_semi
        {start,         trigger, trigger, trigger, trigger, trigger, trigger},  // trigger_end
    };
    auto key_of = [&](const token& t) -> key {
        if (t.kind == tok::semicolon) return k_semi;
        if (t.kind != tok::word) return k_other;
        const std::string_view w = sql.substr(t.begin, t.end - t.begin);
        switch (w.size()) {
        case 3: return iequals(w, "END") ? k_end : k_other;
        case 4: return iequals(w, "TEMP") ? k_temp : k_other;
        case 6: return iequals(w, "CREATE") ? k_create : k_other;
        case 7: return iequals(w, "EXPLAIN") ? k_explain : iequals(w, "TRIGGER") ? k_trigger : k_other;
        case 9: return iequals(w, "TEMPORARY") ? k_temp : k_other;
        default: return k_other;
        }
    };
    std::vector<std::string_view> out;
    std::size_t i = 0;
    std::size_t start_at = 0;
    bool significant = false;  // the current statement has a token besides ';'
    state st = start;
    for (;;) {
        const token t = next(sql, i);
        const bool ends = t.kind == tok::end || (t.kind == tok::semicolon && after[st][k_semi] == start);
        if (ends) {
            if (significant) {
                // Trim whitespace around the statement (comments inside stay).
                std::size_t b = start_at, e = t.kind == tok::end ? sql.size() : t.begin;
                while (b < e && space(static_cast<unsigned char>(sql[b]))) ++b;
                while (e > b && space(static_cast<unsigned char>(sql[e - 1]))) --e;
                out.push_back(sql.substr(b, e - b));
            }
            if (t.kind == tok::end) break;
            start_at = t.end;
            significant = false;
            st = start;
            continue;
        }
        significant = significant || t.kind != tok::semicolon;
        st = after[st][key_of(t)];
        if (st == normal) i = find_terminator(sql, i);  // not a trigger: only where it ends matters now
    }
    return out;
}

/// The first token's text when it is a word, else empty.
std::string_view first_word(std::string_view stmt) {
    std::size_t i = 0;
    const token t = next(stmt, i);
    if (t.kind != tok::word) return {};
    return stmt.substr(t.begin, t.end - t.begin);
}

std::string first_keyword(std::string_view stmt) { return upper(first_word(stmt)); }

txn_control classify_transaction(std::string_view s) {
    const auto t = leading(s, 4);
    txn_control out;
    if (t.empty() || t[0].kind != tok::word) return out;
    const std::string w = upper(s.substr(t[0].begin, t[0].end - t[0].begin));
    using K = txn_control::kind;
    auto name_at = [&](std::size_t k) -> std::string {
        if (k < t.size() && (t[k].kind == tok::word || t[k].kind == tok::quoted_id || t[k].kind == tok::string)) return unquote(s, t[k]);
        return {};
    };
    if (w == "BEGIN") {
        out.what = K::begin;
    } else if (w == "COMMIT" || w == "END") {
        out.what = K::commit;
    } else if (w == "SAVEPOINT") {
        out.what = K::savepoint;
        out.name = name_at(1);
    } else if (w == "RELEASE") {
        out.what = K::release;
        out.name = t.size() > 2 && is_word(s, t[1], "SAVEPOINT") ? name_at(2) : name_at(1);
    } else if (w == "ROLLBACK") {
        std::size_t k = 1;
        if (k < t.size() && is_word(s, t[k], "TRANSACTION")) ++k;
        if (k < t.size() && is_word(s, t[k], "TO")) {
            ++k;
            // ROLLBACK TO [SAVEPOINT] name: the name may itself be "savepoint" only when a name follows it.
            const auto rest = leading(s, k + 2);
            if (k < rest.size() && is_word(s, rest[k], "SAVEPOINT") && k + 1 < rest.size()) ++k;
            out.what = K::rollback_to;
            if (k < rest.size()) out.name = unquote(s, rest[k]);
        } else {
            out.what = K::rollback;
        }
    }
    return out;
}

bool looks_readonly(std::string_view stmt) {
    const std::string w = first_keyword(stmt);
    if (w == "SELECT" || w == "VALUES" || w == "EXPLAIN") return true;
    if (w != "WITH") return false;
    std::size_t i = 0;
    for (;;) {
        const token t = next(stmt, i);
        if (t.kind == tok::end) return true;
        if (t.kind != tok::word) continue;
        const std::string u = upper(stmt.substr(t.begin, t.end - t.begin));
        if (u == "INSERT" || u == "UPDATE" || u == "DELETE" || u == "REPLACE") return false;
    }
}

bool is_insert(std::string_view stmt) {
    const std::string w = first_keyword(stmt);
    if (w == "INSERT" || w == "REPLACE") return true;
    if (w != "WITH") return false;
    std::size_t i = 0;
    for (;;) {
        const token t = next(stmt, i);
        if (t.kind == tok::end) return false;
        if (t.kind != tok::word) continue;
        const std::string u = upper(stmt.substr(t.begin, t.end - t.begin));
        if (u == "INSERT" || u == "REPLACE") return true;
    }
}

statement_kind classify_statement(std::string_view stmt) {
    statement_kind k;
    const std::string_view w = first_word(stmt);
    const bool insert = iequals(w, "INSERT") || iequals(w, "REPLACE");
    k.schema = iequals(w, "CREATE") || iequals(w, "DROP") || iequals(w, "ALTER");
    k.dml = insert || iequals(w, "UPDATE") || iequals(w, "DELETE");
    k.insert = insert || (iequals(w, "WITH") && is_insert(stmt));
    return k;
}

bool is_dml(std::string_view stmt) { return classify_statement(stmt).dml; }

bool is_schema_change(std::string_view stmt) {
    const std::string_view w = first_word(stmt);
    return iequals(w, "CREATE") || iequals(w, "DROP") || iequals(w, "ALTER");
}

std::string sql_literal(value_view v) {
    switch (v.type()) {
    case value_type::null: return "NULL";
    case value_type::integer: return std::to_string(v.as_integer());
    case value_type::real: {
        char buf[40];
        std::snprintf(buf, sizeof buf, "%.17g", v.as_real());
        std::string r(buf);
        if (r.find_first_of(".eEn") == std::string::npos) r += ".0";  // keep it a REAL
        return r;
    }
    case value_type::text: {
        std::string r = "'";
        for (char ch : v.as_text()) {
            r += ch;
            if (ch == '\'') r += '\'';
        }
        return r + "'";
    }
    case value_type::blob: {
        static constexpr char hex[] = "0123456789ABCDEF";
        std::string r = "x'";
        for (std::byte b : v.as_blob()) {
            r += hex[static_cast<unsigned>(b) >> 4];
            r += hex[static_cast<unsigned>(b) & 15];
        }
        return r + "'";
    }
    }
    return "NULL";
}

} // namespace libsql::detail::remote
