// libsql serve's Hrana WebSocket sessions: hello and its JWT, streams by id, stored SQL, batches, and cursors
// stepped as fetch_cursor asks. Messages come in (JSON or Protobuf) from http_server.cpp; replies go back out.
#include "hrana/protobuf.hpp"
#include "server/auth.hpp"
#include "server/db_stream.hpp"

#include <deque>
#include <map>

namespace libsql::server::detail {

class ws_session_impl final : public ws_session {
public:
    ws_session_impl(std::shared_ptr<core> c, int version, encoding enc)
        : c_(std::move(c)), version_(version), enc_(enc), store_(c_->opts.max_stored_sql_ws, c_->opts.max_stored_sql_bytes_ws) {
        std::lock_guard lk(c_->sessions_m);
        c_->sessions.insert(this);
    }
    ~ws_session_impl() override {
        {
            std::lock_guard lk(c_->sessions_m);
            c_->sessions.erase(this);
        }
        shutdown();
    }
    ws_session_impl(const ws_session_impl&) = delete;
    ws_session_impl& operator=(const ws_session_impl&) = delete;

    std::vector<std::string> on_message(std::string_view text) override {
        const gate_pass pass(c_->gate);
        std::lock_guard lk(m_);
        std::vector<std::string> out;
        if (closed_) return out;
        struct detach {
            request_interrupt& r;
            ~detach() { r.attach(nullptr); }
        } detacher{stop_};
        if (c_->shut.load() || stop_.interrupted()) {
            closed_ = true;
            return out;
        }
        try {
            auto msg = enc_ == encoding::protobuf ? hrana::protobuf::parse_ws_client_msg(text) : hrana::parse_ws_client_msg(text);
            if (auto* hello = std::get_if<hrana::ws_hello>(&msg)) {
                on_hello(*hello, out);
                return out;
            }
            auto& req = std::get<hrana::ws_request_msg>(msg);
            if (!hello_) throw hrana::protocol_violation("the first message must be a hello");
            hrana::ws_server_msg reply;
            try {
                check_expiry();
                reply = hrana::ws_response_ok{req.request_id, dispatch(req.request)};
            } catch (stmt_failure& f) {
                reply = hrana::ws_response_error{req.request_id, std::move(f.err)};
            } catch (const hrana::protocol_violation&) {
                throw;
            } catch (const libsql::error& e) {
                reply = hrana::ws_response_error{req.request_id, to_hrana(e)};  // e.g. a connection that cannot open
            }
            write(reply, out);
        } catch (const hrana::protocol_violation&) {
            closed_ = true;
            out.clear();
        }
        return out;
    }

    [[nodiscard]] bool closed() const noexcept override {
        std::lock_guard lk(m_);
        return closed_;
    }

    void interrupt() noexcept override { stop_.interrupt(); }

    /// Rolls back and frees every stream (service shutdown, or the session ends).
    void shutdown() noexcept {
        std::map<std::int32_t, std::unique_ptr<db_stream>> old;
        {
            std::lock_guard lk(m_);
            old.swap(streams_);
            cursors_.clear();
        }
        old.clear();
    }

private:
    void on_hello(const hrana::ws_hello& h, std::vector<std::string>& out) {
        const auto r = c_->opts.jwt_public_key ? detail::verify_jwt(h.jwt.value_or(""), *c_->opts.jwt_public_key,
                                                                    std::chrono::system_clock::now(), c_->opts.namespace_name)
                                                : detail::jwt_check{access::full, {}, {}};
        if (r.granted == access::denied) {
            write(hrana::ws_server_msg{hrana::ws_hello_error{{r.reason, "UNAUTHORIZED"}}}, out);
            closed_ = true;
            return;
        }
        access_ = r.granted;
        expires_ = r.expires;
        // Streams opened from now on count against this token (a later hello may bring another one).
        owner_ = c_->opts.jwt_public_key ? h.jwt.value_or("") : std::string();
        hello_ = true;
        write(hrana::ws_server_msg{hrana::ws_hello_ok{}}, out);
    }

    void write(const hrana::ws_server_msg& m, std::vector<std::string>& out) const {
        if (enc_ == encoding::protobuf) hrana::protobuf::serialize(m, out.emplace_back());
        else hrana::serialize(m, out.emplace_back());
    }

    /// A session lives longer than its token: once the token expires, requests fail until a hello brings a new one.
    void check_expiry() const {
        if (!expires_) return;
        const double now = std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
        if (now >= *expires_) fail("UNAUTHORIZED", "the token has expired: send a hello with a new one");
    }

    /// The stream a request runs on. A cursor still stepping on it is read to its end first (buffered): its
    /// statement holds the connection, and the request must see the stream as the cursor left it.
    db_stream& stream(std::int32_t id) {
        for (auto& [cid, cur] : cursors_) {
            if (cur.stream_id != id || !cur.run) continue;
            (void)prepare(id);
            while (auto e = cur.run->next()) cur.buffered.push_back(std::move(*e));
            cur.run.reset();
        }
        return prepare(id);
    }
    db_stream& prepare(std::int32_t id) {
        const auto it = streams_.find(id);
        if (it == streams_.end()) fail("STREAM_NOT_OPEN", "stream " + std::to_string(id) + " is not open");
        it->second->set_access(access_);
        stop_.attach(&it->second->conn());
        return *it->second;
    }

    void need_v3(std::string_view what) const {
        if (version_ < 3) throw hrana::protocol_violation(std::string(what) + " needs Hrana 3 (subprotocol hrana3)");
    }

    hrana::ws_response dispatch(const hrana::ws_request& req) {
        return std::visit(overloaded{
            [&](const hrana::ws_open_stream& r) -> hrana::ws_response {
                if (streams_.count(r.stream_id) != 0)
                    throw hrana::protocol_violation("stream " + std::to_string(r.stream_id) + " is already open");
                if (const auto refusal = c_->stream_limit_reached(owner_)) fail("STREAM_LIMIT", refusal->message);
                auto s = std::make_unique<db_stream>(c_, owner_);
                s->set_stop(&stop_);
                streams_.emplace(r.stream_id, std::move(s));
                return hrana::ws_open_stream_resp{};
            },
            [&](const hrana::ws_close_stream& r) -> hrana::ws_response {
                std::erase_if(cursors_, [&](const auto& kv) { return kv.second.stream_id == r.stream_id; });
                streams_.erase(r.stream_id);
                return hrana::ws_close_stream_resp{};
            },
            [&](const hrana::ws_execute& r) -> hrana::ws_response { return hrana::execute_resp{stream(r.stream_id).execute(store_, r.stmt)}; },
            [&](const hrana::ws_batch& r) -> hrana::ws_response {
                validate_batch(r.batch, version_);
                return hrana::batch_resp{run_batch(stream(r.stream_id), store_, r.batch)};
            },
            [&](const hrana::ws_sequence& r) -> hrana::ws_response {
                stream(r.stream_id).sequence(store_, r.sql, r.sql_id);
                return hrana::sequence_resp{};
            },
            [&](const hrana::ws_describe& r) -> hrana::ws_response {
                return hrana::describe_resp{stream(r.stream_id).describe(store_, r.sql, r.sql_id)};
            },
            [&](const hrana::store_sql_req& r) -> hrana::ws_response { store_.store(r.sql_id, r.sql); return hrana::store_sql_resp{}; },
            [&](const hrana::close_sql_req& r) -> hrana::ws_response { store_.close(r.sql_id); return hrana::close_sql_resp{}; },
            [&](const hrana::ws_get_autocommit& r) -> hrana::ws_response {
                need_v3("get_autocommit");
                return hrana::get_autocommit_resp{stream(r.stream_id).is_autocommit()};
            },
            [&](const hrana::ws_open_cursor& r) -> hrana::ws_response {
                need_v3("open_cursor");
                if (cursors_.count(r.cursor_id) != 0)
                    throw hrana::protocol_violation("cursor " + std::to_string(r.cursor_id) + " is already open");
                validate_batch(r.batch, version_);
                // Entries are stepped as fetch_cursor asks for them (see stream() for the exception).
                auto run = std::make_unique<batch_cursor>(stream(r.stream_id), store_, r.batch);
                cursors_.emplace(r.cursor_id, cursor{r.stream_id, std::move(run), {}});
                return hrana::ws_open_cursor_resp{};
            },
            [&](const hrana::ws_close_cursor& r) -> hrana::ws_response {
                need_v3("close_cursor");
                cursors_.erase(r.cursor_id);
                return hrana::ws_close_cursor_resp{};
            },
            [&](const hrana::ws_fetch_cursor& r) -> hrana::ws_response {
                need_v3("fetch_cursor");
                const auto it = cursors_.find(r.cursor_id);
                if (it == cursors_.end()) fail("CURSOR_NOT_OPEN", "cursor " + std::to_string(r.cursor_id) + " is not open");
                hrana::ws_fetch_cursor_resp resp;
                auto& cur = it->second;
                auto& q = cur.buffered;
                while (!q.empty() && resp.entries.size() < r.max_count) {
                    resp.entries.push_back(std::move(q.front()));
                    q.pop_front();
                }
                if (cur.run) (void)prepare(cur.stream_id);
                while (cur.run && resp.entries.size() < r.max_count) {
                    if (auto e = cur.run->next()) resp.entries.push_back(std::move(*e));
                    else cur.run.reset();
                }
                // done only once nothing is left: a batch that ends exactly at max_count says so on the next fetch.
                resp.done = q.empty() && !cur.run;
                return resp;
            },
        }, req);
    }

    struct cursor {
        std::int32_t stream_id = 0;
        std::unique_ptr<batch_cursor> run;       ///< steps the batch; null once it is done
        std::deque<hrana::cursor_entry> buffered;  ///< entries read ahead (another request came on the stream)
    };

    std::shared_ptr<core> c_;
    int version_;
    encoding enc_;
    request_interrupt stop_;  ///< before streams_: they point to it
    mutable std::mutex m_;
    bool closed_ = false;
    bool hello_ = false;
    std::string owner_;  ///< the token of the last hello (max_streams_per_token)
    access access_ = access::denied;
    std::optional<double> expires_;
    sql_store store_;
    std::map<std::int32_t, std::unique_ptr<db_stream>> streams_;
    std::map<std::int32_t, cursor> cursors_;
};

std::unique_ptr<ws_session> make_ws_session(std::shared_ptr<core> c, int version, encoding enc) {
    return std::make_unique<ws_session_impl>(std::move(c), version, enc);
}

void shutdown_sessions(core& c) noexcept {
    // A session erases itself under this lock before it goes, so every one seen here is alive.
    std::lock_guard lk(c.sessions_m);
    for (auto* s : c.sessions) s->shutdown();
}

} // namespace libsql::server::detail
