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
// SQLITE_AUTH and a message that says the token is read-only. The same authorizer notes statements that change
// connection state (PRAGMA assignments, temporary objects, ATTACH): such connections are closed rather than pooled.
//
// BEGIN TRANSACTION READONLY (libsql syntax) runs as BEGIN DEFERRED plus PRAGMA query_only=1; query_only is turned
// off again as soon as the connection is back in autocommit mode (checked after every statement).
//
// Streams: an HTTP stream is claimed by its baton (stream id, sequence, HMAC-SHA256 under a per-process key), runs
// its requests with nobody else on it, and goes back with the next sequence; a second request arriving while one
// runs gets a 400. Connections of closed streams go back to a small pool after a rollback, unless they carry state
// (see above). Cursors (HTTP /v3/cursor and WebSocket open_cursor) run the whole batch when opened and buffer its
// entries in memory: the HTTP body is built whole before it is sent.
#include "server/service.hpp"

#include "hrana/protobuf.hpp"
#include "hrana/protocol.hpp"
#include "libsql/hooks.hpp"
#include "remote/remote.hpp"  // the SQL keyword scanner: which statements are INSERTs
#include "server/auth.hpp"
#include "server/replication.hpp"

#include <sodium.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cctype>
#include <condition_variable>
#include <deque>
#include <filesystem>
#include <map>
#include <mutex>
#include <set>
#include <unordered_map>
#include <utility>

namespace libsql::server {

namespace {

using steady = std::chrono::steady_clock;

constexpr std::size_t max_idle_connections = 16;
constexpr std::size_t max_cached_tokens = 1024;
constexpr std::chrono::seconds expired_memory{300};
constexpr std::chrono::milliseconds busy_timeout{10'000};

template <class... F> struct overloaded : F... { using F::operator()...; };
template <class... F> overloaded(F...) -> overloaded<F...>;

/// A request that failed with a Hrana error (a result of type "error", not an HTTP failure).
struct stmt_failure {
    hrana::error err;
};

[[noreturn]] void fail(std::string code, std::string message) { throw stmt_failure{{std::move(message), std::move(code)}}; }

bool contains(std::string_view text, std::string_view what) { return text.find(what) != std::string_view::npos; }

/// A library error as Hrana reports it: SQLite failures by their primary code name, usage errors by sqld's names.
hrana::error to_hrana(const libsql::error& e) {
    std::string message = e.what();
    if (e.code() != 0) {
        std::string code(result_code_name(e.code()));
        if (code.empty()) code = "SQLITE_UNKNOWN";
        // what() appends " [CODE_NAME] in: SQL"; the SQLite text alone reads better to a client.
        const std::string marker = " [" + std::string(e.code_name()) + "]";
        if (const auto at = message.find(marker); at != std::string::npos) message.resize(at);
        return {std::move(message), std::move(code)};
    }
    if (dynamic_cast<const usage_error*>(&e) != nullptr) {
        if (contains(message, "several statements")) return {std::move(message), "SQL_MANY_STATEMENTS"};
        if (contains(message, "empty SQL")) return {std::move(message), "SQL_NO_STATEMENT"};
        if (contains(message, "parameter") || contains(message, "argument")) return {std::move(message), "ARGS_INVALID"};
        return {std::move(message), "SQL_INPUT_ERROR"};
    }
    if (dynamic_cast<const too_big*>(&e) != nullptr) return {std::move(message), "SQLITE_TOOBIG"};
    return {std::move(message), "SQL_INPUT_ERROR"};
}

std::string upper_word(std::string_view& text) {
    while (!text.empty() && std::isspace(static_cast<unsigned char>(text.front())) != 0) text.remove_prefix(1);
    std::string word;
    while (!text.empty() && std::isalpha(static_cast<unsigned char>(text.front())) != 0) {
        word += static_cast<char>(std::toupper(static_cast<unsigned char>(text.front())));
        text.remove_prefix(1);
    }
    return word;
}

/// BEGIN [TRANSACTION] READONLY [;], any case, any whitespace.
bool is_begin_readonly(std::string_view sql) {
    if (upper_word(sql) != "BEGIN") return false;
    std::string w = upper_word(sql);
    if (w == "TRANSACTION") w = upper_word(sql);
    if (w != "READONLY") return false;
    for (const char c : sql)
        if (!(std::isspace(static_cast<unsigned char>(c)) != 0 || c == ';')) return false;
    return true;
}

// ------------------------------------------------------------------------------------------------ stored SQL
class sql_store {
public:
    sql_store(std::size_t max_count, std::size_t max_bytes) : max_count_(max_count), max_bytes_(max_bytes) {}

    /// Stores a text (replacing one stored under the same id).
    void store(std::int32_t id, std::string sql) {
        if (sql.size() > max_bytes_)
            fail("SQL_STORE_TOO_LARGE", "The SQL text is too large (" + std::to_string(sql.size()) +
                                            " bytes), the maximum is " + std::to_string(max_bytes_) + " bytes");
        if (texts_.find(id) == texts_.end() && texts_.size() >= max_count_)
            fail("SQL_STORE_TOO_MANY", "The server already stores " + std::to_string(texts_.size()) +
                                           " SQL texts, it cannot store more");
        texts_[id] = std::move(sql);
    }
    void close(std::int32_t id) { texts_.erase(id); }

    [[nodiscard]] const std::string& resolve(const std::optional<std::string>& sql, const std::optional<std::int32_t>& id) const {
        if (sql) return *sql;
        if (!id) fail("SQL_NO_STATEMENT", "neither sql nor sql_id was given");
        const auto it = texts_.find(*id);
        if (it == texts_.end()) fail("SQL_NOT_FOUND", "SQL text " + std::to_string(*id) + " not found (store_sql it first)");
        return it->second;
    }

private:
    std::size_t max_count_;
    std::size_t max_bytes_;
    std::map<std::int32_t, std::string> texts_;
};

// ------------------------------------------------------------------------------------------------ connections
/// What the authorizer of one connection reads and records.
struct guard_state {
    bool read_only = false;  ///< the current request's token may only read
    bool internal = false;   ///< the server's own statements (query_only, describe): neither denied nor recorded
    bool dirty = false;      ///< the connection's state changed in a way a later stream must not inherit
    bool protect_wal = false;  ///< replication is on: clients may not checkpoint nor change the journal mode
    bool schema_write = false;  ///< a statement prepared since the last look changes the main schema (CREATE…)
};

bool iequal(std::string_view a, std::string_view b) noexcept {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
               return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
           });
}

bool read_pragma(std::string_view name) {
    static constexpr std::array<std::string_view, 9> names{"table_info", "table_xinfo", "index_list",
                                                           "index_info", "index_xinfo", "foreign_key_list",
                                                           "integrity_check", "quick_check", "foreign_key_check"};
    return std::find(names.begin(), names.end(), name) != names.end();
}

authorizer_result authorize(guard_state& g, const authorizer_request& r) {
    if (g.internal) return authorizer_result::allow;
    using A = authorizer_action;
    bool writes = false;
    switch (r.action) {
    case A::create_index: case A::create_table: case A::create_trigger: case A::create_view: case A::drop_index:
    case A::drop_table: case A::drop_trigger: case A::drop_view: case A::alter_table: case A::create_vtable:
    case A::drop_vtable:
        g.schema_write = true;  // other connections must reload their schema once this commits (db_stream)
        writes = true;
        break;
    case A::select: case A::read: case A::function: case A::transaction: case A::savepoint: case A::recursive:
        return authorizer_result::allow;
    case A::pragma:
        // The replication log relies on a WAL that only the service checkpoints (generations, docs/SERVER.md).
        if (g.protect_wal) {
            const std::string_view name = r.arg1.value_or("");
            if (iequal(name, "wal_checkpoint") || (r.arg2 && (iequal(name, "wal_autocheckpoint") || iequal(name, "journal_mode"))))
                return authorizer_result::deny;
        }
        if (!r.arg2) return authorizer_result::allow;
        if (read_pragma(r.arg1.value_or(""))) return authorizer_result::allow;
        g.dirty = true;
        writes = true;
        break;
    case A::create_temp_index: case A::create_temp_table: case A::create_temp_trigger: case A::create_temp_view:
    case A::attach: case A::detach:
        g.dirty = true;
        writes = true;
        break;
    default:
        writes = true;
        break;
    }
    return writes && g.read_only ? authorizer_result::deny : authorizer_result::allow;
}

class ws_session_impl;
class db_stream;

/// Lets requests run side by side until a checkpoint wants the database to itself: then new requests wait, and the
/// checkpoint waits (bounded) for the running ones to end.
class quiet_gate {
public:
    void enter() {
        std::unique_lock lk(m_);
        cv_.wait(lk, [&] { return !pending_ && !exclusive_; });
        ++active_;
    }
    void leave() noexcept {
        std::lock_guard lk(m_);
        if (--active_ == 0) cv_.notify_all();
    }
    bool lock_exclusive(std::chrono::milliseconds timeout) {
        std::unique_lock lk(m_);
        if (pending_ || exclusive_) return false;
        pending_ = true;
        const bool ok = cv_.wait_for(lk, timeout, [&] { return active_ == 0; });
        pending_ = false;
        exclusive_ = ok;
        cv_.notify_all();
        return ok;
    }
    void unlock_exclusive() noexcept {
        std::lock_guard lk(m_);
        exclusive_ = false;
        cv_.notify_all();
    }

private:
    std::mutex m_;
    std::condition_variable cv_;
    int active_ = 0;
    bool pending_ = false;
    bool exclusive_ = false;
};

class gate_pass {
public:
    explicit gate_pass(quiet_gate& g) : g_(g) { g_.enter(); }
    ~gate_pass() { g_.leave(); }
    gate_pass(const gate_pass&) = delete;
    gate_pass& operator=(const gate_pass&) = delete;

private:
    quiet_gate& g_;
};

/// Whether the service should replicate this path: a plain file (not ":memory:", not a "file:" URI).
bool replicable_path(const service_options& o) {
    return o.replication && !o.path.empty() && o.path != ":memory:" && o.path.rfind("file:", 0) != 0;
}

struct pooled {
    libsql::connection conn;
    std::shared_ptr<guard_state> guard;
    std::uint64_t schema_epoch = 0;  ///< core::schema_epoch when this connection's schema was last known current
};

/// The Hrana error of a statement stopped by request_interrupt or service::interrupt_running().
[[noreturn]] void fail_interrupted(bool stopping) {
    fail("SQLITE_INTERRUPT", stopping ? "interrupted: the server is shutting down" : "interrupted: the request was cancelled");
}

/// What the service and its WebSocket sessions share (sessions may outlive nothing, but hold it anyway).
struct core {
    service_options opts;
    libsql::database db;
    std::atomic<bool> shut{false};
    std::atomic<bool> halting{false};  ///< interrupt_running() was called: no statement may start any more
    std::mutex pool_m;
    std::vector<pooled> idle;
    /// Bumped after every committed schema change made through the service. SQLite notices another connection's
    /// schema change only when a statement runs (the schema cookie check of OP_Transaction) and at prepare time
    /// only for some errors ("no such table"), so a connection whose schema is older than the file prepares against
    /// the old one ("table t has 1 columns but 2 values were supplied", stale column lists). db_stream reloads it
    /// before preparing when its connection's epoch is behind.
    std::atomic<std::uint64_t> schema_epoch{0};
    std::mutex sessions_m;
    std::set<ws_session_impl*> sessions;  // live WebSocket sessions, for shutdown()

    // Replication (legacy Turso sync): the log, the gate checkpoints close, the streams they check, and the
    // connection that runs the checkpoints (never pooled, open for the service's life).
    std::unique_ptr<replication_log> repl;
    quiet_gate gate;
    std::mutex streams_m;
    std::set<db_stream*> live_streams;
    std::mutex keeper_m;
    libsql::connection keeper;

    explicit core(service_options o) : opts(std::move(o)), db(opts.path, make_options()) {
        if (replicable_path(opts)) {
            // Before any connection reads the database (and recovers a WAL left by a crash).
            repl = std::make_unique<replication_log>(replication_options{
                opts.path, opts.checkpoint_frames, opts.kept_generations, 1024, opts.log});
        }
        auto c = open();
        // WAL: readers run beside the writer. A database on which WAL cannot be set (":memory:") keeps its mode.
        c.guard->internal = true;
        const auto mode = c.conn.query_value<std::string>("PRAGMA journal_mode=WAL");
        c.guard->internal = false;
        idle.push_back(std::move(c));
        if (repl && !iequal(mode, "wal")) {
            if (opts.log) opts.log("replication off: the database cannot use WAL (journal mode " + mode + ")");
            repl.reset();
            idle.back().guard->protect_wal = false;
        }
        if (repl) {
            keeper = db.connect();
            keeper.execute("PRAGMA wal_autocheckpoint=0");
            // The new generation starts from an empty WAL: its export is the database file.
            if (!truncate_wal())
                throw libsql::busy("cannot checkpoint " + opts.path +
                                   " at startup (another process is using it?): replication needs the WAL to itself");
            repl->started();
        }
    }

    /// PRAGMA wal_checkpoint(TRUNCATE) on the keeper; whether the WAL is now empty.
    bool truncate_wal() {
        std::lock_guard lk(keeper_m);
        const auto r = keeper.query_row("PRAGMA wal_checkpoint(TRUNCATE)");
        if (r.get<std::int64_t>(0) != 0) return false;
        std::error_code ec;
        const auto size = std::filesystem::file_size(opts.path + "-wal", ec);
        return ec || size == 0;
    }

    /// Ends the generation when due (or forced) and the database is quiet.
    bool try_checkpoint(bool force) {
        if (!repl || shut.load()) return false;
        if (!force && !repl->checkpoint_due()) return false;
        // A stream inside a transaction would make the attempt fail anyway: do not hold requests back for nothing.
        if (any_stream_in_transaction()) return false;
        if (!gate.lock_exclusive(std::chrono::seconds(1))) return false;
        struct unlock {
            quiet_gate& g;
            ~unlock() { g.unlock_exclusive(); }
        } unlocker{gate};
        std::lock_guard lk(streams_m);
        if (!all_streams_quiet()) return false;
        return repl->checkpoint([this] { return truncate_wal(); });
    }

    bool all_streams_quiet();  // below db_stream
    void interrupt_all() noexcept;
    bool any_stream_in_transaction();

    static connect_options make_options() {
        connect_options o;
        o.busy_timeout = busy_timeout;
        return o;
    }

    [[nodiscard]] pooled open() const {
        // Before the connection reads anything: its schema, loaded on first use, is at least this current.
        const std::uint64_t epoch = schema_epoch.load(std::memory_order_acquire);
        pooled p{db.connect(), std::make_shared<guard_state>(), epoch};
        if (repl) {
            // Within a generation the WAL only grows: only the service checkpoints (try_checkpoint).
            p.conn.execute("PRAGMA wal_autocheckpoint=0");
            p.guard->protect_wal = true;
        }
        p.conn.authorizer([g = p.guard](const authorizer_request& r) { return authorize(*g, r); });
        return p;
    }

    pooled acquire() {
        {
            std::lock_guard lk(pool_m);
            if (!idle.empty()) {
                pooled p = std::move(idle.back());
                idle.pop_back();
                return p;
            }
        }
        return open();
    }

    /// Rolls back what the connection has open and keeps it for reuse when its state is clean.
    void release(pooled p) noexcept {
        try {
            if (!p.conn.is_open()) return;
            p.guard->internal = true;
            p.conn.reset();
            p.guard->internal = false;
            const bool clean = !p.guard->dirty && p.conn.is_autocommit();
            p.guard->read_only = false;
            if (clean && !shut.load()) {
                std::lock_guard lk(pool_m);
                if (idle.size() < max_idle_connections) {
                    idle.push_back(std::move(p));
                    return;
                }
            }
        } catch (...) {
            // Closed below whatever happened.
        }
        p.conn.close();
    }

    void clear_pool() noexcept {
        std::vector<pooled> old;
        {
            std::lock_guard lk(pool_m);
            old.swap(idle);
        }
        for (auto& p : old) p.conn.close();
    }
};

/// One Hrana stream's connection and the state kept around it.
class db_stream {
public:
    explicit db_stream(std::shared_ptr<core> c) : c_(std::move(c)), p_(c_->acquire()) {
        std::lock_guard lk(c_->streams_m);
        c_->live_streams.insert(this);
    }
    ~db_stream() {
        {
            std::lock_guard lk(c_->streams_m);
            c_->live_streams.erase(this);
        }
        if (readonly_txn_) internal_sql("PRAGMA query_only=0");
        c_->release(std::move(p_));
    }

    /// Whether the last statement left a transaction open (a hint any thread may read; quiet() is the truth).
    [[nodiscard]] bool maybe_in_transaction() const noexcept { return in_txn_.load(std::memory_order_relaxed); }

    /// No transaction open (called only while no request runs).
    [[nodiscard]] bool quiet() const noexcept {
        try {
            return !p_.conn.is_open() || p_.conn.is_autocommit();
        } catch (...) {
            return false;
        }
    }
    db_stream(const db_stream&) = delete;
    db_stream& operator=(const db_stream&) = delete;

    void set_access(access a) noexcept { p_.guard->read_only = a == access::read_only; }
    libsql::connection& conn() noexcept { return p_.conn; }
    /// The interrupt the current request (HTTP) or the whole session (WebSocket) obeys; nullptr: none.
    void set_stop(const request_interrupt* stop) noexcept { stop_ = stop; }

    // -------------------------------------------------------------------------------------------- requests
    hrana::stmt_result execute(const sql_store& store, const hrana::stmt& s) {
        const std::string& sql = store.resolve(s.sql, s.sql_id);
        check_stop();
        fresh_schema();
        try {
            auto r = execute_text(sql, s);
            after_statement();
            return r;
        } catch (const libsql::error& e) {
            after_statement();
            throw stmt_failure{described(e)};
        }
    }

    void sequence(const sql_store& store, const std::optional<std::string>& sql_text, const std::optional<std::int32_t>& id) {
        const std::string& sql = store.resolve(sql_text, id);
        check_stop();
        fresh_schema();
        try {
            if (is_begin_readonly(sql)) begin_readonly();
            else p_.conn.execute_batch(sql);
            after_statement();
        } catch (const libsql::error& e) {
            after_statement();
            throw stmt_failure{described(e)};
        }
    }

    hrana::describe_result describe(const sql_store& store, const std::optional<std::string>& sql_text, const std::optional<std::int32_t>& id) {
        const std::string& sql = store.resolve(sql_text, id);
        const std::string_view text = is_begin_readonly(sql) ? std::string_view("BEGIN DEFERRED") : std::string_view(sql);
        hrana::describe_result r;
        fresh_schema();
        try {
            // Describing prepares without running: nothing to deny, nothing the connection keeps.
            p_.guard->internal = true;
            auto st = p_.conn.prepare(text);
            p_.guard->internal = false;
            for (int i = 1; i <= st.parameter_count(); ++i) {
                const auto name = st.parameter_name(i);
                r.params.push_back({name.empty() ? std::nullopt : std::optional<std::string>(name)});
            }
            r.cols = columns_of(st);
            r.is_explain = st.is_explain();
            r.is_readonly = st.readonly();
        } catch (const libsql::error& e) {
            p_.guard->internal = false;
            throw stmt_failure{described(e)};
        }
        return r;
    }

    [[nodiscard]] bool is_autocommit() {
        try {
            return p_.conn.is_autocommit();
        } catch (const libsql::error& e) {
            throw stmt_failure{to_hrana(e)};
        }
    }

    /// Runs a batch, calling out(step, result-or-error) for every step that ran (skipped steps are not reported).
    template <class Out> void batch(const sql_store& store, const hrana::batch& b, Out&& out) {
        std::vector<std::optional<bool>> ok(b.steps.size());
        for (std::size_t i = 0; i < b.steps.size(); ++i) {
            const auto& step = b.steps[i];
            if (step.condition && !eval(*step.condition, ok)) continue;
            try {
                auto r = execute(store, step.stmt);
                ok[i] = true;
                out(i, std::move(r));
            } catch (stmt_failure& f) {
                ok[i] = false;
                out(i, std::move(f.err));
            }
        }
    }

private:
    /// Statements of an interrupted request (or of a stopping server) fail before they start: an interrupt only
    /// reaches the statement running at that instant.
    void check_stop() const {
        if (c_->halting.load()) fail_interrupted(true);
        if (stop_ != nullptr && stop_->interrupted()) fail_interrupted(false);
    }

    bool eval(const hrana::condition& c, const std::vector<std::optional<bool>>& ok) {
        using K = hrana::condition::kind;
        switch (c.type) {
        case K::ok: return c.step < ok.size() && ok[c.step] == true;
        case K::error: return c.step < ok.size() && ok[c.step] == false;
        case K::not_: return !c.conds.empty() && !eval(c.conds.front(), ok);
        case K::and_:
            return std::all_of(c.conds.begin(), c.conds.end(), [&](const hrana::condition& x) { return eval(x, ok); });
        case K::or_:
            return std::any_of(c.conds.begin(), c.conds.end(), [&](const hrana::condition& x) { return eval(x, ok); });
        case K::is_autocommit:
            try {
                return p_.conn.is_autocommit();
            } catch (const libsql::error&) {
                return false;
            }
        }
        return false;
    }

    hrana::error described(const libsql::error& e) const {
        auto err = to_hrana(e);
        if (err.code == "SQLITE_AUTH" && p_.guard->read_only)
            err.message = "this token grants read-only access; the statement would write (" + err.message + ")";
        return err;
    }

    static std::vector<hrana::column> columns_of(const libsql::statement& st) {
        std::vector<hrana::column> cols;
        for (auto& c : st.columns())
            cols.push_back({std::move(c.name), c.declared_type.empty() ? std::nullopt : std::optional<std::string>(std::move(c.declared_type))});
        return cols;
    }

    static void bind(libsql::statement& st, const hrana::stmt& s) {
        const int count = st.parameter_count();
        if (s.args.size() > static_cast<std::size_t>(count))
            fail("ARGS_INVALID", "the statement has " + std::to_string(count) + " parameters but " +
                                     std::to_string(s.args.size()) + " positional arguments were given");
        for (int i = 1; i <= count; ++i) {
            const std::string_view name = st.parameter_name(i);
            const libsql::value* v = nullptr;
            if (!name.empty() && name.front() != '?') {
                // As sqld: the full name (":a") first, then the name without its prefix ("a").
                for (const auto& a : s.named_args)
                    if (a.name == name) { v = &a.value; break; }
                if (v == nullptr)
                    for (const auto& a : s.named_args)
                        if (a.name == name.substr(1)) { v = &a.value; break; }
            }
            const auto at = static_cast<std::size_t>(i - 1);
            if (v == nullptr && at < s.args.size()) v = &s.args[at];
            if (v == nullptr) {
                if (st.is_explain()) continue;
                fail("ARGS_INVALID", name.empty() || name.front() == '?'
                                         ? "missing value for parameter " + std::to_string(i)
                                         : "missing value for parameter " + std::string(name));
            }
            st.bind(i, *v);
        }
    }

    hrana::stmt_result execute_text(const std::string& sql, const hrana::stmt& s) {
        hrana::stmt_result r;
        auto& conn = p_.conn;
        if (is_begin_readonly(sql)) {
            begin_readonly();
            return r;
        }
        auto st = prepare_current(sql);
        bind(st, s);
        r.cols = columns_of(st);
        const auto before = conn.total_changes();
        if (s.want_rows) {
            auto rows = st.query();
            const int n = rows.column_count();
            while (rows.next()) {
                const auto row = rows.current();
                std::vector<libsql::value> values;
                values.reserve(static_cast<std::size_t>(n));
                for (int i = 0; i < n; ++i) values.emplace_back(row.at(i));
                r.rows.push_back(std::move(values));
            }
        } else {
            (void)st.execute();
        }
        const bool changed_rows = conn.total_changes() != before;
        const auto changed = changed_rows ? conn.changes() : 0;
        r.affected_row_count = static_cast<std::uint64_t>(std::max<std::int64_t>(changed, 0));
        // As sqld: an INSERT (or REPLACE, also after WITH) reports the connection's last_insert_rowid, any other
        // statement none. The connection may have served other streams before: an INSERT that inserted nothing
        // reports what this stream's own inserts left (0 on a new stream), as sqld's connection per stream would.
        if (libsql::detail::remote::classify_statement(sql).insert) {
            if (changed_rows) rowid_ = conn.last_insert_rowid();
            r.last_insert_rowid = rowid_;
        }
        // Once a write is committed: the last committed frame of the current generation (at least this write's).
        if (!st.readonly()) wrote_ = true;
        if (wrote_ && c_->repl && conn.is_autocommit()) {
            wrote_ = false;
            try {
                r.replication_index = c_->repl->committed_frames();
            } catch (const std::exception&) {
                // Optional information: a WAL that cannot be read shows up on /sync instead.
            }
        }
        return r;
    }

    /// Prepares with a current schema: when preparing fails with SQLITE_ERROR (a schema changed by another process
    /// can make it fail, and SQLite retries only some errors itself), reloads the schema and tries once more.
    libsql::statement prepare_current(const std::string& sql) {
        try {
            return p_.conn.prepare(sql);
        } catch (const libsql::error& e) {
            if (e.code() != 1 /* SQLITE_ERROR */ || !reload_schema()) throw;
        }
        return p_.conn.prepare(sql);
    }

    /// Reloads the connection's schema if a schema change was committed through the service since it last looked.
    void fresh_schema() noexcept {
        const std::uint64_t epoch = c_->schema_epoch.load(std::memory_order_acquire);
        if (p_.schema_epoch == epoch) return;
        if (reload_schema()) p_.schema_epoch = epoch;
    }

    /// Runs a statement that checks the schema cookie (OP_Transaction), which makes SQLite drop a stale schema;
    /// the next prepare loads the current one. Whether it ran.
    bool reload_schema() noexcept {
        p_.guard->internal = true;
        bool ok = true;
        try {
            (void)p_.conn.query_value<std::int64_t>("SELECT count(*) FROM sqlite_schema WHERE 0");
        } catch (...) {
            ok = false;
        }
        p_.guard->internal = false;
        return ok;
    }

    void begin_readonly() {
        p_.conn.execute("BEGIN DEFERRED");
        internal_sql("PRAGMA query_only=1");
        readonly_txn_ = true;
    }

    /// A read-only transaction ends when the connection is back in autocommit mode, however it got there.
    void after_statement() noexcept {
        try {
            in_txn_.store(!p_.conn.is_autocommit(), std::memory_order_relaxed);
        } catch (...) {
            in_txn_.store(true, std::memory_order_relaxed);
        }
        // A schema change counts once committed (or rolled back: a needless reload elsewhere, nothing worse). This
        // connection's own epoch stays behind: another change may have committed between, unseen by it.
        if (p_.guard->schema_write) {
            schema_pending_ = true;
            p_.guard->schema_write = false;
        }
        if (schema_pending_ && !in_txn_.load(std::memory_order_relaxed)) {
            schema_pending_ = false;
            c_->schema_epoch.fetch_add(1, std::memory_order_acq_rel);
        }
        if (!readonly_txn_) return;
        try {
            if (!p_.conn.is_autocommit()) return;
        } catch (...) {
        }
        internal_sql("PRAGMA query_only=0");
        readonly_txn_ = false;
    }

    void internal_sql(const char* sql) noexcept {
        p_.guard->internal = true;
        try {
            p_.conn.execute_batch(sql);
        } catch (...) {
            p_.guard->dirty = true;  // could not restore: never pool it
        }
        p_.guard->internal = false;
    }

    std::shared_ptr<core> c_;
    pooled p_;
    bool readonly_txn_ = false;
    bool wrote_ = false;  ///< a statement that may write ran since the connection was last in autocommit mode
    bool schema_pending_ = false;  ///< a schema change ran in the open transaction: count it once committed
    std::int64_t rowid_ = 0;       ///< the last rowid this stream's own INSERTs produced
    const request_interrupt* stop_ = nullptr;
    std::atomic<bool> in_txn_{false};
};

bool core::any_stream_in_transaction() {
    std::lock_guard lk(streams_m);
    return std::any_of(live_streams.begin(), live_streams.end(), [](const db_stream* s) { return s->maybe_in_transaction(); });
}

void core::interrupt_all() noexcept {
    halting.store(true);
    // A stream erases itself under this lock before its connection goes: every one seen here is alive.
    std::lock_guard lk(streams_m);
    for (auto* s : live_streams) s->conn().interrupt();
}

bool core::all_streams_quiet() {
    return std::all_of(live_streams.begin(), live_streams.end(), [](const db_stream* s) { return s->quiet(); });
}

/// Checks a batch's conditions before anything runs: referenced steps must be earlier, is_autocommit needs v3.
void validate_condition(const hrana::condition& c, std::size_t step, int version) {
    using K = hrana::condition::kind;
    switch (c.type) {
    case K::ok:
    case K::error:
        if (c.step >= step)
            throw hrana::protocol_violation("batch step " + std::to_string(step) + " has a condition on step " +
                                            std::to_string(c.step) + ", which is not an earlier step");
        break;
    case K::not_:
        if (c.conds.size() != 1) throw hrana::protocol_violation("a \"not\" condition needs exactly one condition");
        [[fallthrough]];
    case K::and_:
    case K::or_:
        for (const auto& x : c.conds) validate_condition(x, step, version);
        break;
    case K::is_autocommit:
        if (version < 3) throw hrana::protocol_violation("the is_autocommit condition needs Hrana 3 (use /v3)");
        break;
    }
}

void validate_batch(const hrana::batch& b, int version) {
    for (std::size_t i = 0; i < b.steps.size(); ++i)
        if (b.steps[i].condition) validate_condition(*b.steps[i].condition, i, version);
}

hrana::batch_result run_batch(db_stream& s, const sql_store& store, const hrana::batch& b) {
    hrana::batch_result r;
    r.step_results.resize(b.steps.size());
    r.step_errors.resize(b.steps.size());
    s.batch(store, b, overloaded{
        [&](std::size_t i, hrana::stmt_result&& x) { r.step_results[i] = std::move(x); },
        [&](std::size_t i, hrana::error&& e) { r.step_errors[i] = std::move(e); },
    });
    return r;
}

std::vector<hrana::cursor_entry> run_cursor(db_stream& s, const sql_store& store, const hrana::batch& b) {
    std::vector<hrana::cursor_entry> out;
    s.batch(store, b, overloaded{
        [&](std::size_t i, hrana::stmt_result&& x) {
            out.emplace_back(hrana::step_begin_entry{static_cast<std::uint32_t>(i), std::move(x.cols)});
            for (auto& row : x.rows) out.emplace_back(hrana::row_entry{std::move(row)});
            out.emplace_back(hrana::step_end_entry{x.affected_row_count, x.last_insert_rowid});
        },
        [&](std::size_t i, hrana::error&& e) {
            out.emplace_back(hrana::step_error_entry{static_cast<std::uint32_t>(i), std::move(e)});
        },
    });
    return out;
}

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
    http_stream(std::uint64_t i, std::shared_ptr<core> c)
        : id(i), store(c->opts.max_stored_sql, c->opts.max_stored_sql_bytes), db(std::make_unique<db_stream>(std::move(c))) {}
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
    std::variant<std::shared_ptr<http_stream>, http_reply> claim_for(const std::optional<std::string>& baton, access granted) {
        std::variant<std::shared_ptr<http_stream>, http_reply> claimed;
        try {
            claimed = claim(baton);
        } catch (const libsql::error& e) {
            return text_reply(500, std::string("cannot open a stream: ") + e.what());
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

    [[nodiscard]] detail::jwt_check check(std::string_view header) const {
        if (!c->opts.jwt_public_key) return {access::full, {}, {}};
        std::string_view h = header;
        while (!h.empty() && h.front() == ' ') h.remove_prefix(1);
        if (h.empty()) return {access::denied, "authentication required: send Authorization: Bearer <JWT>", std::nullopt};
        if (h.size() < 7 || !std::equal(h.begin(), h.begin() + 7, "bearer ", [](char a, char b) {
                return std::tolower(static_cast<unsigned char>(a)) == b;
            }))
            return {access::denied, "the Authorization header must be \"Bearer <JWT>\"", std::nullopt};
        h.remove_prefix(7);
        while (!h.empty() && h.front() == ' ') h.remove_prefix(1);
        while (!h.empty() && h.back() == ' ') h.remove_suffix(1);
        return verify_cached(h);
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
        auto r = detail::verify_jwt(token, *c->opts.jwt_public_key);
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
    std::variant<std::shared_ptr<http_stream>, http_reply> claim(const std::optional<std::string>& baton) {
        std::shared_ptr<http_stream> dead;  // destroyed after the lock is released
        std::lock_guard lk(m);
        if (c->shut.load()) return text_reply(503, "the server is shutting down");
        if (!baton) {
            const auto id = next_id++;
            auto s = std::make_shared<http_stream>(id, c);
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
    hrana::stream_result handle(http_stream& s, const hrana::stream_request& req, bool& closed) {
        if (closed && !std::holds_alternative<hrana::close_req>(req))
            return hrana::error{"the stream was closed by an earlier request of this pipeline", "STREAM_CLOSED"};
        try {
            return std::visit(overloaded{
                [&](const hrana::execute_req& r) -> hrana::stream_result { return hrana::execute_resp{s.db->execute(s.store, r.stmt)}; },
                [&](const hrana::batch_req& r) -> hrana::stream_result { return hrana::batch_resp{run_batch(*s.db, s.store, r.batch)}; },
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

namespace {

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
        const auto r = c_->opts.jwt_public_key ? detail::verify_jwt(h.jwt.value_or(""), *c_->opts.jwt_public_key)
                                                : detail::jwt_check{access::full, {}, {}};
        if (r.granted == access::denied) {
            write(hrana::ws_server_msg{hrana::ws_hello_error{{r.reason, "UNAUTHORIZED"}}}, out);
            closed_ = true;
            return;
        }
        access_ = r.granted;
        expires_ = r.expires;
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

    db_stream& stream(std::int32_t id) {
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
                auto s = std::make_unique<db_stream>(c_);
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
                auto entries = run_cursor(stream(r.stream_id), store_, r.batch);
                cursors_.emplace(r.cursor_id, cursor{r.stream_id, {std::make_move_iterator(entries.begin()), std::make_move_iterator(entries.end())}});
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
                auto& q = it->second.entries;
                while (!q.empty() && resp.entries.size() < r.max_count) {
                    resp.entries.push_back(std::move(q.front()));
                    q.pop_front();
                }
                resp.done = q.empty();
                return resp;
            },
        }, req);
    }

    struct cursor {
        std::int32_t stream_id = 0;
        std::deque<hrana::cursor_entry> entries;  // computed when opened (the whole result is buffered)
    };

    std::shared_ptr<core> c_;
    int version_;
    encoding enc_;
    request_interrupt stop_;  ///< before streams_: they point to it
    mutable std::mutex m_;
    bool closed_ = false;
    bool hello_ = false;
    access access_ = access::denied;
    std::optional<double> expires_;
    sql_store store_;
    std::map<std::int32_t, std::unique_ptr<db_stream>> streams_;
    std::map<std::int32_t, cursor> cursors_;
};

} // namespace

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
    auto claimed = d.claim_for(req.baton, auth.granted);
    if (auto* refused = std::get_if<http_reply>(&claimed)) return std::move(*refused);
    auto s = std::get<std::shared_ptr<http_stream>>(std::move(claimed));
    hrana::pipeline_response resp;
    resp.base_url = d.c->opts.self_url;
    bool closed = false;
    stop_scope scope(*s->db, stop);
    try {
        for (const auto& r : req.requests) resp.results.push_back(d.handle(*s, r, closed));
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
    return out;
}

http_reply service::cursor(std::string_view body, std::string_view authorization_header, request_interrupt* stop,
                           encoding enc) {
    auto& d = *impl_;
    if (d.c->shut.load()) return text_reply(503, "the server is shutting down");
    const auto auth = d.check(authorization_header);
    if (auth.granted == access::denied) return json_error(401, auth.reason, "UNAUTHORIZED");
    hrana::cursor_request req;
    try {
        req = enc == encoding::protobuf ? hrana::protobuf::parse_cursor_request(body) : hrana::parse_cursor_request(body);
        validate_batch(req.batch, 3);
    } catch (const hrana::protocol_violation& e) {
        return text_reply(400, e.what());
    }
    const gate_pass pass(d.c->gate);
    auto claimed = d.claim_for(req.baton, auth.granted);
    if (auto* refused = std::get_if<http_reply>(&claimed)) return std::move(*refused);
    auto s = std::get<std::shared_ptr<http_stream>>(std::move(claimed));
    // The whole body is built in memory before it is sent (not streamed row by row).
    std::vector<hrana::cursor_entry> entries;
    stop_scope scope(*s->db, stop);
    try {
        entries = run_cursor(*s->db, s->store, req.batch);
    } catch (const std::exception& e) {
        entries.emplace_back(hrana::error_entry{{std::string("internal error: ") + e.what(), "INTERNAL"}});
    }
    const bool broken = scope.end() || d.c->halting.load();
    hrana::cursor_response_head head{d.finish(s, false, broken), d.c->opts.self_url};
    http_reply out{200, "text/plain", {}};
    try {
        if (enc == encoding::protobuf) {
            out.content_type = "application/x-protobuf";
            hrana::protobuf::serialize_delimited(head, out.body);
            for (const auto& e : entries) hrana::protobuf::serialize_delimited(e, out.body);
            return out;
        }
        hrana::serialize(head, out.body);
        out.body += '\n';
        for (const auto& e : entries) {
            hrana::serialize(e, out.body);
            out.body += '\n';
        }
    } catch (const std::exception& e) {
        return text_reply(500, std::string("internal error: the response cannot be encoded: ") + e.what());
    }
    return out;
}

std::unique_ptr<ws_session> service::open_ws(int version, encoding enc) {
    return std::make_unique<ws_session_impl>(impl_->c, version, enc);
}

void service::sweep_expired() {
    auto& d = *impl_;
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
    {
        // A session erases itself under this lock before it goes, so every one seen here is alive.
        std::lock_guard lk(d.c->sessions_m);
        for (auto* s : d.c->sessions) s->shutdown();
    }
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

} // namespace libsql::server
