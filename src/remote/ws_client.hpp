// Hrana over one WebSocket, leased by one connection at a time (remote_database::lease_ws): the hello with the JWT,
// request ids, stream and cursor ids, and the matching of responses (which may arrive in any order) to the caller
// waiting for them. The waiting caller runs the socket's I/O itself (no thread of the socket's own: no switch
// between threads per request); interrupt() and drop() work from any thread. Requests are pipelined: a caller sends all of its messages at once and waits for all the answers.
// A dropped socket fails the requests in flight with connection_error and bumps the generation, so the
// connections whose streams lived on it know those streams are gone; the next request connects again.
// The messages are the codec's (src/hrana), shared with the server.
#pragma once

#include "hrana/protocol.hpp"
#include "remote/ws_transport.hpp"

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <variant>
#include <vector>

namespace libsql::detail::remote {

/// One answer: the response, or the error the server gave for that request.
using ws_result = std::variant<hrana::ws_response, hrana::error>;

/// A caller's handle for interrupt(): one per connection.
struct ws_waiter {
    std::atomic<bool> waiting{false};
    std::atomic<bool> interrupted{false};
};

class ws_client final : public ws::handler {
public:
    struct settings {
        std::string url;                     ///< ws:// or wss://, with the path
        std::optional<std::string> jwt;      ///< sent in hello
        std::chrono::milliseconds connect_timeout{10'000};
        std::vector<std::string> headers;    ///< extra upgrade headers (x-turso-encryption-key, ...)
        libsql::transport transport = libsql::transport::remote;
        tls_settings tls;                    ///< for wss://
        /// Offered in this order; the server picks (hrana3-protobuf: Protobuf messages in binary frames).
        std::vector<std::string> subprotocols{"hrana3-protobuf", "hrana3", "hrana2"};
    };
    explicit ws_client(settings s);
    ~ws_client() override;
    ws_client(const ws_client&) = delete;
    ws_client& operator=(const ws_client&) = delete;

    /// Connects when there is no live socket (hello included: waits for hello_ok). Returns the live socket's
    /// generation. Throws connection_error, timeout, auth_error (hello_error, HTTP 401/403), protocol_error.
    std::uint64_t connect();
    /// The generation of the live socket, 0 when none (a close that arrived meanwhile is noticed first).
    [[nodiscard]] std::uint64_t live_generation();
    /// 3 (hrana3, hrana3-protobuf) or 2 (hrana2), as the server chose when the socket opened.
    [[nodiscard]] int version() const noexcept { return version_.load(); }
    /// The subprotocol the server chose for the socket opened last.
    [[nodiscard]] std::string subprotocol() const;

    /// Sends requests on socket `generation` and waits for every answer (results in the order given). Throws
    /// connection_error when that socket is gone or goes meanwhile, timeout after `timeout` (0: none), interrupted
    /// when interrupt(w) is called meanwhile; on a timeout or an interrupt the socket is dropped at once, so that
    /// the server stops the abandoned statement (the next request connects again).
    std::vector<ws_result> round_trip(std::uint64_t generation, std::vector<hrana::ws_request> reqs, ws_waiter& w,
                                      std::chrono::milliseconds timeout);
    /// Sends requests whose answers nobody waits for (close_stream, close_cursor); nothing when that socket is gone.
    void send_only(std::uint64_t generation, std::vector<hrana::ws_request> reqs);
    /// Wakes w's round_trip with interrupted (any thread); nothing when it is not waiting.
    void interrupt(ws_waiter& w) noexcept;

    [[nodiscard]] std::int32_t new_stream_id() noexcept { return next_id(stream_ids_); }
    [[nodiscard]] std::int32_t new_cursor_id() noexcept { return next_id(cursor_ids_); }
    [[nodiscard]] const std::string& url() const noexcept { return s_.url; }
    /// Sockets opened so far (tests: a dropped one is replaced).
    [[nodiscard]] std::uint64_t sockets_opened() const noexcept { return opened_.load(); }
    /// Closes the live socket, as if the network dropped it (tests, and a protocol violation by the server).
    void drop() noexcept;

private:
    void on_message(std::string&& data, bool binary) override;
    /// The message in the socket's encoding, into out_.
    void encode(const hrana::ws_client_msg& m);
    void on_closed(const std::string& why) override;
    static std::int32_t next_id(std::atomic<std::int32_t>& a) noexcept {
        return a.fetch_add(1, std::memory_order_relaxed) & 0x7fffffff;
    }
    std::int32_t send_locked(std::vector<hrana::ws_request>& reqs, std::vector<std::int32_t>* ids);
    /// Runs the socket on this thread (m_ released meanwhile) until ready() (checked under m_) or the deadline;
    /// returns whether ready() became true.
    template <class Ready>
    bool drive_until(std::unique_lock<std::mutex>& lk, std::chrono::steady_clock::time_point deadline, Ready ready);

    struct slot {
        std::optional<ws_result> result;
    };

    settings s_;
    std::mutex connect_m_;                 ///< one connect at a time
    mutable std::mutex m_;                 ///< everything below
    std::unique_ptr<ws::socket> sock_;     ///< the live one, or the dead one until the next connect
    std::uint64_t generation_ = 0;         ///< of sock_
    bool live_ = false;
    std::string closed_why_;
    enum class hello_state : std::uint8_t { none, sent, ok, failed } hello_ = hello_state::none;
    hrana::error hello_error_;
    std::unordered_map<std::int32_t, slot*> pending_;
    std::unordered_set<std::int32_t> ignored_;  ///< ids whose answers are dropped
    std::int32_t request_ids_ = 0;
    std::atomic<std::int32_t> stream_ids_{0};
    std::atomic<std::int32_t> cursor_ids_{0};
    std::atomic<int> version_{3};
    bool protobuf_ = false;             ///< hrana3-protobuf on the live socket (under m_)
    std::string chosen_;                ///< its subprotocol (under m_)
    std::atomic<std::uint64_t> opened_{0};
    std::string out_;  ///< serialisation buffer (under m_)
};

} // namespace libsql::detail::remote
