// src/pool/pool.cpp: the connection pool. One mutex guards the core's state; SQL (reset, ping, on_connect) and
// opening or closing connections always run outside it, so a slow statement never stalls other threads' check-outs.
//
// Fairness: a caller that finds no free connection queues as a waiter. A connection checked in while waiters queue
// goes straight to the first of them (never back to the idle list, where a newcomer could take it); a slot freed
// by a discarded connection is likewise granted to the first waiter, who opens the replacement itself.
#include "libsql/pool.hpp"

#include "pool/statement_cache.hpp"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

namespace libsql {
namespace detail {

using clock = std::chrono::steady_clock;

struct pooled_connection {
    pooled_connection(connection c, std::size_t cache_size) : conn(std::move(c)), cache(cache_size) {}
    pooled_connection(const pooled_connection&) = delete;
    pooled_connection& operator=(const pooled_connection&) = delete;
    ~pooled_connection() {
        ping = {};
        query_only_off = {};
        cache.clear();  // statements first, so that close() frees the engine handle now rather than later
        conn.close();
    }

    connection conn;
    statement_cache cache;
    // The pool's own statements, outside the user's cache so that they never take its slots or skew its counters.
    statement ping;
    statement query_only_off;
    clock::time_point idle_since{};
    bool broken = false;
};

class pool_core : public std::enable_shared_from_this<pool_core> {
public:
    pool_core(database db, pool_options options) : db_(std::move(db)), options_(std::move(options)) {
        if (options_.max_size == 0) throw usage_error("pool: max_size must be at least 1");
        if (options_.min_size > options_.max_size) throw usage_error("pool: min_size must not exceed max_size");
    }

    void fill_min() {
        for (std::size_t i = 0; i < options_.min_size; ++i) {
            auto c = open();
            std::lock_guard lk(m_);
            c->idle_since = clock::now();
            idle_.push_back(std::move(c));
            ++total_;
        }
    }

    lease checkout(std::chrono::milliseconds timeout) {
        const auto deadline = clock::now() + timeout;
        std::unique_ptr<pooled_connection> c;
        bool open_new = false;
        std::vector<std::unique_ptr<pooled_connection>> expired;
        {
            std::unique_lock lk(m_);
            collect_expired(expired);
            if (waiters_.empty() && !idle_.empty()) {
                c = std::move(idle_.back());  // the most recently used: its pages are the warmest
                idle_.pop_back();
                ++in_use_;
            } else if (waiters_.empty() && total_ < options_.max_size) {
                ++total_;
                ++in_use_;
                open_new = true;
            } else {
                waiter w;
                waiters_.push_back(&w);
                const bool served = w.cv.wait_until(lk, deadline, [&] { return w.handed || w.slot; });
                if (!served) {
                    const std::size_t waiting = waiters_.size();
                    waiters_.erase(std::find(waiters_.begin(), waiters_.end(), &w));
                    ++timeouts_;
                    const std::size_t busy = in_use_;
                    lk.unlock();
                    expired.clear();
                    throw libsql::timeout(
                        "pool: no connection free after " + std::to_string(timeout.count()) + " ms: " +
                        std::to_string(busy) + " of " + std::to_string(options_.max_size) +
                        " connections busy, " + std::to_string(waiting) + " callers waiting (this one included)");
                }
                // Whoever served us already counted the connection (or the slot) as in use.
                if (w.handed) c = std::move(w.handed);
                else open_new = true;
            }
        }
        expired.clear();  // closed outside the lock

        if (!open_new && !healthy(*c)) {
            // Replaced in place: this caller keeps the slot (and its turn) and opens the replacement itself.
            c.reset();  // closes it
            std::lock_guard lk(m_);
            ++replaced_;
            open_new = true;
        }
        if (open_new) {
            try {
                c = open();
            } catch (...) {
                std::lock_guard lk(m_);
                release_slot_locked();
                throw;
            }
        }
        checkouts_.fetch_add(1, std::memory_order_relaxed);  // an atomic: no second trip through the lock
        return lease(shared_from_this(), std::move(c));
    }

    void checkin(std::unique_ptr<pooled_connection> c) noexcept {
        if (!c->broken) {
            try {
                c->conn.reset();
                // Settings a lease may change and the next holder would not expect (see pool.hpp). Both are cheap
                // on an engine of our own: busy_timeout is a plain C call, the PRAGMA a statement prepared once per
                // connection. Elsewhere they would cost a round trip per check-in for nothing: a remote
                // connection's PRAGMAs live in the server-side stream that reset() just closed (and the server owns
                // the busy timeout); a replica sends PRAGMA query_only to the primary (a stream closed after it),
                // so a lease never changed it on the replica's own file, while its busy_timeout is local.
                const auto t = c->conn.transport();
                if (t != transport::remote) c->conn.busy_timeout(db_.options().busy_timeout);
                if (t == transport::local) {
                    if (!c->query_only_off) c->query_only_off = c->conn.prepare("PRAGMA query_only = OFF");
                    c->query_only_off.execute();
                }
            } catch (...) {
                c->broken = true;
            }
        }
        std::vector<std::unique_ptr<pooled_connection>> expired;
        {
            std::lock_guard lk(m_);
            if (c->broken || closed_) {
                if (c->broken) ++replaced_;
                expired.push_back(std::move(c));
                release_slot_locked();
            } else if (!waiters_.empty()) {
                waiter* w = waiters_.front();
                waiters_.pop_front();
                w->handed = std::move(c);  // stays counted in use: it goes from one lease to the next
                w->cv.notify_one();
            } else {
                c->idle_since = clock::now();
                idle_.push_back(std::move(c));
                --in_use_;
                collect_expired(expired);
            }
        }
        expired.clear();
    }

    std::size_t trim_idle() {
        std::vector<std::unique_ptr<pooled_connection>> expired;
        {
            std::lock_guard lk(m_);
            collect_expired(expired);
        }
        const std::size_t n = expired.size();
        expired.clear();
        return n;
    }

    void shutdown() noexcept {
        std::deque<std::unique_ptr<pooled_connection>> idle;
        {
            std::lock_guard lk(m_);
            closed_ = true;
            idle.swap(idle_);
            total_ -= idle.size();
        }
        idle.clear();
    }

    [[nodiscard]] pool_stats stats() const {
        pool_stats s;
        std::lock_guard lk(m_);
        s.in_use = in_use_;
        s.idle = idle_.size();
        s.waiting = waiters_.size();
        s.checkouts = checkouts_.load(std::memory_order_relaxed);
        s.timeouts = timeouts_;
        s.replaced = replaced_;
        s.cache_hits = cache_hits_.load(std::memory_order_relaxed);
        s.cache_misses = cache_misses_.load(std::memory_order_relaxed);
        return s;
    }

    [[nodiscard]] const pool_options& options() const noexcept { return options_; }

    void count_cache(bool hit) noexcept {
        (hit ? cache_hits_ : cache_misses_).fetch_add(1, std::memory_order_relaxed);
    }

private:
    struct waiter {
        std::condition_variable cv;  // one per waiter: a check-in wakes exactly the caller it serves
        std::unique_ptr<pooled_connection> handed;
        bool slot = false;  // allowed to open a connection of its own
    };

    std::unique_ptr<pooled_connection> open() {
        auto c = std::make_unique<pooled_connection>(db_.connect(), options_.statement_cache_size);
        if (options_.on_connect) options_.on_connect(c->conn);
        return c;
    }

    bool healthy(pooled_connection& c) noexcept {
        switch (options_.health_check) {
        case health_check::none: return true;
        case health_check::passive: return c.conn.is_open();
        case health_check::ping:
            try {
                if (!c.ping) c.ping = c.conn.prepare("SELECT 1");
                (void)c.ping.query_row();
                return true;
            } catch (...) {
                return false;
            }
        }
        return false;
    }

    /// A connection (checked out or being opened) is gone: its slot goes to the first waiter, who opens a new one.
    void release_slot_locked() noexcept {
        --total_;
        --in_use_;
        if (!waiters_.empty() && !closed_) {
            waiter* w = waiters_.front();
            waiters_.pop_front();
            ++total_;
            ++in_use_;
            w->slot = true;
            w->cv.notify_one();
        }
    }

    /// Moves idle connections past idle_timeout (the oldest first) into out, keeping min_size open.
    void collect_expired(std::vector<std::unique_ptr<pooled_connection>>& out) {
        if (options_.idle_timeout.count() <= 0) return;
        const auto limit = clock::now() - options_.idle_timeout;
        // idle_ is in check-in order, so the front is idle longest.
        while (!idle_.empty() && total_ > options_.min_size && idle_.front()->idle_since <= limit) {
            out.push_back(std::move(idle_.front()));
            idle_.pop_front();
            --total_;
        }
    }

    database db_;
    const pool_options options_;

    mutable std::mutex m_;
    std::deque<std::unique_ptr<pooled_connection>> idle_;  // back: most recently checked in
    std::deque<waiter*> waiters_;                          // front: waiting longest
    std::size_t total_ = 0;   // open or being opened
    std::size_t in_use_ = 0;  // checked out or being opened for a caller
    std::atomic<std::uint64_t> checkouts_{0};
    std::uint64_t timeouts_ = 0;
    std::uint64_t replaced_ = 0;
    bool closed_ = false;  // the pool object is gone: connections checked in are closed
    std::atomic<std::uint64_t> cache_hits_{0};
    std::atomic<std::uint64_t> cache_misses_{0};
};

} // namespace detail

// --- lease

lease::lease() noexcept = default;

lease::lease(std::shared_ptr<detail::pool_core> core, std::unique_ptr<detail::pooled_connection> c) noexcept
    : core_(std::move(core)), c_(std::move(c)), conn_(&c_->conn) {}

lease::lease(lease&& other) noexcept
    : core_(std::move(other.core_)), c_(std::move(other.c_)), conn_(std::exchange(other.conn_, nullptr)) {}

lease& lease::operator=(lease&& other) noexcept {
    if (this != &other) {
        release();
        core_ = std::move(other.core_);
        c_ = std::move(other.c_);
        conn_ = std::exchange(other.conn_, nullptr);
    }
    return *this;
}

lease::~lease() { release(); }

connection& lease::get() const {
    if (!conn_) [[unlikely]] throw usage_error("pool lease: this lease is empty (moved from or released)");
    return *conn_;
}

statement lease::cached(sql_text sql) {
    (void)get();
    bool hit = false;
    statement st = c_->cache.get(c_->conn, sql, hit);
    core_->count_cache(hit);
    // A hit may still hold the previous use's bindings or an unfinished run.
    st.reset();
    st.clear_bindings();
    return st;
}

void lease::discard() noexcept {
    if (c_) c_->broken = true;
}

void lease::release() noexcept {
    if (!c_) return;
    conn_ = nullptr;
    auto core = std::move(core_);
    core->checkin(std::move(c_));
}

// --- pool

pool::pool(database db, pool_options options)
    : core_(std::make_shared<detail::pool_core>(std::move(db), std::move(options))) {
    core_->fill_min();
}

pool::pool(pool&&) noexcept = default;

pool& pool::operator=(pool&& other) noexcept {
    if (this != &other) {
        if (core_) core_->shutdown();
        core_ = std::move(other.core_);
    }
    return *this;
}

pool::~pool() {
    if (core_) core_->shutdown();
}

lease pool::checkout() { return checkout(core().options().checkout_timeout); }

lease pool::checkout(std::chrono::milliseconds timeout) { return core().checkout(timeout); }

pool_stats pool::stats() const { return core().stats(); }

const pool_options& pool::options() const { return core().options(); }

detail::pool_core& pool::core() const {
    if (!core_) [[unlikely]] throw usage_error("pool: this pool was moved from");
    return *core_;
}

std::size_t pool::trim_idle() { return core().trim_idle(); }

} // namespace libsql
