// libsql/pool.hpp: a pool of connections to one database, shared between threads, with a statement cache per
// connection.
//
//   libsql::pool pool(libsql::database("app.db"), {.max_size = 8});
//   {
//       auto conn = pool.checkout();                       // waits up to checkout_timeout, then libsql::timeout
//       auto st = conn.cached("SELECT name FROM users WHERE id = ?");  // prepared once per pooled connection
//       auto name = st.query_row(42).get<std::string>(0);
//   }                                                      // the connection goes back to the pool here
//
// Lifetimes: the pool's state lives in a core that every lease shares, so a lease may outlive the pool object; its
// connection is then closed when the lease ends instead of being kept.
//
// Check-in (when a lease ends) returns the connection to a clean state: connection::reset() (an open transaction is
// rolled back, every statement of the connection reset), and these settings are restored because a lease may
// reasonably change them: busy_timeout (back to the database's connect_options value) and PRAGMA query_only (off).
// That is for local connections; a replica restores busy_timeout only (its PRAGMAs go to the primary), and a remote
// connection nothing (each statement outside a transaction runs on a fresh server stream, so no setting outlives it).
// Anything else set during a lease persists (hooks, other PRAGMAs, temp tables, attached databases): configure
// connections in pool_options::on_connect instead. A connection whose reset fails, or that the holder marked with
// lease::discard(), is closed and replaced; it is never handed out again.
#pragma once

#include "libsql/connection.hpp"
#include "libsql/database.hpp"
#include "libsql/statement.hpp"

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>

namespace libsql {

/// What check-out verifies before it hands out a connection that was already open.
enum class health_check : std::uint8_t {
    none,     ///< nothing: fastest; a broken connection shows on first use
    passive,  ///< the connection is still open (no round trip)
    ping,     ///< runs "SELECT 1"; a failure closes the connection and check-out opens a replacement
};

struct pool_options {
    /// Opened when the pool is made and kept open however long they stay idle.
    std::size_t min_size = 0;
    /// The most connections open at once (checked out plus idle); at least 1.
    std::size_t max_size = 4;
    /// How long checkout() waits for a connection before it throws libsql::timeout.
    std::chrono::milliseconds checkout_timeout{5000};
    libsql::health_check health_check = health_check::passive;
    /// Idle connections beyond min_size are closed once idle this long; 0 keeps them. Checked at check-out,
    /// check-in and trim_idle() (the pool has no thread of its own).
    std::chrono::milliseconds idle_timeout{0};
    /// Statements kept per connection by lease::cached(), least recently used evicted first; 0 turns caching off.
    std::size_t statement_cache_size = 64;
    /// Runs on each new connection before its first check-out (PRAGMAs, hooks, functions). An exception fails the
    /// check-out that opened the connection.
    std::function<void(connection&)> on_connect;
};

/// A snapshot of the pool's counters.
struct pool_stats {
    std::size_t in_use = 0;          ///< checked out now (including connections being opened for a caller)
    std::size_t idle = 0;            ///< open and free
    std::size_t waiting = 0;         ///< callers queued in checkout()
    std::uint64_t checkouts = 0;     ///< successful check-outs since the pool was made
    std::uint64_t timeouts = 0;      ///< check-outs that gave up with libsql::timeout
    std::uint64_t replaced = 0;      ///< connections closed because they broke or failed a health check
    std::uint64_t cache_hits = 0;    ///< lease::cached() calls served without preparing
    std::uint64_t cache_misses = 0;  ///< lease::cached() calls that prepared
};

namespace detail {
class pool_core;
struct pooled_connection;
} // namespace detail

/// One checked-out connection. Move-only; ends by returning the connection to the pool (or closing it when the pool
/// is gone or the connection broke). Used by one thread at a time, like a connection.
class lease {
public:
    lease() noexcept;
    lease(lease&& other) noexcept;
    lease& operator=(lease&& other) noexcept;
    lease(const lease&) = delete;
    lease& operator=(const lease&) = delete;
    ~lease();

    [[nodiscard]] connection& operator*() const { return get(); }
    [[nodiscard]] connection* operator->() const { return &get(); }
    [[nodiscard]] connection& get() const;
    [[nodiscard]] explicit operator bool() const noexcept { return conn_ != nullptr; }

    /// A statement for this SQL from the connection's cache, prepared only on a miss. It comes reset with its
    /// bindings cleared; a second cached() call for the same text hands out the same statement (and resets it), so
    /// finish with one before asking again. Holding the returned statement while it is evicted is safe (the
    /// eviction only drops the cache's share; the statement is finalized when the last holder lets go), but do not
    /// keep it past the lease: the connection and its cache then belong to the next holder, maybe on another thread.
    [[nodiscard]] statement cached(sql_text sql);
    /// Marks the connection broken: at check-in it is closed and replaced instead of reused.
    void discard() noexcept;
    /// Returns the connection now; the lease becomes empty.
    void release() noexcept;

private:
    friend class pool;
    friend class detail::pool_core;
    lease(std::shared_ptr<detail::pool_core> core, std::unique_ptr<detail::pooled_connection> c) noexcept;

    std::shared_ptr<detail::pool_core> core_;
    std::unique_ptr<detail::pooled_connection> c_;
    connection* conn_ = nullptr;  // into *c_, kept so that operator-> stays inline-cheap
};

/// A pool of connections to one database. Thread-safe: checkout(), stats() and trim_idle() may be called from any
/// thread. Waiting callers are served strictly in arrival order.
class pool {
public:
    /// Opens options.min_size connections at once (their failure throws here).
    explicit pool(database db, pool_options options = {});
    pool(pool&&) noexcept;
    pool& operator=(pool&&) noexcept;
    pool(const pool&) = delete;
    pool& operator=(const pool&) = delete;
    /// Closes the idle connections; leases still out keep working and close theirs when they end. No other thread
    /// may be inside checkout() at the time (as for any object being destroyed).
    ~pool();

    /// A connection, waiting up to options().checkout_timeout; libsql::timeout says how many are busy and how
    /// many callers wait.
    [[nodiscard]] lease checkout();
    [[nodiscard]] lease checkout(std::chrono::milliseconds timeout);

    [[nodiscard]] pool_stats stats() const;
    [[nodiscard]] const pool_options& options() const;
    /// Closes idle connections past idle_timeout, keeping min_size open; returns how many it closed.
    std::size_t trim_idle();

private:
    [[nodiscard]] detail::pool_core& core() const;

    std::shared_ptr<detail::pool_core> core_;
};

} // namespace libsql
