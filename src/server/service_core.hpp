// Inside libsql serve's service: what the service (service.cpp), its streams (db_stream.hpp) and its WebSocket
// sessions (ws_session.cpp) share. `core` owns the database, the connection pool, the checkpoint gate and the
// registries of live streams and sessions. Not a public header.
#pragma once

#include "hrana/protocol.hpp"
#include "libsql/connection.hpp"
#include "libsql/database.hpp"
#include "server/replication.hpp"
#include "server/service.hpp"
#include "server/sql_policy.hpp"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace libsql::server::detail {

using steady = std::chrono::steady_clock;

/// Responses from this size on make the sweep trim the heap.
inline constexpr std::size_t large_response = 1024 * 1024;

template <class... F> struct overloaded : F... { using F::operator()...; };
template <class... F> overloaded(F...) -> overloaded<F...>;

/// A request that failed with a Hrana error (a result of type "error", not an HTTP failure).
struct stmt_failure {
    hrana::error err;
};

/// Throws stmt_failure with this Hrana error code and message.
[[noreturn]] void fail(std::string code, std::string message);

[[nodiscard]] inline bool contains(std::string_view text, std::string_view what) { return text.find(what) != std::string_view::npos; }

/// A library error as Hrana reports it: SQLite failures by their primary code name, usage errors by sqld's names.
[[nodiscard]] hrana::error to_hrana(const libsql::error& e);

/// The Hrana error of a statement stopped by request_interrupt or service::interrupt_running().
[[noreturn]] void fail_interrupted(bool stopping);

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

struct pooled {
    libsql::connection conn;
    std::shared_ptr<guard_state> guard;
    std::uint64_t schema_epoch = 0;  ///< core::schema_epoch when this connection's schema was last known current
};


class db_stream;
class ws_session_impl;

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

    explicit core(service_options o);

    /// PRAGMA wal_checkpoint(TRUNCATE) on the keeper; whether the WAL is now empty.
    bool truncate_wal();

    /// Ends the generation when due (or forced) and the database is quiet.
    bool try_checkpoint(bool force);

    bool all_streams_quiet();  // below db_stream

    /// Why a new stream for this token is refused, or nothing: max_streams streams (HTTP and WebSocket) are open
    /// (global: true), or the token holds max_streams_per_token (global: false). Refused until some close or expire.
    struct stream_refusal {
        bool global;
        std::string message;
    };
    std::optional<stream_refusal> stream_limit_reached(std::string_view owner);
    void interrupt_all() noexcept;
    bool any_stream_in_transaction();

    static connect_options make_options(const service_options& so);

    [[nodiscard]] pooled open() const;

    pooled acquire();

    /// Rolls back what the connection has open and keeps it for reuse when its state is clean.
    void release(pooled p) noexcept;

    void clear_pool() noexcept;
};

/// A WebSocket session of the service (ws_session.cpp).
[[nodiscard]] std::unique_ptr<ws_session> make_ws_session(std::shared_ptr<core> c, int version, encoding enc);
/// Rolls back and frees the streams of every live WebSocket session (service shutdown).
void shutdown_sessions(core& c) noexcept;

} // namespace libsql::server::detail
