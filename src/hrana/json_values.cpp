// Hrana values ({"type":"integer","value":"1"}, floats, text, base64 blobs) in JSON, and the base64 codec.
#include "hrana/json_detail.hpp"

#include <cmath>

namespace libsql::hrana {
namespace json {

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

} // namespace json

using namespace json;

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
