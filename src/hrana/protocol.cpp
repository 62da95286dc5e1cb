// The Hrana JSON codec. Parsing goes through Boost.JSON's SAX parser into a flat "tape" (one node per JSON value,
// containers know where they end), then a recursive-descent reader turns the tape into the structs and names the
// path of anything wrong. We do not use boost::json::value: Boost 1.81 rounds some doubles wrongly when parsing
// (it has no precise mode before 1.83), and a float must survive the trip exactly; the SAX handler re-parses the
// number text with std::from_chars. Serialisation appends straight to the caller's string.
//
// Decisions:
// - A NaN float value serialises as {"type":"null"} (SQLite itself stores NaN as NULL); +-Inf as 9e999 / -9e999
//   (as SQLite's JSON functions do; JSON.parse and from_chars read those back as +-Inf). A NaN or infinite
//   query_duration_ms is written as null.
// - Text that is not valid UTF-8 is written with each invalid sequence replaced by U+FFFD, so the output is always
//   valid JSON. Control characters are escaped.
// - Depth: JSON nesting beyond max_json_depth and batch conditions nested beyond max_condition_depth are protocol
//   violations, so no input can exhaust the stack.
// - Duplicate keys: the last one wins (as in JavaScript).
#include "hrana/protocol.hpp"

#include <boost/json/basic_parser_impl.hpp>

#include <array>
#include <charconv>
#include <cmath>
#include <cstring>
#include <limits>
#include <utility>

namespace libsql::hrana {
namespace {

constexpr std::size_t max_json_depth = 2100;      // room for max_condition_depth and/or conditions (2 levels each)
constexpr std::size_t max_condition_depth = 1000;

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

double parse_double_text(std::string_view text) {
    double d = 0;
    const auto r = std::from_chars(text.data(), text.data() + text.size(), d);
    if (r.ec == std::errc::result_out_of_range) {
        // Decide overflow or underflow from the decimal magnitude of the text.
        bool negative = !text.empty() && text.front() == '-';
        std::size_t p = negative ? 1 : 0;
        long long magnitude = 0;
        bool seen_nonzero = false;
        long long leading_zeros = 0;
        bool in_fraction = false;
        for (; p < text.size() && text[p] != 'e' && text[p] != 'E'; ++p) {
            const char c = text[p];
            if (c == '.') { in_fraction = true; continue; }
            if (!seen_nonzero) {
                if (c == '0') { if (in_fraction) ++leading_zeros; continue; }
                seen_nonzero = true;
                if (in_fraction) magnitude = -leading_zeros;
            }
            if (!in_fraction) ++magnitude;
        }
        long long exponent = 0;
        if (p < text.size()) {
            ++p;
            bool exp_negative = false;
            if (p < text.size() && (text[p] == '-' || text[p] == '+')) exp_negative = text[p++] == '-';
            for (; p < text.size(); ++p) {
                if (exponent < 1'000'000'000) exponent = exponent * 10 + (text[p] - '0');
            }
            if (exp_negative) exponent = -exponent;
        }
        const bool overflow = seen_nonzero && magnitude + exponent > 0;
        d = overflow ? std::numeric_limits<double>::infinity() : 0.0;
        return negative ? -d : d;
    }
    return d;
}

class tape_builder {
public:
    static constexpr std::size_t max_array_size = static_cast<std::size_t>(-1);
    static constexpr std::size_t max_object_size = static_cast<std::size_t>(-1);
    static constexpr std::size_t max_string_size = static_cast<std::size_t>(-1);
    static constexpr std::size_t max_key_size = static_cast<std::size_t>(-1);

    explicit tape_builder(tape& t) : t_(t) {}

    bool on_document_begin(boost::json::error_code&) { return true; }
    bool on_document_end(boost::json::error_code&) { return true; }
    bool on_array_begin(boost::json::error_code&) { return open(jkind::array); }
    bool on_array_end(std::size_t, boost::json::error_code&) { return close(); }
    bool on_object_begin(boost::json::error_code&) { return open(jkind::object); }
    bool on_object_end(std::size_t, boost::json::error_code&) { return close(); }
    bool on_string_part(boost::json::string_view s, std::size_t, boost::json::error_code&) { return part(s); }
    bool on_string(boost::json::string_view s, std::size_t, boost::json::error_code&) { return finish_string(s); }
    bool on_key_part(boost::json::string_view s, std::size_t, boost::json::error_code&) { return part(s); }
    bool on_key(boost::json::string_view s, std::size_t, boost::json::error_code&) { return finish_string(s); }
    bool on_number_part(boost::json::string_view s, boost::json::error_code&) {
        number_.append(s.data(), s.size());
        return true;
    }
    bool on_int64(std::int64_t i, boost::json::string_view, boost::json::error_code&) {
        number_.clear();
        jnode n;
        n.kind = jkind::int64;
        n.i = i;
        return push(n);
    }
    bool on_uint64(std::uint64_t u, boost::json::string_view, boost::json::error_code&) {
        number_.clear();
        jnode n;
        n.kind = jkind::uint64;
        n.u = u;
        return push(n);
    }
    bool on_double(double, boost::json::string_view s, boost::json::error_code&) {
        jnode n;
        n.kind = jkind::dbl;
        if (number_.empty()) {
            n.d = parse_double_text({s.data(), s.size()});
        } else {
            number_.append(s.data(), s.size());
            n.d = parse_double_text(number_);
            number_.clear();
        }
        return push(n);
    }
    bool on_bool(bool b, boost::json::error_code&) {
        jnode n;
        n.kind = jkind::boolean;
        n.b = b;
        return push(n);
    }
    bool on_null(boost::json::error_code&) { return push(jnode{}); }
    bool on_comment_part(boost::json::string_view, boost::json::error_code&) { return true; }
    bool on_comment(boost::json::string_view, boost::json::error_code&) { return true; }

private:
    bool push(jnode n) {
        n.end = t_.nodes.size() + 1;
        t_.nodes.push_back(n);
        return true;
    }
    bool open(jkind k) {
        open_.push_back(t_.nodes.size());
        jnode n;
        n.kind = k;
        t_.nodes.push_back(n);
        return true;
    }
    bool close() {
        t_.nodes[open_.back()].end = t_.nodes.size();
        open_.pop_back();
        return true;
    }
    bool part(boost::json::string_view s) {
        if (!in_string_) {
            in_string_ = true;
            string_start_ = t_.strings.size();
        }
        t_.strings.append(s.data(), s.size());
        return true;
    }
    bool finish_string(boost::json::string_view s) {
        if (!in_string_) string_start_ = t_.strings.size();
        in_string_ = false;
        t_.strings.append(s.data(), s.size());
        jnode n;
        n.kind = jkind::string;
        n.str_off = string_start_;
        n.str_len = t_.strings.size() - string_start_;
        return push(n);
    }

    tape& t_;
    std::vector<std::size_t> open_;
    std::string number_;
    bool in_string_ = false;
    std::size_t string_start_ = 0;
};

tape parse_json(std::string_view json) {
    tape t;
    t.nodes.reserve(json.size() / 16 + 8);  // a JSON value takes ~16+ bytes of text
    boost::json::parse_options opts;
    opts.max_depth = max_json_depth;
    boost::json::basic_parser<tape_builder> p(opts, t);
    boost::json::error_code ec;
    const std::size_t n = p.write_some(false, json.data(), json.size(), ec);
    if (ec) {
        if (ec == boost::json::error::too_deep)
            throw protocol_violation("invalid JSON: nested more than " + std::to_string(max_json_depth) + " levels deep");
        throw protocol_violation("invalid JSON at offset " + std::to_string(n) + ": " + ec.message());
    }
    if (n != json.size()) throw protocol_violation("invalid JSON at offset " + std::to_string(n) + ": extra data");
    if (t.nodes.empty()) throw protocol_violation("invalid JSON: empty document");
    return t;
}

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

void render(const path* p, std::string& out) {
    if (p == nullptr) return;
    render(p->parent, out);
    if (!p->key.empty()) {
        if (!out.empty()) out += '.';
        out.append(p->key);
    } else if (p->index != static_cast<std::size_t>(-1)) {
        out += '[';
        out += std::to_string(p->index);
        out += ']';
    }
}

[[noreturn]] void fail(const path& where, std::string_view message) {
    std::string text;
    render(&where, text);
    if (!text.empty()) text += ": ";
    text.append(message);
    throw protocol_violation(text);
}

std::string_view kind_name(jkind k) {
    switch (k) {
    case jkind::null: return "null";
    case jkind::boolean: return "a boolean";
    case jkind::int64:
    case jkind::uint64:
    case jkind::dbl: return "a number";
    case jkind::string: return "a string";
    case jkind::array: return "an array";
    case jkind::object: return "an object";
    }
    return "?";
}

[[noreturn]] void fail_type(const path& where, std::string_view expected, jkind got) {
    fail(where, "expected " + std::string(expected) + ", got " + std::string(kind_name(got)));
}

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

// ----------------------------------------------------------------------------------------- struct readers
libsql::value read_value(const reader& r, std::size_t i, const path& where) {
    const std::string_view type = r.type_tag(i, where);
    if (type == "null") return libsql::value{};
    if (type == "integer") {
        const path p{&where, "value"};
        return libsql::value(libsql::value_view::integer(r.int64_string(r.require(i, "value", where), p)));
    }
    if (type == "float") {
        const path p{&where, "value"};
        return libsql::value(libsql::value_view::real(r.number(r.require(i, "value", where), p)));
    }
    if (type == "text") {
        const path p{&where, "value"};
        return libsql::value(libsql::value_view::text(r.string(r.require(i, "value", where), p)));
    }
    if (type == "blob") {
        const path p{&where, "base64"};
        const std::size_t v = r.require(i, "base64", where);
        auto bytes = base64_decode(r.string(v, p));
        if (!bytes) fail(p, "invalid base64");
        return libsql::value(libsql::value_view::blob(*bytes));
    }
    fail(where, "unknown value type '" + std::string(type) + "'");
}

std::vector<libsql::value> read_values(const reader& r, std::size_t arr, const path& where) {
    std::vector<libsql::value> out;
    if (r.node(arr).kind == jkind::array) out.reserve(r.count(arr));
    r.for_each_element(arr, where, [&](std::size_t e, const path& p) { out.push_back(read_value(r, e, p)); });
    return out;
}

/// sql / sql_id, exactly one of them.
void read_sql_or_id(const reader& r, std::size_t obj, const path& where, std::optional<std::string>& sql,
                    std::optional<std::int32_t>& sql_id) {
    sql = r.opt_string(obj, "sql", where);
    sql_id = r.opt_int32(obj, "sql_id", where);
    if (sql && sql_id) fail(where, "both 'sql' and 'sql_id' given");
    if (!sql && !sql_id) fail(where, "one of 'sql' and 'sql_id' is required");
}

stmt read_stmt(const reader& r, std::size_t i, const path& where) {
    r.expect_object(i, where);
    stmt s;
    read_sql_or_id(r, i, where, s.sql, s.sql_id);
    if (const std::size_t a = r.find_opt(i, "args"); a != reader::npos) {
        const path p{&where, "args"};
        s.args = read_values(r, a, p);
    }
    if (const std::size_t a = r.find_opt(i, "named_args"); a != reader::npos) {
        const path p{&where, "named_args"};
        r.for_each_element(a, p, [&](std::size_t e, const path& ep) {
            r.expect_object(e, ep);
            named_arg arg;
            arg.name = r.req_string(e, "name", ep);
            const path vp{&ep, "value"};
            arg.value = read_value(r, r.require(e, "value", ep), vp);
            s.named_args.push_back(std::move(arg));
        });
    }
    s.want_rows = r.opt_bool(i, "want_rows", where, true);
    s.replication_index = r.opt_uint64_string(i, "replication_index", where);
    return s;
}

condition read_condition(const reader& r, std::size_t i, const path& where, std::size_t depth) {
    if (depth > max_condition_depth)
        fail(where, "conditions nested more than " + std::to_string(max_condition_depth) + " levels deep");
    const std::string_view type = r.type_tag(i, where);
    condition c;
    if (type == "ok" || type == "error") {
        c.type = type == "ok" ? condition::kind::ok : condition::kind::error;
        c.step = r.req_uint32(i, "step", where);
    } else if (type == "not") {
        c.type = condition::kind::not_;
        const path p{&where, "cond"};
        const std::size_t v = r.require(i, "cond", where);
        c.conds.push_back(read_condition(r, v, p, depth + 1));
    } else if (type == "and" || type == "or") {
        c.type = type == "and" ? condition::kind::and_ : condition::kind::or_;
        const path p{&where, "conds"};
        r.for_each_element(r.require(i, "conds", where), p, [&](std::size_t e, const path& ep) {
            c.conds.push_back(read_condition(r, e, ep, depth + 1));
        });
    } else if (type == "is_autocommit") {
        c.type = condition::kind::is_autocommit;
    } else {
        const path p{&where, "type"};
        fail(p, "unknown condition type '" + std::string(type) + "'");
    }
    return c;
}

batch read_batch(const reader& r, std::size_t i, const path& where) {
    r.expect_object(i, where);
    batch b;
    const path sp{&where, "steps"};
    r.for_each_element(r.require(i, "steps", where), sp, [&](std::size_t e, const path& ep) {
        r.expect_object(e, ep);
        batch_step step;
        if (const std::size_t c = r.find_opt(e, "condition"); c != reader::npos) {
            const path cp{&ep, "condition"};
            step.condition = read_condition(r, c, cp, 1);
        }
        const path stp{&ep, "stmt"};
        step.stmt = read_stmt(r, r.require(e, "stmt", ep), stp);
        b.steps.push_back(std::move(step));
    });
    b.replication_index = r.opt_uint64_string(i, "replication_index", where);
    return b;
}

error read_error(const reader& r, std::size_t i, const path& where) {
    r.expect_object(i, where);
    error e;
    e.message = r.req_string(i, "message", where);
    e.code = r.opt_string(i, "code", where).value_or(std::string{});
    return e;
}

std::vector<column> read_cols(const reader& r, std::size_t arr, const path& where) {
    std::vector<column> cols;
    r.for_each_element(arr, where, [&](std::size_t e, const path& p) {
        r.expect_object(e, p);
        column c;
        c.name = r.opt_string(e, "name", p).value_or(std::string{});
        c.decltype_ = r.opt_string(e, "decltype", p);
        cols.push_back(std::move(c));
    });
    return cols;
}

std::optional<std::int64_t> read_opt_rowid(const reader& r, std::size_t obj, const path& where) {
    const std::size_t v = r.find_opt(obj, "last_insert_rowid");
    if (v == reader::npos) return std::nullopt;
    const path p{&where, "last_insert_rowid"};
    return r.int64_string(v, p);
}

stmt_result read_stmt_result(const reader& r, std::size_t i, const path& where) {
    r.expect_object(i, where);
    stmt_result s;
    if (const std::size_t c = r.find_opt(i, "cols"); c != reader::npos) {
        const path p{&where, "cols"};
        s.cols = read_cols(r, c, p);
    }
    if (const std::size_t rows = r.find_opt(i, "rows"); rows != reader::npos) {
        const path p{&where, "rows"};
        if (r.node(rows).kind == jkind::array) s.rows.reserve(r.count(rows));
        r.for_each_element(rows, p, [&](std::size_t e, const path& ep) { s.rows.push_back(read_values(r, e, ep)); });
    }
    s.affected_row_count = r.opt_uint64(i, "affected_row_count", where).value_or(0);
    s.last_insert_rowid = read_opt_rowid(r, i, where);
    s.replication_index = r.opt_uint64_string(i, "replication_index", where);
    s.rows_read = r.opt_uint64(i, "rows_read", where);
    s.rows_written = r.opt_uint64(i, "rows_written", where);
    if (const std::size_t q = r.find_opt(i, "query_duration_ms"); q != reader::npos) {
        const path p{&where, "query_duration_ms"};
        s.query_duration_ms = r.number(q, p);
    }
    return s;
}

batch_result read_batch_result(const reader& r, std::size_t i, const path& where) {
    r.expect_object(i, where);
    batch_result b;
    if (const std::size_t a = r.find_opt(i, "step_results"); a != reader::npos) {
        const path p{&where, "step_results"};
        r.for_each_element(a, p, [&](std::size_t e, const path& ep) {
            if (r.is_null(e)) b.step_results.emplace_back();
            else b.step_results.emplace_back(read_stmt_result(r, e, ep));
        });
    }
    if (const std::size_t a = r.find_opt(i, "step_errors"); a != reader::npos) {
        const path p{&where, "step_errors"};
        r.for_each_element(a, p, [&](std::size_t e, const path& ep) {
            if (r.is_null(e)) b.step_errors.emplace_back();
            else b.step_errors.emplace_back(read_error(r, e, ep));
        });
    }
    b.replication_index = r.opt_uint64_string(i, "replication_index", where);
    return b;
}

describe_result read_describe_result(const reader& r, std::size_t i, const path& where) {
    r.expect_object(i, where);
    describe_result d;
    if (const std::size_t a = r.find_opt(i, "params"); a != reader::npos) {
        const path p{&where, "params"};
        r.for_each_element(a, p, [&](std::size_t e, const path& ep) {
            r.expect_object(e, ep);
            d.params.push_back(describe_param{r.opt_string(e, "name", ep)});
        });
    }
    if (const std::size_t a = r.find_opt(i, "cols"); a != reader::npos) {
        const path p{&where, "cols"};
        d.cols = read_cols(r, a, p);
    }
    d.is_explain = r.opt_bool(i, "is_explain", where, false);
    d.is_readonly = r.opt_bool(i, "is_readonly", where, false);
    return d;
}

[[noreturn]] void fail_unknown_type(const path& where, std::string_view what, std::string_view type) {
    const path p{&where, "type"};
    fail(p, "unknown " + std::string(what) + " type '" + std::string(type) + "'");
}

stream_request read_stream_request(const reader& r, std::size_t i, const path& where) {
    const std::string_view type = r.type_tag(i, where);
    if (type == "execute") {
        const path p{&where, "stmt"};
        return execute_req{read_stmt(r, r.require(i, "stmt", where), p)};
    }
    if (type == "batch") {
        const path p{&where, "batch"};
        return batch_req{read_batch(r, r.require(i, "batch", where), p)};
    }
    if (type == "sequence") {
        sequence_req s;
        read_sql_or_id(r, i, where, s.sql, s.sql_id);
        return s;
    }
    if (type == "describe") {
        describe_req d;
        read_sql_or_id(r, i, where, d.sql, d.sql_id);
        return d;
    }
    if (type == "store_sql") return store_sql_req{r.req_int32(i, "sql_id", where), r.req_string(i, "sql", where)};
    if (type == "close_sql") return close_sql_req{r.req_int32(i, "sql_id", where)};
    if (type == "close") return close_req{};
    if (type == "get_autocommit") return get_autocommit_req{};
    fail_unknown_type(where, "request", type);
}

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

stream_response read_stream_response(const reader& r, std::size_t i, const path& where) {
    const std::string_view type = r.type_tag(i, where);
    if (auto resp = read_common_response<stream_response>(r, i, where, type)) return std::move(*resp);
    if (type == "close") return close_resp{};
    fail_unknown_type(where, "response", type);
}

cursor_entry read_cursor_entry(const reader& r, std::size_t i, const path& where) {
    const std::string_view type = r.type_tag(i, where);
    if (type == "step_begin") {
        step_begin_entry e;
        e.step = r.req_uint32(i, "step", where);
        if (const std::size_t c = r.find_opt(i, "cols"); c != reader::npos) {
            const path p{&where, "cols"};
            e.cols = read_cols(r, c, p);
        }
        return e;
    }
    if (type == "step_end") {
        step_end_entry e;
        e.affected_row_count = r.opt_uint64(i, "affected_row_count", where).value_or(0);
        e.last_insert_rowid = read_opt_rowid(r, i, where);
        return e;
    }
    if (type == "step_error") {
        const path p{&where, "error"};
        const std::uint32_t step = r.req_uint32(i, "step", where);
        return step_error_entry{step, read_error(r, r.require(i, "error", where), p)};
    }
    if (type == "row") {
        const path p{&where, "row"};
        return row_entry{read_values(r, r.require(i, "row", where), p)};
    }
    if (type == "error") {
        const path p{&where, "error"};
        return error_entry{read_error(r, r.require(i, "error", where), p)};
    }
    fail_unknown_type(where, "cursor entry", type);
}

ws_request read_ws_request(const reader& r, std::size_t i, const path& where) {
    const std::string_view type = r.type_tag(i, where);
    if (type == "open_stream") return ws_open_stream{r.req_int32(i, "stream_id", where)};
    if (type == "close_stream") return ws_close_stream{r.req_int32(i, "stream_id", where)};
    if (type == "execute") {
        const path p{&where, "stmt"};
        const std::int32_t stream_id = r.req_int32(i, "stream_id", where);
        return ws_execute{stream_id, read_stmt(r, r.require(i, "stmt", where), p)};
    }
    if (type == "batch") {
        const path p{&where, "batch"};
        const std::int32_t stream_id = r.req_int32(i, "stream_id", where);
        return ws_batch{stream_id, read_batch(r, r.require(i, "batch", where), p)};
    }
    if (type == "sequence") {
        ws_sequence s;
        s.stream_id = r.req_int32(i, "stream_id", where);
        read_sql_or_id(r, i, where, s.sql, s.sql_id);
        return s;
    }
    if (type == "describe") {
        ws_describe d;
        d.stream_id = r.req_int32(i, "stream_id", where);
        read_sql_or_id(r, i, where, d.sql, d.sql_id);
        return d;
    }
    if (type == "store_sql") return store_sql_req{r.req_int32(i, "sql_id", where), r.req_string(i, "sql", where)};
    if (type == "close_sql") return close_sql_req{r.req_int32(i, "sql_id", where)};
    if (type == "get_autocommit") return ws_get_autocommit{r.req_int32(i, "stream_id", where)};
    if (type == "open_cursor") {
        ws_open_cursor c;
        c.stream_id = r.req_int32(i, "stream_id", where);
        c.cursor_id = r.req_int32(i, "cursor_id", where);
        const path p{&where, "batch"};
        c.batch = read_batch(r, r.require(i, "batch", where), p);
        return c;
    }
    if (type == "close_cursor") return ws_close_cursor{r.req_int32(i, "cursor_id", where)};
    if (type == "fetch_cursor")
        return ws_fetch_cursor{r.req_int32(i, "cursor_id", where), r.req_uint32(i, "max_count", where)};
    fail_unknown_type(where, "request", type);
}

ws_response read_ws_response(const reader& r, std::size_t i, const path& where) {
    const std::string_view type = r.type_tag(i, where);
    if (auto resp = read_common_response<ws_response>(r, i, where, type)) return std::move(*resp);
    if (type == "open_stream") return ws_open_stream_resp{};
    if (type == "close_stream") return ws_close_stream_resp{};
    if (type == "open_cursor") return ws_open_cursor_resp{};
    if (type == "close_cursor") return ws_close_cursor_resp{};
    if (type == "fetch_cursor") {
        ws_fetch_cursor_resp f;
        const path p{&where, "entries"};
        r.for_each_element(r.require(i, "entries", where), p,
                           [&](std::size_t e, const path& ep) { f.entries.push_back(read_cursor_entry(r, e, ep)); });
        const path dp{&where, "done"};
        f.done = r.boolean(r.require(i, "done", where), dp);
        return f;
    }
    fail_unknown_type(where, "response", type);
}

// ------------------------------------------------------------------------------------------------- writers
/// Length of the valid UTF-8 sequence starting at s[i], or 0 when it is not valid.
std::size_t utf8_sequence(std::string_view s, std::size_t i) noexcept {
    const auto at = [&](std::size_t k) { return static_cast<unsigned char>(s[k]); };
    const unsigned char c = at(i);
    const std::size_t left = s.size() - i;
    const auto cont = [&](std::size_t k) { return (at(k) & 0xC0U) == 0x80U; };
    if (c >= 0xC2 && c <= 0xDF) return left >= 2 && cont(i + 1) ? 2 : 0;
    if (c >= 0xE0 && c <= 0xEF) {
        if (left < 3 || !cont(i + 1) || !cont(i + 2)) return 0;
        const unsigned char c1 = at(i + 1);
        if (c == 0xE0 && c1 < 0xA0) return 0;  // overlong
        if (c == 0xED && c1 > 0x9F) return 0;  // surrogate
        return 3;
    }
    if (c >= 0xF0 && c <= 0xF4) {
        if (left < 4 || !cont(i + 1) || !cont(i + 2) || !cont(i + 3)) return 0;
        const unsigned char c1 = at(i + 1);
        if (c == 0xF0 && c1 < 0x90) return 0;  // overlong
        if (c == 0xF4 && c1 > 0x8F) return 0;  // beyond U+10FFFF
        return 4;
    }
    return 0;
}

void write_string(std::string& out, std::string_view s) {
    static constexpr char hex[] = "0123456789abcdef";
    out.reserve(out.size() + s.size() + 2);
    out += '"';
    std::size_t run = 0;  // start of the pending run of bytes that need no escaping
    std::size_t i = 0;
    while (i < s.size()) {
        const auto c = static_cast<unsigned char>(s[i]);
        if (c >= 0x20 && c != '"' && c != '\\' && c < 0x80) {
            ++i;
            continue;
        }
        if (c >= 0x80) {
            if (const std::size_t n = utf8_sequence(s, i); n != 0) {
                i += n;
                continue;
            }
        }
        out.append(s.data() + run, i - run);
        switch (c) {
        case '"': out += "\\\""; break;
        case '\\': out += "\\\\"; break;
        case '\n': out += "\\n"; break;
        case '\r': out += "\\r"; break;
        case '\t': out += "\\t"; break;
        case '\b': out += "\\b"; break;
        case '\f': out += "\\f"; break;
        default:
            if (c < 0x20) {
                out += "\\u00";
                out += hex[c >> 4];
                out += hex[c & 0xF];
            } else {
                out += "\xEF\xBF\xBD";  // invalid UTF-8 byte: U+FFFD
            }
        }
        ++i;
        run = i;
    }
    out.append(s.data() + run, s.size() - run);
    out += '"';
}

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

/// A finite double in its shortest exact form, always readable back as a double; +-Inf as +-9e999; NaN as null.
void write_double(std::string& out, double d) {
    if (std::isnan(d)) {
        out += "null";
        return;
    }
    if (std::isinf(d)) {
        out += d < 0 ? "-9e999" : "9e999";
        return;
    }
    std::array<char, 40> buf{};
    const auto r = std::to_chars(buf.data(), buf.data() + buf.size(), d);
    const std::string_view text(buf.data(), static_cast<std::size_t>(r.ptr - buf.data()));
    out.append(text);
    if (text.find_first_of(".e") == std::string_view::npos) out += ".0";
}

void write_key(std::string& out, std::string_view key) {
    // keys are our own identifiers: no escaping needed
    out += '"';
    out.append(key);
    out += "\":";
}

void write_opt_string(std::string& out, const std::optional<std::string>& s) {
    if (s) write_string(out, *s);
    else out += "null";
}

void write_value(std::string& out, const libsql::value& v) {
    const libsql::value_view view = v.view();
    switch (view.type()) {
    case libsql::value_type::null: out += R"({"type":"null"})"; return;
    case libsql::value_type::integer:
        out += R"({"type":"integer","value":)";
        write_int_string(out, view.as_integer());
        out += '}';
        return;
    case libsql::value_type::real:
        if (std::isnan(view.as_real())) {
            out += R"({"type":"null"})";
            return;
        }
        out += R"({"type":"float","value":)";
        write_double(out, view.as_real());
        out += '}';
        return;
    case libsql::value_type::text:
        out += R"({"type":"text","value":)";
        write_string(out, view.as_text());
        out += '}';
        return;
    case libsql::value_type::blob:
        out += R"({"type":"blob","base64":")";
        out += base64_encode(view.as_blob());
        out += "\"}";
        return;
    }
}

void write_values(std::string& out, const std::vector<libsql::value>& values) {
    out += '[';
    for (std::size_t i = 0; i < values.size(); ++i) {
        if (i != 0) out += ',';
        write_value(out, values[i]);
    }
    out += ']';
}

void write_sql_or_id(std::string& out, const std::optional<std::string>& sql, const std::optional<std::int32_t>& sql_id) {
    if (sql) {
        out += ",\"sql\":";
        write_string(out, *sql);
    }
    if (sql_id) {
        out += ",\"sql_id\":";
        write_int(out, *sql_id);
    }
}

void write_stmt(std::string& out, const stmt& s) {
    out += '{';
    bool first = true;
    if (s.sql) {
        write_key(out, "sql");
        write_string(out, *s.sql);
        first = false;
    }
    if (s.sql_id) {
        if (!first) out += ',';
        write_key(out, "sql_id");
        write_int(out, *s.sql_id);
        first = false;
    }
    if (!first) out += ',';
    write_key(out, "args");
    write_values(out, s.args);
    out += ",\"named_args\":[";
    for (std::size_t i = 0; i < s.named_args.size(); ++i) {
        if (i != 0) out += ',';
        out += "{\"name\":";
        write_string(out, s.named_args[i].name);
        out += ",\"value\":";
        write_value(out, s.named_args[i].value);
        out += '}';
    }
    out += "],\"want_rows\":";
    out += s.want_rows ? "true" : "false";
    if (s.replication_index) {
        out += ",\"replication_index\":";
        write_int_string(out, *s.replication_index);
    }
    out += '}';
}

void write_condition(std::string& out, const condition& c) {
    switch (c.type) {
    case condition::kind::ok:
    case condition::kind::error:
        out += c.type == condition::kind::ok ? R"({"type":"ok","step":)" : R"({"type":"error","step":)";
        write_int(out, c.step);
        out += '}';
        return;
    case condition::kind::not_:
        if (c.conds.size() != 1) throw libsql::usage_error("hrana: a 'not' condition needs exactly one operand");
        out += R"({"type":"not","cond":)";
        write_condition(out, c.conds.front());
        out += '}';
        return;
    case condition::kind::and_:
    case condition::kind::or_:
        out += c.type == condition::kind::and_ ? R"({"type":"and","conds":[)" : R"({"type":"or","conds":[)";
        for (std::size_t i = 0; i < c.conds.size(); ++i) {
            if (i != 0) out += ',';
            write_condition(out, c.conds[i]);
        }
        out += "]}";
        return;
    case condition::kind::is_autocommit: out += R"({"type":"is_autocommit"})"; return;
    }
}

void write_batch(std::string& out, const batch& b) {
    out += "{\"steps\":[";
    for (std::size_t i = 0; i < b.steps.size(); ++i) {
        if (i != 0) out += ',';
        out += '{';
        if (b.steps[i].condition) {
            write_key(out, "condition");
            write_condition(out, *b.steps[i].condition);
            out += ',';
        }
        write_key(out, "stmt");
        write_stmt(out, b.steps[i].stmt);
        out += '}';
    }
    out += ']';
    if (b.replication_index) {
        out += ",\"replication_index\":";
        write_int_string(out, *b.replication_index);
    }
    out += '}';
}

void write_error(std::string& out, const error& e) {
    out += "{\"message\":";
    write_string(out, e.message);
    if (!e.code.empty()) {
        out += ",\"code\":";
        write_string(out, e.code);
    }
    out += '}';
}

void write_cols(std::string& out, const std::vector<column>& cols) {
    out += '[';
    for (std::size_t i = 0; i < cols.size(); ++i) {
        if (i != 0) out += ',';
        out += "{\"name\":";
        write_string(out, cols[i].name);
        out += ",\"decltype\":";
        write_opt_string(out, cols[i].decltype_);
        out += '}';
    }
    out += ']';
}

void write_opt_rowid(std::string& out, const std::optional<std::int64_t>& rowid) {
    out += ",\"last_insert_rowid\":";
    if (rowid) write_int_string(out, *rowid);
    else out += "null";
}

void write_stmt_result(std::string& out, const stmt_result& s) {
    out += "{\"cols\":";
    write_cols(out, s.cols);
    out += ",\"rows\":[";
    for (std::size_t i = 0; i < s.rows.size(); ++i) {
        if (i != 0) out += ',';
        write_values(out, s.rows[i]);
    }
    out += "],\"affected_row_count\":";
    write_int(out, s.affected_row_count);
    write_opt_rowid(out, s.last_insert_rowid);
    if (s.replication_index) {
        out += ",\"replication_index\":";
        write_int_string(out, *s.replication_index);
    }
    if (s.rows_read) {
        out += ",\"rows_read\":";
        write_int(out, *s.rows_read);
    }
    if (s.rows_written) {
        out += ",\"rows_written\":";
        write_int(out, *s.rows_written);
    }
    if (s.query_duration_ms) {
        out += ",\"query_duration_ms\":";
        if (std::isfinite(*s.query_duration_ms)) write_double(out, *s.query_duration_ms);
        else out += "null";
    }
    out += '}';
}

void write_batch_result(std::string& out, const batch_result& b) {
    out += "{\"step_results\":[";
    for (std::size_t i = 0; i < b.step_results.size(); ++i) {
        if (i != 0) out += ',';
        if (b.step_results[i]) write_stmt_result(out, *b.step_results[i]);
        else out += "null";
    }
    out += "],\"step_errors\":[";
    for (std::size_t i = 0; i < b.step_errors.size(); ++i) {
        if (i != 0) out += ',';
        if (b.step_errors[i]) write_error(out, *b.step_errors[i]);
        else out += "null";
    }
    out += ']';
    if (b.replication_index) {
        out += ",\"replication_index\":";
        write_int_string(out, *b.replication_index);
    }
    out += '}';
}

void write_describe_result(std::string& out, const describe_result& d) {
    out += "{\"params\":[";
    for (std::size_t i = 0; i < d.params.size(); ++i) {
        if (i != 0) out += ',';
        out += "{\"name\":";
        write_opt_string(out, d.params[i].name);
        out += '}';
    }
    out += "],\"cols\":";
    write_cols(out, d.cols);
    out += ",\"is_explain\":";
    out += d.is_explain ? "true" : "false";
    out += ",\"is_readonly\":";
    out += d.is_readonly ? "true" : "false";
    out += '}';
}

struct stream_request_writer {
    std::string& out;
    void operator()(const execute_req& r) const {
        out += R"({"type":"execute","stmt":)";
        write_stmt(out, r.stmt);
        out += '}';
    }
    void operator()(const batch_req& r) const {
        out += R"({"type":"batch","batch":)";
        write_batch(out, r.batch);
        out += '}';
    }
    void operator()(const sequence_req& r) const {
        out += R"({"type":"sequence")";
        write_sql_or_id(out, r.sql, r.sql_id);
        out += '}';
    }
    void operator()(const describe_req& r) const {
        out += R"({"type":"describe")";
        write_sql_or_id(out, r.sql, r.sql_id);
        out += '}';
    }
    void operator()(const store_sql_req& r) const {
        out += R"({"type":"store_sql","sql_id":)";
        write_int(out, r.sql_id);
        out += ",\"sql\":";
        write_string(out, r.sql);
        out += '}';
    }
    void operator()(const close_sql_req& r) const {
        out += R"({"type":"close_sql","sql_id":)";
        write_int(out, r.sql_id);
        out += '}';
    }
    void operator()(const close_req&) const { out += R"({"type":"close"})"; }
    void operator()(const get_autocommit_req&) const { out += R"({"type":"get_autocommit"})"; }
};

/// Responses shared by HTTP and WebSocket, plus the WebSocket-only ones.
struct response_writer {
    std::string& out;
    void operator()(const execute_resp& r) const {
        out += R"({"type":"execute","result":)";
        write_stmt_result(out, r.result);
        out += '}';
    }
    void operator()(const batch_resp& r) const {
        out += R"({"type":"batch","result":)";
        write_batch_result(out, r.result);
        out += '}';
    }
    void operator()(const sequence_resp&) const { out += R"({"type":"sequence"})"; }
    void operator()(const describe_resp& r) const {
        out += R"({"type":"describe","result":)";
        write_describe_result(out, r.result);
        out += '}';
    }
    void operator()(const store_sql_resp&) const { out += R"({"type":"store_sql"})"; }
    void operator()(const close_sql_resp&) const { out += R"({"type":"close_sql"})"; }
    void operator()(const close_resp&) const { out += R"({"type":"close"})"; }
    void operator()(const get_autocommit_resp& r) const {
        out += r.is_autocommit ? R"({"type":"get_autocommit","is_autocommit":true})"
                               : R"({"type":"get_autocommit","is_autocommit":false})";
    }
    void operator()(const ws_open_stream_resp&) const { out += R"({"type":"open_stream"})"; }
    void operator()(const ws_close_stream_resp&) const { out += R"({"type":"close_stream"})"; }
    void operator()(const ws_open_cursor_resp&) const { out += R"({"type":"open_cursor"})"; }
    void operator()(const ws_close_cursor_resp&) const { out += R"({"type":"close_cursor"})"; }
    void operator()(const ws_fetch_cursor_resp& r) const {
        out += R"({"type":"fetch_cursor","entries":[)";
        for (std::size_t i = 0; i < r.entries.size(); ++i) {
            if (i != 0) out += ',';
            serialize(r.entries[i], out);
        }
        out += "],\"done\":";
        out += r.done ? "true" : "false";
        out += '}';
    }
};

struct ws_request_writer {
    std::string& out;
    void stream_id(std::int32_t id) const {
        out += ",\"stream_id\":";
        write_int(out, id);
    }
    void operator()(const ws_open_stream& r) const {
        out += R"({"type":"open_stream")";
        stream_id(r.stream_id);
        out += '}';
    }
    void operator()(const ws_close_stream& r) const {
        out += R"({"type":"close_stream")";
        stream_id(r.stream_id);
        out += '}';
    }
    void operator()(const ws_execute& r) const {
        out += R"({"type":"execute")";
        stream_id(r.stream_id);
        out += ",\"stmt\":";
        write_stmt(out, r.stmt);
        out += '}';
    }
    void operator()(const ws_batch& r) const {
        out += R"({"type":"batch")";
        stream_id(r.stream_id);
        out += ",\"batch\":";
        write_batch(out, r.batch);
        out += '}';
    }
    void operator()(const ws_sequence& r) const {
        out += R"({"type":"sequence")";
        stream_id(r.stream_id);
        write_sql_or_id(out, r.sql, r.sql_id);
        out += '}';
    }
    void operator()(const ws_describe& r) const {
        out += R"({"type":"describe")";
        stream_id(r.stream_id);
        write_sql_or_id(out, r.sql, r.sql_id);
        out += '}';
    }
    void operator()(const store_sql_req& r) const { stream_request_writer{out}(r); }
    void operator()(const close_sql_req& r) const { stream_request_writer{out}(r); }
    void operator()(const ws_get_autocommit& r) const {
        out += R"({"type":"get_autocommit")";
        stream_id(r.stream_id);
        out += '}';
    }
    void operator()(const ws_open_cursor& r) const {
        out += R"({"type":"open_cursor")";
        stream_id(r.stream_id);
        out += ",\"cursor_id\":";
        write_int(out, r.cursor_id);
        out += ",\"batch\":";
        write_batch(out, r.batch);
        out += '}';
    }
    void operator()(const ws_close_cursor& r) const {
        out += R"({"type":"close_cursor","cursor_id":)";
        write_int(out, r.cursor_id);
        out += '}';
    }
    void operator()(const ws_fetch_cursor& r) const {
        out += R"({"type":"fetch_cursor","cursor_id":)";
        write_int(out, r.cursor_id);
        out += ",\"max_count\":";
        write_int(out, r.max_count);
        out += '}';
    }
};

} // namespace

// ------------------------------------------------------------------------------------------------ public API
pipeline_request parse_pipeline_request(std::string_view json) {
    const tape t = parse_json(json);
    const reader r(t);
    const path root;
    r.expect_object(0, root);
    pipeline_request req;
    req.baton = r.opt_string(0, "baton", root);
    const path p{&root, "requests"};
    const std::size_t a = r.require(0, "requests", root);
    if (r.node(a).kind == jkind::array) req.requests.reserve(r.count(a));
    r.for_each_element(a, p, [&](std::size_t e, const path& ep) { req.requests.push_back(read_stream_request(r, e, ep)); });
    return req;
}

pipeline_response parse_pipeline_response(std::string_view json) {
    const tape t = parse_json(json);
    const reader r(t);
    const path root;
    r.expect_object(0, root);
    pipeline_response resp;
    resp.baton = r.opt_string(0, "baton", root);
    resp.base_url = r.opt_string(0, "base_url", root);
    const path p{&root, "results"};
    r.for_each_element(r.require(0, "results", root), p, [&](std::size_t e, const path& ep) {
        const std::string_view type = r.type_tag(e, ep);
        if (type == "ok") {
            const path rp{&ep, "response"};
            resp.results.emplace_back(read_stream_response(r, r.require(e, "response", ep), rp));
        } else if (type == "error") {
            const path rp{&ep, "error"};
            resp.results.emplace_back(read_error(r, r.require(e, "error", ep), rp));
        } else {
            fail_unknown_type(ep, "result", type);
        }
    });
    return resp;
}

cursor_request parse_cursor_request(std::string_view json) {
    const tape t = parse_json(json);
    const reader r(t);
    const path root;
    r.expect_object(0, root);
    cursor_request req;
    req.baton = r.opt_string(0, "baton", root);
    const path p{&root, "batch"};
    req.batch = read_batch(r, r.require(0, "batch", root), p);
    return req;
}

cursor_response_head parse_cursor_response_head(std::string_view json_line) {
    const tape t = parse_json(json_line);
    const reader r(t);
    const path root;
    r.expect_object(0, root);
    return cursor_response_head{r.opt_string(0, "baton", root), r.opt_string(0, "base_url", root)};
}

cursor_entry parse_cursor_entry(std::string_view json_line) {
    const tape t = parse_json(json_line);
    const reader r(t);
    return read_cursor_entry(r, 0, path{});
}

ws_client_msg parse_ws_client_msg(std::string_view json) {
    const tape t = parse_json(json);
    const reader r(t);
    const path root;
    const std::string_view type = r.type_tag(0, root);
    if (type == "hello") return ws_hello{r.opt_string(0, "jwt", root)};
    if (type == "request") {
        const std::int32_t id = r.req_int32(0, "request_id", root);
        const path p{&root, "request"};
        return ws_request_msg{id, read_ws_request(r, r.require(0, "request", root), p)};
    }
    fail_unknown_type(root, "client message", type);
}

ws_server_msg parse_ws_server_msg(std::string_view json) {
    const tape t = parse_json(json);
    const reader r(t);
    const path root;
    const std::string_view type = r.type_tag(0, root);
    if (type == "hello_ok") return ws_hello_ok{};
    if (type == "hello_error") {
        const path p{&root, "error"};
        return ws_hello_error{read_error(r, r.require(0, "error", root), p)};
    }
    if (type == "response_ok") {
        const std::int32_t id = r.req_int32(0, "request_id", root);
        const path p{&root, "response"};
        return ws_response_ok{id, read_ws_response(r, r.require(0, "response", root), p)};
    }
    if (type == "response_error") {
        const std::int32_t id = r.req_int32(0, "request_id", root);
        const path p{&root, "error"};
        return ws_response_error{id, read_error(r, r.require(0, "error", root), p)};
    }
    fail_unknown_type(root, "server message", type);
}

error parse_error_body(std::string_view json) {
    const tape t = parse_json(json);
    const reader r(t);
    return read_error(r, 0, path{});
}

void serialize(const pipeline_request& r, std::string& out) {
    out += "{\"baton\":";
    write_opt_string(out, r.baton);
    out += ",\"requests\":[";
    for (std::size_t i = 0; i < r.requests.size(); ++i) {
        if (i != 0) out += ',';
        std::visit(stream_request_writer{out}, r.requests[i]);
    }
    out += "]}";
}

void serialize(const pipeline_response& r, std::string& out) {
    out += "{\"baton\":";
    write_opt_string(out, r.baton);
    out += ",\"base_url\":";
    write_opt_string(out, r.base_url);
    out += ",\"results\":[";
    for (std::size_t i = 0; i < r.results.size(); ++i) {
        if (i != 0) out += ',';
        if (const auto* resp = std::get_if<stream_response>(&r.results[i])) {
            out += R"({"type":"ok","response":)";
            std::visit(response_writer{out}, *resp);
        } else {
            out += R"({"type":"error","error":)";
            write_error(out, std::get<error>(r.results[i]));
        }
        out += '}';
    }
    out += "]}";
}

void serialize(const cursor_request& r, std::string& out) {
    out += "{\"baton\":";
    write_opt_string(out, r.baton);
    out += ",\"batch\":";
    write_batch(out, r.batch);
    out += '}';
}

void serialize(const cursor_response_head& r, std::string& out) {
    out += "{\"baton\":";
    write_opt_string(out, r.baton);
    out += ",\"base_url\":";
    write_opt_string(out, r.base_url);
    out += '}';
}

void serialize(const cursor_entry& e, std::string& out) {
    struct entry_writer {
        std::string& out;
        void operator()(const step_begin_entry& s) const {
            out += R"({"type":"step_begin","step":)";
            write_int(out, s.step);
            out += ",\"cols\":";
            write_cols(out, s.cols);
            out += '}';
        }
        void operator()(const step_end_entry& s) const {
            out += R"({"type":"step_end","affected_row_count":)";
            write_int(out, s.affected_row_count);
            write_opt_rowid(out, s.last_insert_rowid);
            out += '}';
        }
        void operator()(const step_error_entry& s) const {
            out += R"({"type":"step_error","step":)";
            write_int(out, s.step);
            out += ",\"error\":";
            write_error(out, s.error);
            out += '}';
        }
        void operator()(const row_entry& s) const {
            out += R"({"type":"row","row":)";
            write_values(out, s.row);
            out += '}';
        }
        void operator()(const error_entry& s) const {
            out += R"({"type":"error","error":)";
            write_error(out, s.error);
            out += '}';
        }
    };
    std::visit(entry_writer{out}, e);
}

void serialize(const ws_client_msg& m, std::string& out) {
    if (const auto* hello = std::get_if<ws_hello>(&m)) {
        out += R"({"type":"hello","jwt":)";
        write_opt_string(out, hello->jwt);
        out += '}';
        return;
    }
    const auto& req = std::get<ws_request_msg>(m);
    out += R"({"type":"request","request_id":)";
    write_int(out, req.request_id);
    out += ",\"request\":";
    std::visit(ws_request_writer{out}, req.request);
    out += '}';
}

void serialize(const ws_server_msg& m, std::string& out) {
    struct msg_writer {
        std::string& out;
        void operator()(const ws_hello_ok&) const { out += R"({"type":"hello_ok"})"; }
        void operator()(const ws_hello_error& h) const {
            out += R"({"type":"hello_error","error":)";
            write_error(out, h.error);
            out += '}';
        }
        void operator()(const ws_response_ok& r) const {
            out += R"({"type":"response_ok","request_id":)";
            write_int(out, r.request_id);
            out += ",\"response\":";
            std::visit(response_writer{out}, r.response);
            out += '}';
        }
        void operator()(const ws_response_error& r) const {
            out += R"({"type":"response_error","request_id":)";
            write_int(out, r.request_id);
            out += ",\"error\":";
            write_error(out, r.error);
            out += '}';
        }
    };
    std::visit(msg_writer{out}, m);
}

void serialize(const error& e, std::string& out) { write_error(out, e); }

// -------------------------------------------------------------------------------------------------- base64
namespace {
constexpr char b64_alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

constexpr std::array<std::int8_t, 256> b64_table = [] {
    std::array<std::int8_t, 256> t{};
    for (auto& x : t) x = -1;
    for (int i = 0; i < 64; ++i) t[static_cast<unsigned char>(b64_alphabet[i])] = static_cast<std::int8_t>(i);
    return t;
}();
} // namespace

std::string base64_encode(libsql::blob_view bytes) {
    std::string out;
    out.reserve((bytes.size() + 2) / 3 * 4);
    const auto byte = [&](std::size_t i) { return static_cast<unsigned>(std::to_integer<unsigned char>(bytes[i])); };
    std::size_t i = 0;
    for (; i + 3 <= bytes.size(); i += 3) {
        const unsigned v = byte(i) << 16 | byte(i + 1) << 8 | byte(i + 2);
        out += b64_alphabet[v >> 18];
        out += b64_alphabet[(v >> 12) & 63U];
        out += b64_alphabet[(v >> 6) & 63U];
        out += b64_alphabet[v & 63U];
    }
    const std::size_t rest = bytes.size() - i;
    if (rest == 1) {
        const unsigned v = byte(i) << 16;
        out += b64_alphabet[v >> 18];
        out += b64_alphabet[(v >> 12) & 63U];
        out += "==";
    } else if (rest == 2) {
        const unsigned v = byte(i) << 16 | byte(i + 1) << 8;
        out += b64_alphabet[v >> 18];
        out += b64_alphabet[(v >> 12) & 63U];
        out += b64_alphabet[(v >> 6) & 63U];
        out += '=';
    }
    return out;
}

std::optional<libsql::blob> base64_decode(std::string_view text) {
    // Strip padding: either none, or exactly enough to complete the last group of four.
    std::size_t len = text.size();
    std::size_t pad = 0;
    while (len > 0 && text[len - 1] == '=' && pad < 2) {
        --len;
        ++pad;
    }
    if (pad != 0 && text.size() % 4 != 0) return std::nullopt;
    if (len % 4 == 1) return std::nullopt;
    if (pad != 0 && (len % 4) + pad != 4) return std::nullopt;
    libsql::blob out;
    out.reserve(len / 4 * 3 + 2);
    unsigned acc = 0;
    int bits = 0;
    for (std::size_t i = 0; i < len; ++i) {
        const std::int8_t v = b64_table[static_cast<unsigned char>(text[i])];
        if (v < 0) return std::nullopt;
        acc = (acc << 6) | static_cast<unsigned>(v);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out.push_back(static_cast<std::byte>((acc >> bits) & 0xFFU));
        }
    }
    return out;
}

} // namespace libsql::hrana
