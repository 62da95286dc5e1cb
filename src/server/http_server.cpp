// The HTTP/1.1 + WebSocket front end of `libsql serve` (Boost.Beast, C++20 coroutines). Beast lives in this file only.
//
// Threads: one I/O thread (the caller of run()) runs every socket coroutine and owns all the connection state below,
// so none of it needs a lock. Everything that touches the database (service calls) runs on a worker pool and is
// co_awaited, so a slow statement never stalls other connections.
#include "server/http_server.hpp"

#include "server/metrics.hpp"
#include "server/namespaces.hpp"

// g++ 12's -Wnull-dereference fires inside inlined Asio scheduler code (a middle-end warning that ignores the
// system-header rule); it is about Asio, not this file.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wnull-dereference"
#endif

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>

#include <algorithm>
#include <array>
#include <charconv>
#include <csignal>
#include <exception>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>

namespace libsql::server {

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
using tcp = asio::ip::tcp;
using tls_stream = beast::ssl_stream<beast::tcp_stream>;
using request = http::request<http::string_body>;
using response = http::response<http::string_body>;

constexpr auto nothrow_awaitable = asio::as_tuple(asio::use_awaitable);
constexpr std::string_view text_plain = "text/plain; charset=utf-8";

/// The path part of a request target ("/v2/pipeline?x=1" -> "/v2/pipeline").
std::string_view target_path(std::string_view target) noexcept {
    const auto q = target.find('?');
    return q == std::string_view::npos ? target : target.substr(0, q);
}

/// Whether a comma-separated header value (Sec-WebSocket-Protocol) lists token.
bool header_lists(std::string_view value, std::string_view token) noexcept {
    while (!value.empty()) {
        const auto comma = value.find(',');
        auto item = value.substr(0, comma);
        while (!item.empty() && (item.front() == ' ' || item.front() == '\t')) item.remove_prefix(1);
        while (!item.empty() && (item.back() == ' ' || item.back() == '\t')) item.remove_suffix(1);
        if (item == token) return true;
        if (comma == std::string_view::npos) break;
        value.remove_prefix(comma + 1);
    }
    return false;
}

/// "/a/b/c" after a prefix -> its '/'-separated decimal numbers; nullopt when any part is not a plain number.
std::optional<std::vector<std::uint64_t>> path_numbers(std::string_view rest) {
    std::vector<std::uint64_t> out;
    while (!rest.empty()) {
        const auto slash = rest.find('/');
        const std::string_view part = rest.substr(0, slash);
        std::uint64_t v = 0;
        const auto [end, ec] = std::from_chars(part.data(), part.data() + part.size(), v);
        if (part.empty() || ec != std::errc{} || end != part.data() + part.size()) return std::nullopt;
        out.push_back(v);
        if (slash == std::string_view::npos) break;
        rest.remove_prefix(slash + 1);
    }
    return out;
}

/// Without --max-connections: a third of the descriptor limit (each connection is a socket; streams take another
/// third, see service_options::max_streams), at least 64.
std::size_t default_max_connections() noexcept {
    rlimit lim{};
    if (::getrlimit(RLIMIT_NOFILE, &lim) != 0 || lim.rlim_cur == RLIM_INFINITY) return 10'000;
    return std::max<std::size_t>(64, static_cast<std::size_t>(lim.rlim_cur) / 3);
}

request_kind kind_of(std::string_view path) noexcept {
    if (path.ends_with("/pipeline")) return request_kind::pipeline;
    if (path.ends_with("/cursor")) return request_kind::cursor;
    if (path == "/info" || path.starts_with("/export/") || path.starts_with("/sync/")) return request_kind::replication;
    return request_kind::other;
}

bool iequals(std::string_view a, std::string_view b) noexcept {
    return beast::iequals(a, b);
}

response make_response(unsigned http_version, http::status status, std::string_view content_type, std::string body) {
    response res{status, http_version};
    res.set(http::field::server, "libsql-cpp");
    if (!content_type.empty()) res.set(http::field::content_type, content_type);
    res.body() = std::move(body);
    res.prepare_payload();
    return res;
}

/// Whether the peer has closed or reset the connection, seen without reading anything: POLLRDHUP tells even when
/// unread data (a pipelined request, a WebSocket message) is queued; without it, a peek that finds EOF.
bool peer_gone(tcp::socket& socket) noexcept {
    if (!socket.is_open()) return true;
    pollfd p{};
    p.fd = socket.native_handle();
#ifdef POLLRDHUP
    p.events = POLLRDHUP;
#else
    p.events = POLLIN;
#endif
    if (::poll(&p, 1, 0) <= 0) return false;
    if ((p.revents & (POLLHUP | POLLERR | POLLNVAL)) != 0) return true;
#ifdef POLLRDHUP
    return (p.revents & POLLRDHUP) != 0;
#else
    if ((p.revents & POLLIN) == 0) return false;
    char byte = 0;
    return ::recv(p.fd, &byte, 1, MSG_PEEK | MSG_DONTWAIT) == 0;
#endif
}

/// The TCP layer under a plain or TLS stream (its socket, its timeouts).
template <class Stream>
beast::tcp_stream& tcp_of(Stream& s) noexcept {
    return beast::get_lowest_layer(s);
}

/// The server's TLS context from PEM files; throws runtime_error naming the file that cannot be used.
std::unique_ptr<asio::ssl::context> make_tls_context(const http_server_options& o) {
    if (o.tls_cert_file.empty() != o.tls_key_file.empty())
        throw std::runtime_error("TLS needs both a certificate (--tls-cert-file) and its key (--tls-key-file)");
    if (o.tls_cert_file.empty()) {
        if (!o.tls_client_ca_file.empty())
            throw std::runtime_error("--tls-client-ca-file needs TLS (--tls-cert-file and --tls-key-file)");
        return nullptr;
    }
    auto ctx = std::make_unique<asio::ssl::context>(asio::ssl::context::tls_server);
    const char* what = "";
    const std::string* file = nullptr;
    try {
        ctx->set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_sslv2 |
                         asio::ssl::context::no_sslv3 | asio::ssl::context::no_tlsv1 |
                         asio::ssl::context::no_tlsv1_1 | asio::ssl::context::single_dh_use);
        what = "the TLS certificate";
        file = &o.tls_cert_file;
        ctx->use_certificate_chain_file(o.tls_cert_file);
        what = "the TLS key";
        file = &o.tls_key_file;
        ctx->use_private_key_file(o.tls_key_file, asio::ssl::context::pem);
        if (!o.tls_client_ca_file.empty()) {
            what = "the client CA file";
            file = &o.tls_client_ca_file;
            ctx->load_verify_file(o.tls_client_ca_file);
            ctx->set_verify_mode(asio::ssl::verify_peer | asio::ssl::verify_fail_if_no_peer_cert);
        }
    } catch (const boost::system::system_error& e) {
        throw std::runtime_error(std::string("cannot use ") + what + " '" + *file + "': " + e.code().message());
    }
    // A key that does not belong to the certificate would fail every handshake: say so now.
    if (SSL_CTX_check_private_key(ctx->native_handle()) != 1)
        throw std::runtime_error("the TLS key '" + o.tls_key_file + "' does not match the certificate '" +
                                 o.tls_cert_file + "'");
    return ctx;
}

unsigned default_worker_threads() noexcept {
    // Database calls block (a writer may wait for another stream's transaction), so the pool is deliberately wider
    // than the machine: a few blocked writers must never starve the request that would unblock them.
    const unsigned hw = std::max(1u, std::thread::hardware_concurrency());
    return std::max(16u, 2 * hw);
}

} // namespace

struct http_server::impl {
    /// One accepted connection, as the I/O thread sees it (for stop()).
    struct connection {
        bool busy = false;           ///< a request or message is being handled: let it finish
        bool aborted = false;
        std::function<void()> abort; ///< closes the socket, cutting a pending read short
    };

    /// Removes a connection from the registry when its coroutine ends (or its frame is destroyed).
    struct registration {
        impl* owner;
        std::uint64_t id;
        registration(impl* o, std::uint64_t i) : owner(o), id(i) {}
        registration(const registration&) = delete;
        registration& operator=(const registration&) = delete;
        ~registration() { owner->connections.erase(id); }
    };

    // Declared before io_context: coroutine frames destroyed with the io_context still find these alive.
    std::unique_ptr<namespaces> owned;  ///< the registry of one service (http_server(service&, ...))
    namespaces& ns;
    http_server_options opts;
    std::map<std::uint64_t, connection> connections;
    std::uint64_t next_connection_id = 0;
    bool stopping = false;
    server_metrics metrics;
    std::size_t max_connections = 0;  ///< the effective limit (http_server_options::max_connections)
    bool refusal_logged = false;      ///< "connection limit reached" is logged once per crossing
    bool running = false;
    std::uint16_t bound_port = 0;

    std::unique_ptr<asio::ssl::context> tls;  ///< null: plain HTTP

    asio::io_context ioc{1};
    tcp::acceptor acceptor{ioc};
    tcp::acceptor admin_acceptor{ioc};
    std::uint16_t bound_admin_port = 0;
    asio::steady_timer sweep_timer{ioc};
    asio::signal_set signals{ioc};
    asio::thread_pool pool;

    impl(std::unique_ptr<namespaces> single, namespaces& registry, http_server_options o)
        : owned(std::move(single)), ns(registry), opts(std::move(o)),
          pool(opts.worker_threads == 0 ? default_worker_threads() : std::max(1u, opts.worker_threads)) {
        max_connections = opts.max_connections != 0 ? opts.max_connections : default_max_connections();
        tls = make_tls_context(opts);
        bound_port = listen(acceptor, opts.listen_address, opts.port);
        if (opts.admin_listen_address) bound_admin_port = listen(admin_acceptor, *opts.admin_listen_address, opts.admin_port);
    }

    std::uint16_t listen(tcp::acceptor& a, const std::string& address, std::uint16_t port) {
        const std::string where = address + ":" + std::to_string(port);
        try {
            tcp::resolver resolver{ioc};
            const auto endpoints = resolver.resolve(address, std::to_string(port),
                                                    tcp::resolver::passive | tcp::resolver::numeric_service);
            if (endpoints.empty()) throw std::runtime_error("cannot resolve " + where);
            const tcp::endpoint endpoint = endpoints.begin()->endpoint();
            a.open(endpoint.protocol());
            a.set_option(asio::socket_base::reuse_address(true));
            a.bind(endpoint);
            a.listen(asio::socket_base::max_listen_connections);
            return a.local_endpoint().port();
        } catch (const boost::system::system_error& e) {
            throw std::runtime_error("cannot listen on " + where + ": " + e.code().message());
        }
    }

    [[nodiscard]] bool logs(log_level level) const noexcept {
        return opts.log && static_cast<int>(level) <= static_cast<int>(opts.log_threshold);
    }
    void log(log_level level, std::string_view message) const {
        if (logs(level)) opts.log(level, message);
    }

    /// Runs f on the worker pool and resumes the calling coroutine (on the I/O thread) with its result or exception.
    /// f is destroyed on the pool before the coroutine resumes, so nothing it captured outlives the co_await.
    /// g++ 12 rule for every co_await in this file: no class temporaries with destructors inside the co_await
    /// expression (it frees their copies twice, e.g. a lambda with std::string captures); name them and move.
    template <class F>
    auto on_pool(F f) {
        using result = std::invoke_result_t<F&>;
        if constexpr (std::is_void_v<result>) {
            return asio::async_initiate<const asio::use_awaitable_t<>&, void(std::exception_ptr)>(
                [this](auto handler, F fn) {
                    auto ex = asio::get_associated_executor(handler, ioc.get_executor());
                    asio::post(pool, [handler = std::move(handler), fn = std::move(fn), ex]() mutable {
                        std::exception_ptr error;
                        try {
                            F run = std::move(fn);  // its captures die here, before the coroutine resumes
                            run();
                        } catch (...) {
                            error = std::current_exception();
                        }
                        asio::post(ex, [handler = std::move(handler), error]() mutable { std::move(handler)(error); });
                    });
                },
                asio::use_awaitable, std::move(f));
        } else {
            return asio::async_initiate<const asio::use_awaitable_t<>&, void(std::exception_ptr, result)>(
                [this](auto handler, F fn) {
                    auto ex = asio::get_associated_executor(handler, ioc.get_executor());
                    asio::post(pool, [handler = std::move(handler), fn = std::move(fn), ex]() mutable {
                        std::exception_ptr error;
                        result value{};
                        try {
                            F run = std::move(fn);  // its captures die here, before the coroutine resumes
                            value = run();
                        } catch (...) {
                            error = std::current_exception();
                        }
                        asio::post(ex, [handler = std::move(handler), error, value = std::move(value)]() mutable {
                            std::move(handler)(error, std::move(value));
                        });
                    });
                },
                asio::use_awaitable, std::move(f));
        }
    }

    // ------------------------------------------------------------------------------------------------ watching
    /// While a worker runs a request, a watcher polls its socket (every 100 ms, on the I/O thread): once the peer
    /// has closed it, or the request has run longer than a limit, interrupt() is called, and again at every tick
    /// until the work returns (an interrupt reaches only the statement running at that instant).
    struct peer_watch {
        explicit peer_watch(asio::io_context& ioc) : timer(ioc) {}
        asio::steady_timer timer;
        bool done = false;
    };
    /// Ends a watch when the awaiting coroutine moves on (or unwinds); the socket is never touched after that.
    struct watch_guard {
        std::shared_ptr<peer_watch> w;
        explicit watch_guard(std::shared_ptr<peer_watch> p) : w(std::move(p)) {}
        watch_guard(const watch_guard&) = delete;
        watch_guard& operator=(const watch_guard&) = delete;
        ~watch_guard() {
            w->done = true;
            w->timer.cancel();
        }
    };

    /// socket must outlive the returned guard; interrupt is only called before the guard goes.
    watch_guard watch(tcp::socket& socket, std::function<void()> interrupt, std::chrono::milliseconds limit,
                      std::string what) {
        auto w = std::make_shared<peer_watch>(ioc);
        spawn(watch_loop(socket, w, std::move(interrupt), limit, std::move(what)), "watch");
        return watch_guard{std::move(w)};
    }

    asio::awaitable<void> watch_loop(tcp::socket& socket, std::shared_ptr<peer_watch> w, std::function<void()> interrupt,
                                     std::chrono::milliseconds limit, std::string what) {
        const auto started = std::chrono::steady_clock::now();
        bool fired = false;
        while (!w->done) {
            w->timer.expires_after(std::chrono::milliseconds(100));
            auto [ec] = co_await w->timer.async_wait(nothrow_awaitable);
            (void)ec;
            if (w->done) co_return;
            if (!fired) {
                if (peer_gone(socket)) {
                    fired = true;
                    log(log_level::info, "the client closed its connection during " + what + ": interrupting it");
                } else if (limit.count() > 0 && std::chrono::steady_clock::now() - started >= limit) {
                    fired = true;
                    log(log_level::warn, what + " ran longer than " + std::to_string(limit.count()) +
                                             " ms: interrupting it");
                }
            }
            if (fired) interrupt();
        }
    }

    /// Spawns a coroutine on the I/O thread; an escaping exception is logged, never lost or fatal.
    void spawn(asio::awaitable<void> task, const char* what) {
        asio::co_spawn(ioc, std::move(task), [this, what](const std::exception_ptr& e) {
            if (!e) return;
            try {
                std::rethrow_exception(e);
            } catch (const std::exception& ex) {
                log(log_level::error, std::string(what) + ": " + ex.what());
            } catch (...) {
                log(log_level::error, std::string(what) + ": unknown exception");
            }
        });
    }

    // ------------------------------------------------------------------------------------------------ accepting
    /// Accepts on `from` until the server stops, handing each socket (TCP_NODELAY set) to on_socket; an accept
    /// error (out of descriptors and the like) is said and retried shortly rather than spun on or given up.
    template <class OnSocket>
    asio::awaitable<void> accept_loop(tcp::acceptor& from, const char* what, OnSocket on_socket) {
        asio::steady_timer backoff{ioc};
        while (!stopping) {
            auto [ec, socket] = co_await from.async_accept(nothrow_awaitable);
            if (ec) {
                if (stopping || ec == asio::error::operation_aborted) co_return;
                log(log_level::warn, std::string(what) + " failed: " + ec.message());
                backoff.expires_after(std::chrono::milliseconds(50));
                co_await backoff.async_wait(nothrow_awaitable);
                continue;
            }
            beast::error_code ignored;
            socket.set_option(tcp::no_delay(true), ignored);
            on_socket(std::move(socket));
        }
    }

    void on_connection(tcp::socket socket) {
        if (connections.size() >= max_connections) {
            // Said at once, not left to time out: a 503 the client can read, then the socket closes.
            spawn(refuse_connection(std::move(socket)), "refused connection");
            return;
        }
        refusal_logged = false;
        spawn(serve_connection(std::move(socket)), "connection");
    }

    // ------------------------------------------------------------------------------------------------ admin
    /// sqld's admin API, the namespace part: POST /v1/namespaces/{ns}/create (an optional JSON body, whose
    /// options are not used), POST /v1/namespaces/{from}/fork/{to}, DELETE /v1/namespaces/{ns}.
    asio::awaitable<void> serve_admin(tcp::socket socket) {
        beast::tcp_stream stream{std::move(socket)};
        const std::uint64_t id = next_connection_id++;
        connection& entry = connections[id];
        const registration registered{this, id};
        entry.abort = [&stream] {
            beast::error_code ignored;
            stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
            stream.socket().close(ignored);
        };
        beast::flat_buffer buffer;
        for (;;) {
            http::request_parser<http::string_body> parser;
            parser.body_limit(1024 * 1024);
            tcp_of(stream).expires_after(opts.read_timeout);
            auto [ec, n] = co_await http::async_read(stream, buffer, parser, nothrow_awaitable);
            (void)n;
            if (ec) break;
            entry.busy = true;
            request req = parser.release();
            const bool keep_alive = req.keep_alive();
            response res;
            try {
                auto work = [this, method = req.method(), path = std::string(target_path(req.target()))] {
                    return admin(method, path);
                };
                http_reply reply = co_await on_pool(std::move(work));
                res = make_response(req.version(), http::int_to_status(static_cast<unsigned>(reply.status)),
                                    reply.body.empty() ? std::string_view{} : std::string_view(reply.content_type),
                                    std::move(reply.body));
            } catch (const std::exception& e) {
                log(log_level::error, std::string("admin request failed: ") + e.what());
                res = make_response(req.version(), http::status::internal_server_error, "application/json",
                                    R"({"error":"internal error"})");
            }
            res.keep_alive(keep_alive && !stopping);
            tcp_of(stream).expires_after(opts.read_timeout);
            auto [wec, wn] = co_await http::async_write(stream, res, nothrow_awaitable);
            (void)wn;
            entry.busy = false;
            if (wec || !res.keep_alive()) break;
        }
        beast::error_code ignored;
        stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
    }

    /// Routes one admin request (on the pool: creating a namespace opens its database).
    http_reply admin(http::verb method, const std::string& path) {
        auto json = [](int status, std::string body) {
            http_reply r;
            r.status = status;
            r.body = std::move(body);
            return r;
        };
        constexpr std::string_view prefix = "/v1/namespaces/";
        if (!std::string_view(path).starts_with(prefix)) {
            if (path == "/" && method == http::verb::get) return json(200, R"({"service":"libsql serve admin API"})");
            return json(404, R"({"error":"not found"})");
        }
        std::vector<std::string_view> parts;
        std::string_view rest = std::string_view(path).substr(prefix.size());
        while (true) {
            const auto slash = rest.find('/');
            parts.push_back(rest.substr(0, slash));
            if (slash == std::string_view::npos) break;
            rest.remove_prefix(slash + 1);
        }
        if (parts.size() == 1) {
            if (method != http::verb::delete_) return json(405, R"({"error":"method not allowed: DELETE"})");
            auto r = ns.destroy(parts[0]);
            if (r.status == 200) log(log_level::info, "namespace " + std::string(parts[0]) + " deleted");
            return r;
        }
        if (parts.size() == 2 && parts[1] == "create") {
            if (method != http::verb::post) return json(405, R"({"error":"method not allowed: POST"})");
            auto r = ns.create(parts[0]);
            if (r.status == 200) log(log_level::info, "namespace " + std::string(parts[0]) + " created");
            return r;
        }
        if (parts.size() == 3 && parts[1] == "fork") {
            if (method != http::verb::post) return json(405, R"({"error":"method not allowed: POST"})");
            auto r = ns.fork(parts[0], parts[2]);
            if (r.status == 200)
                log(log_level::info, "namespace " + std::string(parts[0]) + " forked to " + std::string(parts[2]));
            return r;
        }
        return json(404, R"({"error":"not found"})");
    }

    /// Past max_connections: 503 with Retry-After, written within a second, and the socket closed. The request is
    /// not read (the client may still be sending it: the close may reset the connection instead).
    asio::awaitable<void> refuse_connection(tcp::socket socket) {
        if (!refusal_logged) {
            refusal_logged = true;
            log(log_level::warn, "connection limit reached (" + std::to_string(max_connections) +
                                     ", --max-connections): refusing new connections with 503");
        }
        beast::tcp_stream stream{std::move(socket)};
        response res = make_response(11, http::status::service_unavailable, text_plain,
                                     "Too many connections (the server's limit is " + std::to_string(max_connections) + ")\n");
        res.set(http::field::retry_after, "1");
        res.keep_alive(false);
        stream.expires_after(std::chrono::seconds(1));
        if (tls) {
            // Said over TLS, so that the client can read it; the handshake and the write within the same second.
            tls_stream secure{std::move(stream), *tls};
            auto [hec] = co_await secure.async_handshake(asio::ssl::stream_base::server, nothrow_awaitable);
            if (!hec) {
                auto [ec, n] = co_await http::async_write(secure, res, nothrow_awaitable);
                (void)ec;
                (void)n;
            }
            beast::error_code ignored;
            tcp_of(secure).socket().shutdown(tcp::socket::shutdown_both, ignored);
            co_return;
        }
        auto [ec, n] = co_await http::async_write(stream, res, nothrow_awaitable);
        (void)ec;
        (void)n;
        beast::error_code ignored;
        stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
    }

    // ------------------------------------------------------------------------------------------------ HTTP
    asio::awaitable<void> serve_connection(tcp::socket socket) {
        beast::tcp_stream stream{std::move(socket)};
        const std::uint64_t id = next_connection_id++;
        connection& entry = connections[id];  // std::map: the reference stays valid until erased
        const registration registered{this, id};
        metrics.connection_opened();
        struct counted {
            server_metrics& m;
            ~counted() { m.connection_closed(); }
        } counting{metrics};
        entry.abort = [&stream] {
            beast::error_code ignored;
            stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
            stream.socket().close(ignored);
        };

        beast::flat_buffer buffer;
        if (!tls) {
            co_await serve_http(stream, buffer, entry);
            co_return;
        }
        // TLS: the first bytes must start a handshake, and the handshake must end, within the read timeout, so a
        // client that connects and sends nothing (or trickles) holds its slot no longer than a slow HTTP client.
        stream.expires_after(opts.read_timeout);
        auto [dec, is_tls] = co_await beast::async_detect_ssl(stream, buffer, nothrow_awaitable);
        if (dec) {
            if (dec == beast::error::timeout) log(log_level::debug, "a client sent no TLS handshake in time: closed");
            co_return;
        }
        if (!is_tls) {
            // Plain HTTP sent to the TLS port: a readable refusal in clear text, then close.
            log(log_level::debug, "a plain HTTP request on the TLS port: refused");
            response res = make_response(11, http::status::bad_request, text_plain,
                                         "Bad request: this server speaks TLS only; use https:// or wss://\n");
            co_await write_and_close(stream, res);
            beast::error_code ignored;
            stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
            co_return;
        }
        tls_stream secure{std::move(stream), *tls};
        entry.abort = [&secure] {
            beast::error_code ignored;
            tcp_of(secure).socket().shutdown(tcp::socket::shutdown_both, ignored);
            tcp_of(secure).socket().close(ignored);
        };
        {
            auto [hec, used] = co_await secure.async_handshake(asio::ssl::stream_base::server, buffer.data(),
                                                                nothrow_awaitable);
            if (hec) {
                log(log_level::debug, "TLS handshake failed: " + hec.message());
                co_return;
            }
            buffer.consume(used);
        }
        co_await serve_http(secure, buffer, entry);
    }

    /// Requests on one connection (plain or TLS) until it closes or is upgraded to a WebSocket.
    template <class Stream>
    asio::awaitable<void> serve_http(Stream& stream, beast::flat_buffer& buffer, connection& entry) {
        for (;;) {
            http::request_parser<http::string_body> parser;
            parser.body_limit(opts.max_body_bytes);
            tcp_of(stream).expires_after(opts.read_timeout);
            auto [ec, n] = co_await http::async_read_header(stream, buffer, parser, nothrow_awaitable);
            (void)n;
            if (ec) {
                if (ec != http::error::end_of_stream && ec != beast::error::timeout &&
                    ec != asio::error::operation_aborted && ec != asio::error::connection_reset &&
                    ec != asio::error::bad_descriptor && ec != asio::error::eof) {
                    response res = ec == http::error::body_limit  // a Content-Length over the limit
                                       ? too_large(11)
                                       : make_response(11, ec == http::error::header_limit
                                                               ? http::status::request_header_fields_too_large
                                                               : http::status::bad_request,
                                                       text_plain, "Bad request: " + ec.message() + "\n");
                    co_await write_and_close(stream, res);
                    if (ec == http::error::body_limit) co_await linger(stream);
                }
                break;
            }
            const unsigned version = parser.get().version();

            if (websocket::is_upgrade(parser.get())) {
                if (target_path(parser.get().target()) != "/" || parser.get().method() != http::verb::get) {
                    response res = make_response(version, http::status::not_found, text_plain, "Not found\n");
                    co_await write_and_close(stream, res);
                    break;
                }
                entry.busy = true;
                request upgrade = parser.release();
                co_await serve_websocket(stream, upgrade, entry);
                co_return;
            }

            if (const auto length = parser.content_length(); length && *length > opts.max_body_bytes) {
                response res = too_large(version);
                co_await write_and_close(stream, res);
                co_await linger(stream);
                break;
            }
            if (iequals(parser.get()[http::field::expect], "100-continue")) {
                http::response<http::empty_body> go_on{http::status::continue_, version};
                tcp_of(stream).expires_after(opts.read_timeout);
                auto [wec, wn] = co_await http::async_write(stream, go_on, nothrow_awaitable);
                (void)wn;
                if (wec) break;
            }
            if (!parser.is_done()) {
                tcp_of(stream).expires_after(opts.read_timeout);
                auto [bec, bn] = co_await http::async_read(stream, buffer, parser, nothrow_awaitable);
                (void)bn;
                if (bec == http::error::body_limit) {
                    response res = too_large(version);
                    co_await write_and_close(stream, res);
                    co_await linger(stream);
                    break;
                }
                if (bec) {
                    if (bec == http::error::partial_message || bec == http::error::bad_chunk ||
                        bec == http::error::bad_chunk_extension || bec == http::error::bad_transfer_encoding) {
                        response res = make_response(version, http::status::bad_request, text_plain,
                                                     "Bad request: " + bec.message() + "\n");
                        co_await write_and_close(stream, res);
                    }
                    break;
                }
            }

            entry.busy = true;  // from here on, stop() lets this request finish
            request req = parser.release();
            const bool keep_alive = req.keep_alive();
            const auto started = std::chrono::steady_clock::now();
            std::string method;
            std::string target;
            if (logs(log_level::debug)) {
                method = std::string{req.method_string()};
                target = std::string{req.target()};
            }
            if (const auto p = target_path(req.target());
                (p == "/v3/cursor" || p == "/v3-protobuf/cursor") && req.method() == http::verb::post) {
                const std::uint64_t received = req.body().size();
                std::uint64_t sent = 0;
                unsigned status = 200;
                const bool again = co_await serve_cursor(stream, req, keep_alive,
                                                         p == "/v3/cursor" ? encoding::json : encoding::protobuf, sent, status);
                metrics.request_done(request_kind::cursor, status, std::chrono::steady_clock::now() - started, received, sent);
                entry.busy = false;
                if (!again) break;
                continue;
            }
            const std::uint64_t received = req.body().size();
            const request_kind kind = kind_of(target_path(req.target()));
            response res = co_await handle(req, tcp_of(stream).socket());
            res.keep_alive(keep_alive && !stopping);
            metrics.request_done(kind, res.result_int(), std::chrono::steady_clock::now() - started, received,
                                 res.body().size());
            if (logs(log_level::debug)) {
                const auto us = std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - started);
                log(log_level::debug, method + " " + target + " " + std::to_string(res.result_int()) + " " +
                                          std::to_string(us.count()) + "us");
            }
            tcp_of(stream).expires_after(opts.read_timeout);
            auto [wec, wn] = co_await http::async_write(stream, res, nothrow_awaitable);
            (void)wn;
            entry.busy = false;
            if (wec || !res.keep_alive()) break;
        }
        if constexpr (std::is_same_v<Stream, tls_stream>) {
            // close_notify, bounded: a client that never answers it does not hold the connection.
            tcp_of(stream).expires_after(std::chrono::seconds(1));
            auto [sec] = co_await stream.async_shutdown(nothrow_awaitable);
            (void)sec;
        }
        beast::error_code ignored;
        tcp_of(stream).socket().shutdown(tcp::socket::shutdown_send, ignored);
    }

    /// After an early 413 the client may still be sending its body; closing at once would make the kernel answer
    /// with a reset that can destroy the 413 before the client reads it. So: half-close, then discard what arrives
    /// for a moment.
    template <class Stream>
    asio::awaitable<void> linger(Stream& stream) {
        beast::error_code ignored;
        tcp_of(stream).socket().shutdown(tcp::socket::shutdown_send, ignored);
        tcp_of(stream).expires_after(std::chrono::seconds(2));
        std::array<char, 16 * 1024> scratch{};
        for (;;) {
            auto [ec, n] = co_await stream.async_read_some(asio::buffer(scratch), nothrow_awaitable);
            (void)n;
            if (ec) break;
        }
    }

    /// The service of the request's namespace (namespaces.hpp), or the response that refuses the request.
    std::variant<std::shared_ptr<service>, response> target_of(const request& req) {
        auto r = ns.resolve(req[http::field::host], req["x-namespace"]);
        if (auto* s = std::get_if<std::shared_ptr<service>>(&r)) return std::move(*s);
        auto& reply = std::get<http_reply>(r);
        return make_response(req.version(), http::int_to_status(static_cast<unsigned>(reply.status)), reply.content_type,
                             std::move(reply.body));
    }

    response too_large(unsigned version) const {
        return make_response(version, http::status::payload_too_large, text_plain,
                             "Request body larger than " + std::to_string(opts.max_body_bytes) + " bytes\n");
    }

    /// Writes a whole response within `limit`, kept alive when the request allows it and the server is not stopping;
    /// sent and status: for the metrics. Returns whether the connection may serve another request.
    template <class Stream>
    asio::awaitable<bool> write_whole(Stream& stream, response& res, bool keep_alive, std::chrono::milliseconds limit,
                                      std::uint64_t& sent, unsigned& status) {
        status = res.result_int();
        sent = res.body().size();
        res.keep_alive(keep_alive && !stopping);
        tcp_of(stream).expires_after(limit);
        auto [ec, n] = co_await http::async_write(stream, res, nothrow_awaitable);
        (void)n;
        co_return !ec && res.keep_alive();
    }

    template <class Stream>
    asio::awaitable<void> write_and_close(Stream& stream, response& res) {
        res.keep_alive(false);
        tcp_of(stream).expires_after(opts.read_timeout);
        auto [ec, n] = co_await http::async_write(stream, res, nothrow_awaitable);
        (void)ec;
        (void)n;
    }

    asio::awaitable<response> handle(request& req, tcp::socket& socket) {
        const unsigned version = req.version();
        const std::string_view path = target_path(req.target());
        const http::verb method = req.method();

        auto method_not_allowed = [&](std::string_view allow) {
            response res = make_response(version, http::status::method_not_allowed, text_plain, "Method not allowed\n");
            res.set(http::field::allow, allow);
            return res;
        };

        if (path == "/metrics") {
            if (method != http::verb::get) co_return method_not_allowed("GET");
            // With namespaces: streams and checkpoints summed over them; the replication gauges show the largest
            // generation and index among them (one series, no namespace label).
            service_gauges g;
            ns.for_each([&g](service& s) {
                g.open_streams += s.open_streams();
                g.checkpoints += s.checkpoints();
                g.replication_generation = std::max(g.replication_generation, s.replication_generation());
                g.replication_index = std::max(g.replication_index, s.replication_index());
            });
            co_return make_response(version, http::status::ok, "text/plain; version=0.0.4", metrics.render(g));
        }
        if (path == "/health") {
            if (method != http::verb::get) co_return method_not_allowed("GET");
            co_return make_response(version, http::status::ok, {}, {});
        }
        if (path == "/version") {
            if (method != http::verb::get) co_return method_not_allowed("GET");
            co_return make_response(version, http::status::ok, text_plain, opts.version);
        }
        if (path == "/v2" || path == "/v3" || path == "/v3-protobuf") {
            if (method != http::verb::get) co_return method_not_allowed("GET");
            co_return make_response(version, http::status::ok, text_plain,
                                    path == "/v2"   ? "Hello, this is HTTP API v2 (Hrana over HTTP)"
                                    : path == "/v3" ? "Hello, this is HTTP API v3 (Hrana over HTTP)"
                                                    : "Hello, this is HTTP API v3 (Hrana over HTTP, Protobuf)");
        }
        // Legacy Turso sync (embedded replicas): GET /info, /export/{generation}, /sync/{generation}/{start}/{end}.
        // POST /sync (offline push) is not served.
        const bool info = path == "/info";
        const bool export_db = path.starts_with("/export/");
        const bool sync = path.starts_with("/sync/");
        if (info || export_db || sync) {
            if (method != http::verb::get) co_return method_not_allowed("GET");
            const auto numbers = info ? std::optional<std::vector<std::uint64_t>>(std::vector<std::uint64_t>{})
                                      : path_numbers(path.substr(export_db ? 8 : 6));
            if (!numbers || numbers->size() != (info ? 0U : export_db ? 1U : 3U))
                co_return make_response(version, http::status::bad_request, "application/json",
                                        R"({"error":"expected /info, /export/{generation} or /sync/{generation}/{start}/{end}"})");
            auto target = target_of(req);
            if (auto* refused = std::get_if<response>(&target)) co_return std::move(*refused);
            std::string authorization{req[http::field::authorization]};
            http_reply reply;
            try {
                auto work = [svc = std::get<std::shared_ptr<service>>(std::move(target)), info, export_db, n = *numbers,
                             auth = std::move(authorization)]() -> http_reply {
                    if (info) return svc->replication_info(auth);
                    if (export_db) return svc->replication_export(n[0], auth);
                    return svc->replication_frames(n[0], n[1], n[2], auth);
                };
                reply = co_await on_pool(std::move(work));
            } catch (const std::exception& e) {
                log(log_level::error, std::string("replication request failed: ") + e.what());
                co_return make_response(version, http::status::service_unavailable, text_plain,
                                        std::string("Replication failed: ") + e.what() + "\n");
            }
            const auto status = reply.status >= 100 && reply.status <= 999 ? static_cast<unsigned>(reply.status) : 500u;
            co_return make_response(version, http::int_to_status(status), reply.content_type, std::move(reply.body));
        }
        const bool protobuf = path == "/v3-protobuf/pipeline" || path == "/v3-protobuf/cursor";
        const bool pipeline = path == "/v2/pipeline" || path == "/v3/pipeline" || path == "/v3-protobuf/pipeline";
        const bool cursor = path == "/v3/cursor" || path == "/v3-protobuf/cursor";
        const auto enc = protobuf ? encoding::protobuf : encoding::json;
        if (!pipeline && !cursor) co_return make_response(version, http::status::not_found, text_plain, "Not found\n");
        if (method != http::verb::post) co_return method_not_allowed("POST");

        const int hrana_version = path == "/v2/pipeline" ? 2 : 3;
        auto target = target_of(req);
        if (auto* refused = std::get_if<response>(&target)) co_return std::move(*refused);
        std::string authorization{req[http::field::authorization]};
        http_reply reply;
        try {
            // The client may go away (or the time limit pass) while the request runs: its statements are then
            // interrupted and its stream freed.
            auto stop = std::make_shared<request_interrupt>();
            const watch_guard watching = watch(socket, [stop] { stop->interrupt(); }, opts.max_request_duration,
                                               std::string(path) + " request");
            auto work = [svc = std::get<std::shared_ptr<service>>(std::move(target)), pipeline, hrana_version, stop, enc,
                         body = std::move(req.body()), auth = std::move(authorization)]() -> http_reply {
                return pipeline ? svc->pipeline(hrana_version, body, auth, stop.get(), enc)
                                : svc->cursor(body, auth, stop.get(), enc);
            };
            reply = co_await on_pool(std::move(work));
        } catch (const std::exception& e) {
            log(log_level::error, std::string("request failed: ") + e.what());
            co_return make_response(version, http::status::internal_server_error, text_plain,
                                    std::string("Internal server error: ") + e.what() + "\n");
        }
        const auto status = reply.status >= 100 && reply.status <= 999 ? static_cast<unsigned>(reply.status) : 500u;
        co_return make_response(version, http::int_to_status(status), reply.content_type, std::move(reply.body));
    }

    /// Steps a cursor body on the pool into chunk (about a window); more: whether it goes on. Returns false when it
    /// failed (logged). The body is passed by reference: the pool may destroy its function object after the
    /// coroutine resumes, and the body's last owner must be the caller (it releases it while the request lives).
    asio::awaitable<bool> step_cursor(cursor_body& body, std::string& chunk, std::size_t window, bool& more) {
        try {
            auto work = [b = &body, &chunk, window] { return b->next(chunk, window); };
            more = co_await on_pool(std::move(work));
            co_return true;
        } catch (const std::exception& e) {
            log(log_level::error, std::string("cursor failed: ") + e.what());
            co_return false;
        }
    }

    /// POST /v3/cursor, streamed in a chunked body: the head and the entries leave as they are stepped, a window at
    /// a time, and the next window is only stepped once the last one is written, so a client that stops reading
    /// stalls its cursor. A window that cannot be written within the stream expiry drops the connection, which
    /// rolls the stream back and frees it: a stalled reader cannot hold a transaction (or the write lock) longer
    /// than an idle stream could. Returns whether the connection may serve another request.
    /// sent and status: for the metrics.
    template <class Stream>
    asio::awaitable<bool> serve_cursor(Stream& stream, request& req, bool keep_alive, encoding enc,
                                       std::uint64_t& sent, unsigned& status) {
        constexpr std::size_t window = 64 * 1024;
        const unsigned version = req.version();
        auto target = target_of(req);
        if (auto* refused = std::get_if<response>(&target))
            co_return co_await write_whole(stream, *refused, keep_alive, opts.read_timeout, sent, status);
        std::shared_ptr<service> svc = std::get<std::shared_ptr<service>>(std::move(target));
        const auto write_limit = std::max(svc->options().stream_expiry, std::chrono::milliseconds(1000));
        std::string authorization{req[http::field::authorization]};
        auto stop = std::make_shared<request_interrupt>();
        const watch_guard watching = watch(tcp_of(stream).socket(), [stop] { stop->interrupt(); }, opts.max_request_duration,
                                           "/v3/cursor request");
        std::shared_ptr<cursor_body> body;
        response refusal;
        try {
            auto work = [svc, stop, enc, text = std::move(req.body()), auth = std::move(authorization)]() {
                return svc->open_cursor(text, auth, stop.get(), enc);
            };
            auto opened = co_await on_pool(std::move(work));
            if (opened.body) {
                body = std::move(opened.body);
            } else {
                const auto code = opened.refusal.status >= 100 && opened.refusal.status <= 999
                                      ? static_cast<unsigned>(opened.refusal.status) : 500u;
                refusal = make_response(version, http::int_to_status(code), opened.refusal.content_type,
                                        std::move(opened.refusal.body));
            }
        } catch (const std::exception& e) {
            log(log_level::error, std::string("cursor request failed: ") + e.what());
            refusal = make_response(version, http::status::internal_server_error, text_plain,
                                    std::string("Internal server error: ") + e.what() + "\n");
        }
        if (!body) co_return co_await write_whole(stream, refusal, keep_alive, opts.read_timeout, sent, status);
        // The body is freed on the pool: that rolls its stream back, which may wait on the database.
        // The work keeps the interrupt alive too: the body detaches from it as it ends.
        auto release = [this, stop](std::shared_ptr<cursor_body>& b) -> asio::awaitable<void> {
            auto work = [held = std::move(b), stop]() mutable { held.reset(); };
            try {
                co_await on_pool(std::move(work));
            } catch (const std::exception& e) {
                log(log_level::error, std::string("closing a cursor failed: ") + e.what());
            }
        };

        const auto content_type = enc == encoding::protobuf ? "application/x-protobuf" : "text/plain";
        // The first window is stepped before anything is sent: a result that ends within it (most do) leaves as one
        // response with a Content-Length, in one write, so the client is woken once; a longer one is chunked.
        std::string chunk;
        bool more = false;
        bool ok = co_await step_cursor(*body, chunk, window, more);
        if (!ok) {
            co_await release(body);
            response res = make_response(version, http::status::internal_server_error, text_plain,
                                         "Internal server error: the cursor failed\n");
            co_return co_await write_whole(stream, res, false, opts.read_timeout, sent, status);
        }
        if (!more) {
            body.reset();  // done: next() has already given the stream back, nothing is left to free on the pool
            response res = make_response(version, http::status::ok, content_type, std::move(chunk));
            co_return co_await write_whole(stream, res, keep_alive, write_limit, sent, status);
        }

        http::response<http::empty_body> head{http::status::ok, version};
        head.set(http::field::server, "libsql-cpp");
        head.set(http::field::content_type, content_type);
        head.chunked(true);
        head.keep_alive(keep_alive && !stopping);
        http::response_serializer<http::empty_body> serializer{head};
        tcp_of(stream).expires_after(write_limit);
        {
            auto [ec, n] = co_await http::async_write_header(stream, serializer, nothrow_awaitable);
            (void)n;
            ok = !ec;
        }
        while (ok) {
            if (!chunk.empty()) {
                sent += chunk.size();
                tcp_of(stream).expires_after(write_limit);
                const auto piece = http::make_chunk(asio::buffer(chunk));  // a named local: see the g++ 12 note
                auto [ec, n] = co_await asio::async_write(stream, piece, nothrow_awaitable);
                (void)n;
                if (ec) {
                    if (ec == beast::error::timeout)
                        log(log_level::warn, "a cursor's client read nothing for " + std::to_string(write_limit.count()) +
                                                 " ms: closing its connection and freeing its stream");
                    ok = false;
                    break;
                }
            }
            if (!more) break;
            chunk.clear();
            ok = co_await step_cursor(*body, chunk, window, more);  // a failure now cuts the connection
        }
        co_await release(body);
        if (!ok) co_return false;
        tcp_of(stream).expires_after(opts.read_timeout);
        const auto last = http::make_chunk_last();
        auto [ec, n] = co_await asio::async_write(stream, last, nothrow_awaitable);
        (void)n;
        co_return !ec && head.keep_alive();
    }

    // ------------------------------------------------------------------------------------------------ WebSocket
    /// Takes over the connection's stream (moved into the WebSocket stream) once the upgrade is accepted.
    template <class Stream>
    asio::awaitable<void> serve_websocket(Stream& stream, request& req, connection& entry) {
        // As sqld: the first of hrana3-protobuf, hrana3, hrana2, hrana1 that the client offers. hrana1 is a subset
        // of hrana2.
        auto target = target_of(req);
        if (auto* refused = std::get_if<response>(&target)) {
            co_await write_and_close(stream, *refused);
            co_return;
        }
        std::shared_ptr<service> svc = std::get<std::shared_ptr<service>>(std::move(target));
        const std::string_view offered = req[http::field::sec_websocket_protocol];
        int hrana_version = 2;
        auto enc = encoding::json;
        std::string chosen;
        if (header_lists(offered, "hrana3-protobuf")) {
            hrana_version = 3;
            enc = encoding::protobuf;
            chosen = "hrana3-protobuf";
        } else if (header_lists(offered, "hrana3")) {
            hrana_version = 3;
            chosen = "hrana3";
        } else if (header_lists(offered, "hrana2")) {
            chosen = "hrana2";
        } else if (header_lists(offered, "hrana1")) {
            chosen = "hrana1";
        } else if (!offered.empty()) {
            response res = make_response(req.version(), http::status::bad_request, text_plain,
                                         "No supported WebSocket subprotocol (hrana3-protobuf, hrana3, hrana2, hrana1)\n");
            co_await write_and_close(stream, res);
            co_return;
        }

        tcp_of(stream).expires_never();  // the websocket stream keeps its own timeouts
        websocket::stream<Stream> ws{std::move(stream)};
        entry.abort = [&ws] {
            beast::error_code ignored;
            beast::get_lowest_layer(ws).socket().shutdown(tcp::socket::shutdown_both, ignored);
            beast::get_lowest_layer(ws).socket().close(ignored);
        };
        auto timeouts = websocket::stream_base::timeout::suggested(beast::role_type::server);
        timeouts.idle_timeout = std::chrono::seconds(120);  // a ping after 60 s of silence; no answer: a dead peer
        timeouts.keep_alive_pings = true;
        ws.set_option(timeouts);
        ws.set_option(websocket::stream_base::decorator([chosen](websocket::response_type& res) {
            res.set(http::field::server, "libsql-cpp");
            if (!chosen.empty()) res.set(http::field::sec_websocket_protocol, chosen);
        }));
        ws.read_message_max(opts.max_body_bytes);
        {
            auto [ec] = co_await ws.async_accept(req, nothrow_awaitable);
            if (ec) co_return;
        }
        log(log_level::debug, "websocket opened (" + (chosen.empty() ? std::string("no subprotocol") : chosen) + ")");

        std::unique_ptr<ws_session> session;
        try {
            auto work = [svc, hrana_version, enc] { return svc->open_ws(hrana_version, enc); };
            session = co_await on_pool(std::move(work));
        } catch (const std::exception& e) {
            log(log_level::error, std::string("cannot open websocket session: ") + e.what());
        }
        if (!session) {
            const websocket::close_reason reason{websocket::close_code::internal_error};
            auto [ec] = co_await ws.async_close(reason, nothrow_awaitable);
            (void)ec;
            co_return;
        }
        entry.busy = false;

        beast::flat_buffer buffer;
        websocket::close_reason close_with;
        bool send_close = false;
        for (;;) {
            buffer.clear();
            auto [ec, n] = co_await ws.async_read(buffer, nothrow_awaitable);
            (void)n;
            if (ec) {
                if (ec == websocket::error::message_too_big) {
                    close_with = websocket::close_reason{websocket::close_code::too_big};
                    send_close = true;
                }
                break;  // closed by the peer, aborted, or broken
            }
            // The JSON subprotocols use text frames only, hrana3-protobuf binary frames only.
            if (ws.got_text() != (enc == encoding::json)) {
                close_with = websocket::close_reason{websocket::close_code::policy_error,
                                                     enc == encoding::json ? "binary frames are not supported"
                                                                                   : "text frames are not supported"};
                send_close = true;
                break;
            }
            entry.busy = true;
            const auto message_started = std::chrono::steady_clock::now();
            std::vector<std::string> replies;
            try {
                // A peer that closes the socket meanwhile interrupts the session's running work; the read below
                // then fails and dropping the session frees its streams.
                ws_session* busy_session = session.get();
                const watch_guard watching = watch(beast::get_lowest_layer(ws).socket(), [busy_session] { busy_session->interrupt(); },
                                                   std::chrono::milliseconds(0), "a websocket message");
                auto work = [&session, text = beast::buffers_to_string(buffer.data())] { return session->on_message(text); };
                replies = co_await on_pool(std::move(work));
            } catch (const std::exception& e) {
                log(log_level::error, std::string("websocket message failed: ") + e.what());
                close_with = websocket::close_reason{websocket::close_code::internal_error};
                send_close = true;
                break;
            }
            ws.text(enc == encoding::json);
            bool write_failed = false;
            for (const auto& reply : replies) {
                auto [wec, wn] = co_await ws.async_write(asio::buffer(reply), nothrow_awaitable);
                (void)wn;
                if (wec) {
                    write_failed = true;
                    break;
                }
            }
            entry.busy = false;
            std::uint64_t sent = 0;
            for (const auto& reply : replies) sent += reply.size();
            metrics.request_done(request_kind::websocket, 200, std::chrono::steady_clock::now() - message_started,
                                 buffer.size(), sent);
            if (write_failed) break;
            if (session->closed()) {
                close_with = websocket::close_reason{websocket::close_code::policy_error};
                send_close = true;
                break;
            }
            if (stopping) {
                close_with = websocket::close_reason{websocket::close_code::going_away};
                send_close = true;
                break;
            }
        }
        if (send_close && ws.is_open()) {
            auto [ec] = co_await ws.async_close(close_with, nothrow_awaitable);
            (void)ec;
        }
        // Dropping a session rolls back its streams: database work, so not on the I/O thread.
        try {
            auto work = [s = std::move(session)]() mutable { s.reset(); };
            co_await on_pool(std::move(work));
        } catch (const std::exception& e) {
            log(log_level::error, std::string("closing websocket session: ") + e.what());
        }
        log(log_level::debug, "websocket closed");
    }

    // ------------------------------------------------------------------------------------------------ housekeeping
    asio::awaitable<void> sweep_loop() {
        while (!stopping) {
            sweep_timer.expires_after(std::chrono::milliseconds(500));
            auto [ec] = co_await sweep_timer.async_wait(nothrow_awaitable);
            if (ec || stopping) co_return;
            try {
                auto work = [this] { ns.for_each([](service& s) { s.sweep_expired(); }); };
                co_await on_pool(std::move(work));
            } catch (const std::exception& e) {
                log(log_level::error, std::string("sweeping expired streams: ") + e.what());
            }
        }
    }

    asio::awaitable<void> signal_loop() {
        for (;;) {
            auto [ec, signal_number] = co_await signals.async_wait(nothrow_awaitable);
            if (ec) co_return;
            log(log_level::info, std::string(signal_number == SIGINT ? "SIGINT" : "SIGTERM") +
                                     (stopping ? ": already stopping" : ": stopping"));
            begin_stop();
        }
    }

    void begin_stop() {
        if (stopping) return;
        stopping = true;
        beast::error_code ignored;
        acceptor.close(ignored);
        admin_acceptor.close(ignored);
        sweep_timer.cancel();
        spawn(drain(), "stop");
    }

    /// Lets busy connections finish their request (bounded), drops idle ones, then shuts the service down.
    /// Running statements are interrupted after the grace period (opts.interrupt_after), again and again (an
    /// interrupt reaches only the statement running at that instant) until the requests have returned.
    asio::awaitable<void> drain() {
        const auto started = std::chrono::steady_clock::now();
        const auto deadline = started + opts.drain_timeout;
        const auto interrupt_at = started + std::min(opts.interrupt_after, opts.drain_timeout);
        bool interrupting = false;
        asio::steady_timer tick{ioc};
        while (!connections.empty() && std::chrono::steady_clock::now() < deadline) {
            for (auto& [id, c] : connections) {
                if (!c.busy && !c.aborted && c.abort) {
                    c.aborted = true;
                    c.abort();
                }
            }
            if (!interrupting && std::chrono::steady_clock::now() >= interrupt_at) {
                interrupting = true;
                log(log_level::info, std::to_string(connections.size()) +
                                         " connection(s) still busy: interrupting their running statements");
            }
            // Directly, not on the pool: every worker may be stuck in a statement.
            if (interrupting) ns.for_each([](service& s) { s.interrupt_running(); });
            tick.expires_after(std::chrono::milliseconds(10));
            co_await tick.async_wait(nothrow_awaitable);
        }
        if (!connections.empty()) {
            log(log_level::warn, std::to_string(connections.size()) + " connection(s) still busy after the drain timeout");
            for (auto& [id, c] : connections) {
                if (c.abort) c.abort();
            }
        }
        ns.for_each([](service& s) { s.interrupt_running(); });  // whatever still runs on the pool stops
        try {
            auto work = [this] { ns.for_each([](service& s) { s.shutdown(); }); };
            co_await on_pool(std::move(work));
        } catch (const std::exception& e) {
            log(log_level::error, std::string("service shutdown: ") + e.what());
        }
        beast::error_code ignored;
        signals.cancel(ignored);
        log(log_level::info, "stopped");
        ioc.stop();
    }

    void run() {
        if (running) throw std::logic_error("http_server::run() called twice");
        running = true;
        if (opts.stop_on_signals) {
            signals.add(SIGINT);
            signals.add(SIGTERM);
            spawn(signal_loop(), "signals");
        }
        spawn(accept_loop(acceptor, "accept", [this](tcp::socket socket) { on_connection(std::move(socket)); }), "accept");
        if (admin_acceptor.is_open())
            spawn(accept_loop(admin_acceptor, "admin accept",
                              [this](tcp::socket socket) { spawn(serve_admin(std::move(socket)), "admin connection"); }),
                  "admin accept");
        spawn(sweep_loop(), "sweep");
        ioc.run();
        // Work still queued on the pool (a request past the drain timeout) finishes before run() returns.
        pool.join();
    }
};

http_server::http_server(service& svc, http_server_options options) {
    auto single = std::make_unique<namespaces>(svc);
    namespaces& registry = *single;
    impl_ = std::make_unique<impl>(std::move(single), registry, std::move(options));
}

http_server::http_server(namespaces& registry, http_server_options options)
    : impl_(std::make_unique<impl>(nullptr, registry, std::move(options))) {}

http_server::~http_server() = default;

std::uint16_t http_server::port() const noexcept { return impl_->bound_port; }

std::uint16_t http_server::admin_port() const noexcept { return impl_->bound_admin_port; }

void http_server::run() { impl_->run(); }

void http_server::stop() {
    impl* self = impl_.get();
    asio::post(self->ioc, [self] { self->begin_stop(); });
}

} // namespace libsql::server
