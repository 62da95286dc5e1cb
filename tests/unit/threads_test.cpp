// Threads: interrupt() from another thread, and connections of one database used from several threads at once.
#include "libsql/connection.hpp"

#include "support/temp_files.hpp"
#include "libsql/database.hpp"

#include <gtest/gtest.h>

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

using namespace std::chrono_literals;

namespace {

using libsql::test::temp_db_file;
using libsql::test::temp_dir;

using clock_type = std::chrono::steady_clock;

constexpr int sqlite_interrupt = 9;

/// Counts forever: only an interrupt ends it.
constexpr const char* endless_count = "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT count(*) FROM c";
constexpr const char* endless_rows = "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT x FROM c";

/// Waits for done; if an interrupt was lost, keeps interrupting so that the test fails instead of hanging.
bool wait_or_force(const std::atomic<bool>& done, libsql::connection& conn, std::chrono::milliseconds patience) {
    const auto deadline = clock_type::now() + patience;
    while (!done.load() && clock_type::now() < deadline) std::this_thread::sleep_for(1ms);
    if (done.load()) return true;
    while (!done.load()) {
        conn.interrupt();
        std::this_thread::sleep_for(10ms);
    }
    return false;
}

double to_ms(clock_type::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

} // namespace

// The interrupt test: a query that never ends by itself stops, with libsql::interrupted, within 100 ms of the
// interrupt() call made from another thread.
TEST(Threads, InterruptStopsALongQueryFromAnotherThreadQuickly) {
    libsql::database db(":memory:");
    auto conn = db.connect();
    std::atomic<bool> started{false};
    std::atomic<bool> done{false};
    std::exception_ptr failure;
    clock_type::time_point thrown_at{};
    std::int64_t result = -1;

    std::thread worker([&] {
        started = true;
        try {
            result = conn.query_value<std::int64_t>(endless_count);
        } catch (...) {
            thrown_at = clock_type::now();
            failure = std::current_exception();
        }
        done = true;
    });
    while (!started.load()) std::this_thread::yield();
    std::this_thread::sleep_for(100ms);  // long enough for the query to be well inside the engine
    ASSERT_FALSE(done.load()) << "the endless query ended by itself";
    const auto interrupted_at = clock_type::now();
    conn.interrupt();
    const bool stopped_by_first_interrupt = wait_or_force(done, conn, 5s);
    worker.join();

    EXPECT_TRUE(stopped_by_first_interrupt) << "interrupt() did not stop the query within 5 s";
    ASSERT_TRUE(failure) << "the query returned " << result;
    try {
        std::rethrow_exception(failure);
    } catch (const libsql::interrupted& e) {
        EXPECT_EQ(e.code(), sqlite_interrupt);
        EXPECT_EQ(e.sql(), endless_count);
    } catch (const std::exception& e) {
        FAIL() << "expected libsql::interrupted, got: " << e.what();
    }
    const auto latency = thrown_at - interrupted_at;
    std::printf("[ interrupt latency: %.3f ms ]\n", to_ms(latency));
    EXPECT_LT(latency, 100ms) << "interrupt latency " << to_ms(latency) << " ms";

    // The connection carries on as if nothing happened.
    EXPECT_EQ(conn.query_value<int>("SELECT 1"), 1);
    EXPECT_TRUE(conn.is_autocommit());
}

TEST(Threads, InterruptFromAnotherThreadWhileIteratingRows) {
    libsql::database db(":memory:");
    auto conn = db.connect();
    std::atomic<std::int64_t> last_seen{0};
    std::atomic<bool> done{false};
    std::exception_ptr failure;

    std::thread worker([&] {
        try {
            for (auto r : conn.query(endless_rows)) last_seen.store(r.get<std::int64_t>(0));
        } catch (...) {
            failure = std::current_exception();
        }
        done = true;
    });
    while (last_seen.load() < 10'000 && !done.load()) std::this_thread::yield();
    ASSERT_FALSE(done.load());
    conn.interrupt();
    EXPECT_TRUE(wait_or_force(done, conn, 5s)) << "interrupt() did not stop the iteration within 5 s";
    worker.join();

    ASSERT_TRUE(failure);
    EXPECT_THROW(std::rethrow_exception(failure), libsql::interrupted);
    EXPECT_GE(last_seen.load(), 10'000);
    EXPECT_EQ(conn.query_value<int>("SELECT 2"), 2);
}

TEST(Threads, ConnectionAndStatementStayUsableAfterInterrupt) {
    libsql::database db(":memory:");
    auto conn = db.connect();
    conn.execute("CREATE TABLE t(x)");
    auto count_to = conn.prepare("WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < ?) "
                                 "SELECT count(*) FROM c");
    for (int round = 0; round < 3; ++round) {
        std::atomic<bool> started{false};
        std::atomic<bool> done{false};
        std::exception_ptr failure;
        std::thread worker([&] {
            started = true;
            try {
                (void)count_to.query_row(std::int64_t{1} << 62);
            } catch (...) {
                failure = std::current_exception();
            }
            done = true;
        });
        while (!started.load()) std::this_thread::yield();
        std::this_thread::sleep_for(50ms);
        conn.interrupt();
        EXPECT_TRUE(wait_or_force(done, conn, 5s));
        worker.join();
        ASSERT_TRUE(failure);
        EXPECT_THROW(std::rethrow_exception(failure), libsql::interrupted);

        // The same statement runs again to completion, and so do writes and transactions.
        EXPECT_EQ(count_to.query_row(1000).get<int>(0), 1000);
        conn.execute("INSERT INTO t VALUES (?)", round);
        auto tx = conn.transaction();
        conn.execute("INSERT INTO t VALUES (?)", round);
        tx.commit();
    }
    EXPECT_EQ(conn.query_value<int>("SELECT count(*) FROM t"), 6);
}

TEST(Threads, InterruptInsideATransactionLeavesTheConnectionUsable) {
    temp_db_file file;
    libsql::database db(file.path());
    auto conn = db.connect();
    conn.execute("CREATE TABLE t(x)");
    conn.execute("INSERT INTO t VALUES (1)");
    std::atomic<bool> in_transaction{false};
    std::atomic<bool> done{false};
    std::exception_ptr failure;
    std::thread worker([&] {
        try {
            auto tx = conn.transaction();
            conn.execute("INSERT INTO t VALUES (2)");
            in_transaction = true;
            (void)conn.query_value<std::int64_t>(endless_count);
            tx.commit();
        } catch (...) {
            failure = std::current_exception();
        }
        done = true;
    });
    while (!in_transaction.load() && !done.load()) std::this_thread::yield();
    std::this_thread::sleep_for(50ms);
    conn.interrupt();
    EXPECT_TRUE(wait_or_force(done, conn, 5s));
    worker.join();
    ASSERT_TRUE(failure);
    EXPECT_THROW(std::rethrow_exception(failure), libsql::interrupted);
    // The transaction object rolled back as it went out of scope.
    EXPECT_TRUE(conn.is_autocommit());
    EXPECT_EQ(conn.query_value<int>("SELECT count(*) FROM t"), 1);
}

TEST(Threads, InterruptRacingWithCloseIsSafe) {
    libsql::database db(":memory:");
    for (int round = 0; round < 20; ++round) {
        auto conn = db.connect();
        std::atomic<bool> stop{false};
        std::thread interrupter([&] {
            while (!stop.load()) conn.interrupt();
        });
        try {
            (void)conn.query_value<int>("SELECT 1");
        } catch (const libsql::interrupted&) {
            // Possible: the interrupt may land while this runs.
        }
        conn.close();
        stop = true;
        interrupter.join();
        EXPECT_FALSE(conn.is_open());
    }
}

// A database object shared by four threads, each with its own connection, all writing to one WAL file. The busy
// timeout turns contention into waiting, so every write lands.
TEST(Threads, FourWritersOnAWalDatabaseAllSucceed) {
    temp_db_file file;
    libsql::connect_options options;
    options.busy_timeout = 10s;
    libsql::database db(file.path(), options);
    {
        auto setup = db.connect();
        setup.execute_batch("PRAGMA journal_mode = WAL; CREATE TABLE t(thread INTEGER, i INTEGER)");
    }
    constexpr int threads = 4;
    constexpr int per_thread = 200;
    std::vector<std::thread> workers;
    std::vector<std::exception_ptr> failures(threads);
    std::atomic<int> ready{0};
    for (int t = 0; t < threads; ++t) {
        workers.emplace_back([&, t] {
            try {
                auto conn = db.connect();
                ++ready;
                while (ready.load() < threads) std::this_thread::yield();  // start together: contention wanted
                auto insert = conn.prepare("INSERT INTO t VALUES (?, ?)");
                for (int i = 0; i < per_thread; ++i) {
                    if (i % 2 == 0) {
                        insert.execute(t, i);  // autocommit
                    } else {
                        auto tx = conn.transaction(libsql::transaction_behavior::immediate);
                        insert.execute(t, i);
                        tx.commit();
                    }
                }
            } catch (...) {
                failures[static_cast<std::size_t>(t)] = std::current_exception();
            }
        });
    }
    for (auto& w : workers) w.join();
    for (int t = 0; t < threads; ++t) {
        if (auto& f = failures[static_cast<std::size_t>(t)]) {
            try {
                std::rethrow_exception(f);
            } catch (const std::exception& e) {
                ADD_FAILURE() << "thread " << t << ": " << e.what();
            }
        }
    }
    auto check = db.connect();
    EXPECT_EQ(check.query_value<int>("SELECT count(*) FROM t"), threads * per_thread);
    for (int t = 0; t < threads; ++t) {
        EXPECT_EQ(check.query_value<int>("SELECT count(DISTINCT i) FROM t WHERE thread = ?", t), per_thread);
        EXPECT_EQ(check.query_value<std::int64_t>("SELECT sum(i) FROM t WHERE thread = ?", t),
                  std::int64_t{per_thread} * (per_thread - 1) / 2);
    }
    EXPECT_EQ(check.query_value<std::string>("PRAGMA journal_mode"), "wal");
}

// One connection used from two threads at once: the engine's connection lock serialises them (documented in
// connection.hpp), so every statement runs whole.
TEST(Threads, OneConnectionSharedByTwoThreadsIsSerialised) {
    libsql::database db(":memory:");
    auto conn = db.connect();
    conn.execute("CREATE TABLE t(thread INTEGER, i INTEGER)");
    constexpr int per_thread = 300;
    std::vector<std::exception_ptr> failures(2);
    std::vector<std::thread> workers;
    for (int t = 0; t < 2; ++t) {
        workers.emplace_back([&, t] {
            try {
                for (int i = 0; i < per_thread; ++i) {
                    conn.execute("INSERT INTO t VALUES (?, ?)", t, i);
                    (void)conn.query_value<int>("SELECT count(*) FROM t WHERE thread = ?", t);
                }
            } catch (...) {
                failures[static_cast<std::size_t>(t)] = std::current_exception();
            }
        });
    }
    for (auto& w : workers) w.join();
    for (auto& f : failures) EXPECT_FALSE(f);
    EXPECT_EQ(conn.query_value<int>("SELECT count(*) FROM t"), 2 * per_thread);
}

// Connections of one in-memory database object, written from several threads.
TEST(Threads, SharedInMemoryDatabaseFromSeveralThreads) {
    libsql::connect_options options;
    options.busy_timeout = 10s;
    libsql::database db(":memory:", options);
    db.connect().execute("CREATE TABLE t(x INTEGER)");
    constexpr int threads = 4;
    constexpr int per_thread = 100;
    std::vector<std::exception_ptr> failures(threads);
    std::vector<std::thread> workers;
    for (int t = 0; t < threads; ++t) {
        workers.emplace_back([&, t] {
            try {
                auto conn = db.connect();
                for (int i = 0; i < per_thread; ++i) conn.execute("INSERT INTO t VALUES (?)", t * per_thread + i);
            } catch (...) {
                failures[static_cast<std::size_t>(t)] = std::current_exception();
            }
        });
    }
    for (auto& w : workers) w.join();
    for (int t = 0; t < threads; ++t) {
        if (auto& f = failures[static_cast<std::size_t>(t)]) {
            try {
                std::rethrow_exception(f);
            } catch (const std::exception& e) {
                ADD_FAILURE() << "thread " << t << ": " << e.what();
            }
        }
    }
    EXPECT_EQ(db.connect().query_value<int>("SELECT count(DISTINCT x) FROM t"), threads * per_thread);
}
