// Hrana over one shared WebSocket (ws_client.hpp): connect and hello, pipelined requests matched by request id.
#include "remote/ws_client.hpp"

#include "hrana/protobuf.hpp"

#include <algorithm>
#include <utility>

namespace libsql::detail::remote {

namespace {

error_info info_of(libsql::transport t) { return error_info{0, {}, {}, t, {}}; }

} // namespace

ws_client::ws_client(settings s) : s_(std::move(s)) {}

ws_client::~ws_client() {
    std::unique_ptr<ws::socket> old;
    {
        std::lock_guard lk(m_);
        old = std::move(sock_);
    }
    old.reset();  // closes; on_closed runs meanwhile (it takes m_)
}

std::uint64_t ws_client::live_generation() {
    ws::socket* sock = nullptr;
    {
        std::lock_guard lk(m_);
        if (!live_) return 0;
        sock = sock_.get();
    }
    sock->poll();  // notices a socket the server closed while nobody ran it
    std::lock_guard lk(m_);
    return live_ ? generation_ : 0;
}

template <class Ready>
bool ws_client::drive_until(std::unique_lock<std::mutex>& lk, std::chrono::steady_clock::time_point deadline,
                            Ready ready) {
    while (!ready()) {
        if (std::chrono::steady_clock::now() >= deadline) return false;
        // sock_ stays while it runs: only connect() and the destructor replace it, never during a caller's wait.
        ws::socket* sock = sock_.get();
        lk.unlock();
        const bool running = sock->run_one_until(deadline);
        lk.lock();
        if (!running && live_ && sock_.get() == sock) {  // finished without on_closed: cannot happen, but never spin
            live_ = false;
            if (closed_why_.empty()) closed_why_ = "the socket stopped";
        }
    }
    return true;
}

std::uint64_t ws_client::connect() {
    std::lock_guard ck(connect_m_);
    std::unique_ptr<ws::socket> old;
    {
        std::lock_guard lk(m_);
        if (live_ && hello_ == hello_state::ok) return generation_;
        old = std::move(sock_);
        live_ = false;
    }
    old.reset();  // a dead socket: its on_closed runs now if it has not yet

    ws::options o;
    o.connect_timeout = s_.connect_timeout;
    o.subprotocols = s_.subprotocols;
    o.headers = s_.headers;
    o.transport = s_.transport;
    o.tls = s_.tls;
    auto fresh = std::make_unique<ws::socket>(s_.url, o, *this);
    const std::string chosen = fresh->subprotocol();
    if (std::find(s_.subprotocols.begin(), s_.subprotocols.end(), chosen) == s_.subprotocols.end()) {
        fresh.reset();
        std::string list;
        for (const auto& p : s_.subprotocols) list += (list.empty() ? "" : ", ") + p;
        throw protocol_error("the server at " + s_.url + " chose the WebSocket subprotocol '" + chosen +
                                 "'; this client offered " + list,
                             info_of(s_.transport));
    }
    version_.store(chosen == "hrana2" ? 2 : 3);
    ++opened_;

    std::unique_lock lk(m_);
    sock_ = std::move(fresh);
    ++generation_;
    live_ = true;
    closed_why_.clear();
    pending_.clear();
    ignored_.clear();
    hello_ = hello_state::sent;
    protobuf_ = chosen == "hrana3-protobuf";
    chosen_ = chosen;
    encode(hrana::ws_client_msg{hrana::ws_hello{s_.jwt}});
    sock_->send(out_, protobuf_);
    const auto deadline = std::chrono::steady_clock::now() + s_.connect_timeout;
    const bool answered = drive_until(lk, deadline, [&] { return hello_ != hello_state::sent || !live_; });
    if (hello_ == hello_state::ok && live_) return generation_;
    // No hello_ok: the socket is of no use.
    const auto e = hello_error_;
    const bool failed = hello_ == hello_state::failed;
    const std::string why = closed_why_;
    old = std::move(sock_);
    live_ = false;
    lk.unlock();
    old.reset();
    if (failed)
        throw auth_error("the server at " + s_.url + " refused the hello (JWT): " + e.message +
                             (e.code.empty() ? std::string() : " [" + e.code + "]"),
                         info_of(s_.transport));
    if (!answered)
        throw libsql::timeout("no hello_ok from " + s_.url + " within " + std::to_string(s_.connect_timeout.count()) + " ms",
                              info_of(s_.transport));
    throw connection_error("the WebSocket to " + s_.url + " closed before hello_ok: " + why, info_of(s_.transport));
}

std::int32_t ws_client::send_locked(std::vector<hrana::ws_request>& reqs, std::vector<std::int32_t>* ids) {
    std::int32_t last = 0;
    for (auto& r : reqs) {
        const std::int32_t id = request_ids_;
        request_ids_ = (request_ids_ + 1) & 0x7fffffff;
        last = id;
        if (ids != nullptr) ids->push_back(id);
        else ignored_.insert(id);
        encode(hrana::ws_client_msg{hrana::ws_request_msg{id, std::move(r)}});
        sock_->send(out_, protobuf_);
    }
    return last;
}

std::vector<ws_result> ws_client::round_trip(std::uint64_t generation, std::vector<hrana::ws_request> reqs,
                                             ws_waiter& w, std::chrono::milliseconds timeout) {
    std::vector<slot> slots(reqs.size());
    std::vector<std::int32_t> ids;
    ids.reserve(reqs.size());
    std::unique_lock lk(m_);
    if (!live_ || generation_ != generation)
        throw connection_error("the WebSocket to " + s_.url + " is closed" +
                                   (closed_why_.empty() ? std::string() : " (" + closed_why_ + ")"),
                               info_of(s_.transport));
    w.interrupted.store(false);
    w.waiting.store(true);
    send_locked(reqs, &ids);
    for (std::size_t i = 0; i < ids.size(); ++i) pending_[ids[i]] = &slots[i];
    std::size_t next = 0;  // answers arrive in any order; wait for each
    auto ready = [&] {
        while (next < slots.size() && slots[next].result) ++next;
        return next == slots.size() || !live_ || generation_ != generation || w.interrupted.load();
    };
    const auto deadline = timeout.count() > 0 ? std::chrono::steady_clock::now() + timeout
                                              : std::chrono::steady_clock::time_point::max();
    const bool in_time = drive_until(lk, deadline, ready);
    w.waiting.store(false);
    if (next == slots.size()) {
        std::vector<ws_result> out;
        out.reserve(slots.size());
        for (auto& s : slots) out.push_back(std::move(*s.result));
        return out;
    }
    // Give up: whatever still comes for these ids is dropped.
    for (const auto id : ids) {
        if (pending_.erase(id) != 0 && live_ && generation_ == generation) ignored_.insert(id);
    }
    if ((w.interrupted.load() || !in_time) && live_ && generation_ == generation) {
        // The server would run the abandoned request to its end, and the socket's later messages only after
        // it (it runs one message of a socket at a time). Dropping the socket makes it interrupt the statement,
        // as an aborted HTTP request does; the next request opens a new socket.
        live_ = false;
        closed_why_ = w.interrupted.load() ? "abandoned by interrupt()" : "abandoned after request_timeout";
        sock_->abort();
        ws::socket* sock = sock_.get();
        lk.unlock();
        sock->poll();  // runs the abort here: on_closed, the pending answers dropped
        lk.lock();
    }
    if (w.interrupted.load())
        throw libsql::interrupted("the request on the WebSocket to " + s_.url + " was interrupted", info_of(s_.transport));
    if (!in_time)
        throw libsql::timeout("no answer on the WebSocket to " + s_.url + " within " + std::to_string(timeout.count()) +
                                  " ms (request_timeout)",
                              info_of(s_.transport));
    throw connection_error("the WebSocket to " + s_.url + " closed before the answer arrived (" + closed_why_ +
                               "); the request may or may not have run",
                           info_of(s_.transport));
}

void ws_client::send_only(std::uint64_t generation, std::vector<hrana::ws_request> reqs) {
    ws::socket* sock = nullptr;
    {
        std::lock_guard lk(m_);
        if (!live_ || generation_ != generation) return;
        send_locked(reqs, nullptr);
        sock = sock_.get();
    }
    sock->poll();  // out now, not with the next request
}

void ws_client::interrupt(ws_waiter& w) noexcept {
    if (!w.waiting.load()) return;
    std::lock_guard lk(m_);
    w.interrupted.store(true);
    if (sock_) sock_->wake();  // the waiting thread runs the socket: make it look at the flag
}

void ws_client::drop() noexcept {
    std::lock_guard lk(m_);
    if (!sock_ || !live_) return;
    live_ = false;
    closed_why_ = "dropped by the client";
    sock_->abort();
    sock_->wake();
}

void ws_client::encode(const hrana::ws_client_msg& m) {
    out_.clear();
    if (protobuf_) hrana::protobuf::serialize(m, out_);
    else hrana::serialize(m, out_);
}

std::string ws_client::subprotocol() const {
    std::lock_guard lk(m_);
    return chosen_;
}

void ws_client::on_message(std::string&& data, bool binary) {
    hrana::ws_server_msg msg;
    try {
        // The frame's type says the encoding: binary frames are Protobuf (hrana3-protobuf), text frames JSON.
        msg = binary ? hrana::protobuf::parse_ws_server_msg(data) : hrana::parse_ws_server_msg(data);
    } catch (const hrana::protocol_violation& e) {
        throw protocol_error(std::string("a malformed message from the server: ") + e.what(), info_of(s_.transport));
    }
    std::lock_guard lk(m_);
    auto deliver = [&](std::int32_t id, ws_result r) {
        if (const auto it = pending_.find(id); it != pending_.end()) {
            it->second->result = std::move(r);
            pending_.erase(it);
            return;
        }
        if (ignored_.erase(id) != 0) return;
        // An answer to nothing we asked: the peer is confused; the socket cannot be trusted any more.
        throw protocol_error("the server answered request_id " + std::to_string(id) + ", which is not in flight",
                             info_of(s_.transport));
    };
    if (std::holds_alternative<hrana::ws_hello_ok>(msg)) {
        hello_ = hello_state::ok;
    } else if (auto* he = std::get_if<hrana::ws_hello_error>(&msg)) {
        hello_ = hello_state::failed;
        hello_error_ = he->error;
    } else if (auto* ok = std::get_if<hrana::ws_response_ok>(&msg)) {
        deliver(ok->request_id, std::move(ok->response));
    } else if (auto* err = std::get_if<hrana::ws_response_error>(&msg)) {
        deliver(err->request_id, std::move(err->error));
    }
}

void ws_client::on_closed(const std::string& why) {
    {
        std::lock_guard lk(m_);
        live_ = false;
        closed_why_ = why;
        pending_.clear();  // their waiters see !live_
        ignored_.clear();
    }
}

} // namespace libsql::detail::remote
