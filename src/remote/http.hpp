// HTTP for the remote client and the replica's sync client: our own HTTP/1.1 client (Asio, Beast's parser; in
// http_client.cpp) behind a small interface. One client = one keep-alive connection; used by one thread at a time,
// except interrupt(), which any thread may call. No proxy: HTTP(S)_PROXY is not read (as @libsql/client on Node).
#pragma once

#include "libsql/error.hpp"
#include "remote/tls.hpp"

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace libsql::detail::http {

struct options {
    std::chrono::milliseconds connect_timeout{10'000};
    std::chrono::milliseconds request_timeout{0};  ///< 0: no limit
    /// Extra request headers, "Name: value" (Authorization, x-turso-encryption-key, ...).
    std::vector<std::string> headers;
    libsql::transport transport = libsql::transport::remote;  ///< reported in errors
    tls_settings tls;                                         ///< for https://
};

struct response {
    long status = 0;
    std::string content_type;  ///< lower-cased media type without parameters ("application/json")
    std::string body;
    std::string location;      ///< the Location header, for redirects
};

/// When a request that failed on the network may be sent again.
enum class retry : std::uint8_t {
    /// Only when it certainly never reached the server: a reused keep-alive connection found dead before any byte
    /// of the request went out. Use for writes.
    if_unsent,
    /// Also when the outcome is unknown: the request has no effect (reads, GETs).
    idempotent,
};

/// A response whose body is read as it arrives (v3 cursors, large /sync and /export bodies), holding the client's
/// connection until it is finished or destroyed. While one is open the client sends nothing else (a request throws
/// usage_error). It must not outlive its client. Destroying it before the end of the body closes the connection.
/// Memory stays bounded (about 64 KiB plus the longest line) whatever the body size. A network failure mid-body
/// throws connection_error, interrupt() throws interrupted, and the reader then keeps throwing that error.
/// A request_timeout bounds each wait for the server here, not the caller's reading pace.
class body_reader {
public:
    virtual ~body_reader() = default;
    [[nodiscard]] virtual long status() const noexcept = 0;
    [[nodiscard]] virtual const std::string& content_type() const noexcept = 0;
    /// The next line without its '\n'; false at the end of the body (a last line without '\n' is still returned).
    virtual bool next_line(std::string& line) = 0;
    /// Up to `max` more bytes appended to out; false at the end of the body.
    virtual bool read_some(std::string& out, std::size_t max) = 0;
};

class client {
public:
    explicit client(options o);
    ~client();
    client(const client&) = delete;
    client& operator=(const client&) = delete;

    /// Sends one request and reads the whole response. Network failures throw connection_error (saying whether the
    /// request may have reached the server), a request_timeout throws timeout, interrupt() throws interrupted.
    /// HTTP error statuses are returned, not thrown.
    response request(std::string_view method, const std::string& url, std::string_view body, retry policy,
                     std::string_view content_type = "application/json");
    /// As request(), but the body is read by the caller through the returned reader. Returns once the response
    /// headers are in; a retry (per policy) can happen only before that. The request body is copied.
    std::unique_ptr<body_reader> request_stream(std::string_view method, const std::string& url, std::string_view body,
                                                retry policy, std::string_view content_type = "application/json");

    /// Aborts the request in flight, if any (any thread). The next request proceeds normally.
    void interrupt() noexcept;

    [[nodiscard]] const options& settings() const noexcept;

    /// New TCP connections opened so far (TCP connects that succeeded): a keep-alive check for tests.
    [[nodiscard]] std::uint64_t connections_opened() const noexcept;

private:
    struct impl;
    std::unique_ptr<impl> impl_;
};

/// The base URL as the official clients resolve paths against it: libsql:// becomes https:// (http:// with
/// ?tls=0), the query string is dropped, and the result ends with '/'. Throws usage_error for a URL it cannot use.
[[nodiscard]] std::string normalize_base_url(std::string_view url);

} // namespace libsql::detail::http
