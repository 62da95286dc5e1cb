// The connection pool and its statement cache: check-out and check-in, time-outs, fairness, lifetimes, reset on
// check-in, broken connections, health checks, idle trimming, the cache, and a multi-threaded load test.
#include "libsql/pool.hpp"

#include "support/temp_files.hpp"
#include "libsql/database.hpp"
#include "libsql/error.hpp"
#include "libsql/hooks.hpp"
#include "libsql/pragma.hpp"

#include <sqlite3.h>

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

using namespace std::chrono_literals;

namespace {

using libsql::test::temp_db_file;
using libsql::test::temp_dir;

libsql::pool_options sized(std::size_t max_size) {
    libsql::pool_options o;
    o.max_size = max_size;
    return o;
}

/// Statements alive on a connection, the engine's own count.
int live_statements(libsql::connection& c) {
    int n = 0;
    for (sqlite3_stmt* st = sqlite3_next_stmt(c.native_handle(), nullptr); st; st = sqlite3_next_stmt(c.native_handle(), st)) ++n;
    return n;
}

/// Waits (briefly) until the pool reports this many waiting callers.
void wait_for_waiters(const libsql::pool& p, std::size_t n) {
    const auto until = std::chrono::steady_clock::now() + 5s;
    while (p.stats().waiting < n && std::chrono::steady_clock::now() < until) std::this_thread::sleep_for(1ms);
    ASSERT_EQ(p.stats().waiting, n);
}

TEST(pool, checkout_and_checkin_reuse_the_connection) {
    temp_db_file f;
    libsql::pool p(libsql::database(f.path()), sized(2));
    sqlite3* first = nullptr;
    {
        auto c = p.checkout();
        ASSERT_TRUE(c);
        c->execute("CREATE TABLE t(x)");
        (*c).execute("INSERT INTO t VALUES (1)");
        first = c->native_handle();
        const auto s = p.stats();
        EXPECT_EQ(s.in_use, 1u);
        EXPECT_EQ(s.idle, 0u);
    }
    auto s = p.stats();
    EXPECT_EQ(s.in_use, 0u);
    EXPECT_EQ(s.idle, 1u);
    EXPECT_EQ(s.checkouts, 1u);
    auto c = p.checkout();
    EXPECT_EQ(c->native_handle(), first);
    EXPECT_EQ(c->query_value<std::int64_t>("SELECT count(*) FROM t"), 1);
    // Move-only: the moved-from lease is empty and says so.
    auto moved = std::move(c);
    EXPECT_FALSE(c);  // NOLINT(bugprone-use-after-move): checking the moved-from state is the point
    EXPECT_THROW((void)c.get(), libsql::usage_error);
    moved.release();
    EXPECT_FALSE(moved);
    EXPECT_EQ(p.stats().idle, 1u);
}

TEST(pool, min_size_connections_open_up_front) {
    temp_db_file f;
    auto o = sized(3);
    o.min_size = 2;
    libsql::pool p(libsql::database(f.path()), o);
    EXPECT_EQ(p.stats().idle, 2u);
    o.min_size = 4;
    EXPECT_THROW(libsql::pool(libsql::database(f.path()), o), libsql::usage_error);
}

TEST(pool, timeout_says_how_many_are_busy_and_waiting) {
    temp_db_file f;
    libsql::pool p(libsql::database(f.path()), sized(1));
    auto held = p.checkout();
    // Another caller already waiting, so the message must count two.
    std::thread other([&] { EXPECT_THROW((void)p.checkout(400ms), libsql::timeout); });
    wait_for_waiters(p, 1);
    try {
        (void)p.checkout(30ms);
        FAIL() << "expected libsql::timeout";
    } catch (const libsql::timeout& e) {
        const std::string what = e.what();
        EXPECT_NE(what.find("1 of 1 connections busy"), std::string::npos) << what;
        EXPECT_NE(what.find("2 callers waiting"), std::string::npos) << what;
    }
    other.join();
    const auto s = p.stats();
    EXPECT_EQ(s.timeouts, 2u);
    EXPECT_EQ(s.waiting, 0u);
    EXPECT_EQ(s.in_use, 1u);
}

TEST(pool, waiters_are_served_in_arrival_order) {
    temp_db_file f;
    libsql::pool p(libsql::database(f.path()), sized(1));
    auto held = p.checkout();
    std::mutex m;
    std::vector<int> order;
    std::vector<std::thread> threads;
    constexpr int n = 6;
    for (int i = 0; i < n; ++i) {
        threads.emplace_back([&, i] {
            auto c = p.checkout();
            {
                std::lock_guard lk(m);
                order.push_back(i);
            }
            std::this_thread::sleep_for(1ms);
        });
        wait_for_waiters(p, static_cast<std::size_t>(i) + 1);  // thread i queued before thread i+1 starts
    }
    held.release();
    for (auto& t : threads) t.join();
    ASSERT_EQ(order.size(), static_cast<std::size_t>(n));
    for (int i = 0; i < n; ++i) EXPECT_EQ(order[static_cast<std::size_t>(i)], i);
}

TEST(pool, leases_outlive_the_pool) {
    temp_db_file f;
    auto p = std::make_unique<libsql::pool>(libsql::database(f.path()), sized(2));
    auto a = p->checkout();
    {
        auto idle = p->checkout();  // returned to the idle list, closed when the pool goes
    }
    p.reset();
    a->execute("CREATE TABLE t(x)");
    a->execute("INSERT INTO t VALUES (1)");
    EXPECT_EQ(a->query_value<std::int64_t>("SELECT count(*) FROM t"), 1);
    auto st = a.cached("SELECT x FROM t");
    EXPECT_EQ(st.query_row().get<std::int64_t>(0), 1);
    a.release();  // closes the connection: no pool to return it to
    EXPECT_THROW((void)st.query_row(), libsql::usage_error);
}

TEST(pool, checkin_rolls_back_and_restores_settings) {
    temp_db_file f;
    libsql::pool p(libsql::database(f.path()), sized(1));
    {
        auto c = p.checkout();
        c->execute("CREATE TABLE t(x)");
        c->execute("BEGIN");
        c->execute("INSERT INTO t VALUES (1)");
        auto st = c.cached("SELECT x FROM t");
        auto r = st.query();
        (void)r.begin();  // a statement left mid-run
        c->busy_timeout(1ms);
        c->execute("PRAGMA query_only = ON");
    }
    auto c = p.checkout();
    EXPECT_TRUE(c->is_autocommit());
    EXPECT_EQ(c->query_value<std::int64_t>("SELECT count(*) FROM t"), 0);
    EXPECT_EQ(c->query_value<std::int64_t>("PRAGMA query_only"), 0);
    EXPECT_EQ(c->query_value<std::int64_t>("PRAGMA busy_timeout"), 5000);
    c->execute("INSERT INTO t VALUES (2)");  // writable again
}

TEST(pool, broken_connections_are_replaced) {
    temp_db_file f;
    libsql::pool p(libsql::database(f.path()), sized(1));
    {
        auto c = p.checkout();
        c->close();  // reset at check-in fails: the connection is broken
    }
    auto s = p.stats();
    EXPECT_EQ(s.replaced, 1u);
    EXPECT_EQ(s.idle, 0u);
    EXPECT_EQ(s.in_use, 0u);
    {
        auto c = p.checkout();
        EXPECT_TRUE(c->is_open());
        c->execute("CREATE TABLE t(x)");
        c.discard();
    }
    s = p.stats();
    EXPECT_EQ(s.replaced, 2u);
    EXPECT_EQ(s.idle, 0u);
    auto c = p.checkout();
    EXPECT_EQ(c->query_value<std::int64_t>("SELECT count(*) FROM t"), 0);
}

TEST(pool, slot_of_a_broken_connection_goes_to_a_waiter) {
    temp_db_file f;
    libsql::pool p(libsql::database(f.path()), sized(1));
    auto held = p.checkout();
    std::thread waiter([&] {
        auto c = p.checkout(5s);
        EXPECT_EQ(c->query_value<std::int64_t>("SELECT 1"), 1);
    });
    wait_for_waiters(p, 1);
    held.discard();
    held.release();
    waiter.join();
    EXPECT_EQ(p.stats().replaced, 1u);
}

/// Leaves a connection open but unable to run SELECT: only a ping notices.
void poison(libsql::connection& c) {
    c.authorizer([](const libsql::authorizer_request& r) {
        return r.action == libsql::authorizer_action::select ? libsql::authorizer_result::deny
                                                             : libsql::authorizer_result::allow;
    });
}

TEST(pool, ping_health_check_replaces_a_failing_connection) {
    temp_db_file f;
    auto o = sized(1);
    o.health_check = libsql::health_check::ping;
    libsql::pool p(libsql::database(f.path()), o);
    {
        auto c = p.checkout();
        poison(*c);
    }
    auto c = p.checkout();
    EXPECT_EQ(c->query_value<std::int64_t>("SELECT 1"), 1);
    EXPECT_EQ(p.stats().replaced, 1u);
}

TEST(pool, passive_health_check_only_checks_open) {
    temp_db_file f;
    libsql::pool p(libsql::database(f.path()), sized(1));
    {
        auto c = p.checkout();
        poison(*c);
    }
    auto c = p.checkout();
    EXPECT_THROW((void)c->query_value<std::int64_t>("SELECT 1"), libsql::auth_error);
    EXPECT_EQ(p.stats().replaced, 0u);
}

TEST(pool, idle_timeout_trims_to_min_size) {
    temp_db_file f;
    auto o = sized(4);
    o.min_size = 1;
    o.idle_timeout = 40ms;
    libsql::pool p(libsql::database(f.path()), o);
    {
        std::vector<libsql::lease> all;
        for (int i = 0; i < 4; ++i) all.push_back(p.checkout());
        EXPECT_EQ(p.stats().in_use, 4u);
    }
    EXPECT_EQ(p.stats().idle, 4u);
    EXPECT_EQ(p.trim_idle(), 0u);  // not idle long enough yet
    std::this_thread::sleep_for(80ms);
    EXPECT_EQ(p.trim_idle(), 3u);
    EXPECT_EQ(p.stats().idle, 1u);
    std::this_thread::sleep_for(80ms);
    EXPECT_EQ(p.trim_idle(), 0u);  // min_size stays
    auto c = p.checkout();
    EXPECT_EQ(c->query_value<std::int64_t>("SELECT 1"), 1);
}

// --- statement cache

TEST(pool_statement_cache, a_hit_never_prepares_again) {
    temp_db_file f;
    libsql::pool p(libsql::database(f.path()), sized(1));
    sqlite3_stmt* handle = nullptr;
    {
        auto c = p.checkout();
        c->execute("CREATE TABLE t(x)");
        auto a = c.cached("INSERT INTO t VALUES (?)");
        a.execute(1);
        handle = a.native_handle();
        auto b = c.cached("INSERT INTO t VALUES (?)");
        EXPECT_EQ(b.native_handle(), handle);
        b.execute(2);
    }
    auto c = p.checkout();  // the same pooled connection, so the same cache
    auto again = c.cached("INSERT INTO t VALUES (?)");
    EXPECT_EQ(again.native_handle(), handle);
    const auto s = p.stats();
    EXPECT_EQ(s.cache_misses, 1u);
    EXPECT_EQ(s.cache_hits, 2u);
    EXPECT_EQ(c->query_value<std::int64_t>("SELECT count(*) FROM t"), 2);
}

TEST(pool_statement_cache, evicts_least_recently_used_and_finalizes) {
    temp_db_file f;
    auto o = sized(1);
    o.statement_cache_size = 2;
    libsql::pool p(libsql::database(f.path()), o);
    auto c = p.checkout();
    const int base = live_statements(*c);
    (void)c.cached("SELECT 1");
    (void)c.cached("SELECT 2");
    EXPECT_EQ(live_statements(*c), base + 2);
    (void)c.cached("SELECT 1");  // hit: now "SELECT 2" is least recently used
    (void)c.cached("SELECT 3");  // evicts "SELECT 2", which nobody holds: finalized
    EXPECT_EQ(live_statements(*c), base + 2);
    auto s = p.stats();
    EXPECT_EQ(s.cache_hits, 1u);
    EXPECT_EQ(s.cache_misses, 3u);
    (void)c.cached("SELECT 1");  // still cached
    EXPECT_EQ(p.stats().cache_hits, 2u);
    (void)c.cached("SELECT 2");  // evicted before: prepared again
    EXPECT_EQ(p.stats().cache_misses, 4u);
    // A statement the caller holds survives its eviction and finalizes when released.
    auto kept = c.cached("SELECT 4");
    (void)c.cached("SELECT 5");
    (void)c.cached("SELECT 6");
    EXPECT_EQ(kept.query_row().get<std::int64_t>(0), 4);
    EXPECT_EQ(live_statements(*c), base + 3);
    kept = libsql::statement();
    EXPECT_EQ(live_statements(*c), base + 2);
}

TEST(pool_statement_cache, size_zero_turns_it_off) {
    temp_db_file f;
    auto o = sized(1);
    o.statement_cache_size = 0;
    libsql::pool p(libsql::database(f.path()), o);
    auto c = p.checkout();
    const int base = live_statements(*c);
    EXPECT_EQ(c.cached("SELECT 7").query_row().get<std::int64_t>(0), 7);
    EXPECT_EQ(c.cached("SELECT 7").query_row().get<std::int64_t>(0), 7);
    EXPECT_EQ(live_statements(*c), base);
    EXPECT_EQ(p.stats().cache_hits, 0u);
    EXPECT_EQ(p.stats().cache_misses, 2u);
}

TEST(pool_statement_cache, handed_out_reset_with_bindings_cleared) {
    temp_db_file f;
    libsql::pool p(libsql::database(f.path()), sized(1));
    auto c = p.checkout();
    c->execute_batch("CREATE TABLE t(x); INSERT INTO t VALUES (1), (2), (3);");
    auto st = c.cached("SELECT x FROM t WHERE x >= ? ORDER BY x");
    st.bind(1, 2);
    auto r = st.query();
    ASSERT_TRUE(r.next());  // the run is now mid-way
    // Asked for again mid-run: reset, and the old binding gone (unbound parameters are NULL).
    auto again = c.cached("SELECT x FROM t WHERE x >= ? ORDER BY x");
    EXPECT_EQ(again.expanded_sql(), "SELECT x FROM t WHERE x >= NULL ORDER BY x");
    std::int64_t sum = 0;
    for (auto row : again.query(1)) sum += row.get<std::int64_t>(0);
    EXPECT_EQ(sum, 6);
}

TEST(pool_statement_cache, statements_survive_schema_changes) {
    temp_db_file f;
    libsql::pool p(libsql::database(f.path()), sized(2));
    auto c = p.checkout();
    c->execute("CREATE TABLE t(a)");
    c->execute("INSERT INTO t VALUES (1)");
    EXPECT_EQ(c.cached("SELECT * FROM t").query_row().size(), 1);
    auto insert_handle = c.cached("INSERT INTO t(a) VALUES (?)").native_handle();

    // ALTER TABLE on the same connection.
    c->execute("ALTER TABLE t ADD COLUMN b DEFAULT 'x'");
    auto r = c.cached("SELECT * FROM t").query_row();
    ASSERT_EQ(r.size(), 2);
    EXPECT_EQ(r.get<std::string>(1), "x");
    auto ins = c.cached("INSERT INTO t(a) VALUES (?)");
    EXPECT_EQ(ins.native_handle(), insert_handle);
    ins.execute(2);

    // DROP and CREATE from another pooled connection.
    {
        auto other = p.checkout();
        other->execute_batch("DROP TABLE t; CREATE TABLE t(a, b, c); INSERT INTO t VALUES (10, 20, 30);");
    }
    auto r2 = c.cached("SELECT * FROM t").query_row();
    ASSERT_EQ(r2.size(), 3);
    EXPECT_EQ(r2.get<std::int64_t>(2), 30);
    c.cached("INSERT INTO t(a) VALUES (?)").execute(11);
    EXPECT_EQ(c->query_value<std::int64_t>("SELECT count(*) FROM t"), 2);

    // A renamed column: the cached statement reports the new name.
    c->execute("ALTER TABLE t RENAME COLUMN c TO d");
    auto r3 = c.cached("SELECT * FROM t ORDER BY a").query_row();
    EXPECT_EQ(r3.get<std::int64_t>("d"), 30);

    // A statement whose table vanished fails cleanly, and works again once it is back.
    c->execute("DROP TABLE t");
    EXPECT_THROW((void)c.cached("SELECT * FROM t").query_row(), libsql::sql_error);
    c->execute("CREATE TABLE t(z)");
    c->execute("INSERT INTO t VALUES (5)");
    EXPECT_EQ(c.cached("SELECT * FROM t").query_row().get<std::int64_t>(0), 5);
    EXPECT_EQ(p.stats().cache_misses, 3u);
}

// --- load

TEST(pool_load, sixteen_threads_through_four_connections_on_wal) {
    temp_dir dir;
    const std::string path = dir.file("load.db");
    {
        libsql::database db(path);
        auto c = db.connect();
        (void)libsql::pragma::set_journal_mode(c, libsql::pragma::journal_mode::wal);
        c.execute("CREATE TABLE items(thread INTEGER NOT NULL, n INTEGER NOT NULL)");
    }
    auto o = sized(4);
    o.checkout_timeout = 20s;
    o.on_connect = [](libsql::connection& c) { libsql::pragma::set_synchronous(c, libsql::pragma::synchronous::normal); };
    libsql::pool p(libsql::database(path), o);

    constexpr int threads = 16;
    constexpr int ops = 500;
    std::atomic<int> errors{0};
    std::mutex first_error_m;
    std::string first_error;
    std::vector<std::thread> workers;
    for (int t = 0; t < threads; ++t) {
        workers.emplace_back([&, t] {
            try {
                for (int i = 0; i < ops; ++i) {
                    auto c = p.checkout();
                    switch (i % 4) {
                    case 0: {  // a transaction of two writes
                        auto tx = c->transaction(libsql::transaction_behavior::immediate);
                        auto ins = c.cached("INSERT INTO items(thread, n) VALUES (?, ?)");
                        ins.execute(t, i);
                        ins.execute(t, i + 1);
                        tx.commit();
                        break;
                    }
                    case 1:
                        c.cached("INSERT INTO items(thread, n) VALUES (?, ?)").execute(t, i);
                        break;
                    default: {
                        const auto mine = c.cached("SELECT count(*) FROM items WHERE thread = ?").query_row(t).get<std::int64_t>(0);
                        const std::int64_t done = (i / 4) * 3 + (i % 4 >= 1 ? 2 : 0) + (i % 4 >= 2 ? 1 : 0);
                        if (mine != done) throw std::runtime_error("thread " + std::to_string(t) + " saw " + std::to_string(mine) + " rows, expected " + std::to_string(done));
                        break;
                    }
                    }
                }
            } catch (const std::exception& e) {
                ++errors;
                std::lock_guard lk(first_error_m);
                if (first_error.empty()) first_error = e.what();
            }
        });
    }
    for (auto& w : workers) w.join();
    EXPECT_EQ(errors.load(), 0) << first_error;
    auto c = p.checkout();
    EXPECT_EQ(c->query_value<std::int64_t>("SELECT count(*) FROM items"), threads * (ops / 4) * 3);
    EXPECT_EQ(c->query_value<std::int64_t>("SELECT count(DISTINCT thread) FROM items"), threads);
    const auto s = p.stats();
    EXPECT_EQ(s.checkouts, static_cast<std::uint64_t>(threads * ops + 1));
    EXPECT_EQ(s.timeouts, 0u);
    EXPECT_EQ(s.replaced, 0u);
    EXPECT_EQ(s.in_use, 1u);
    EXPECT_LE(s.idle, 3u);
    EXPECT_EQ(s.cache_hits + s.cache_misses, static_cast<std::uint64_t>(threads * ops));
    EXPECT_LE(s.cache_misses, 8u);  // two statements per pooled connection, at most four connections
}

} // namespace

namespace {

TEST(pool_load, oversubscribed_callers_get_typed_timeouts_only) {
    temp_db_file f;
    auto o = sized(2);
    o.checkout_timeout = 1ms;
    libsql::pool p(libsql::database(f.path()), o);
    {
        auto c = p.checkout();
        c->execute("CREATE TABLE hits(n)");
    }
    constexpr int threads = 8;
    constexpr int ops = 50;
    std::atomic<int> timeouts{0};
    std::atomic<int> done{0};
    std::atomic<int> other_errors{0};
    std::vector<std::thread> workers;
    for (int t = 0; t < threads; ++t) {
        workers.emplace_back([&] {
            for (int i = 0; i < ops; ++i) {
                try {
                    auto c = p.checkout();
                    c.cached("INSERT INTO hits VALUES (1)").execute();
                    std::this_thread::sleep_for(200us);  // hold it, so that others queue and time out
                    ++done;
                } catch (const libsql::timeout&) {
                    ++timeouts;
                } catch (...) {
                    ++other_errors;
                }
            }
        });
    }
    for (auto& w : workers) w.join();
    EXPECT_EQ(other_errors.load(), 0);
    EXPECT_EQ(done.load() + timeouts.load(), threads * ops);
    // However the threads were scheduled: with both connections held, a third caller times out.
    {
        auto a = p.checkout();
        auto b = p.checkout();
        EXPECT_THROW((void)p.checkout(), libsql::timeout);
        ++timeouts;
    }
    const auto s = p.stats();
    EXPECT_EQ(s.timeouts, static_cast<std::uint64_t>(timeouts.load()));
    EXPECT_EQ(s.in_use, 0u);
    EXPECT_EQ(s.waiting, 0u);
    auto c = p.checkout(5s);
    EXPECT_EQ(c->query_value<std::int64_t>("SELECT count(*) FROM hits"), done.load());
}

} // namespace
