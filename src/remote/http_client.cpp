// The HTTP layer of the remote client and the replica's sync client: HTTP/1.1 of our own on Boost.Asio, with
// Beast's response parser. With ws_transport.cpp, the only client translation units that include Asio/Beast.
//
// One client holds at most one keep-alive connection (plain or TLS) and no thread: the thread that sends a request
// runs the client's io_context until the answer is in, so a request costs one send and the reads of its answer, and
// interrupt() (any thread) wakes that run with a posted no-op, after which the waiting thread drops the connection.
// This replaced libcurl's multi interface, which cost more instructions per request than the rest of the request
// path together (bench/README.md, bench_remote).
//
// Retries. We know how many bytes of a request went out, so the policies need no guessing:
// - retry::if_unsent sends a request again only when it went out on a reused keep-alive connection and not one
//   byte of it was written (the connection was found broken). A connection closed after the request was written,
//   before any byte of an answer, leaves the outcome unknown: not sent again.
// - retry::idempotent sends it once more after any network failure (a connect failure, a connection dropped before
//   or during the answer), never after a timeout or a TLS failure.
// Before a kept connection is reused it is checked without waiting (poll): a connection the server closed while it
// was idle (or that has stray bytes) is replaced, which is not a retry.
// Proxies: none. HTTP(S)_PROXY and NO_PROXY are not read, as @libsql/client's fetch on Node does not.
#include "remote/http.hpp"

// g++ 12's -Wnull-dereference fires inside inlined Asio scheduler code, as in src/server/http_server.cpp.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wnull-dereference"
#endif

#include "remote/tls_context.hpp"  // Asio SSL: after the pragma

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/http/basic_parser.hpp>
#include <boost/beast/http/error.hpp>

#include <poll.h>
#include <sys/socket.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cstring>
#include <optional>
#include <utility>

namespace libsql::detail::http {

namespace {

namespace asio = boost::asio;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;
using error_code = boost::system::error_code;
using clock = std::chrono::steady_clock;

constexpr const char* client_version = "libsql-cpp-0.1.0";
constexpr std::size_t read_chunk = 64 * 1024;  // one read; a stream holds at most about this plus one line
constexpr std::size_t inline_body_limit = 16 * 1024;  // smaller bodies leave in the same buffer as the headers

std::string lower(std::string_view s) {
    std::string out(s);
    for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return out;
}

std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r' || s.back() == '\n'))
        s.remove_suffix(1);
    return s;
}

/// Where a request goes: http(s)://authority/target.
struct endpoint {
    bool tls = false;
    std::string_view host;         ///< without brackets
    std::string_view port;
    std::string_view host_header;  ///< the authority without user info
    std::string_view target;       ///< path and query, at least "/"

    [[nodiscard]] bool same_server(const endpoint& o) const noexcept {
        return tls == o.tls && host == o.host && port == o.port;
    }
};

/// Splits an absolute http:// or https:// URL; nullopt when it is not one.
std::optional<endpoint> split(std::string_view url) {
    endpoint e;
    std::string_view rest;
    if (url.size() > 7 && std::equal(url.begin(), url.begin() + 7, "http://", [](char a, char b) {
            return std::tolower(static_cast<unsigned char>(a)) == b;
        })) {
        rest = url.substr(7);
    } else if (url.size() > 8 && std::equal(url.begin(), url.begin() + 8, "https://", [](char a, char b) {
                   return std::tolower(static_cast<unsigned char>(a)) == b;
               })) {
        e.tls = true;
        rest = url.substr(8);
    } else {
        return std::nullopt;
    }
    const auto end = rest.find_first_of("/?#");
    std::string_view authority = rest.substr(0, end);
    e.target = end == std::string_view::npos ? std::string_view("/") : rest.substr(end);
    if (const auto hash = e.target.find('#'); hash != std::string_view::npos) e.target = e.target.substr(0, hash);
    if (e.target.empty() || e.target.front() != '/') return std::nullopt;  // "http://host?x": keep it simple
    if (const auto at = authority.rfind('@'); at != std::string_view::npos) authority.remove_prefix(at + 1);
    if (authority.empty()) return std::nullopt;
    e.host_header = authority;
    if (authority.front() == '[') {
        const auto close = authority.find(']');
        if (close == std::string_view::npos) return std::nullopt;
        e.host = authority.substr(1, close - 1);
        if (close + 1 < authority.size()) {
            if (authority[close + 1] != ':') return std::nullopt;
            e.port = authority.substr(close + 2);
        }
    } else if (const auto colon = authority.rfind(':'); colon != std::string_view::npos) {
        e.host = authority.substr(0, colon);
        e.port = authority.substr(colon + 1);
    } else {
        e.host = authority;
    }
    if (e.port.empty()) e.port = e.tls ? "443" : "80";
    if (e.host.empty() || e.port.size() > 5 ||
        !std::all_of(e.port.begin(), e.port.end(), [](char c) { return c >= '0' && c <= '9'; }))
        return std::nullopt;
    return e;
}

} // namespace

/// State of the one transfer in progress (request() or a body_reader).
struct transfer {
    std::string method;
    std::string url;
    bool head = false;
    long status = 0;
    std::string content_type;
    std::string location;
    std::string body;  ///< received body bytes; a stream consumes from `consumed`
    std::size_t consumed = 0;
    bool done = false;  ///< the whole response is in

    [[nodiscard]] std::size_t buffered() const noexcept { return body.size() - consumed; }
};

namespace {

/// Beast's HTTP/1.1 response parser (chunked, Content-Length and close-delimited bodies) filling a transfer.
class response_parser final : public bhttp::basic_parser<false> {
public:
    explicit response_parser(transfer& t) : t_(t) {
        header_limit(64 * 1024);
        body_limit(boost::none);
        eager(true);
    }

private:
    void on_request_impl(bhttp::verb, boost::beast::string_view, boost::beast::string_view, int,
                         error_code&) override {}
    void on_response_impl(int code, boost::beast::string_view, int, error_code&) override { t_.status = code; }
    void on_field_impl(bhttp::field f, boost::beast::string_view, boost::beast::string_view value,
                       error_code&) override {
        if (f == bhttp::field::content_type) {
            const std::string_view v(value.data(), value.size());
            t_.content_type = lower(trim(v.substr(0, v.find(';'))));
        } else if (f == bhttp::field::location) {
            t_.location = std::string(trim(std::string_view(value.data(), value.size())));
        }
    }
    void on_header_impl(error_code&) override {}
    void on_body_init_impl(const boost::optional<std::uint64_t>& length, error_code&) override {
        if (length && *length <= read_chunk) t_.body.reserve(t_.body.size() + *length);
    }
    std::size_t on_body_impl(boost::beast::string_view s, error_code&) override {
        t_.body.append(s.data(), s.size());
        return s.size();
    }
    void on_chunk_header_impl(std::uint64_t, boost::beast::string_view, error_code&) override {}
    std::size_t on_chunk_body_impl(std::uint64_t, boost::beast::string_view s, error_code&) override {
        t_.body.append(s.data(), s.size());
        return s.size();
    }
    void on_finish_impl(error_code&) override { t_.done = true; }

    transfer& t_;
};

/// Why an attempt failed, for the retry decision and the message.
enum class failure : std::uint8_t { none, send, receive };

} // namespace

struct client::impl {
    options opts;
    std::string fixed_headers;  ///< User-Agent, client version and the caller's headers, each with its CRLF
    std::optional<std::string> host_override;  ///< a caller's Host header (empty: none is sent)
    asio::io_context ioc{1};
    std::optional<asio::ssl::context> tls_ctx;
    std::atomic<bool> interrupt_requested{false};
    std::atomic<std::uint64_t> connections{0};
    bool reader_alive = false;
    transfer cur;

    // the kept connection (used by the thread running a request only)
    std::optional<tcp::socket> plain;
    std::optional<asio::ssl::stream<tcp::socket>> secure;
    std::string conn_host, conn_port;  ///< whom it is connected to
    bool conn_tls = false;
    bool conn_reused = false;  ///< it carried a request before the current one

    // the pending asynchronous operation
    bool op_done = true;
    error_code op_ec;
    std::size_t op_n = 0;

    // reading
    std::vector<char> in = std::vector<char>(read_chunk);
    std::size_t in_begin = 0, in_end = 0;
    std::optional<response_parser> parser;
    std::string head;  ///< the request head (and a small body)

    class reader;

    explicit impl(options o) : opts(std::move(o)) {
        // As libcurl took them: a caller's Host or User-Agent replaces ours, "Name:" sends nothing (and drops a
        // header of ours by that name), "Name;" sends the header with an empty value.
        std::string user_agent = std::string("User-Agent: ") + client_version + "\r\n";
        std::string extra;
        for (const auto& h : opts.headers) {
            if (h.find_first_of("\r\n") != std::string::npos)
                throw libsql::usage_error("an HTTP header contains a line break", info());
            const auto colon = h.find(':');
            const std::string name = lower(trim(std::string_view(h).substr(0, std::min(colon, h.find(';')))));
            const bool empty = colon != std::string::npos && trim(std::string_view(h).substr(colon + 1)).empty();
            const std::string line =
                colon == std::string::npos && h.ends_with(';') ? h.substr(0, h.size() - 1) + ":\r\n" : h + "\r\n";
            if (name == "host") {
                host_override = empty || colon == std::string::npos
                                    ? std::string()
                                    : std::string(trim(std::string_view(h).substr(colon + 1)));
                continue;
            }
            if (name == "user-agent") {
                user_agent = empty ? std::string() : line;
                continue;
            }
            if (!empty) extra += line;
        }
        fixed_headers = user_agent + "x-libsql-client-version: " + client_version + "\r\n" + extra;
    }

    ~impl() { close_connection(); }
    impl(const impl&) = delete;
    impl& operator=(const impl&) = delete;

    [[nodiscard]] error_info info() const {
        error_info i;
        i.transport = opts.transport;
        return i;
    }

    [[nodiscard]] bool connected() const noexcept { return plain.has_value() || secure.has_value(); }
    tcp::socket& lowest() { return secure ? secure->next_layer() : *plain; }

    void close_connection() noexcept {
        if (!connected()) return;
        error_code ignored;
        lowest().shutdown(tcp::socket::shutdown_both, ignored);
        lowest().close(ignored);
        drain();
        secure.reset();
        plain.reset();
        in_begin = in_end = 0;
    }

    /// Runs the io_context until the pending operation has completed (it was cancelled or its socket closed).
    void drain() noexcept {
        try {
            while (!op_done) {
                if (ioc.stopped()) ioc.restart();
                ioc.run_one();
            }
        } catch (...) {
            op_done = true;
        }
    }

    auto completion() {
        op_done = false;
        op_ec = {};
        op_n = 0;
        return [this](const error_code& ec, std::size_t n = 0) {
            op_ec = ec;
            op_n = n;
            op_done = true;
        };
    }

    [[noreturn]] void throw_interrupted(const char* during) {
        close_connection();
        throw libsql::interrupted("HTTP " + cur.method + " " + cur.url + " was interrupted" + during, info());
    }

    /// Runs the io_context until the pending operation completes. Throws interrupted (interrupt()) or returns
    /// false at the deadline (the connection is closed then).
    bool wait(clock::time_point deadline, bool limited, const char* during = "") {
        while (!op_done) {
            if (interrupt_requested.load(std::memory_order_relaxed)) throw_interrupted(during);
            if (limited && clock::now() >= deadline) {
                close_connection();
                return false;
            }
            if (ioc.stopped()) ioc.restart();
            if (limited) ioc.run_one_until(deadline);
            else ioc.run_one();
        }
        if (interrupt_requested.load(std::memory_order_relaxed)) throw_interrupted(during);
        return true;
    }

    // ---- connecting ------------------------------------------------------------------------------------------

    asio::ssl::context& tls_context() {
        if (tls_ctx) return *tls_ctx;
        auto& ctx = tls_ctx.emplace(asio::ssl::context::tls_client);
        if (const auto why = load_client_tls(ctx, opts.tls); !why.empty()) {
            tls_ctx.reset();
            throw libsql::tls_error("HTTP " + cur.method + " " + cur.url + " failed: " + why + "; the request was not sent",
                                    info());
        }
        return ctx;
    }

    /// True when the kept connection goes to e and looks usable: not closed by the server while idle.
    bool reusable(const endpoint& e) {
        if (!connected()) return false;
        if (conn_tls != e.tls || conn_host != e.host || conn_port != e.port) return false;
        pollfd p{lowest().native_handle(), POLLIN, 0};
        return ::poll(&p, 1, 0) == 0 && in_begin == in_end;
    }

    [[noreturn]] void fail_connect(const std::string& why, bool timed_out, bool tls) {
        close_connection();
        const std::string msg = "HTTP " + cur.method + " " + cur.url + " failed: " + why + "; the request was not sent";
        if (timed_out) throw libsql::timeout(msg, info());
        if (tls) throw libsql::tls_error(msg, info());
        throw libsql::connection_error(msg, info());
    }

    /// Opens a new connection to e (closing the kept one), bounded by connect_timeout and the request's deadline.
    /// Throws connection_error, tls_error or timeout, all saying that the request was not sent.
    void connect(const endpoint& e, clock::time_point request_deadline, bool request_limited) {
        close_connection();
        const bool connect_limited = opts.connect_timeout.count() > 0;
        auto deadline = connect_limited ? clock::now() + opts.connect_timeout : request_deadline;
        if (request_limited && connect_limited) deadline = std::min(deadline, request_deadline);
        const bool limited = connect_limited || request_limited;
        const std::string host(e.host), port(e.port);
        if (e.tls) secure.emplace(ioc, tls_context());
        else plain.emplace(ioc);
        const auto timed_out = [&] {
            fail_connect("no connection within " + std::to_string(opts.connect_timeout.count()) + " ms (" +
                             std::string(e.host_header) + ")",
                         true, false);
        };
        // *.localhost is the loopback (RFC 6761), as for the WebSocket transport.
        std::string lookup = host;
        if (lookup.size() > 10 && lower(std::string_view(lookup).substr(lookup.size() - 10)) == ".localhost")
            lookup = "localhost";
        tcp::resolver resolver(ioc);
        tcp::resolver::results_type endpoints;
        {
            auto done = completion();
            resolver.async_resolve(lookup, port, [&endpoints, done](const error_code& ec, tcp::resolver::results_type r) {
                endpoints = std::move(r);
                done(ec);
            });
            bool ok = false;
            try {
                ok = wait(deadline, limited);
            } catch (...) {
                resolver.cancel();
                drain();
                throw;
            }
            if (!ok) {
                resolver.cancel();
                drain();
                timed_out();
            }
            if (op_ec) fail_connect("cannot resolve " + host + ": " + op_ec.message(), false, false);
        }
        asio::async_connect(lowest(), endpoints, [done = completion()](const error_code& ec, const tcp::endpoint&) {
            done(ec);
        });
        if (!wait(deadline, limited)) timed_out();
        if (op_ec)
            fail_connect("cannot connect to " + std::string(e.host_header) + ": " + op_ec.message(), false, false);
        connections.fetch_add(1, std::memory_order_relaxed);
        error_code ignored;
        lowest().set_option(tcp::no_delay(true), ignored);
        lowest().set_option(asio::socket_base::keep_alive(true), ignored);
        if (e.tls) {
            prepare_client_tls(*secure, opts.tls, host);
            secure->async_handshake(asio::ssl::stream_base::client, completion());
            if (!wait(deadline, limited)) timed_out();
            if (op_ec)
                fail_connect("the TLS handshake with " + std::string(e.host_header) + " failed: " + op_ec.message() +
                                 (opts.tls.verify && opts.tls.ca_file.empty()
                                      ? " (the server's certificate is checked against the system's CAs; "
                                        "connect_options::tls_ca_file names another CA bundle)"
                                      : ""),
                             false, true);
        }
        conn_tls = e.tls;
        conn_host = host;
        conn_port = port;
        conn_reused = false;
    }

    // ---- one attempt -----------------------------------------------------------------------------------------

    void check_idle() const {
        if (reader_alive)
            throw libsql::usage_error("an HTTP response body is still being read on this connection: finish or "
                                      "destroy its reader before sending another request",
                                      info());
    }

    template <class Op>
    void on_stream(Op&& op) {
        if (secure) op(*secure);
        else op(*plain);
    }

    /// Sends the request; returns the failure (send) with what was written in `written`.
    failure send(const endpoint& e, std::string_view body, std::string_view content_type, bool get_like,
                 clock::time_point deadline, bool limited, std::size_t& written) {
        head.clear();
        head.append(cur.method).append(" ").append(e.target).append(" HTTP/1.1\r\n");
        if (!host_override) head.append("Host: ").append(e.host_header).append("\r\n");
        else if (!host_override->empty()) head.append("Host: ").append(*host_override).append("\r\n");
        head.append(fixed_headers);
        if (!(get_like && body.empty())) {
            if (!content_type.empty()) head.append("Content-Type: ").append(content_type).append("\r\n");
            head.append("Content-Length: ").append(std::to_string(body.size())).append("\r\n");
        }
        head.append("\r\n");
        const bool inline_body = body.size() <= inline_body_limit;
        if (inline_body) head.append(body);
        const std::array<asio::const_buffer, 2> buffers{
            asio::buffer(head), inline_body ? asio::const_buffer() : asio::buffer(body.data(), body.size())};
        on_stream([&](auto& s) { asio::async_write(s, buffers, completion()); });
        if (!wait(deadline, limited)) throw_timeout(false);
        written = op_n;
        if (op_ec) {
            last_error = op_ec;
            return failure::send;
        }
        return failure::none;
    }

    error_code last_error;

    /// Reads into `in` once; false at the end of the stream or on an error (in last_error; eof for a clean end).
    bool read_some(clock::time_point deadline, bool limited, const char* during) {
        if (in_begin == in_end) in_begin = in_end = 0;
        else if (in_begin > 0) {
            std::memmove(in.data(), in.data() + in_begin, in_end - in_begin);
            in_end -= in_begin;
            in_begin = 0;
        }
        const auto room = asio::buffer(in.data() + in_end, in.size() - in_end);
        on_stream([&](auto& s) { s.async_read_some(room, completion()); });
        if (!wait(deadline, limited, during)) throw_timeout(true, during);
        if (op_ec) {
            last_error = op_ec;
            return false;
        }
        in_end += op_n;
        return true;
    }

    /// Feeds what is buffered to the parser; false on a malformed response (in last_error).
    bool parse() {
        error_code ec;
        while (in_begin < in_end && !parser->is_done()) {
            const auto n = parser->put(asio::buffer(in.data() + in_begin, in_end - in_begin), ec);
            in_begin += n;
            if (ec == bhttp::error::need_more) {
                if (in_begin < in_end && in_end == in.size() && in_begin == 0) {
                    last_error = bhttp::error::header_limit;
                    return false;
                }
                return true;
            }
            if (ec) {
                last_error = ec;
                return false;
            }
            if (parser->is_done() && cur.status >= 100 && cur.status < 200) next_response();  // 1xx: the next one
        }
        return true;
    }

    void next_response() {
        cur.status = 0;
        cur.content_type.clear();
        cur.location.clear();
        cur.body.clear();
        cur.done = false;
        parser.emplace(cur);
        if (cur.head) parser->skip(true);
    }

    /// Reads until the headers are in (streaming) or the whole response; the failure if the connection broke.
    failure receive(bool whole, clock::time_point deadline, bool limited, const char* during = "") {
        while (whole ? !parser->is_done() : !parser->is_header_done()) {
            if (!read_some(deadline, limited, during)) {
                if (last_error == asio::error::eof || last_error == asio::ssl::error::stream_truncated) {
                    // A body delimited by the end of the connection ends here.
                    error_code ec;
                    if (parser->got_some()) parser->put_eof(ec);
                    if (!ec && parser->is_done()) break;
                    last_error = parser->got_some() ? error_code(bhttp::error::partial_message) : last_error;
                }
                return failure::receive;
            }
            if (!parse()) return failure::receive;
        }
        if (parser->is_done()) finish_response();
        return failure::none;
    }

    /// The response is in: keep the connection only when the server allows it and nothing unexpected follows.
    void finish_response() {
        cur.done = true;
        if (!parser->keep_alive() || in_begin != in_end) close_connection();
    }

    [[noreturn]] void throw_timeout(bool waiting, const char* during = "") {
        close_connection();
        throw libsql::timeout("HTTP " + cur.method + " " + cur.url + " timed out after " +
                                  std::to_string(opts.request_timeout.count()) + " ms " +
                                  (waiting ? "waiting for the server" : "sending the request") + during +
                                  "; the request may have reached the server: the outcome is unknown",
                              info());
    }

    [[nodiscard]] static bool tls_failure(const error_code& ec) {
        return ec.category() == asio::error::get_ssl_category();
    }

    [[noreturn]] void throw_failure(failure f, bool unsent) {
        const error_code ec = last_error;
        close_connection();
        std::string msg = "HTTP " + cur.method + " " + cur.url + " failed: ";
        if (f == failure::send) msg += "sending the request: ";
        else if (ec == asio::error::eof || ec == asio::error::connection_reset || ec == asio::ssl::error::stream_truncated)
            msg += parser->got_some() ? "the connection was closed in the middle of the response: "
                                      : "the connection was closed before any response: ";
        msg += ec.message();
        msg += unsent ? "; the request was not sent" : "; the request may have reached the server: the outcome is unknown";
        if (tls_failure(ec)) throw libsql::tls_error(msg, info());
        throw libsql::connection_error(msg, info());
    }

    /// One request with its retry: returns once the response headers are in (and, unless streaming, the body).
    void run(std::string_view method, const std::string& url, std::string_view body, retry policy,
             std::string_view content_type, bool streaming) {
        check_idle();
        if (method.empty() || method.find_first_of(" \r\n") != std::string_view::npos)
            throw libsql::usage_error("invalid HTTP method '" + std::string(method) + "'", info());
        if (content_type.find_first_of("\r\n") != std::string_view::npos)
            throw libsql::usage_error("an HTTP content type contains a line break", info());
        const auto e = split(url);
        if (!e) throw libsql::usage_error("cannot send an HTTP request to '" + url + "': not an http:// or https:// URL", info());
        cur.method.assign(method);
        cur.url = url;
        cur.head = method == "HEAD";
        const bool get_like = method == "GET" || cur.head;
        interrupt_requested.store(false, std::memory_order_relaxed);
        const bool limited = opts.request_timeout.count() > 0;
        const auto deadline = limited ? clock::now() + opts.request_timeout : clock::time_point{};
        for (int attempt = 0;; ++attempt) {
            cur.status = 0;
            cur.content_type.clear();
            cur.location.clear();
            cur.body.clear();
            cur.consumed = 0;
            cur.done = false;
            if (!reusable(*e)) {
                try {
                    connect(*e, deadline, limited);
                } catch (const libsql::tls_error&) {
                    throw;
                } catch (const libsql::connection_error&) {
                    if (attempt != 0 || policy != retry::idempotent) throw;
                    continue;  // a read may try a refused connection once more, as it may a dropped one
                }
            }
            const bool reused = conn_reused;
            conn_reused = true;
            next_response();
            std::size_t written = 0;
            failure f = send(*e, body, content_type, get_like, deadline, limited, written);
            if (f == failure::none) f = receive(!streaming, deadline, limited);
            if (f == failure::none) return;
            const bool unsent = f == failure::send && written == 0;
            const bool again = attempt == 0 && !tls_failure(last_error) &&
                               (policy == retry::idempotent || (unsent && reused));
            if (!again) throw_failure(f, unsent);
            close_connection();
        }
    }
};

// ---- body_reader ---------------------------------------------------------------------------------------------

class client::impl::reader final : public body_reader {
public:
    explicit reader(client::impl* owner) : owner_(owner) {
        owner_->reader_alive = true;
        status_ = owner_->cur.status;
        content_type_ = owner_->cur.content_type;
    }
    ~reader() override {
        if (!owner_->cur.done) owner_->close_connection();  // mid-body: the connection is closed
        owner_->cur.body.clear();
        owner_->cur.body.shrink_to_fit();
        owner_->reader_alive = false;
    }
    reader(const reader&) = delete;
    reader& operator=(const reader&) = delete;

    [[nodiscard]] long status() const noexcept override { return status_; }
    [[nodiscard]] const std::string& content_type() const noexcept override { return content_type_; }

    bool next_line(std::string& line) override {
        auto& t = owner_->cur;
        std::size_t searched = 0;
        while (true) {
            const std::string_view avail(t.body.data() + t.consumed, t.buffered());
            const auto nl = avail.find('\n', searched);
            if (nl != std::string_view::npos) {
                line.assign(avail.substr(0, nl));
                t.consumed += nl + 1;
                return true;
            }
            searched = avail.size();
            if (!more()) {
                if (t.buffered() == 0) return false;
                line.assign(t.body.data() + t.consumed, t.buffered());
                t.consumed = t.body.size();
                return true;
            }
            // more() may have compacted the buffer: `searched` counts from `consumed`, which stays valid
        }
    }

    bool read_some(std::string& out, std::size_t max) override {
        auto& t = owner_->cur;
        if (t.buffered() == 0 && !more()) return false;
        const std::size_t k = std::min(max, t.buffered());
        out.append(t.body.data() + t.consumed, k);
        t.consumed += k;
        return true;
    }

private:
    /// Gets more body bytes into the buffer; false at the end of the body.
    bool more() {
        if (failure_) std::rethrow_exception(failure_);
        auto& t = owner_->cur;
        if (t.done) return false;
        try {
            if (t.consumed > 0) {  // what the caller has taken goes: the buffer stays bounded
                t.body.erase(0, t.consumed);
                t.consumed = 0;
            }
            const std::size_t before = t.body.size();
            const bool limited = owner_->opts.request_timeout.count() > 0;
            const auto deadline = clock::now() + owner_->opts.request_timeout;
            while (!t.done && t.body.size() == before) {
                const char* during = " while reading the response";
                if (!owner_->read_some(deadline, limited, during)) {
                    error_code ec;
                    const auto err = owner_->last_error;
                    if (err == asio::error::eof || err == asio::ssl::error::stream_truncated) {
                        owner_->parser->put_eof(ec);
                        if (!ec && owner_->parser->is_done()) {
                            owner_->finish_response();
                            break;
                        }
                    }
                    fail(err);
                }
                if (!owner_->parse()) fail(owner_->last_error);
                if (owner_->parser->is_done()) owner_->finish_response();
            }
            return t.body.size() > before || !t.done;
        } catch (...) {
            failure_ = std::current_exception();
            throw;
        }
    }

    [[noreturn]] void fail(const error_code& ec) {
        auto& t = owner_->cur;
        owner_->close_connection();
        const std::string msg = "HTTP " + t.method + " " + t.url +
                                ": the connection failed while reading the response body: " + ec.message();
        if (client::impl::tls_failure(ec)) throw libsql::tls_error(msg, owner_->info());
        throw libsql::connection_error(msg, owner_->info());
    }

    client::impl* owner_;
    long status_ = 0;
    std::string content_type_;
    std::exception_ptr failure_;
};

// ---- client --------------------------------------------------------------------------------------------------

client::client(options o) : impl_(std::make_unique<impl>(std::move(o))) {}
client::~client() = default;

response client::request(std::string_view method, const std::string& url, std::string_view body, retry policy,
                         std::string_view content_type) {
    impl_->run(method, url, body, policy, content_type, false);
    response r;
    r.status = impl_->cur.status;
    r.content_type = std::move(impl_->cur.content_type);
    r.location = std::move(impl_->cur.location);
    r.body = std::move(impl_->cur.body);
    impl_->cur.body = std::string();
    return r;
}

std::unique_ptr<body_reader> client::request_stream(std::string_view method, const std::string& url,
                                                    std::string_view body, retry policy,
                                                    std::string_view content_type) {
    impl_->run(method, url, body, policy, content_type, true);
    return std::make_unique<impl::reader>(impl_.get());
}

void client::interrupt() noexcept {
    impl_->interrupt_requested.store(true, std::memory_order_relaxed);
    try {
        asio::post(impl_->ioc, [] {});  // wakes the thread waiting in run_one
    } catch (...) {
    }
}

const options& client::settings() const noexcept { return impl_->opts; }

std::uint64_t client::connections_opened() const noexcept {
    return impl_->connections.load(std::memory_order_relaxed);
}

// ---- URLs ----------------------------------------------------------------------------------------------------

std::string normalize_base_url(std::string_view url) {
    const auto bad = [&](const std::string& why) {
        error_info info;
        info.transport = libsql::transport::remote;
        return libsql::usage_error("cannot use URL '" + std::string(url) + "': " + why, info);
    };
    for (const char c : url)
        if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f) throw bad("it contains a space or control character");
    const auto sep = url.find("://");
    if (sep == std::string_view::npos) throw bad("expected libsql://, https://, http://, wss:// or ws://");
    const std::string scheme = lower(url.substr(0, sep));
    std::string_view rest = url.substr(sep + 3);
    if (const auto hash = rest.find('#'); hash != std::string_view::npos) rest = rest.substr(0, hash);
    std::string_view query;
    if (const auto q = rest.find('?'); q != std::string_view::npos) {
        query = rest.substr(q + 1);
        rest = rest.substr(0, q);
    }
    const auto slash = rest.find('/');
    const std::string_view authority = rest.substr(0, slash);
    std::string path(slash == std::string_view::npos ? std::string_view("/") : rest.substr(slash));
    if (path.back() != '/') path.push_back('/');

    std::string_view host = authority;
    if (const auto at = host.rfind('@'); at != std::string_view::npos) host = host.substr(at + 1);
    std::string_view port;
    if (!host.empty() && host.front() == '[') {
        const auto close = host.find(']');
        if (close == std::string_view::npos) throw bad("unterminated IPv6 address");
        port = host.substr(close + 1);
        host = host.substr(0, close + 1);
        if (!port.empty() && port.front() != ':') throw bad("unexpected text after the IPv6 address");
        if (!port.empty()) port.remove_prefix(1);
    } else if (const auto colon = host.find(':'); colon != std::string_view::npos) {
        port = host.substr(colon + 1);
        host = host.substr(0, colon);
    }
    if (host.empty() || host == "[]") throw bad("no host");
    if (!std::all_of(port.begin(), port.end(), [](char c) { return c >= '0' && c <= '9'; }) || port.size() > 5)
        throw bad("invalid port");

    std::string out_scheme;
    if (scheme == "http" || scheme == "https") {
        out_scheme = scheme;
    } else if (scheme == "ws") {
        out_scheme = "http";
    } else if (scheme == "wss") {
        out_scheme = "https";
    } else if (scheme == "libsql") {
        out_scheme = "https";
        // ?tls=0 selects plain HTTP, as @libsql/client does.
        std::string_view q = query;
        while (!q.empty()) {
            const auto amp = q.find('&');
            const auto param = q.substr(0, amp);
            q = amp == std::string_view::npos ? std::string_view{} : q.substr(amp + 1);
            const auto eq = param.find('=');
            if (param.substr(0, eq) != "tls") continue;
            const auto value = eq == std::string_view::npos ? std::string_view{} : param.substr(eq + 1);
            if (value == "0")
                out_scheme = "http";
            else if (value == "1")
                out_scheme = "https";
            else
                throw bad("tls must be 0 or 1");
        }
    } else {
        throw bad("unsupported scheme '" + scheme + "' (expected libsql, https, http, wss or ws)");
    }
    return out_scheme + "://" + std::string(authority) + path;
}

} // namespace libsql::detail::http
