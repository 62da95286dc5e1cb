// One client WebSocket connection (ws:// or wss://) behind a small interface: Boost.Beast lives only in
// ws_transport.cpp. The socket is opened in the constructor (TCP, TLS for wss://, the upgrade with the offered
// subprotocols). It has no thread of its own: its I/O runs on the thread that waits for it (run_one_until, poll),
// so a request and its answer cost no switch between threads; send() queues a text message from any thread, and
// the next run sends it. Keep-alive pings are sent after a minute of silence while the socket is run, and a peer
// that stays silent for two minutes is taken as dead. Nothing here knows Hrana: ws_client.cpp speaks it over this.
#pragma once

#include "libsql/error.hpp"
#include "remote/tls.hpp"

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace libsql::detail::ws {

struct options {
    std::chrono::milliseconds connect_timeout{10'000};  ///< TCP connect, TLS and the upgrade together
    std::vector<std::string> subprotocols;              ///< offered in Sec-WebSocket-Protocol, preferred first
    std::vector<std::string> headers;                   ///< extra upgrade request headers, "Name: value"
    std::size_t max_message_bytes = 256u << 20;         ///< a larger incoming message closes the socket
    std::chrono::seconds idle_timeout{120};             ///< ping at half of it; no traffic at all: dead peer
    libsql::transport transport = libsql::transport::remote;  ///< reported in errors
    tls_settings tls;                                         ///< for wss://
};

/// Receives what arrives on a socket. Called on the thread running the socket (run_one_until, poll), one call at a
/// time.
class handler {
public:
    virtual ~handler() = default;
    /// One whole message: text (binary false) or binary.
    virtual void on_message(std::string&& data, bool binary) = 0;
    /// The socket is gone (closed by the peer, broken, timed out, or close() called); called exactly once, last.
    virtual void on_closed(const std::string& why) = 0;
};

class socket {
public:
    /// Connects (blocking, at most connect_timeout). url: ws://host[:port][/path] or wss://... Throws
    /// connection_error (unreachable, refused upgrade: the message has the HTTP status), timeout, usage_error for
    /// a URL it cannot use.
    socket(std::string_view url, const options& o, handler& h);
    ~socket();  ///< closes the socket (a close handshake of at most 250 ms); the handler gets on_closed first
    socket(const socket&) = delete;
    socket& operator=(const socket&) = delete;

    /// The subprotocol the server chose ("" when it chose none).
    [[nodiscard]] const std::string& subprotocol() const noexcept;
    /// Queues one message, text or binary (any thread); the next run sends it. A failure to send closes the
    /// socket (on_closed says why).
    void send(std::string data, bool binary = false);
    /// Runs the socket's I/O on this thread until one piece of work is done (a message sent or received, a timer,
    /// a wake()) or the deadline passes. One thread runs a socket at a time (others wait). Returns false once the
    /// socket is finished (on_closed has been called).
    bool run_one_until(std::chrono::steady_clock::time_point deadline);
    /// Runs what is ready without waiting (sends queued messages, notices a close); nothing when another thread
    /// runs the socket now.
    void poll();
    /// Makes a run_one_until() on another thread return (any thread).
    void wake() noexcept;
    /// Closes the socket from any thread (a close frame when possible); on_closed follows when it is next run.
    void close() noexcept;
    /// Drops the TCP connection at once, without a close handshake (any thread): the server sees its peer gone
    /// and interrupts what it runs for this socket. on_closed follows when the socket is next run.
    void abort() noexcept;

    struct impl;  ///< ws_transport.cpp

private:
    std::unique_ptr<impl> impl_;
};

} // namespace libsql::detail::ws
