// One client WebSocket connection (ws:// or wss://) behind a small interface: Boost.Beast lives only in
// ws_transport.cpp. The socket is opened in the constructor (TCP, TLS for wss://, the upgrade with the offered
// subprotocols), then a background thread reads messages and hands each to the handler; send() queues a text
// message from any thread. Keep-alive pings are sent after a minute of silence, and a peer that stays silent
// for two minutes is taken as dead. Nothing here knows Hrana: ws_client.cpp speaks it over this.
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

/// Receives what arrives on a socket. Called on the socket's own thread, one call at a time.
class handler {
public:
    virtual ~handler() = default;
    virtual void on_message(std::string&& text) = 0;
    /// The socket is gone (closed by the peer, broken, timed out, or close() called); called exactly once, last.
    virtual void on_closed(const std::string& why) = 0;
};

class socket {
public:
    /// Connects (blocking, at most connect_timeout). url: ws://host[:port][/path] or wss://... Throws
    /// connection_error (unreachable, refused upgrade: the message has the HTTP status), timeout, usage_error for
    /// a URL it cannot use.
    socket(std::string_view url, const options& o, handler& h);
    ~socket();  ///< closes the socket and joins its thread; the handler gets on_closed before this returns
    socket(const socket&) = delete;
    socket& operator=(const socket&) = delete;

    /// The subprotocol the server chose ("" when it chose none).
    [[nodiscard]] const std::string& subprotocol() const noexcept;
    /// Queues one text message (any thread). A failure to send closes the socket (on_closed says why).
    void send(std::string text);
    /// Closes the socket from any thread (a close frame when possible); on_closed follows on the socket's thread.
    void close() noexcept;
    /// Drops the TCP connection at once, without a close handshake (any thread): the server sees its peer gone
    /// and interrupts what it runs for this socket. on_closed follows on the socket's thread.
    void abort() noexcept;

    struct impl;  ///< ws_transport.cpp

private:
    std::unique_ptr<impl> impl_;
};

} // namespace libsql::detail::ws
