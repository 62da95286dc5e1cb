// libsql serve's authentication: Ed25519-signed JWTs as sqld and Turso issue them, and the public key file.
#include "server/auth.hpp"

#include "libsql/error.hpp"

#include <boost/json.hpp>
#include <sodium.h>

#include <array>
#include <cmath>
#include <fstream>
#include <sstream>

namespace libsql::server {

namespace detail {

namespace {

constexpr std::string_view url_alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

int sextet(char c) noexcept {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '-' || c == '+') return 62;
    if (c == '_' || c == '/') return 63;
    return -1;
}

} // namespace

std::string base64url_encode(std::string_view bytes) {
    std::string out;
    out.reserve((bytes.size() + 2) / 3 * 4);
    std::size_t i = 0;
    auto byte = [&](std::size_t k) { return static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[k])); };
    for (; i + 3 <= bytes.size(); i += 3) {
        const std::uint32_t v = (byte(i) << 16) | (byte(i + 1) << 8) | byte(i + 2);
        out += url_alphabet[(v >> 18) & 63];
        out += url_alphabet[(v >> 12) & 63];
        out += url_alphabet[(v >> 6) & 63];
        out += url_alphabet[v & 63];
    }
    if (bytes.size() - i == 1) {
        const std::uint32_t v = byte(i) << 16;
        out += url_alphabet[(v >> 18) & 63];
        out += url_alphabet[(v >> 12) & 63];
    } else if (bytes.size() - i == 2) {
        const std::uint32_t v = (byte(i) << 16) | (byte(i + 1) << 8);
        out += url_alphabet[(v >> 18) & 63];
        out += url_alphabet[(v >> 12) & 63];
        out += url_alphabet[(v >> 6) & 63];
    }
    return out;
}

std::optional<std::string> base64_any_decode(std::string_view text) {
    while (!text.empty() && text.back() == '=') text.remove_suffix(1);
    if (text.size() % 4 == 1) return std::nullopt;
    std::string out;
    out.reserve(text.size() * 3 / 4);
    std::uint32_t acc = 0;
    int bits = 0;
    for (const char c : text) {
        const int v = sextet(c);
        if (v < 0) return std::nullopt;
        acc = (acc << 6) | static_cast<std::uint32_t>(v);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out += static_cast<char>((acc >> bits) & 0xff);
        }
    }
    // Leftover bits must be zero (canonical encoding), else the text was not made by an encoder.
    if (bits > 0 && (acc & ((1u << bits) - 1)) != 0) return std::nullopt;
    return out;
}

namespace {

std::optional<boost::json::object> json_object(std::string_view text) {
    boost::system::error_code ec;
    auto v = boost::json::parse(text, ec);
    if (ec || !v.is_object()) return std::nullopt;
    return std::move(v.as_object());
}

/// A NumericDate claim as seconds; nullopt when absent, and `bad` set when present but not a number.
std::optional<double> numeric_claim(const boost::json::object& o, std::string_view name, bool& bad) {
    const auto* v = o.if_contains(name);
    if (!v || v->is_null()) return std::nullopt;
    if (v->is_int64()) return static_cast<double>(v->as_int64());
    if (v->is_uint64()) return static_cast<double>(v->as_uint64());
    if (v->is_double() && std::isfinite(v->as_double())) return v->as_double();
    bad = true;
    return std::nullopt;
}

} // namespace

namespace {

/// Whether p[scope]["ns"] (sqld's Scopes) lists ns.
bool scope_lists(const boost::json::object& p, std::string_view scope, std::string_view ns) {
    const auto* s = p.if_contains(scope);
    if (s == nullptr || !s->is_object()) return false;
    const auto* list = s->as_object().if_contains("ns");
    if (list == nullptr || !list->is_array()) return false;
    for (const auto& v : list->as_array())
        if (v.is_string() && v.as_string() == ns) return true;
    return false;
}

} // namespace

jwt_check verify_jwt(std::string_view token, std::string_view public_key, std::chrono::system_clock::time_point now,
                     std::optional<std::string_view> ns) {
    if (sodium_init() < 0) return {access::denied, "the server cannot initialise its crypto library", std::nullopt};
    if (public_key.size() != crypto_sign_PUBLICKEYBYTES) return {access::denied, "the server's public key is not 32 bytes", std::nullopt};
    const auto dot1 = token.find('.');
    const auto dot2 = dot1 == std::string_view::npos ? dot1 : token.find('.', dot1 + 1);
    if (dot2 == std::string_view::npos || token.find('.', dot2 + 1) != std::string_view::npos)
        return {access::denied, "the token is not a JWT (expected header.payload.signature)", std::nullopt};
    const auto header = base64_any_decode(token.substr(0, dot1));
    const auto payload = base64_any_decode(token.substr(dot1 + 1, dot2 - dot1 - 1));
    const auto signature = base64_any_decode(token.substr(dot2 + 1));
    if (!header || !payload || !signature) return {access::denied, "the token is not valid base64url", std::nullopt};
    const auto h = json_object(*header);
    if (!h) return {access::denied, "the token's header is not a JSON object", std::nullopt};
    const auto* alg = h->if_contains("alg");
    if (!alg || !alg->is_string() || (alg->as_string() != "EdDSA" && alg->as_string() != "Ed25519"))
        return {access::denied, "the token is not signed with EdDSA (Ed25519)", std::nullopt};
    if (signature->size() != crypto_sign_BYTES) return {access::denied, "the token's signature has the wrong size", std::nullopt};
    const std::string_view signed_part = token.substr(0, dot2);
    if (crypto_sign_verify_detached(reinterpret_cast<const unsigned char*>(signature->data()),
                                    reinterpret_cast<const unsigned char*>(signed_part.data()), signed_part.size(),
                                    reinterpret_cast<const unsigned char*>(public_key.data())) != 0)
        return {access::denied, "the token's signature is not valid", std::nullopt};
    const auto p = json_object(*payload);
    if (!p) return {access::denied, "the token's payload is not a JSON object", std::nullopt};
    const double seconds = std::chrono::duration<double>(now.time_since_epoch()).count();
    bool bad = false;
    const auto exp = numeric_claim(*p, "exp", bad);
    const auto nbf = numeric_claim(*p, "nbf", bad);
    if (bad) return {access::denied, "the token's exp or nbf claim is not a number", std::nullopt};
    if (exp && seconds >= *exp) return {access::denied, "the token has expired", std::nullopt};
    if (nbf && seconds < *nbf) return {access::denied, "the token is not valid yet", std::nullopt};
    if (ns) {
        const std::string shown = "namespace `" + std::string(*ns) + "`";
        if (const auto* scopes = p->if_contains("p"); scopes != nullptr && !scopes->is_null()) {
            if (!scopes->is_object()) return {access::denied, "the token's claim \"p\" is not an object", std::nullopt};
            const auto& o = scopes->as_object();
            if (scope_lists(o, "rw", *ns)) return {access::full, {}, exp};
            if (scope_lists(o, "ro", *ns) || scope_lists(o, "roa", *ns) || scope_lists(o, "rwa", *ns))
                return {access::read_only, {}, exp};
            return {access::denied, "the token grants no access to " + shown, std::nullopt};
        }
        if (const auto* id = p->if_contains("id"); id != nullptr && !id->is_null()) {
            if (!id->is_string() || id->as_string() != *ns)
                return {access::denied, "the token is for another namespace than " + shown, std::nullopt};
        }
    }
    const auto* a = p->if_contains("a");
    if (!a || a->is_null()) return {access::full, {}, exp};
    if (a->is_string() && a->as_string() == "rw") return {access::full, {}, exp};
    if (a->is_string() && a->as_string() == "ro") return {access::read_only, {}, exp};
    return {access::denied, "the token's access claim \"a\" is neither \"rw\" nor \"ro\"", std::nullopt};
}

} // namespace detail

std::string read_ed25519_public_key_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw usage_error("cannot read the JWT public key file '" + path + "'");
    std::ostringstream ss;
    ss << in.rdbuf();
    const std::string text = ss.str();
    const auto fail = [&](std::string_view why) -> std::string {
        throw usage_error("the JWT public key file '" + path + "' " + std::string(why));
    };
    std::string body;
    constexpr std::string_view begin = "-----BEGIN PUBLIC KEY-----";
    constexpr std::string_view end = "-----END PUBLIC KEY-----";
    const auto b = text.find(begin);
    const bool pem = b != std::string::npos;
    if (pem) {
        const auto e = text.find(end, b + begin.size());
        if (e == std::string::npos) return fail("has a PEM header but no \"-----END PUBLIC KEY-----\"");
        body = text.substr(b + begin.size(), e - b - begin.size());
    } else {
        body = text;
    }
    std::string compact;
    for (const char c : body)
        if (!(c == ' ' || c == '\t' || c == '\r' || c == '\n')) compact += c;
    const auto bytes = detail::base64_any_decode(compact);
    if (!bytes) return fail(pem ? "holds a PEM block that is not valid base64" : "is neither PEM nor a base64 key");
    if (pem) {
        // SubjectPublicKeyInfo for Ed25519: SEQUENCE { SEQUENCE { OID 1.3.101.112 } BIT STRING (32 bytes) }.
        static constexpr std::array<unsigned char, 12> prefix{0x30, 0x2a, 0x30, 0x05, 0x06, 0x03,
                                                              0x2b, 0x65, 0x70, 0x03, 0x21, 0x00};
        if (bytes->size() != prefix.size() + 32 ||
            !std::equal(prefix.begin(), prefix.end(), bytes->begin(),
                        [](unsigned char x, char y) { return x == static_cast<unsigned char>(y); }))
            return fail("does not hold an Ed25519 public key (SubjectPublicKeyInfo with OID 1.3.101.112)");
        return bytes->substr(prefix.size());
    }
    if (bytes->size() != 32) return fail("does not hold a 32-byte Ed25519 key in base64");
    return *bytes;
}

} // namespace libsql::server
