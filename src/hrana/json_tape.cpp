// The Hrana JSON codec's foundation. Parsing goes through Boost.JSON's SAX parser into a flat "tape" (one node per
// JSON value, containers know where they end), then a recursive-descent reader (json_detail.hpp) turns the tape into
// the structs and names the path of anything wrong. We do not use boost::json::value: Boost 1.81 rounds some
// doubles wrongly when parsing (it has no precise mode before 1.83), and a float must survive the trip exactly; the
// SAX handler re-parses the number text with std::from_chars. Serialisation appends straight to the caller's string.
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
#include "hrana/json_detail.hpp"
#include "hrana/utf8.hpp"

#include <boost/json/basic_parser_impl.hpp>

#include <cstdint>
#include <cstring>
#include <utility>

namespace libsql::hrana {
namespace json {

namespace {
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

} // namespace

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

// ------------------------------------------------------------------------------------------ errors and paths
namespace {
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
} // namespace

[[noreturn]] void fail(const path& where, std::string_view message) {
    std::string text;
    render(&where, text);
    if (!text.empty()) text += ": ";
    text.append(message);
    throw protocol_violation(text);
}

namespace {
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
} // namespace

[[noreturn]] void fail_type(const path& where, std::string_view expected, jkind got) {
    fail(where, "expected " + std::string(expected) + ", got " + std::string(kind_name(got)));
}

[[noreturn]] void fail_unknown_type(const path& where, std::string_view what, std::string_view type) {
    const path p{&where, "type"};
    fail(p, "unknown " + std::string(what) + " type '" + std::string(type) + "'");
}

// ------------------------------------------------------------------------------------------------- writers
namespace {
/// No byte of the 8 at p needs escaping: none is a control character, '"', '\\' or non-ASCII. Each test is the
/// classic "some byte is zero / below n" word trick; only whether any byte matches counts, which they give exactly.
inline bool plain_ascii8(const char* p) noexcept {
    constexpr std::uint64_t ones = 0x0101010101010101ULL, high = 0x8080808080808080ULL;
    std::uint64_t v;
    std::memcpy(&v, p, sizeof v);
    const auto has_zero = [](std::uint64_t x) { return (x - ones) & ~x & high; };
    const std::uint64_t bad = (v & high) | ((v - ones * 0x20) & ~v & high) | has_zero(v ^ (ones * '"')) |
                              has_zero(v ^ (ones * '\\'));
    return bad == 0;
}
} // namespace

void write_string(std::string& out, std::string_view s) {
    static constexpr char hex[] = "0123456789abcdef";
    out.reserve(out.size() + s.size() + 2);
    out += '"';
    std::size_t run = 0;  // start of the pending run of bytes that need no escaping
    std::size_t i = 0;
    while (i < s.size()) {
        if (i + 8 <= s.size() && plain_ascii8(s.data() + i)) {
            i += 8;
            continue;
        }
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

void write_opt_string(std::string& out, const std::optional<std::string>& s) {
    if (s) write_string(out, *s);
    else out += "null";
}

} // namespace json

} // namespace libsql::hrana
