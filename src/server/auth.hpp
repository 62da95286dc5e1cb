// Internal to libsql serve: JWT (EdDSA) checks and the base64url helpers the service shares with them.
#pragma once

#include "server/service.hpp"

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace libsql::server::detail {

/// Unpadded base64url.
[[nodiscard]] std::string base64url_encode(std::string_view bytes);
/// Accepts base64url and standard base64, padded or not; nullopt on anything else.
[[nodiscard]] std::optional<std::string> base64_any_decode(std::string_view text);

struct jwt_check {
    access granted = access::denied;
    std::string reason;  ///< why access was denied, for the 401 body
    std::optional<double> expires;  ///< the token's exp claim (Unix seconds), when granted and present
};

/// Verifies a compact JWS signed with Ed25519 ("alg":"EdDSA") against a raw 32-byte public key, checks exp/nbf
/// (seconds) against now, and reads sqld's access claim: "a":"ro" is read-only, "a":"rw" or no "a" is full.
/// With namespaces (ns: the namespace the request targets), sqld's scoping claims too: a "p" claim
/// ({"rw":{"ns":[..]},"ro":{"ns":[..]},"rwa":..,"roa":..}) replaces "a": full access where "rw" lists ns, read-only
/// where "ro" (or "roa", "rwa": the attach scopes, which grant reading) does, none elsewhere; without "p", an "id"
/// claim limits the token to that one namespace.
[[nodiscard]] jwt_check verify_jwt(std::string_view token, std::string_view public_key,
                                   std::chrono::system_clock::time_point now = std::chrono::system_clock::now(),
                                   std::optional<std::string_view> ns = std::nullopt);

} // namespace libsql::server::detail
