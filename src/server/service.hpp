// The libSQL server's logic, without the network: Hrana requests in, Hrana responses out. One service serves one
// database file. The HTTP/WebSocket front end (http_server.hpp) parses nothing but HTTP: it hands bodies and
// messages to this, on worker threads, and writes back what it returns. Thread-safe.
#pragma once

#include "libsql/database.hpp"

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace libsql::server {

struct service_options {
    std::string path;                                      ///< the database file; created if missing
    std::chrono::milliseconds stream_expiry{10'000};       ///< idle streams are rolled back and freed after this
    std::optional<std::string> self_url;                   ///< returned as base_url when set
    std::optional<std::string> jwt_public_key;             ///< raw 32-byte Ed25519 public key; none: no auth
    std::size_t max_stored_sql = 50;                       ///< store_sql limits, as sqld
    std::size_t max_stored_sql_bytes = 5 * 1024;
};

/// What a request's credentials allow.
enum class access : std::uint8_t { denied, read_only, full };

/// A reply to an HTTP request: status, content type and body.
struct http_reply {
    int status = 200;
    std::string content_type = "application/json";
    std::string body;
};

/// One WebSocket connection's Hrana state (its streams, stored SQL, cursors).
class ws_session {
public:
    virtual ~ws_session() = default;
    /// Handles one text message; returns the messages to send back, in order. After closed() is true the front end
    /// sends them and closes the socket (hello_error, protocol violation).
    virtual std::vector<std::string> on_message(std::string_view text) = 0;
    [[nodiscard]] virtual bool closed() const noexcept = 0;
};

class service {
public:
    explicit service(service_options options);
    ~service();
    service(const service&) = delete;
    service& operator=(const service&) = delete;

    /// Checks an Authorization header value ("Bearer <jwt>"); full access when no key is configured. With read-only
    /// access, statements that would write fail (as Hrana errors, not HTTP ones) with code "SQLITE_AUTH".
    [[nodiscard]] access authenticate(std::string_view authorization_header) const;

    /// POST /v2/pipeline (version 2) and /v3/pipeline (version 3). Protocol errors give 400 with a text message;
    /// an expired stream 400 with {"message":..,"code":"STREAM_EXPIRED"}; bad credentials 401.
    [[nodiscard]] http_reply pipeline(int version, std::string_view body, std::string_view authorization_header);
    /// POST /v3/cursor: newline-delimited JSON entries.
    [[nodiscard]] http_reply cursor(std::string_view body, std::string_view authorization_header);

    /// A WebSocket session for subprotocol hrana2 (version 2) or hrana3 (version 3).
    [[nodiscard]] std::unique_ptr<ws_session> open_ws(int version);

    /// Rolls back and frees streams idle longer than the expiry. The front end calls it every second or so.
    void sweep_expired();
    /// Rolls back every open stream and refuses new work; called on SIGINT/SIGTERM after in-flight requests end.
    void shutdown();

    [[nodiscard]] const service_options& options() const noexcept;

private:
    struct impl;
    std::unique_ptr<impl> impl_;
};

/// Reads an Ed25519 public key file as sqld takes it: PEM (SubjectPublicKeyInfo) or the raw key in base64/base64url.
/// Returns the 32 raw bytes; throws libsql::usage_error when the file cannot be used.
[[nodiscard]] std::string read_ed25519_public_key_file(const std::string& path);

} // namespace libsql::server
