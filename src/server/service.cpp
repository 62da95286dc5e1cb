// libsql serve's logic: Hrana streams over one local database, batons, stored SQL, batches, cursors, WebSocket
// sessions. No network here: http_server.cpp hands bodies and messages in and writes back what comes out.
//
// Write serialisation. The database runs in WAL mode, so readers never block the writer nor each other, and every
// connection has a 10 s busy timeout, so a writer that finds the write lock taken waits for it (SQLite's busy
// handler) instead of failing. Autocommit writes and BEGIN IMMEDIATE transactions (what @libsql/client sends for
// "write" batches and transactions) take the write lock before reading anything, so they only ever wait. The one
// SQLITE_BUSY a client can still see is SQLITE_BUSY_SNAPSHOT: a DEFERRED transaction that read a snapshot and then
// tries to write after another connection committed. Retrying the statement cannot help there (the snapshot is
// stale): the transaction truly conflicts and must be restarted by the client, which is what sqld reports too.
// Interactive transactions hold the write lock across requests until COMMIT/ROLLBACK or stream expiry.
//
// Read-only access (a JWT with "a":"ro") is enforced by an authorizer on every stream's connection: statements that
// would write (INSERT, UPDATE, DELETE, CREATE, DROP, ALTER, ATTACH, setting PRAGMAs…) fail to prepare with
// SQLITE_AUTH and a message that says the token is read-only. BEGIN IMMEDIATE/EXCLUSIVE look like any BEGIN to an
// authorizer, so a read-only stream also runs with PRAGMA query_only=1: taking the write lock then fails, and the
// error is reported as SQLITE_AUTH too. The same authorizer keeps every client away from the file system and from
// what could corrupt the database (sql_policy.hpp), and notes statements that change connection state (PRAGMA
// assignments, temporary objects, ATTACH): such connections are closed rather than pooled.
//
// BEGIN TRANSACTION READONLY (libsql syntax) runs as BEGIN DEFERRED plus PRAGMA query_only=1; query_only is turned
// off again as soon as the connection is back in autocommit mode (checked after every statement).
//
// Streams: an HTTP stream is claimed by its baton (stream id, sequence, HMAC-SHA256 under a per-process key), runs
// its requests with nobody else on it, and goes back with the next sequence; a second request arriving while one
// runs gets a 400. Connections of closed streams go back to a small pool after a rollback, unless they carry state
// (see above). Cursors (HTTP /v3/cursor and WebSocket open_cursor) step their batch one entry at a time, as the
// HTTP body is written or as fetch_cursor asks, so a cursor holds one row whatever its result.
//
// The parts: service_core.hpp (the database, the connection pool, checkpoints, stream limits), db_stream.hpp (one
// stream's connection and the statements, batches and cursors on it), ws_session.cpp (WebSocket sessions), and this
// file (HTTP streams and their batons, authentication, the public service API).
#include "server/service.hpp"

#include "hrana/protobuf.hpp"
#include "server/auth.hpp"
#include "server/db_stream.hpp"

#include <sodium.h>

#if defined(__GLIBC__)
#include <malloc.h>
#endif

#include <algorithm>
#include <array>
#include <cctype>
#include <unordered_map>
#include <utility>
#include <variant>

namespace libsql::server {

using namespace detail;

namespace {

constexpr std::size_t max_cached_tokens = 1024;
constexpr std::chrono::seconds expired_memory{300};

http_reply text_reply(int status, std::string message) { return {status, "text/plain; charset=utf-8", std::move(message)}; }

http_reply json_error(int status, std::string message, std::string code) {
    http_reply r{status, "application/json", {}};
    hrana::serialize(hrana::error{std::move(message), std::move(code)}, r.body);
    return r;
}

// ------------------------------------------------------------------------------------------------ batons
using hmac_key = std::array<unsigned char, crypto_auth_hmacsha256_KEYBYTES>;

std::string make_baton(const hmac_key& key, std::uint64_t id, std::uint64_t seq) {
    std::array<unsigned char, 16 + crypto_auth_hmacsha256_BYTES> raw{};
    for (int i = 0; i < 8; ++i) {
        raw[static_cast<std::size_t>(i)] = static_cast<unsigned char>(id >> (56 - 8 * i));
        raw[static_cast<std::size_t>(8 + i)] = static_cast<unsigned char>(seq >> (56 - 8 * i));
    }
    crypto_auth_hmacsha256(raw.data() + 16, raw.data(), 16, key.data());
    return detail::base64url_encode(std::string_view(reinterpret_cast<const char*>(raw.data()), raw.size()));
}

/// (stream id, sequence) from a baton, or nullopt when it was not made by this process.
std::optional<std::pair<std::uint64_t, std::uint64_t>> read_baton(const hmac_key& key, std::string_view baton) {
    const auto raw = detail::base64_any_decode(baton);
    if (!raw || raw->size() != 16 + crypto_auth_hmacsha256_BYTES) return std::nullopt;
    const auto* p = reinterpret_cast<const unsigned char*>(raw->data());
    if (crypto_auth_hmacsha256_verify(p + 16, p, 16, key.data()) != 0) return std::nullopt;
    std::uint64_t id = 0;
    std::uint64_t seq = 0;
    for (std::size_t i = 0; i < 8; ++i) {
        id = (id << 8) | p[i];
        seq = (seq << 8) | p[8 + i];
    }
    return std::pair{id, seq};
}

struct http_stream {
    http_stream(std::uint64_t i, std::shared_ptr<core> c, std::string owner)
        : id(i), store(c->opts.max_stored_sql, c->opts.max_stored_sql_bytes),
          db(std::make_unique<db_stream>(std::move(c), std::move(owner))) {}
    std::uint64_t id;
    std::uint64_t seq = 0;  ///< the sequence the next baton must carry
    sql_store store;
    std::unique_ptr<db_stream> db;
    steady::time_point last_used = steady::now();
    bool in_use = false;
};

} // namespace

struct service::impl {
    std::shared_ptr<core> c;
    hmac_key key{};
    std::mutex m;  // guards everything below
    std::uint64_t next_id = 1;
    std::unordered_map<std::uint64_t, std::shared_ptr<http_stream>> streams;
    std::unordered_map<std::uint64_t, steady::time_point> expired;  // id -> when it expired
    mutable std::mutex tokens_m;
    mutable std::unordered_map<std::string, detail::jwt_check> tokens;  // verified tokens

    explicit impl(service_options o) : c(std::make_shared<core>(std::move(o))) { randombytes_buf(key.data(), key.size()); }

    /// The stream a baton names (or a new one), set up for a request with this access; a refusal is the reply.
    /// owner: the token a new stream counts against (max_streams_per_token).
    std::variant<std::shared_ptr<http_stream>, http_reply> claim_for(const std::optional<std::string>& baton, access granted,
                                                                     const std::string& owner) {
        std::variant<std::shared_ptr<http_stream>, http_reply> claimed;
        try {
            claimed = claim(baton, owner);
        } catch (const libsql::error& e) {
            // Out of descriptors or memory: the server is overloaded, the request itself is fine.
            return json_error(503, std::string("cannot open a stream: ") + e.what(), "STREAM_UNAVAILABLE");
        }
        if (auto* s = std::get_if<std::shared_ptr<http_stream>>(&claimed)) (*s)->db->set_access(granted);
        return claimed;
    }

    /// Why a replication request is refused (replication off, shutting down, credentials), or nothing.
    std::optional<http_reply> replication_refusal(std::string_view header) const {
        if (!c->repl) return json_error(404, "replication is off for this database", "NOT_FOUND");
        if (c->shut.load()) return json_error(503, "the server is shutting down", "SHUTTING_DOWN");
        const auto auth = check(header);
        if (auth.granted == access::denied) return json_error(401, auth.reason, "UNAUTHORIZED");
        return std::nullopt;
    }

    /// The token of an Authorization header "Bearer <token>" (the scheme in any case, spaces trimmed); nullopt when
    /// the header is not of that form.
    [[nodiscard]] static std::optional<std::string_view> bearer_token(std::string_view h) {
        while (!h.empty() && h.front() == ' ') h.remove_prefix(1);
        if (h.size() < 7 || !std::equal(h.begin(), h.begin() + 7, "bearer ", [](char a, char b) {
                return std::tolower(static_cast<unsigned char>(a)) == b;
            }))
            return std::nullopt;
        h.remove_prefix(7);
        while (!h.empty() && h.front() == ' ') h.remove_prefix(1);
        while (!h.empty() && h.back() == ' ') h.remove_suffix(1);
        return h;
    }

    /// The token a request's new streams count against: the bearer token with auth on; "" (everyone) without.
    [[nodiscard]] std::string owner_of(std::string_view header) const {
        if (!c->opts.jwt_public_key) return {};
        return std::string(bearer_token(header).value_or(std::string_view{}));
    }

    [[nodiscard]] detail::jwt_check check(std::string_view header) const {
        if (!c->opts.jwt_public_key) return {access::full, {}, {}};
        if (header.find_first_not_of(' ') == std::string_view::npos)
            return {access::denied, "authentication required: send Authorization: Bearer <JWT>", std::nullopt};
        const auto token = bearer_token(header);
        if (!token) return {access::denied, "the Authorization header must be \"Bearer <JWT>\"", std::nullopt};
        return verify_cached(*token);
    }

    /// Verifying a signature costs tens of microseconds; clients send the same token with every request, so tokens
    /// that passed are remembered (their expiry is still checked on every use).
    [[nodiscard]] detail::jwt_check verify_cached(std::string_view token) const {
        const double now = std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
        {
            std::lock_guard lk(tokens_m);
            if (const auto it = tokens.find(std::string(token)); it != tokens.end()) {
                if (!it->second.expires || now < *it->second.expires) return it->second;
                tokens.erase(it);
            }
        }
        auto r = detail::verify_jwt(token, *c->opts.jwt_public_key, std::chrono::system_clock::now(), c->opts.namespace_name);
        if (r.granted != access::denied) {
            std::lock_guard lk(tokens_m);
            if (tokens.size() >= max_cached_tokens) tokens.clear();
            tokens.emplace(std::string(token), r);
        }
        return r;
    }

    /// Expires a stream (caller holds m); the returned stream is destroyed outside the lock.
    std::shared_ptr<http_stream> expire_locked(std::uint64_t id, steady::time_point now) {
        auto it = streams.find(id);
        auto s = std::move(it->second);
        streams.erase(it);
        expired[id] = now;
        return s;
    }

    /// The stream a request continues, or opens; or the HTTP reply that refuses it.
    std::variant<std::shared_ptr<http_stream>, http_reply> claim(const std::optional<std::string>& baton,
                                                                 const std::string& owner) {
        std::shared_ptr<http_stream> dead;  // destroyed after the lock is released
        std::lock_guard lk(m);
        if (c->shut.load()) return text_reply(503, "the server is shutting down");
        if (!baton) {
            // The whole server is full: 503 (retry later); this token is over its share: 429.
            if (const auto refusal = c->stream_limit_reached(owner))
                return json_error(refusal->global ? 503 : 429, refusal->message, "STREAM_LIMIT");
            const auto id = next_id++;
            auto s = std::make_shared<http_stream>(id, c, owner);
            s->in_use = true;
            s->seq = 1;
            streams.emplace(id, s);
            return s;
        }
        const auto parsed = read_baton(key, *baton);
        if (!parsed) return text_reply(400, "The baton is invalid (it was not issued by this server)");
        const auto [id, seq] = *parsed;
        const auto now = steady::now();
        auto it = streams.find(id);
        if (it == streams.end()) {
            if (expired.count(id) != 0)
                return json_error(400, "The stream has expired due to inactivity", "STREAM_EXPIRED");
            return text_reply(400, "The stream for this baton is closed");
        }
        auto s = it->second;
        if (seq != s->seq) return text_reply(400, "The baton has been used already (batons cannot be reused)");
        if (s->in_use) return text_reply(400, "Another request is running on this stream; requests on a stream must be sent one at a time");
        if (now - s->last_used > c->opts.stream_expiry) {
            dead = expire_locked(id, now);
            return json_error(400, "The stream has expired due to inactivity", "STREAM_EXPIRED");
        }
        s->in_use = true;
        ++s->seq;
        return s;
    }

    /// Ends a request on a stream: keeps it for the next baton, or frees it. A broken stream (its request was
    /// interrupted) is freed and remembered as expired.
    std::optional<std::string> finish(const std::shared_ptr<http_stream>& s, bool close, bool broken = false) {
        std::shared_ptr<http_stream> dead;
        std::lock_guard lk(m);
        s->in_use = false;
        s->last_used = steady::now();
        if (close || broken || c->shut.load()) {
            streams.erase(s->id);
            if (broken) expired[s->id] = s->last_used;
            dead = s;
            return std::nullopt;
        }
        return make_baton(key, s->id, s->seq);
    }

    // Handles one HTTP stream request.
    /// budget: the bytes of rows the pipeline's response may still take (max_response_bytes).
    hrana::stream_result handle(http_stream& s, const hrana::stream_request& req, bool& closed, std::size_t& budget) {
        if (closed && !std::holds_alternative<hrana::close_req>(req))
            return hrana::error{"the stream was closed by an earlier request of this pipeline", "STREAM_CLOSED"};
        try {
            return std::visit(overloaded{
                [&](const hrana::execute_req& r) -> hrana::stream_result { return hrana::execute_resp{s.db->execute(s.store, r.stmt, &budget)}; },
                [&](const hrana::batch_req& r) -> hrana::stream_result { return hrana::batch_resp{run_batch(*s.db, s.store, r.batch, &budget)}; },
                [&](const hrana::sequence_req& r) -> hrana::stream_result { s.db->sequence(s.store, r.sql, r.sql_id); return hrana::sequence_resp{}; },
                [&](const hrana::describe_req& r) -> hrana::stream_result { return hrana::describe_resp{s.db->describe(s.store, r.sql, r.sql_id)}; },
                [&](const hrana::store_sql_req& r) -> hrana::stream_result { s.store.store(r.sql_id, r.sql); return hrana::store_sql_resp{}; },
                [&](const hrana::close_sql_req& r) -> hrana::stream_result { s.store.close(r.sql_id); return hrana::close_sql_resp{}; },
                [&](const hrana::close_req&) -> hrana::stream_result { closed = true; return hrana::close_resp{}; },
                [&](const hrana::get_autocommit_req&) -> hrana::stream_result { return hrana::get_autocommit_resp{s.db->is_autocommit()}; },
            }, req);
        } catch (stmt_failure& f) {
            return std::move(f.err);
        }
    }
};

// ---------------------------------------------------------------------------------------------------- service
service::service(service_options options) {
    if (sodium_init() < 0) throw libsql::error("libsodium cannot be initialised");
    impl_ = std::make_unique<impl>(std::move(options));
}

service::~service() {
    if (impl_) shutdown();
}

const service_options& service::options() const noexcept { return impl_->c->opts; }

access service::authenticate(std::string_view authorization_header) const {
    return impl_->check(authorization_header).granted;
}

// ---------------------------------------------------------------------------------------------------- interrupts
void request_interrupt::interrupt() noexcept {
    std::lock_guard lk(m_);
    interrupted_ = true;
    if (conn_ != nullptr) conn_->interrupt();
}

bool request_interrupt::interrupted() const noexcept {
    std::lock_guard lk(m_);
    return interrupted_;
}

void request_interrupt::attach(libsql::connection* conn) noexcept {
    std::lock_guard lk(m_);
    conn_ = conn;
}

namespace {

/// Points a stream's statements at a request's interrupt for the request's duration.
class stop_scope {
public:
    stop_scope(db_stream& s, request_interrupt* stop) : s_(s), stop_(stop) {
        if (stop_ == nullptr) return;
        s_.set_stop(stop_);
        stop_->attach(&s_.conn());
    }
    ~stop_scope() { end(); }
    stop_scope(const stop_scope&) = delete;
    stop_scope& operator=(const stop_scope&) = delete;
    /// Detaches (before the stream may be freed); returns whether the request was interrupted.
    bool end() noexcept {
        if (stop_ == nullptr) return false;
        stop_->attach(nullptr);
        s_.set_stop(nullptr);
        const bool interrupted = stop_->interrupted();
        stop_ = nullptr;
        return interrupted;
    }

private:
    db_stream& s_;
    request_interrupt* stop_;
};

} // namespace

http_reply service::pipeline(int version, std::string_view body, std::string_view authorization_header,
                             request_interrupt* stop, encoding enc) {
    auto& d = *impl_;
    if (d.c->shut.load()) return text_reply(503, "the server is shutting down");
    const auto auth = d.check(authorization_header);
    if (auth.granted == access::denied) return json_error(401, auth.reason, "UNAUTHORIZED");
    hrana::pipeline_request req;
    try {
        req = enc == encoding::protobuf ? hrana::protobuf::parse_pipeline_request(body) : hrana::parse_pipeline_request(body);
        for (const auto& r : req.requests) {
            if (version < 3 && std::holds_alternative<hrana::get_autocommit_req>(r))
                throw hrana::protocol_violation("get_autocommit needs Hrana 3: send it to /v3/pipeline");
            if (const auto* b = std::get_if<hrana::batch_req>(&r)) validate_batch(b->batch, version);
        }
    } catch (const hrana::protocol_violation& e) {
        return text_reply(400, e.what());
    }
    const gate_pass pass(d.c->gate);
    auto claimed = d.claim_for(req.baton, auth.granted, d.owner_of(authorization_header));
    if (auto* refused = std::get_if<http_reply>(&claimed)) return std::move(*refused);
    auto s = std::get<std::shared_ptr<http_stream>>(std::move(claimed));
    hrana::pipeline_response resp;
    resp.base_url = d.c->opts.self_url;
    bool closed = false;
    stop_scope scope(*s->db, stop);
    try {
        std::size_t budget = d.c->opts.max_response_bytes;
        for (const auto& r : req.requests) resp.results.push_back(d.handle(*s, r, closed, budget));
    } catch (const std::exception& e) {
        (void)scope.end();
        (void)d.finish(s, true);
        return text_reply(500, std::string("internal error: ") + e.what());
    }
    // An interrupted request leaves its stream in an unknown state: rolled back and freed, as if it had expired.
    const bool broken = scope.end() || d.c->halting.load();
    resp.baton = d.finish(s, closed, broken);
    http_reply out;
    try {
        if (enc == encoding::protobuf) {
            out.content_type = "application/x-protobuf";
            hrana::protobuf::serialize(resp, out.body);
        } else {
            hrana::serialize(resp, out.body);
        }
    } catch (const std::exception& e) {
        return text_reply(500, std::string("internal error: the response cannot be encoded: ") + e.what());
    }
    if (out.body.size() >= large_response) d.c->trim_due.store(true);
    return out;
}

/// A /v3/cursor body: the claimed stream, its interrupt, and the batch being stepped.
class service::http_cursor_body final : public cursor_body {
public:
    http_cursor_body(service::impl& d, std::shared_ptr<http_stream> s, request_interrupt* stop, hrana::batch b,
                     std::optional<std::string> baton, encoding enc)
        : d_(d), s_(std::move(s)), scope_(*s_->db, stop), head_{std::move(baton), d_.c->opts.self_url}, enc_(enc) {
        run_.emplace(*s_->db, s_->store, std::move(b));
    }
    ~http_cursor_body() override { release(); }
    http_cursor_body(const http_cursor_body&) = delete;
    http_cursor_body& operator=(const http_cursor_body&) = delete;

    bool next(std::string& out, std::size_t window) override {
        if (complete_) return false;
        const std::size_t start = out.size();
        if (!head_sent_) {
            put(head_, out);
            head_sent_ = true;
        }
        {
            // The gate is held while stepping, not between windows: a slow reader must not hold checkpoints back.
            const gate_pass pass(d_.c->gate);
            while (out.size() < window) {
                std::optional<hrana::cursor_entry> e;
                try {
                    e = run_->next();
                } catch (const std::exception& x) {
                    e = hrana::error_entry{{std::string("internal error: ") + x.what(), "INTERNAL"}};
                }
                if (e) put(*e, out);
                if (!e || std::holds_alternative<hrana::error_entry>(*e)) {
                    complete_ = true;
                    break;
                }
            }
        }
        produced_ += out.size() - start;
        if (!complete_) return true;
        // Done: the stream goes back before the last lines are sent, since a client may send its next request as
        // soon as it has read the final entry.
        release();
        return false;
    }

private:
    /// One line of JSON, or one length-delimited Protobuf message.
    template <class T> void put(const T& x, std::string& out) const {
        if (enc_ == encoding::protobuf) {
            hrana::protobuf::serialize_delimited(x, out);
        } else {
            hrana::serialize(x, out);
            out += '\n';
        }
    }

    /// Ends the statement, then gives the stream back (once). Cut short (the client went away), interrupted, or
    /// stopping: the stream's state is unknown to its client, so it is rolled back and freed.
    void release() noexcept {
        if (released_) return;
        released_ = true;
        run_.reset();  // before the stream may be freed: its statement belongs to the stream's connection
        if (produced_ >= large_response) d_.c->trim_due.store(true);
        const bool broken = scope_.end() || d_.c->halting.load() || !complete_;
        try {
            (void)d_.finish(s_, false, broken);
        } catch (...) {
            // finish() only allocates a baton; nothing else to undo.
        }
    }

    service::impl& d_;
    std::shared_ptr<http_stream> s_;
    stop_scope scope_;
    std::optional<batch_cursor> run_;
    hrana::cursor_response_head head_;
    encoding enc_;
    bool head_sent_ = false;
    bool complete_ = false;
    bool released_ = false;
    std::size_t produced_ = 0;  ///< bytes of body so far
};

cursor_open service::open_cursor(std::string_view body, std::string_view authorization_header, request_interrupt* stop,
                                 encoding enc) {
    auto& d = *impl_;
    cursor_open out;
    if (d.c->shut.load()) {
        out.refusal = text_reply(503, "the server is shutting down");
        return out;
    }
    const auto auth = d.check(authorization_header);
    if (auth.granted == access::denied) {
        out.refusal = json_error(401, auth.reason, "UNAUTHORIZED");
        return out;
    }
    hrana::cursor_request req;
    try {
        req = enc == encoding::protobuf ? hrana::protobuf::parse_cursor_request(body) : hrana::parse_cursor_request(body);
        validate_batch(req.batch, 3);
    } catch (const hrana::protocol_violation& e) {
        out.refusal = text_reply(400, e.what());
        return out;
    }
    std::shared_ptr<http_stream> s;
    {
        const gate_pass pass(d.c->gate);
        auto claimed = d.claim_for(req.baton, auth.granted, d.owner_of(authorization_header));
        if (auto* refused = std::get_if<http_reply>(&claimed)) {
            out.refusal = std::move(*refused);
            return out;
        }
        s = std::get<std::shared_ptr<http_stream>>(std::move(claimed));
    }
    // The baton goes out first, in the head: the one the stream will take next (finish() makes the same).
    auto baton = make_baton(d.key, s->id, s->seq);
    out.body = std::make_unique<http_cursor_body>(d, std::move(s), stop, std::move(req.batch), std::move(baton), enc);
    return out;
}

http_reply service::cursor(std::string_view body, std::string_view authorization_header, request_interrupt* stop,
                           encoding enc) {
    auto opened = open_cursor(body, authorization_header, stop, enc);
    if (!opened.body) return std::move(opened.refusal);
    http_reply out{200, enc == encoding::protobuf ? "application/x-protobuf" : "text/plain", {}};
    try {
        while (opened.body->next(out.body, std::size_t{64} * 1024)) {
        }
    } catch (const std::exception& e) {
        return text_reply(500, std::string("internal error: the response cannot be encoded: ") + e.what());
    }
    return out;
}

std::unique_ptr<ws_session> service::open_ws(int version, encoding enc) {
    return make_ws_session(impl_->c, version, enc);
}

void service::sweep_expired() {
    auto& d = *impl_;
#if defined(__GLIBC__)
    if (d.c->trim_due.exchange(false)) (void)::malloc_trim(0);
#endif
    {
        const gate_pass pass(d.c->gate);
        expire_idle(d);
    }
    try {
        (void)d.c->try_checkpoint(false);
    } catch (const std::exception& e) {
        if (d.c->opts.log) d.c->opts.log(std::string("replication: checkpoint failed: ") + e.what());
    }
}

void service::expire_idle(impl& d) {
    std::vector<std::shared_ptr<http_stream>> dead;
    {
        std::lock_guard lk(d.m);
        const auto now = steady::now();
        for (auto it = d.streams.begin(); it != d.streams.end();) {
            if (!it->second->in_use && now - it->second->last_used > d.c->opts.stream_expiry) {
                dead.push_back(std::move(it->second));
                d.expired[it->first] = now;
                it = d.streams.erase(it);
            } else {
                ++it;
            }
        }
        std::erase_if(d.expired, [&](const auto& kv) { return now - kv.second > expired_memory; });
    }
    dead.clear();  // rolls back and frees, outside the lock
}

void service::interrupt_running() noexcept { impl_->c->interrupt_all(); }

void service::shutdown() {
    auto& d = *impl_;
    d.c->shut.store(true);
    std::vector<std::shared_ptr<http_stream>> dead;
    {
        std::lock_guard lk(d.m);
        for (auto it = d.streams.begin(); it != d.streams.end();) {
            // A stream in use is freed by its request as it ends (finish() sees shut).
            if (!it->second->in_use) {
                dead.push_back(std::move(it->second));
                it = d.streams.erase(it);
            } else {
                ++it;
            }
        }
    }
    shutdown_sessions(*d.c);
    dead.clear();
    d.c->clear_pool();
    if (d.c->repl) {
        // Record where the generation ends before the last connection's close checkpoints the WAL. A request still
        // running past the drain timeout is waited for (bounded) so that its commit is not left out.
        const bool quiet = d.c->gate.lock_exclusive(std::chrono::seconds(5));
        d.c->repl->close();
        if (quiet) d.c->gate.unlock_exclusive();
    }
}

http_reply service::replication_info(std::string_view authorization_header) {
    auto& d = *impl_;
    if (auto refused = d.replication_refusal(authorization_header)) return std::move(*refused);
    return d.c->repl->info();
}

http_reply service::replication_export(std::uint64_t generation, std::string_view authorization_header) {
    auto& d = *impl_;
    if (auto refused = d.replication_refusal(authorization_header)) return std::move(*refused);
    try {
        return d.c->repl->export_db(generation);
    } catch (const std::exception& e) {
        return json_error(500, std::string("cannot export the database: ") + e.what(), "INTERNAL");
    }
}

http_reply service::replication_frames(std::uint64_t generation, std::uint64_t start, std::uint64_t end,
                                       std::string_view authorization_header) {
    auto& d = *impl_;
    if (auto refused = d.replication_refusal(authorization_header)) return std::move(*refused);
    try {
        return d.c->repl->frames(generation, start, end);
    } catch (const std::exception& e) {
        // Not 500: the engine reads a 500 as JSON with a generation. 503 makes it report the failure.
        return json_error(503, std::string("cannot read the WAL: ") + e.what(), "INTERNAL");
    }
}

bool service::checkpoint_now() { return impl_->c->try_checkpoint(true); }

std::uint64_t service::replication_generation() const { return impl_->c->repl ? impl_->c->repl->generation() : 0; }

std::uint64_t service::open_streams() const {
    std::lock_guard lk(impl_->c->streams_m);
    return impl_->c->live_streams.size();
}

std::uint64_t service::replication_index() const noexcept {
    try {
        return impl_->c->repl ? impl_->c->repl->committed_frames() : 0;
    } catch (...) {
        return 0;
    }
}

void service::copy_to(const std::string& path) {
    auto conn = impl_->c->db.connect();  // the server's own connection: no client policy applies
    conn.execute("VACUUM INTO ?", path);
}

std::uint64_t service::checkpoints() const noexcept { return impl_->c->checkpoints.load(std::memory_order_relaxed); }

} // namespace libsql::server
