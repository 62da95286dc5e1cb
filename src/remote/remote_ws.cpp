// A remote connection over WebSocket (ws_client): the session's pipelines, cursors and stream close as Hrana
// WebSocket requests. Each connection has a socket of its own while it lives, leased from the database (which
// keeps the sockets of closed connections for the next ones): the server runs one message of a socket at a
// time, so connections sharing a socket would wait behind each other's statements, and a COMMIT could wait
// behind a statement that waits for that transaction's lock (a deadlock until the busy timeout). Each connection
// keeps one stream on its socket, opened with its first request (open_stream goes in the same pipeline) and
// closed with the connection, so connection state (PRAGMAs, temporary tables) lasts, an autocommit statement is
// one message each way, and so is a statement inside a transaction when its SQL says what it does to the
// transaction (get_autocommit follows the others, and a failed statement, on Hrana 3).
// A socket that dropped takes its streams along: the next request opens a new socket and a new stream, unless
// the lost stream held an open transaction, which that request reports (connection_error) instead of running
// in autocommit mode where the caller expects its transaction.
//
// g++ 12's -Wnull-dereference fires on vectors of these variants growing inside inlined code (a middle-end
// warning that ignores the vector's invariants), as in src/server/http_server.cpp.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wnull-dereference"
#endif
#include "remote/remote.hpp"

#include <deque>
#include <utility>

namespace libsql::detail::remote {

namespace {

constexpr std::uint32_t fetch_rows = 1000;  // entries per fetch_cursor

hrana::ws_request to_ws(hrana::stream_request&& r, std::int32_t stream) {
    return std::visit(
        [stream](auto&& q) -> hrana::ws_request {
            using T = std::decay_t<decltype(q)>;
            if constexpr (std::is_same_v<T, hrana::execute_req>) return hrana::ws_execute{stream, std::move(q.stmt)};
            else if constexpr (std::is_same_v<T, hrana::batch_req>) return hrana::ws_batch{stream, std::move(q.batch)};
            else if constexpr (std::is_same_v<T, hrana::sequence_req>)
                return hrana::ws_sequence{stream, std::move(q.sql), q.sql_id};
            else if constexpr (std::is_same_v<T, hrana::describe_req>)
                return hrana::ws_describe{stream, std::move(q.sql), q.sql_id};
            else if constexpr (std::is_same_v<T, hrana::store_sql_req>) return std::move(q);
            else if constexpr (std::is_same_v<T, hrana::close_sql_req>) return q;
            else if constexpr (std::is_same_v<T, hrana::close_req>) return hrana::ws_close_stream{stream};
            else return hrana::ws_get_autocommit{stream};
        },
        std::move(r));
}

/// The HTTP-shaped result for a WebSocket answer; nullopt for an answer of another kind.
std::optional<hrana::stream_result> to_stream(ws_result&& r) {
    if (auto* e = std::get_if<hrana::error>(&r)) return hrana::stream_result{std::move(*e)};
    return std::visit(
        [](auto&& a) -> std::optional<hrana::stream_result> {
            using T = std::decay_t<decltype(a)>;
            if constexpr (std::is_same_v<T, hrana::ws_close_stream_resp>)
                return hrana::stream_result{hrana::stream_response{hrana::close_resp{}}};
            else if constexpr (std::is_same_v<T, hrana::execute_resp> || std::is_same_v<T, hrana::batch_resp> ||
                               std::is_same_v<T, hrana::sequence_resp> || std::is_same_v<T, hrana::describe_resp> ||
                               std::is_same_v<T, hrana::store_sql_resp> || std::is_same_v<T, hrana::close_sql_resp> ||
                               std::is_same_v<T, hrana::get_autocommit_resp>)
                return hrana::stream_result{hrana::stream_response{std::move(a)}};
            else return std::nullopt;
        },
        std::move(std::get<hrana::ws_response>(r)));
}

/// A cursor on the socket: entries come in pages of fetch_cursor.
class ws_cursor final : public cursor_source {
public:
    ws_cursor(session& s, std::int32_t id, std::uint64_t generation, hrana::ws_fetch_cursor_resp first, std::string sql,
              libsql::source_location where)
        : s_(s), ws_(s.ws), id_(id), gen_(generation), done_(first.done), sql_(std::move(sql)), where_(where) {
        for (auto& e : first.entries) entries_.push_back(std::move(e));
    }
    ~ws_cursor() override { finish(); }

    bool next(hrana::cursor_entry& e) override {
        while (entries_.empty()) {
            if (done_) return false;
            fetch();
        }
        e = std::move(entries_.front());
        entries_.pop_front();
        return true;
    }

    void finish() override {
        if (closed_) return;
        closed_ = true;
        try {
            std::vector<hrana::ws_request> reqs;
            reqs.emplace_back(hrana::ws_close_cursor{id_});
            ws_->send_only(gen_, std::move(reqs));
        } catch (...) {
        }
    }

private:
    void fetch() {
        std::vector<ws_result> results;
        try {
            std::vector<hrana::ws_request> reqs;
            reqs.emplace_back(hrana::ws_fetch_cursor{id_, fetch_rows});
            results = ws_->round_trip(gen_, std::move(reqs), s_.waiter, s_.db->options().request_timeout);
        } catch (...) {
            closed_ = true;
            const bool lost = s_.in_txn;
            s_.drop_stream();
            rethrow_network_error(sql_, where_, s_.db->transport(), lost);
        }
        if (auto* e = std::get_if<hrana::error>(&results.front())) {
            done_ = true;
            s_.throw_error(*e, sql_, where_);
        }
        auto* page = std::get_if<hrana::ws_fetch_cursor_resp>(&std::get<hrana::ws_response>(results.front()));
        if (page == nullptr) throw protocol_error("the server answered fetch_cursor with another response", s_.info(sql_, where_));
        done_ = page->done;
        for (auto& e : page->entries) entries_.push_back(std::move(e));
    }

    session& s_;
    std::shared_ptr<ws_client> ws_;  ///< the socket the cursor lives on
    std::int32_t id_;
    std::uint64_t gen_;
    bool done_ = false;
    bool closed_ = false;
    std::deque<hrana::cursor_entry> entries_;
    std::string sql_;
    libsql::source_location where_;
};

enum class txn_effect : std::uint8_t { unknown, none, begins, ends };

/// What requests do to the transaction state once they all succeed, when their SQL alone says so: one execute of
/// one statement that is not transaction control (none; a statement that succeeds cannot end a transaction), BEGIN
/// (begins), COMMIT/END or ROLLBACK without TO (ends). unknown for anything else (savepoints, sequences, batches,
/// stored SQL): the server is asked.
txn_effect known_txn_effect(const std::vector<hrana::stream_request>& reqs) {
    if (reqs.size() != 1) return txn_effect::unknown;
    const auto* e = std::get_if<hrana::execute_req>(&reqs.front());
    if (e == nullptr || !e->stmt.sql) return txn_effect::unknown;
    const auto parts = split_statements(*e->stmt.sql);
    if (parts.size() != 1) return txn_effect::unknown;
    using K = txn_control::kind;
    switch (classify_transaction(parts.front()).what) {
    case K::none: return txn_effect::none;
    case K::begin: return txn_effect::begins;
    case K::commit:
    case K::rollback: return txn_effect::ends;
    default: return txn_effect::unknown;
    }
}

} // namespace

void session::ws_release_leased() noexcept {
    if (!ws_leased) return;
    drop_stream();  // its close_stream goes out before the next lessee's requests
    std::shared_ptr<ws_client> leased;
    {
        std::lock_guard lk(ws_m);
        leased = std::exchange(ws, db->ws());
        ws_leased = false;
    }
    db->give_back_ws(std::move(leased));
}

void session::take_autocommit(const ws_result& r) noexcept {
    if (const auto* ok = std::get_if<hrana::ws_response>(&r)) {
        if (const auto* ac = std::get_if<hrana::get_autocommit_resp>(ok)) in_txn = !ac->is_autocommit;
    }
}

void session::ws_refresh_autocommit(std::uint64_t gen, std::int32_t stream) noexcept {
    try {
        std::vector<hrana::ws_request> out;
        out.emplace_back(hrana::ws_get_autocommit{stream});
        auto results = ws->round_trip(gen, std::move(out), waiter, db->options().request_timeout);
        if (results.size() == 1) take_autocommit(results.front());
    } catch (...) {
        // The state stays as it was: a socket that dropped is noticed by the next request (ws_ensure_stream), which
        // reports the lost transaction; the caller is about to throw the statement's own error.
    }
}

std::pair<std::uint64_t, bool> session::ws_ensure_stream(const call& c) {
    if (ws_stream && ws->live_generation() != ws_generation) {
        const bool lost = in_txn;
        ws_stream.reset();  // gone with its socket: nothing to close
        drop_stream();
        if (lost)
            throw connection_error("the WebSocket to " + ws->url() + " closed after the last request: this "
                                   "connection's stream (its open transaction) is lost, the server rolled it back, "
                                   "and the connection continues in autocommit mode",
                                   info(c.sql, c.where));
    }
    std::uint64_t gen = 0;
    try {
        gen = ws->connect();
    } catch (...) {
        rethrow_network_error(c.sql, c.where, db->transport(), false);
    }
    if (ws_stream) return {gen, false};
    ws_stream = ws->new_stream_id();
    ws_generation = gen;
    return {gen, true};
}

std::vector<hrana::stream_result> session::ws_pipeline(std::vector<hrana::stream_request> reqs, const call& c) {
    check_open();
    free_http();
    const std::size_t n = reqs.size();
    bool closes = false;
    for (const auto& r : reqs) closes = closes || std::holds_alternative<hrana::close_req>(r);
    for (int attempt = 0;; ++attempt) {
        const auto [gen, opened] = ws_ensure_stream(c);
        const std::int32_t stream = *ws_stream;
        // What the requests do to the transaction state, when the SQL alone says it once they succeed; otherwise
        // get_autocommit goes after them (one more message each way).
        const bool tracked = (in_txn || c.opens_stream) && caps.get_autocommit && !closes;
        const txn_effect effect = tracked ? known_txn_effect(reqs) : txn_effect::unknown;  // autocommit: no scan
        const bool ask_autocommit = tracked && effect == txn_effect::unknown;
        std::vector<hrana::ws_request> out;
        out.reserve(n + 2);
        if (opened) out.emplace_back(hrana::ws_open_stream{stream});
        // Keep the caller's requests for a retry (readonly requests only).
        const bool may_retry = c.readonly && !in_txn && attempt == 0;
        std::vector<hrana::stream_request> copy;
        if (may_retry) copy = reqs;
        for (auto& r : reqs) out.push_back(to_ws(std::move(r), stream));
        if (ask_autocommit) out.emplace_back(hrana::ws_get_autocommit{stream});
        const std::size_t sent = out.size();
        std::vector<ws_result> results;
        try {
            results = ws->round_trip(gen, std::move(out), waiter, db->options().request_timeout);
        } catch (const libsql::connection_error&) {
            const bool lost = in_txn;
            drop_stream();
            if (may_retry) {  // a read outside a transaction: running it again changes nothing
                reqs = std::move(copy);
                continue;
            }
            rethrow_network_error(c.sql, c.where, db->transport(), lost);
        } catch (...) {
            const bool lost = in_txn;
            drop_stream();
            rethrow_network_error(c.sql, c.where, db->transport(), lost);
        }
        if (results.size() != sent) throw protocol_error("the WebSocket client lost answers", info(c.sql, c.where));
        std::size_t at = 0;
        if (opened) {
            if (auto* e = std::get_if<hrana::error>(&results.front())) {
                const hrana::error err = *e;
                ws_stream.reset();
                drop_stream();
                throw_error(err, c.sql, c.where);
            }
            at = 1;
        }
        std::vector<hrana::stream_result> mapped;
        mapped.reserve(n);
        for (std::size_t i = 0; i < n; ++i) {
            auto r = to_stream(std::move(results[at + i]));
            if (!r) {
                drop_stream();
                throw protocol_error("the server answered a request with a response of another kind", info(c.sql, c.where));
            }
            mapped.push_back(std::move(*r));
        }
        if (ask_autocommit) {
            take_autocommit(results.back());
        } else if (effect != txn_effect::unknown) {  // known only when tracked
            bool failed = false;
            for (const auto& r : mapped) failed = failed || std::holds_alternative<hrana::error>(r);
            if (!failed) {
                if (effect == txn_effect::begins) in_txn = true;
                else if (effect == txn_effect::ends) in_txn = false;
            } else {
                ws_refresh_autocommit(gen, stream);  // a failed statement may have rolled the transaction back
            }
        }
        if (closes) {
            ws_stream.reset();
            drop_stream();
        }
        return mapped;
    }
}

std::unique_ptr<cursor_source> session::ws_open_cursor(hrana::stmt s, const call& c) {
    check_open();
    free_http();
    const auto [gen, opened] = ws_ensure_stream(c);
    const std::int32_t stream = *ws_stream;
    const std::int32_t id = ws->new_cursor_id();
    std::vector<hrana::ws_request> out;
    out.reserve(opened ? 3 : 2);
    if (opened) out.emplace_back(hrana::ws_open_stream{stream});
    hrana::batch b;
    b.steps.push_back(hrana::batch_step{std::nullopt, std::move(s)});
    out.emplace_back(hrana::ws_open_cursor{stream, id, std::move(b)});
    out.emplace_back(hrana::ws_fetch_cursor{id, fetch_rows});
    std::vector<ws_result> results;
    try {
        results = ws->round_trip(gen, std::move(out), waiter, db->options().request_timeout);
    } catch (...) {
        const bool lost = in_txn;
        drop_stream();
        rethrow_network_error(c.sql, c.where, db->transport(), lost);
    }
    std::size_t at = 0;
    if (opened) {
        if (auto* e = std::get_if<hrana::error>(&results.front())) {
            const hrana::error err = *e;
            ws_stream.reset();
            drop_stream();
            throw_error(err, c.sql, c.where);
        }
        at = 1;
    }
    for (std::size_t i = at; i < results.size(); ++i) {
        if (auto* e = std::get_if<hrana::error>(&results[i])) {
            const hrana::error err = *e;
            std::vector<hrana::ws_request> close;
            close.emplace_back(hrana::ws_close_cursor{id});
            ws->send_only(gen, std::move(close));
            throw_error(err, c.sql, c.where);
        }
    }
    auto* page = std::get_if<hrana::ws_fetch_cursor_resp>(&std::get<hrana::ws_response>(results.back()));
    if (page == nullptr) throw protocol_error("the server answered fetch_cursor with another response", info(c.sql, c.where));
    return std::make_unique<ws_cursor>(*this, id, gen, std::move(*page), std::string(c.sql), c.where);
}

void session::ws_close_stream(bool quiet) {
    if (!ws_stream) {
        drop_stream();
        return;
    }
    const std::int32_t id = *std::exchange(ws_stream, std::nullopt);
    const std::uint64_t gen = ws_generation;
    drop_stream();
    std::vector<hrana::ws_request> reqs;
    reqs.emplace_back(hrana::ws_close_stream{id});
    if (quiet) {
        try {
            ws->send_only(gen, std::move(reqs));
        } catch (...) {
        }
        return;
    }
    try {
        (void)ws->round_trip(gen, std::move(reqs), waiter, db->options().request_timeout);
    } catch (const libsql::connection_error&) {
        // The socket is gone, and the stream with it: rolled back all the same.
    }
}

} // namespace libsql::detail::remote
