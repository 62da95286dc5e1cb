// The client WebSocket (ws_transport.hpp) on Boost.Beast: the only client translation unit that includes Beast.
// Callbacks, not coroutines: one io_context per socket, run by whichever thread waits on the socket (the connect,
// bounded by connect_timeout; then run_one_until and poll, one thread at a time under drive_m_).
#include "remote/ws_transport.hpp"

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
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>

#include <sys/socket.h>

#include <deque>
#include <mutex>
#include <optional>
#include <type_traits>
#include <utility>

namespace libsql::detail::ws {

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
using tcp = asio::ip::tcp;

struct parsed_url {
    bool tls = false;
    std::string host;    ///< without brackets
    std::string port;
    std::string host_header;
    std::string target;  ///< path and query, at least "/"
};

parsed_url parse(std::string_view url, libsql::transport t) {
    parsed_url p;
    const error_info i{0, {}, {}, t, {}};
    std::string_view rest;
    if (url.starts_with("ws://")) {
        rest = url.substr(5);
    } else if (url.starts_with("wss://")) {
        p.tls = true;
        rest = url.substr(6);
    } else {
        throw usage_error("not a WebSocket URL (ws:// or wss://): " + std::string(url), i);
    }
    const auto slash = rest.find_first_of("/?#");
    std::string_view authority = rest.substr(0, slash);
    p.target = slash == std::string_view::npos ? "/" : std::string(rest.substr(slash));
    if (!p.target.empty() && p.target.front() != '/') p.target.insert(0, "/");
    if (const auto hash = p.target.find('#'); hash != std::string::npos) p.target.resize(hash);
    if (const auto at = authority.rfind('@'); at != std::string_view::npos) authority.remove_prefix(at + 1);
    if (authority.empty()) throw usage_error("a WebSocket URL without a host: " + std::string(url), i);
    p.host_header = std::string(authority);
    if (authority.front() == '[') {
        const auto close = authority.find(']');
        if (close == std::string_view::npos) throw usage_error("a malformed IPv6 host in " + std::string(url), i);
        p.host = std::string(authority.substr(1, close - 1));
        if (close + 1 < authority.size() && authority[close + 1] == ':') p.port = std::string(authority.substr(close + 2));
    } else if (const auto colon = authority.rfind(':'); colon != std::string_view::npos) {
        p.host = std::string(authority.substr(0, colon));
        p.port = std::string(authority.substr(colon + 1));
    } else {
        p.host = std::string(authority);
    }
    if (p.port.empty()) p.port = p.tls ? "443" : "80";
    for (const char c : p.port)
        if (c < '0' || c > '9') throw usage_error("a malformed port in " + std::string(url), i);
    return p;
}

std::string joined(const std::vector<std::string>& v) {
    std::string s;
    for (const auto& x : v) {
        if (!s.empty()) s += ", ";
        s += x;
    }
    return s;
}

} // namespace

struct socket::impl {
    virtual ~impl() = default;
    virtual void send(std::string data, bool binary) = 0;
    virtual bool run_one_until(std::chrono::steady_clock::time_point deadline) = 0;
    virtual void poll() = 0;
    virtual void wake() noexcept = 0;
    virtual void close() noexcept = 0;
    virtual void abort() noexcept = 0;
    std::string chosen;
};

namespace {

using plain_stream = websocket::stream<beast::tcp_stream>;
using tls_stream = websocket::stream<beast::ssl_stream<beast::tcp_stream>>;

template <class Stream>
class stream_impl final : public socket::impl {
public:
    static constexpr bool is_tls = std::is_same_v<Stream, tls_stream>;

    stream_impl(const parsed_url& u, const options& o, handler& h) : h_(h), url_(u), opts_(o) {
        if constexpr (is_tls) {
            tls_ctx_.emplace(asio::ssl::context::tls_client);
            if (const auto why = load_client_tls(*tls_ctx_, o.tls); !why.empty())
                throw tls_error(why + " for " + where(), info());
            ws_.emplace(ioc_, *tls_ctx_);
            prepare_client_tls(ws_->next_layer(), o.tls, url_.host);
        } else {
            ws_.emplace(ioc_);
        }
        connect();
        {
            std::lock_guard f(fd_m_);
            fd_ = beast::get_lowest_layer(*ws_).socket().native_handle();
        }
        read_next();
    }

    ~stream_impl() override {
        close();
        std::lock_guard d(drive_m_);
        const auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(250);
        while (!finished_ && !ioc_.stopped() && ioc_.run_one_until(until) != 0) {
        }
        finish("closed by the client");
    }

    bool run_one_until(std::chrono::steady_clock::time_point deadline) override {
        std::lock_guard d(drive_m_);
        if (ioc_.stopped()) return false;
        ioc_.run_one_until(deadline);
        return !ioc_.stopped();
    }

    void poll() override {
        std::unique_lock d(drive_m_, std::try_to_lock);
        if (!d.owns_lock() || ioc_.stopped()) return;
        ioc_.poll();
    }

    void wake() noexcept override {
        try {
            asio::post(ioc_, [] {});
        } catch (...) {
        }
    }

    void send(std::string data, bool binary) override {
        asio::post(ioc_, [this, t = std::move(data), binary]() mutable {
            if (finished_) return;
            queue_.push_back({std::move(t), binary});
            if (!writing_) write_next();
        });
    }

    void close() noexcept override {
        try {
            asio::post(ioc_, [this] {
                if (finished_ || closing_) return;
                closing_ = true;
                ws_->async_close(websocket::close_code::normal, [this](beast::error_code) { finish("closed by the client"); });
            });
        } catch (...) {
        }
    }

    void abort() noexcept override {
        {
            // The peer sees the connection end now, whether or not a thread runs this socket.
            std::lock_guard f(fd_m_);
            if (fd_ >= 0) ::shutdown(fd_, SHUT_RDWR);
        }
        try {
            asio::post(ioc_, [this] { finish("closed by the client (abandoned)"); });
        } catch (...) {
        }
    }

private:
    [[nodiscard]] error_info info() const { return error_info{0, {}, {}, opts_.transport, {}}; }
    [[nodiscard]] std::string where() const {
        return (is_tls ? "wss://" : "ws://") + url_.host_header + url_.target;
    }

    void connect() {
        beast::error_code failed;
        bool tls_failed = false;
        std::string stage;
        bool done = false;
        websocket::response_type resp;
        tcp::resolver resolver(ioc_);
        auto& lowest = beast::get_lowest_layer(*ws_);
        auto fail = [&](beast::error_code ec, std::string what) {
            if (done) return;
            failed = ec;
            stage = std::move(what);
            done = true;
            // Nothing more is wanted from this socket. Beast's handshake timer stays armed after a failed upgrade
            // (a 400, a refused client certificate) and would keep run_for() below going until connect_timeout:
            // close the socket and stop; what is left pending is destroyed with the io_context.
            beast::error_code ignored;
            lowest.socket().close(ignored);
            ioc_.stop();
        };
        auto upgrade = [&] {
            websocket::stream_base::timeout t{};
            t.handshake_timeout = opts_.connect_timeout;
            t.idle_timeout = opts_.idle_timeout;
            t.keep_alive_pings = true;
            lowest.expires_never();
            ws_->set_option(t);
            ws_->read_message_max(opts_.max_message_bytes);
            ws_->set_option(websocket::stream_base::decorator([this](websocket::request_type& req) {
                req.set(beast::http::field::user_agent, "libsql-cpp");
                if (!opts_.subprotocols.empty())
                    req.set(beast::http::field::sec_websocket_protocol, joined(opts_.subprotocols));
                for (const auto& hdr : opts_.headers) {
                    const auto colon = hdr.find(':');
                    if (colon == std::string::npos) continue;
                    std::string_view value = std::string_view(hdr).substr(colon + 1);
                    while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
                    req.set(std::string_view(hdr).substr(0, colon), value);
                }
            }));
            ws_->async_handshake(resp, url_.host_header, url_.target, [&](beast::error_code ec) {
                if (ec) return fail(ec, "the WebSocket upgrade");
                done = true;
            });
        };
        // *.localhost is the loopback (RFC 6761), as the HTTP transport (http_client.cpp) does: a server with
        // namespaces (ns.localhost) is reachable the same way over both. The Host header keeps the full name.
        std::string lookup = url_.host;
        if (lookup.size() > 10 && beast::iequals(std::string_view(lookup).substr(lookup.size() - 10), ".localhost"))
            lookup = "localhost";
        resolver.async_resolve(lookup, url_.port, [&](beast::error_code ec, const tcp::resolver::results_type& eps) {
            if (ec) return fail(ec, "resolving " + url_.host);
            lowest.expires_after(opts_.connect_timeout);
            lowest.async_connect(eps, [&](beast::error_code cec, const tcp::endpoint&) {
                if (cec) return fail(cec, "connecting to " + url_.host_header);
                lowest.socket().set_option(tcp::no_delay(true));
                if constexpr (is_tls) {
                    ws_->next_layer().async_handshake(asio::ssl::stream_base::client, [&](beast::error_code hec) {
                        if (hec) {
                            tls_failed = true;
                            return fail(hec, "the TLS handshake with " + url_.host_header);
                        }
                        upgrade();
                    });
                } else {
                    upgrade();
                }
            });
        });
        ioc_.run_for(opts_.connect_timeout + std::chrono::milliseconds(200));
        const bool timed_out = !done;
        if (!done) {
            resolver.cancel();
            beast::error_code ignored;
            lowest.socket().close(ignored);
            ioc_.restart();
            ioc_.run();  // the handlers see operation_aborted; the locals they use are still alive
        }
        ioc_.restart();
        if (timed_out || failed == beast::error::timeout)
            throw libsql::timeout("WebSocket connection to " + where() + " timed out after " +
                                      std::to_string(opts_.connect_timeout.count()) + " ms",
                                  info());
        if (failed) {
            std::string msg = "WebSocket connection to " + where() + " failed in " + stage + ": " + failed.message();
            if (failed == websocket::error::upgrade_declined) {
                const auto status = resp.result_int();
                msg = "the server at " + where() + " refused the WebSocket upgrade (offered subprotocols: " +
                      joined(opts_.subprotocols) + "): HTTP " + std::to_string(status);
                std::string body = resp.body();
                if (body.size() > 300) body = body.substr(0, 300) + "...";
                if (!body.empty()) msg += ": " + body;
                if (status == 401 || status == 403) throw auth_error(msg, info());
            }
            if (tls_failed || failed.category() == asio::error::get_ssl_category() ||
                failed == asio::ssl::error::stream_truncated)
                throw tls_error(msg + (opts_.tls.verify && opts_.tls.ca_file.empty() && tls_failed
                                           ? " (the server's certificate is checked against the system's CAs; "
                                             "connect_options::tls_ca_file names another CA bundle)"
                                           : ""),
                                info());
            throw connection_error(msg, info());
        }
        chosen = std::string(resp[beast::http::field::sec_websocket_protocol]);
    }

    void read_next() {
        ws_->async_read(buffer_, [this](beast::error_code ec, std::size_t) {
            if (finished_) return;
            if (ec) {
                if (ec == websocket::error::closed) {
                    const auto& r = ws_->reason();
                    std::string why = "closed by the server (code " + std::to_string(r.code);
                    if (!r.reason.empty()) why += ": " + std::string(r.reason.data(), r.reason.size());
                    return finish(why + ")");
                }
                if (ec == beast::error::timeout) return finish("no answer from the server to keep-alive pings");
                return finish(ec.message());
            }
            std::string data = beast::buffers_to_string(buffer_.data());
            buffer_.consume(buffer_.size());
            try {
                h_.on_message(std::move(data), ws_->got_binary());
            } catch (const std::exception& e) {
                return finish(std::string("a message could not be handled: ") + e.what());
            }
            if (!finished_) read_next();
        });
    }

    void write_next() {
        writing_ = true;
        ws_->binary(queue_.front().binary);
        ws_->async_write(asio::buffer(queue_.front().data), [this](beast::error_code ec, std::size_t) {
            if (ec) return finish("sending failed: " + ec.message());
            queue_.pop_front();
            if (queue_.empty()) writing_ = false;
            else if (!finished_) write_next();
        });
    }

    void finish(const std::string& why) {
        if (finished_) return;
        finished_ = true;
        queue_.clear();
        beast::error_code ignored;
        auto& s = beast::get_lowest_layer(*ws_).socket();
        {
            std::lock_guard f(fd_m_);  // abort() on another thread must not shut a descriptor number reused since
            fd_ = -1;
            s.shutdown(tcp::socket::shutdown_both, ignored);
            s.close(ignored);
        }
        h_.on_closed(why);
        // Nothing more runs on this socket: the stream's keep-alive timer must not keep a run going.
        ioc_.stop();
    }

    handler& h_;
    parsed_url url_;
    options opts_;
    asio::io_context ioc_{1};
    std::optional<asio::ssl::context> tls_ctx_;
    std::optional<Stream> ws_;
    beast::flat_buffer buffer_;
    std::mutex drive_m_;  ///< held by the thread running ioc_
    std::mutex fd_m_;     ///< guards fd_ (abort() from any thread against finish())
    int fd_ = -1;         ///< the TCP socket's descriptor while it is open
    // The fields below are used by the thread running ioc_ only.
    struct outgoing {
        std::string data;
        bool binary = false;
    };
    std::deque<outgoing> queue_;
    bool writing_ = false;
    bool closing_ = false;
    bool finished_ = false;
};

} // namespace

socket::socket(std::string_view url, const options& o, handler& h) {
    const auto u = parse(url, o.transport);
    if (u.tls) impl_ = std::make_unique<stream_impl<tls_stream>>(u, o, h);
    else impl_ = std::make_unique<stream_impl<plain_stream>>(u, o, h);
}

socket::~socket() = default;

const std::string& socket::subprotocol() const noexcept { return impl_->chosen; }
void socket::send(std::string data, bool binary) { impl_->send(std::move(data), binary); }
bool socket::run_one_until(std::chrono::steady_clock::time_point deadline) { return impl_->run_one_until(deadline); }
void socket::poll() { impl_->poll(); }
void socket::wake() noexcept { impl_->wake(); }
void socket::close() noexcept { impl_->close(); }
void socket::abort() noexcept { impl_->abort(); }

} // namespace libsql::detail::ws
