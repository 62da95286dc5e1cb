// Internal to the Hrana JSON codec (src/hrana/json_*.cpp): the parsed "tape", the path-naming reader, the
// low-level writers, and the readers/writers each message family shares with the others. Not installed; nothing
// outside src/hrana includes it.
#pragma once

#include "hrana/protocol.hpp"

#include <array>
#include <charconv>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace libsql::hrana::json {

inline constexpr std::size_t max_json_depth = 2100;  // room for max_condition_depth and/or conditions (2 levels each)
inline constexpr std::size_t max_condition_depth = 1000;

// ------------------------------------------------------------------------------------------------ the tape
enum class jkind : std::uint8_t { null, boolean, int64, uint64, dbl, string, array, object };

struct jnode {
    jkind kind = jkind::null;
    bool b = false;
    std::size_t end = 0;  ///< index just past this value (and its children)
    union {
        std::int64_t i = 0;
        std::uint64_t u;
        double d;
        std::size_t str_off;
    };
    std::size_t str_len = 0;
};

struct tape {
    std::vector<jnode> nodes;  ///< object members are a key (string) node followed by the value's nodes
    std::string strings;
    [[nodiscard]] std::string_view str(const jnode& n) const noexcept { return {strings.data() + n.str_off, n.str_len}; }
};

/// The whole document as a tape; protocol_violation on bad JSON, too deep nesting or trailing data.
[[nodiscard]] tape parse_json(std::string_view json);

// -------------------------------------------------------------------------------------------------- reader
/// Where a value sits, as a chain of stack frames, rendered only when something goes wrong.
struct path {
    path() = default;
    path(const path* p, std::string_view k) noexcept : parent(p), key(k) {}
    path(const path* p, std::size_t i) noexcept : parent(p), index(i) {}

    const path* parent = nullptr;
    std::string_view key;                             ///< field name, or
    std::size_t index = static_cast<std::size_t>(-1);  ///< array index
};

[[noreturn]] void fail(const path& where, std::string_view message);
[[noreturn]] void fail_type(const path& where, std::string_view expected, jkind got);
[[noreturn]] void fail_unknown_type(const path& where, std::string_view what, std::string_view type);

class reader {
public:
    explicit reader(const tape& t) : t_(t) {}

    [[nodiscard]] const jnode& node(std::size_t i) const noexcept { return t_.nodes[i]; }
    [[nodiscard]] bool is_null(std::size_t i) const noexcept { return node(i).kind == jkind::null; }

    void expect_object(std::size_t i, const path& where) const {
        if (node(i).kind != jkind::object) fail_type(where, "an object", node(i).kind);
    }

    /// The value of a field, or npos when absent. Duplicate keys: the last wins.
    [[nodiscard]] std::size_t find(std::size_t obj, std::string_view key) const noexcept {
        std::size_t found = npos;
        const std::size_t end = node(obj).end;
        for (std::size_t k = obj + 1; k < end;) {
            const std::size_t v = k + 1;
            if (t_.str(node(k)) == key) found = v;
            k = node(v).end;
        }
        return found;
    }
    /// Several fields of one object in one pass over its members: out[k] is the value of keys[k] (the last one when
    /// duplicated, as find), npos when absent or null (as find_opt).
    template <std::size_t N>
    [[nodiscard]] std::array<std::size_t, N> find_opts(std::size_t obj, const std::array<std::string_view, N>& keys) const noexcept {
        std::array<std::size_t, N> out;
        out.fill(npos);
        const std::size_t end = node(obj).end;
        for (std::size_t k = obj + 1; k < end;) {
            const std::size_t v = k + 1;
            const std::string_view name = t_.str(node(k));
            for (std::size_t j = 0; j < N; ++j)
                if (name.size() == keys[j].size() && name == keys[j]) {
                    out[j] = is_null(v) ? npos : v;
                    break;
                }
            k = node(v).end;
        }
        return out;
    }
    /// A field that may be absent or null: npos then.
    [[nodiscard]] std::size_t find_opt(std::size_t obj, std::string_view key) const noexcept {
        const std::size_t v = find(obj, key);
        return v == npos || is_null(v) ? npos : v;
    }
    [[nodiscard]] std::size_t require(std::size_t obj, std::string_view key, const path& where) const {
        const std::size_t v = find(obj, key);
        if (v == npos) fail(where, "missing field '" + std::string(key) + "'");
        return v;
    }

    template <class F> void for_each_element(std::size_t arr, const path& where, F&& f) const {
        if (node(arr).kind != jkind::array) fail_type(where, "an array", node(arr).kind);
        const std::size_t end = node(arr).end;
        std::size_t index = 0;
        for (std::size_t e = arr + 1; e < end; e = node(e).end, ++index) {
            const path p{&where, index};
            f(e, p);
        }
    }
    [[nodiscard]] std::size_t count(std::size_t arr) const noexcept {
        std::size_t n = 0;
        for (std::size_t e = arr + 1; e < node(arr).end; e = node(e).end) ++n;
        return n;
    }

    [[nodiscard]] std::string_view string(std::size_t i, const path& where) const {
        if (node(i).kind != jkind::string) fail_type(where, "a string", node(i).kind);
        return t_.str(node(i));
    }
    [[nodiscard]] bool boolean(std::size_t i, const path& where) const {
        if (node(i).kind != jkind::boolean) fail_type(where, "a boolean", node(i).kind);
        return node(i).b;
    }

    /// An integer JSON number (or an integral double, exact below 2^53) within [lo, hi].
    [[nodiscard]] std::int64_t integer_in(std::size_t i, const path& where, std::int64_t lo, std::int64_t hi) const {
        const jnode& n = node(i);
        std::int64_t v = 0;
        switch (n.kind) {
        case jkind::int64: v = n.i; break;
        case jkind::uint64: fail(where, "number out of range");
        case jkind::dbl:
            if (!(std::fabs(n.d) <= 9007199254740992.0) || std::trunc(n.d) != n.d)
                fail(where, "expected an integer, got a non-integral or inexact number");
            v = static_cast<std::int64_t>(n.d);
            break;
        default: fail_type(where, "an integer", n.kind);
        }
        if (v < lo || v > hi) fail(where, "number out of range");
        return v;
    }
    [[nodiscard]] std::int32_t int32(std::size_t i, const path& where) const {
        return static_cast<std::int32_t>(integer_in(i, where, std::numeric_limits<std::int32_t>::min(),
                                                    std::numeric_limits<std::int32_t>::max()));
    }
    [[nodiscard]] std::uint32_t uint32(std::size_t i, const path& where) const {
        return static_cast<std::uint32_t>(integer_in(i, where, 0, std::numeric_limits<std::uint32_t>::max()));
    }
    /// An unsigned 64-bit JSON number.
    [[nodiscard]] std::uint64_t uint64(std::size_t i, const path& where) const {
        const jnode& n = node(i);
        if (n.kind == jkind::uint64) return n.u;
        if (n.kind == jkind::int64 && n.i < 0) fail(where, "number out of range");
        return static_cast<std::uint64_t>(integer_in(i, where, 0, std::numeric_limits<std::int64_t>::max()));
    }
    /// A 64-bit integer carried as a decimal string (also accepted as an exact JSON number).
    [[nodiscard]] std::int64_t int64_string(std::size_t i, const path& where) const {
        const jnode& n = node(i);
        if (n.kind == jkind::string) {
            const std::string_view s = t_.str(n);
            std::int64_t v = 0;
            const auto r = std::from_chars(s.data(), s.data() + s.size(), v);
            if (r.ec == std::errc::result_out_of_range) fail(where, "integer out of range");
            if (r.ec != std::errc{} || r.ptr != s.data() + s.size() || s.empty())
                fail(where, "expected a decimal integer string");
            return v;
        }
        if (n.kind == jkind::int64 || n.kind == jkind::uint64 || n.kind == jkind::dbl)
            return integer_in(i, where, std::numeric_limits<std::int64_t>::min(), std::numeric_limits<std::int64_t>::max());
        fail_type(where, "a decimal integer string", n.kind);
    }
    [[nodiscard]] std::uint64_t uint64_string(std::size_t i, const path& where) const {
        const jnode& n = node(i);
        if (n.kind == jkind::string) {
            const std::string_view s = t_.str(n);
            std::uint64_t v = 0;
            const auto r = std::from_chars(s.data(), s.data() + s.size(), v);
            if (r.ec == std::errc::result_out_of_range) fail(where, "integer out of range");
            if (r.ec != std::errc{} || r.ptr != s.data() + s.size() || s.empty())
                fail(where, "expected a decimal unsigned integer string");
            return v;
        }
        if (n.kind == jkind::int64 || n.kind == jkind::uint64 || n.kind == jkind::dbl) return uint64(i, where);
        fail_type(where, "a decimal integer string", n.kind);
    }
    [[nodiscard]] double number(std::size_t i, const path& where) const {
        const jnode& n = node(i);
        switch (n.kind) {
        case jkind::dbl: return n.d;
        case jkind::int64: return static_cast<double>(n.i);
        case jkind::uint64: return static_cast<double>(n.u);
        default: fail_type(where, "a number", n.kind);
        }
    }

    // optional fields
    [[nodiscard]] std::optional<std::string> opt_string(std::size_t obj, std::string_view key, const path& where) const {
        const std::size_t v = find_opt(obj, key);
        if (v == npos) return std::nullopt;
        const path p{&where, key};
        return std::string(string(v, p));
    }
    [[nodiscard]] std::optional<std::int32_t> opt_int32(std::size_t obj, std::string_view key, const path& where) const {
        const std::size_t v = find_opt(obj, key);
        if (v == npos) return std::nullopt;
        const path p{&where, key};
        return int32(v, p);
    }
    [[nodiscard]] std::optional<std::uint64_t> opt_uint64_string(std::size_t obj, std::string_view key,
                                                                 const path& where) const {
        const std::size_t v = find_opt(obj, key);
        if (v == npos) return std::nullopt;
        const path p{&where, key};
        return uint64_string(v, p);
    }
    [[nodiscard]] std::optional<std::uint64_t> opt_uint64(std::size_t obj, std::string_view key, const path& where) const {
        const std::size_t v = find_opt(obj, key);
        if (v == npos) return std::nullopt;
        const path p{&where, key};
        return uint64(v, p);
    }
    [[nodiscard]] bool opt_bool(std::size_t obj, std::string_view key, const path& where, bool fallback) const {
        const std::size_t v = find_opt(obj, key);
        if (v == npos) return fallback;
        const path p{&where, key};
        return boolean(v, p);
    }
    [[nodiscard]] std::string req_string(std::size_t obj, std::string_view key, const path& where) const {
        const std::size_t v = require(obj, key, where);
        const path p{&where, key};
        return std::string(string(v, p));
    }
    [[nodiscard]] std::int32_t req_int32(std::size_t obj, std::string_view key, const path& where) const {
        const std::size_t v = require(obj, key, where);
        const path p{&where, key};
        return int32(v, p);
    }
    [[nodiscard]] std::uint32_t req_uint32(std::size_t obj, std::string_view key, const path& where) const {
        const std::size_t v = require(obj, key, where);
        const path p{&where, key};
        return uint32(v, p);
    }
    [[nodiscard]] std::string_view type_tag(std::size_t obj, const path& where) const {
        expect_object(obj, where);
        const std::size_t v = require(obj, "type", where);
        const path p{&where, "type"};
        return string(v, p);
    }

    static constexpr std::size_t npos = static_cast<std::size_t>(-1);

private:
    const tape& t_;
};

// ------------------------------------------------------------------------------------------- low-level writers
void write_string(std::string& out, std::string_view s);  ///< quoted, escaped, invalid UTF-8 as U+FFFD
void write_double(std::string& out, double d);            ///< shortest exact form; +-Inf as +-9e999; NaN as null
void write_opt_string(std::string& out, const std::optional<std::string>& s);

template <class Int> void write_int(std::string& out, Int v) {
    std::array<char, 24> buf{};
    const auto r = std::to_chars(buf.data(), buf.data() + buf.size(), v);
    out.append(buf.data(), r.ptr);
}
template <class Int> void write_int_string(std::string& out, Int v) {
    out += '"';
    write_int(out, v);
    out += '"';
}
inline void write_key(std::string& out, std::string_view key) {
    // keys are our own identifiers: no escaping needed
    out += '"';
    out.append(key);
    out += "\":";
}

// ------------------------------------------------------------------------ shared by the message families
// values (json_values.cpp)
[[nodiscard]] libsql::value read_value(const reader& r, std::size_t i, const path& where);
[[nodiscard]] std::vector<libsql::value> read_values(const reader& r, std::size_t arr, const path& where);
void write_value(std::string& out, const libsql::value& v);
void write_values(std::string& out, const std::vector<libsql::value>& values);

// statements and stream requests (json_requests.cpp)
/// sql / sql_id, exactly one of them.
void read_sql_or_id(const reader& r, std::size_t obj, const path& where, std::optional<std::string>& sql,
                    std::optional<std::int32_t>& sql_id);
[[nodiscard]] stmt read_stmt(const reader& r, std::size_t i, const path& where);
void write_sql_or_id(std::string& out, const std::optional<std::string>& sql, const std::optional<std::int32_t>& sql_id);
void write_stmt(std::string& out, const stmt& s);
void write_store_sql(std::string& out, const store_sql_req& r);
void write_close_sql(std::string& out, const close_sql_req& r);

// batches and conditions (json_batches.cpp)
[[nodiscard]] condition read_condition(const reader& r, std::size_t i, const path& where, std::size_t depth);
[[nodiscard]] batch read_batch(const reader& r, std::size_t i, const path& where);
void write_condition(std::string& out, const condition& c);
void write_batch(std::string& out, const batch& b);

// errors and results (json_results.cpp)
[[nodiscard]] error read_error(const reader& r, std::size_t i, const path& where);
[[nodiscard]] std::vector<column> read_cols(const reader& r, std::size_t arr, const path& where);
[[nodiscard]] std::optional<std::int64_t> read_opt_rowid(const reader& r, std::size_t obj, const path& where);
[[nodiscard]] stmt_result read_stmt_result(const reader& r, std::size_t i, const path& where);
[[nodiscard]] batch_result read_batch_result(const reader& r, std::size_t i, const path& where);
[[nodiscard]] describe_result read_describe_result(const reader& r, std::size_t i, const path& where);
void write_error(std::string& out, const error& e);
void write_cols(std::string& out, const std::vector<column>& cols);
void write_opt_rowid(std::string& out, const std::optional<std::int64_t>& rowid);

/// Responses shared by HTTP and WebSocket; nullopt when the type is not one of them.
template <class Response>
std::optional<Response> read_common_response(const reader& r, std::size_t i, const path& where, std::string_view type) {
    if (type == "execute") {
        const path p{&where, "result"};
        return execute_resp{read_stmt_result(r, r.require(i, "result", where), p)};
    }
    if (type == "batch") {
        const path p{&where, "result"};
        return batch_resp{read_batch_result(r, r.require(i, "result", where), p)};
    }
    if (type == "sequence") return sequence_resp{};
    if (type == "describe") {
        const path p{&where, "result"};
        return describe_resp{read_describe_result(r, r.require(i, "result", where), p)};
    }
    if (type == "store_sql") return store_sql_resp{};
    if (type == "close_sql") return close_sql_resp{};
    if (type == "get_autocommit") {
        const path p{&where, "is_autocommit"};
        return get_autocommit_resp{r.boolean(r.require(i, "is_autocommit", where), p)};
    }
    return std::nullopt;
}

/// Writes a response; the HTTP stream ones in json_results.cpp, the WebSocket-only ones in json_ws.cpp.
struct response_writer {
    std::string& out;
    void operator()(const execute_resp& r) const;
    void operator()(const batch_resp& r) const;
    void operator()(const sequence_resp&) const;
    void operator()(const describe_resp& r) const;
    void operator()(const store_sql_resp&) const;
    void operator()(const close_sql_resp&) const;
    void operator()(const close_resp&) const;
    void operator()(const get_autocommit_resp& r) const;
    void operator()(const ws_open_stream_resp&) const;
    void operator()(const ws_close_stream_resp&) const;
    void operator()(const ws_open_cursor_resp&) const;
    void operator()(const ws_close_cursor_resp&) const;
    void operator()(const ws_fetch_cursor_resp& r) const;
};

// cursor entries (json_cursor.cpp)
[[nodiscard]] cursor_entry read_cursor_entry(const reader& r, std::size_t i, const path& where);

} // namespace libsql::hrana::json
