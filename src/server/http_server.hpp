// The network front end of `libsql serve`: HTTP/1.1 and WebSocket on one port (Boost.Beast, C++20 coroutines).
// Keeps Beast inside http_server.cpp: this header has no Boost types.
#pragma once

#include "server/service.hpp"

#include <optional>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

namespace libsql::server {

class namespaces;

enum class log_level : std::uint8_t { error, warn, info, debug };

struct http_server_options {
    std::string listen_address = "127.0.0.1";
    std::uint16_t port = 8080;                            ///< 0: pick a free port (see port())
    std::size_t max_body_bytes = 10 * 1024 * 1024;        ///< larger requests get 413
    /// Slow clients are cut off after this: a deadline for a request's headers, then one for its body (a client
    /// trickling bytes cannot extend it), and the idle time allowed between keep-alive requests.
    std::chrono::milliseconds read_timeout{30'000};
    /// Open HTTP/WebSocket connections at most; one more is answered 503 (Retry-After: 1) and closed at once.
    /// 0: a third of the descriptor limit (RLIMIT_NOFILE), at least 64.
    std::size_t max_connections = 0;
    unsigned worker_threads = 0;                          ///< database work; 0: hardware concurrency, at least 2
    std::chrono::milliseconds drain_timeout{5'000};       ///< stop(): how long in-flight requests may take to finish
    /// stop(): after this grace period the statements still running are interrupted (service::interrupt_running),
    /// so an endless query cannot hold the server up. 0: at once.
    std::chrono::milliseconds interrupt_after{2'000};
    /// An HTTP pipeline or cursor request still running after this is interrupted (its statements fail with
    /// SQLITE_INTERRUPT, its stream is freed). 0: no limit.
    std::chrono::milliseconds max_request_duration{0};
    bool stop_on_signals = false;                         ///< SIGINT/SIGTERM call stop() (for the `libsql` command)
    std::string version = "libsql-cpp 0.1.0";             ///< the body of GET /version
    /// Where the server reports what happens (never stdout/stderr itself); none: silent. May run on any thread.
    std::function<void(log_level, std::string_view)> log;
    /// TLS on the one port (HTTPS and WSS), as sqld's --tls-cert-file/--tls-key-file: the certificate chain and its
    /// private key, PEM. Both empty: plain HTTP. The handshake must complete within read_timeout; a plain HTTP
    /// request gets a 400 in clear text and the connection closes.
    std::string tls_cert_file;
    std::string tls_key_file;
    /// With TLS: a PEM bundle of CAs whose certificates clients must present (mutual TLS, sqld's
    /// --tls-client-ca-file). Empty: no client certificate asked.
    std::string tls_client_ca_file;
    /// Namespaces' admin API (sqld's --admin-listen-addr) on a second port, plain HTTP, no credentials: bind it
    /// where only operators reach it. POST /v1/namespaces/{ns}/create, POST /v1/namespaces/{from}/fork/{to},
    /// DELETE /v1/namespaces/{ns}. None: no admin listener. Port 0 picks a free one (see admin_port()).
    std::optional<std::string> admin_listen_address;
    std::uint16_t admin_port = 0;
    log_level log_threshold = log_level::info;            ///< messages less severe than this are not even built
};

class http_server {
public:
    /// One database: every request reaches svc.
    http_server(service& svc, http_server_options options);
    /// Namespaces: each request reaches the namespace its Host (or x-namespace) header names; registry outlives this.
    http_server(namespaces& registry, http_server_options options);
    ~http_server();
    http_server(const http_server&) = delete;
    http_server& operator=(const http_server&) = delete;

    /// The port actually bound.
    [[nodiscard]] std::uint16_t port() const noexcept;
    /// The admin port bound; 0 without an admin listener.
    [[nodiscard]] std::uint16_t admin_port() const noexcept;
    /// Serves until stop() (from any thread or a signal handler's thread); returns when in-flight work is done.
    void run();
    /// Stops accepting, lets in-flight requests finish, then makes run() return.
    void stop();

private:
    struct impl;
    std::unique_ptr<impl> impl_;
};

} // namespace libsql::server
