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
// (see above). Cursors (HTTP /v3/cursor and WebSocket open_cursor) run the whole batch when opened and buffer its
// entries in memory: the HTTP body is built whole before it is sent.
#include "server/service.hpp"

#include "hrana/protobuf.hpp"
#include "hrana/protocol.hpp"
#include "libsql/hooks.hpp"
#include "remote/remote.hpp"  // the SQL keyword scanner: which statements are INSERTs
#include "server/auth.hpp"
#include "local/page_codec.hpp"
#include "server/replication.hpp"
#include "server/sql_policy.hpp"

#include <sodium.h>

#if defined(__GLIBC__)
#include <malloc.h>
#endif
#include <sys/resource.h>

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
constexpr std::size_t large_response = 1024 * 1024;  ///< responses from this size on make the sweep trim the heap

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

/// About the bytes a row takes in a JSON response ({"type":"text","value":"…"} per value), for the response limit.
/// Escapes are not counted: it may fall short of the real size, never far above it.
std::size_t approx_json_size(const std::vector<libsql::value>& row) {
    std::size_t n = 2;
    for (const auto& v : row) {
        const auto view = v.view();
        switch (view.type()) {
        case value_type::null: n += 16; break;
        case value_type::integer: n += 32; break;
        case value_type::real: n += 48; break;
        case value_type::text: n += 28 + view.as_text().size(); break;
        case value_type::blob: n += 29 + (view.as_blob().size() + 2) / 3 * 4; break;
        }
    }
    return n;
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
using detail::guard_state;
using detail::iequal;

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

/// The limit on open streams: the one given, or (0) what the descriptor limit allows. A stream's connection keeps
/// the database and its WAL open (SQLite may keep a closed one's descriptors for reuse, see docs/SERVER.md), so
/// streams are kept to a third of RLIMIT_NOFILE, less a reserve for sockets and the server's own files.
std::size_t effective_max_streams(std::size_t given) {
    if (given != 0) return given;
    rlimit lim{};
    if (::getrlimit(RLIMIT_NOFILE, &lim) != 0 || lim.rlim_cur == RLIM_INFINITY) return 10'000;
    const auto fds = static_cast<std::size_t>(lim.rlim_cur);
    return fds > 192 ? (fds - 128) / 3 : 16;
}

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
    std::shared_ptr<const detail::sql_policy> policy;  ///< before db: every connection's authorizer reads it
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
    std::map<std::string, std::size_t, std::less<>> owner_streams;  ///< open streams per token (with streams_m)
    std::mutex keeper_m;
    libsql::connection keeper;
    /// A large response was built or streamed since the last sweep: glibc keeps freed memory in its (per-thread)
    /// arenas, so the sweep hands it back to the system (malloc_trim).
    std::atomic<bool> trim_due{false};
    std::size_t max_streams = 0;  ///< the effective limit on open streams (service_options::max_streams)
    std::atomic<std::uint64_t> checkpoints{0};  ///< generations ended by try_checkpoint

    explicit core(service_options o)
        : opts(std::move(o)), policy(std::make_shared<const detail::sql_policy>(detail::make_sql_policy(opts.attach_dir))),
          db(opts.path, make_options(opts)) {
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
        max_streams = effective_max_streams(opts.max_streams);
        if (repl) {
            keeper = db.connect();
            keeper.execute("PRAGMA wal_autocheckpoint=0");
            if (!opts.encryption_key.empty()) {
                // The files are encrypted; replicas get plaintext pages, decrypted with the keeper's codec.
                const auto page_size = static_cast<std::uint32_t>(keeper.query_value<std::int64_t>("PRAGMA page_size"));
                repl->set_page_decryptor(page_size, [this, page_size](std::uint32_t pgno, char* page) {
                    std::lock_guard lk(keeper_m);
                    const int rc = libsql::detail::decrypt_page(keeper.native_handle(), pgno, page, static_cast<int>(page_size));
                    if (rc != 0)
                        throw libsql::corrupt("replication: page " + std::to_string(pgno) + " of " + opts.path +
                                              " does not decrypt (engine code " + std::to_string(rc) + ")");
                });
            }
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
        const bool ended = repl->checkpoint([this] { return truncate_wal(); });
        if (ended) checkpoints.fetch_add(1, std::memory_order_relaxed);
        return ended;
    }

    bool all_streams_quiet();  // below db_stream

    /// Why a new stream for this token is refused, or nothing: max_streams streams (HTTP and WebSocket) are open
    /// (global: true), or the token holds max_streams_per_token (global: false). Refused until some close or expire.
    struct stream_refusal {
        bool global;
        std::string message;
    };
    std::optional<stream_refusal> stream_limit_reached(std::string_view owner) {
        std::lock_guard lk(streams_m);
        if (live_streams.size() >= max_streams)
            return stream_refusal{true, "the server has " + std::to_string(max_streams) +
                                            " streams open, its limit (--max-streams): close streams, or retry once "
                                            "idle ones expire"};
        if (opts.max_streams_per_token != 0) {
            const auto it = owner_streams.find(owner);
            if (it != owner_streams.end() && it->second >= opts.max_streams_per_token)
                return stream_refusal{false, "this token has " + std::to_string(it->second) +
                                                 " streams open, the limit per token (--max-streams-per-token): close "
                                                 "streams, or retry once idle ones expire"};
        }
        return std::nullopt;
    }
    void interrupt_all() noexcept;
    bool any_stream_in_transaction();

    static connect_options make_options(const service_options& so) {
        connect_options o;
        o.busy_timeout = busy_timeout;
        o.encryption_key = so.encryption_key;
        o.cipher = so.cipher;
        return o;
    }

    [[nodiscard]] pooled open() const {
        // Before the connection reads anything: its schema, loaded on first use, is at least this current.
        const std::uint64_t epoch = schema_epoch.load(std::memory_order_acquire);
        pooled p{db.connect(), std::make_shared<guard_state>(), epoch};
        // sqld's default durability ("relaxed"): in WAL mode a commit survives the process, not a power loss.
        p.conn.execute(opts.synchronous_full ? "PRAGMA synchronous=FULL" : "PRAGMA synchronous=NORMAL");
        if (repl) {
            // Within a generation the WAL only grows: only the service checkpoints (try_checkpoint).
            p.conn.execute("PRAGMA wal_autocheckpoint=0");
            p.guard->protect_wal = true;
        }
        p.conn.authorizer([g = p.guard, pol = policy](const authorizer_request& r) { return detail::authorize(*pol, *g, r); });
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
    /// owner: the token that opened the stream (service_options::max_streams_per_token).
    db_stream(std::shared_ptr<core> c, std::string owner)
        : c_(std::move(c)), p_(c_->acquire()), owner_(std::move(owner)) {
        std::lock_guard lk(c_->streams_m);
        c_->live_streams.insert(this);
        ++c_->owner_streams[owner_];
    }
    ~db_stream() {
        {
            std::lock_guard lk(c_->streams_m);
            c_->live_streams.erase(this);
            if (const auto it = c_->owner_streams.find(owner_); it != c_->owner_streams.end() && --it->second == 0)
                c_->owner_streams.erase(it);
        }
        if (readonly_txn_ || query_only_token_) internal_sql("PRAGMA query_only=0");
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

    /// The access of the request about to run. A read-only token's requests run with query_only on, so that
    /// BEGIN IMMEDIATE/EXCLUSIVE cannot take the write lock (the authorizer cannot tell them from BEGIN).
    void set_access(access a) noexcept {
        const bool ro = a == access::read_only;
        p_.guard->read_only = ro;
        if (ro == query_only_token_) return;
        query_only_token_ = ro;
        if (ro) internal_sql("PRAGMA query_only=1");
        else if (!readonly_txn_) internal_sql("PRAGMA query_only=0");
    }
    libsql::connection& conn() noexcept { return p_.conn; }
    /// The interrupt the current request (HTTP) or the whole session (WebSocket) obeys; nullptr: none.
    void set_stop(const request_interrupt* stop) noexcept { stop_ = stop; }

    // -------------------------------------------------------------------------------------------- requests
    /// Runs a statement whole. budget: the bytes of rows the response may still take (a pipeline's limit, see
    /// service_options::max_response_bytes); rows beyond it fail the statement with RESPONSE_TOO_LARGE.
    hrana::stmt_result execute(const sql_store& store, const hrana::stmt& s, std::size_t* budget = nullptr) {
        std::vector<hrana::column> cols;
        running_stmt run = start(store, s, cols);
        hrana::stmt_result r;
        std::vector<libsql::value> row;
        while (next_row(run, row)) {
            if (budget != nullptr) {
                const std::size_t size = approx_json_size(row);
                if (size > *budget) {
                    run = {};
                    after_statement();
                    fail("RESPONSE_TOO_LARGE", "Response is too large: the result exceeds the server's limit of " +
                                                   std::to_string(c_->opts.max_response_bytes) +
                                                   " bytes (--max-response-bytes); select fewer rows or use a cursor");
                }
                *budget -= size;
            }
            r.rows.push_back(std::move(row));
            row = {};
        }
        auto end = finish(run);
        r.cols = std::move(cols);
        r.affected_row_count = end.affected_row_count;
        r.last_insert_rowid = end.last_insert_rowid;
        r.replication_index = end.replication_index;
        return r;
    }

    /// A statement being stepped (one cursor step, or execute()).
    struct running_stmt {
        libsql::statement st;
        libsql::rows rows;
        bool has_rows = false;    ///< rows are being read (want_rows and a prepared statement)
        bool prepared = false;    ///< false: BEGIN READONLY, already done
        bool insert = false;      ///< an INSERT/REPLACE: reports last_insert_rowid
        std::int64_t before = 0;  ///< total_changes() before it ran
    };

    /// Prepares, binds and starts a statement; cols gets its columns. Throws stmt_failure.
    running_stmt start(const sql_store& store, const hrana::stmt& s, std::vector<hrana::column>& cols) {
        const std::string& sql = store.resolve(s.sql, s.sql_id);
        check_stop();
        p_.guard->denial.clear();
        fresh_schema();
        running_stmt run;
        try {
            if (is_begin_readonly(sql)) {
                begin_readonly();
                after_statement();
                return run;
            }
            auto& conn = p_.conn;
            run.st = prepare_current(sql);
            run.prepared = true;
            run.insert = libsql::detail::remote::classify_statement(sql).insert;
            bind(run.st, s);
            cols = columns_of(run.st);
            run.before = conn.total_changes();
            if (s.want_rows) {
                run.rows = run.st.query();
                run.has_rows = true;
            } else {
                (void)run.st.execute();
            }
            return run;
        } catch (const libsql::error& e) {
            run = {};
            after_statement();
            throw stmt_failure{described(e)};
        } catch (stmt_failure&) {
            run = {};
            after_statement();
            throw;
        }
    }

    /// The next row into out; false at the end. Throws stmt_failure (the statement is then over).
    bool next_row(running_stmt& run, std::vector<libsql::value>& out) {
        if (!run.has_rows) return false;
        try {
            if (!run.rows.next()) {
                run.has_rows = false;
                return false;
            }
            const auto row = run.rows.current();
            const int n = run.rows.column_count();
            out.clear();
            out.reserve(static_cast<std::size_t>(n));
            for (int i = 0; i < n; ++i) out.emplace_back(row.at(i));
            return true;
        } catch (const libsql::error& e) {
            run = {};
            after_statement();
            throw stmt_failure{described(e)};
        }
    }

    struct stmt_end {
        std::uint64_t affected_row_count = 0;
        std::optional<std::int64_t> last_insert_rowid;
        std::optional<std::uint64_t> replication_index;
    };

    /// Ends a statement whose rows were all read (or not wanted).
    stmt_end finish(running_stmt& run) {
        auto& conn = p_.conn;
        stmt_end r;
        try {
            if (!run.prepared) {
                after_statement();
                return r;
            }
            const bool changed_rows = conn.total_changes() != run.before;
            const auto changed = changed_rows ? conn.changes() : 0;
            r.affected_row_count = static_cast<std::uint64_t>(std::max<std::int64_t>(changed, 0));
            // As sqld: an INSERT (or REPLACE, also after WITH) reports the connection's last_insert_rowid, any other
            // statement none. The connection may have served other streams before: an INSERT that inserted nothing
            // reports what this stream's own inserts left (0 on a new stream), as sqld's connection per stream would.
            if (run.insert) {
                if (changed_rows) rowid_ = conn.last_insert_rowid();
                r.last_insert_rowid = rowid_;
            }
            // Once a write is committed: the last committed frame of the current generation (at least this write's).
            if (!run.st.readonly()) wrote_ = true;
            run = {};
            if (wrote_ && c_->repl && conn.is_autocommit()) {
                wrote_ = false;
                try {
                    r.replication_index = c_->repl->committed_frames();
                } catch (const std::exception&) {
                    // Optional information: a WAL that cannot be read shows up on /sync instead.
                }
            }
        } catch (const libsql::error& e) {
            run = {};
            after_statement();
            throw stmt_failure{described(e)};
        }
        after_statement();
        return r;
    }

    void sequence(const sql_store& store, const std::optional<std::string>& sql_text, const std::optional<std::int32_t>& id) {
        const std::string& sql = store.resolve(sql_text, id);
        check_stop();
        p_.guard->denial.clear();
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

    /// Whether a step's condition holds, given the outcomes of the earlier steps.
    bool condition_holds(const hrana::condition& c, const std::vector<std::optional<bool>>& ok) { return eval(c, ok); }

    /// Runs a batch, calling out(step, result-or-error) for every step that ran (skipped steps are not reported).
    template <class Out> void batch(const sql_store& store, const hrana::batch& b, Out&& out, std::size_t* budget = nullptr) {
        std::vector<std::optional<bool>> ok(b.steps.size());
        for (std::size_t i = 0; i < b.steps.size(); ++i) {
            const auto& step = b.steps[i];
            if (step.condition && !eval(*step.condition, ok)) continue;
            try {
                auto r = execute(store, step.stmt, budget);
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

    /// The Hrana error of a failed statement; a refusal by the authorizer says what was refused and why.
    hrana::error described(const libsql::error& e) const {
        auto err = to_hrana(e);
        auto& denial = p_.guard->denial;
        if (!denial.empty() && (err.code == "SQLITE_AUTH" || contains(err.message, "not authorized"))) {
            // A refused function fails its prepare with SQLITE_ERROR: report every refusal alike.
            err.code = "SQLITE_AUTH";
            err.message = denial + " (" + err.message + ")";
        } else if (err.code == "SQLITE_AUTH" && p_.guard->read_only) {
            err.message = "this token grants read-only access; the statement would write (" + err.message + ")";
        } else if (err.code == "SQLITE_READONLY" && query_only_token_) {
            // query_only stopped a write lock (BEGIN IMMEDIATE/EXCLUSIVE) or a write: the token's doing.
            err.code = "SQLITE_AUTH";
            err.message = "this token grants read-only access; the statement would take the write lock (" + err.message + ")";
        }
        denial.clear();
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

    /// Prepares with a current schema: when preparing fails with SQLITE_ERROR (a schema changed by another process
    /// can make it fail, and SQLite retries only some errors itself), reloads the schema and tries once more.
    libsql::statement prepare_current(const std::string& sql) {
        if (c_->opts.attach_namespace) {
            if (auto rewritten = namespace_attach(sql)) {
                struct clear {
                    guard_state& g;
                    ~clear() { g.namespace_attach.clear(); }
                } clearing{*p_.guard};
                p_.guard->namespace_attach = rewritten->second;
                return p_.conn.prepare(rewritten->first);
            }
        }
        try {
            return p_.conn.prepare(sql);
        } catch (const libsql::error& e) {
            if (e.code() != 1 /* SQLITE_ERROR */ || !reload_schema()) throw;
        }
        return p_.conn.prepare(sql);
    }

    /// `ATTACH [DATABASE] 'ns' AS alias` (the name quoted or not) naming an existing namespace becomes, as in sqld,
    /// `ATTACH DATABASE 'file:<its file>?mode=ro' AS "alias"`; returns that SQL and the URI the authorizer is to let
    /// through. Anything else (files, unknown namespaces) is left to the authorizer, which refuses it.
    [[nodiscard]] std::optional<std::pair<std::string, std::string>> namespace_attach(std::string_view sql) const {
        std::size_t i = 0;
        auto skip_space = [&] {
            while (i < sql.size() && std::isspace(static_cast<unsigned char>(sql[i])) != 0) ++i;
        };
        auto word = [&]() -> std::string_view {
            skip_space();
            const std::size_t start = i;
            while (i < sql.size() && (std::isalnum(static_cast<unsigned char>(sql[i])) != 0 || sql[i] == '_' || sql[i] == '-')) ++i;
            return sql.substr(start, i - start);
        };
        auto name = [&]() -> std::optional<std::string_view> {
            skip_space();
            if (i < sql.size() && (sql[i] == '\'' || sql[i] == '"' || sql[i] == '`')) {
                const char q = sql[i++];
                const std::size_t start = i;
                while (i < sql.size() && sql[i] != q) ++i;
                if (i >= sql.size()) return std::nullopt;
                return sql.substr(start, i++ - start);
            }
            auto w = word();
            if (w.empty()) return std::nullopt;
            return w;
        };
        if (!iequal(word(), "attach")) return std::nullopt;
        const std::size_t after_attach = i;
        if (!iequal(word(), "database")) i = after_attach;
        const auto ns = name();
        if (!ns || !iequal(word(), "as")) return std::nullopt;
        const auto alias = name();
        skip_space();
        if (i < sql.size() && sql[i] == ';') ++i;
        skip_space();
        if (!alias || i != sql.size() || alias->find('"') != std::string_view::npos) return std::nullopt;
        const auto path = c_->opts.attach_namespace(*ns);
        if (!path) return std::nullopt;
        // Only where the token may read (the stream's token: owner_, the JWT with auth on).
        if (c_->opts.jwt_public_key &&
            detail::verify_jwt(owner_, *c_->opts.jwt_public_key, std::chrono::system_clock::now(), *ns).granted ==
                access::denied)
            fail("SQLITE_AUTH", "ATTACH of namespace `" + std::string(*ns) + "` refused: this token may not read it");
        std::string uri = "file:";
        static constexpr char hex[] = "0123456789ABCDEF";
        for (const char ch : std::filesystem::absolute(*path).string()) {
            const auto u = static_cast<unsigned char>(ch);
            if (std::isalnum(u) != 0 || ch == '/' || ch == '-' || ch == '_' || ch == '.' || ch == '~') {
                uri += ch;
            } else {
                uri += '%';
                uri += hex[u >> 4];
                uri += hex[u & 15];
            }
        }
        uri += "?mode=ro";
        return std::make_pair("ATTACH DATABASE '" + uri + "' AS \"" + std::string(*alias) + "\"", uri);
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
        if (!query_only_token_) internal_sql("PRAGMA query_only=0");
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
    std::string owner_;
    bool readonly_txn_ = false;
    bool query_only_token_ = false;  ///< query_only is on because the request's token is read-only
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

hrana::batch_result run_batch(db_stream& s, const sql_store& store, const hrana::batch& b, std::size_t* budget = nullptr) {
    hrana::batch_result r;
    r.step_results.resize(b.steps.size());
    r.step_errors.resize(b.steps.size());
    s.batch(store, b, overloaded{
        [&](std::size_t i, hrana::stmt_result&& x) { r.step_results[i] = std::move(x); },
        [&](std::size_t i, hrana::error&& e) { r.step_errors[i] = std::move(e); },
    }, budget);
    return r;
}

/// Steps a cursor's batch one entry at a time: only the row being read is held, so a cursor's memory stays small
/// whatever its result. The stream and the store must outlive it; nothing else may run on the stream meanwhile.
class batch_cursor {
public:
    batch_cursor(db_stream& s, const sql_store& store, hrana::batch b)
        : s_(s), store_(store), b_(std::move(b)), ok_(b_.steps.size()) {}

    /// The next entry; nullopt once the batch is done. Never throws stmt_failure: failures are entries.
    std::optional<hrana::cursor_entry> next() {
        for (;;) {
            if (cur_) {
                const auto step = static_cast<std::uint32_t>(i_);
                try {
                    std::vector<libsql::value> row;
                    if (s_.next_row(*cur_, row)) return hrana::row_entry{std::move(row)};
                    const auto end = s_.finish(*cur_);
                    cur_.reset();
                    ok_[i_++] = true;
                    return hrana::step_end_entry{end.affected_row_count, end.last_insert_rowid};
                } catch (stmt_failure& f) {
                    cur_.reset();
                    ok_[i_++] = false;
                    return hrana::step_error_entry{step, std::move(f.err)};
                }
            }
            if (i_ >= b_.steps.size()) return std::nullopt;
            const auto& step = b_.steps[i_];
            if (step.condition && !s_.condition_holds(*step.condition, ok_)) {
                ++i_;
                continue;
            }
            try {
                std::vector<hrana::column> cols;
                cur_.emplace(s_.start(store_, step.stmt, cols));
                return hrana::step_begin_entry{static_cast<std::uint32_t>(i_), std::move(cols)};
            } catch (stmt_failure& f) {
                ok_[i_] = false;
                return hrana::step_error_entry{static_cast<std::uint32_t>(i_++), std::move(f.err)};
            }
        }
    }

    /// Whether a statement is being stepped (it holds the stream's connection).
    [[nodiscard]] bool running() const noexcept { return cur_.has_value(); }

private:
    db_stream& s_;
    const sql_store& store_;
    hrana::batch b_;
    std::vector<std::optional<bool>> ok_;
    std::size_t i_ = 0;
    std::optional<db_stream::running_stmt> cur_;
};

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
    return std::make_unique<ws_session_impl>(impl_->c, version, enc);
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
