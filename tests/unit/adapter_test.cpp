#include "libsql/adapter.hpp"

#include "libsql/database.hpp"
#include "support/temp_files.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <stdexcept>
#include <string>
#include <thread>

namespace {

using namespace std::chrono_literals;

// Without a busy timeout, so that lock conflicts fail at once (g++ warns on partial designated initializers).
libsql::connect_options no_wait() {
    libsql::connect_options o;
    o.busy_timeout = 0ms;
    return o;
}

libsql::transaction_options retrying(libsql::transaction_behavior b, int attempts, std::chrono::milliseconds initial,
                                     std::chrono::milliseconds cap) {
    libsql::transaction_options o;
    o.behavior = b;
    o.retry.max_attempts = attempts;
    o.retry.initial_delay = initial;
    o.retry.max_delay = cap;
    return o;
}

class adapter_db : public ::testing::Test {
protected:
    void SetUp() override { conn.execute("CREATE TABLE t(x INTEGER)"); }
    int count() { return conn.query_value<int>("SELECT count(*) FROM t"); }

    libsql::database db{":memory:"};
    libsql::connection conn = db.connect();
};

TEST_F(adapter_db, commits_when_fn_returns_and_passes_its_value_on) {
    const auto id = libsql::in_transaction(conn, [](libsql::connection& c) {
        c.execute("INSERT INTO t VALUES (7)");
        return c.last_insert_rowid();
    });
    EXPECT_EQ(id, 1);
    EXPECT_TRUE(conn.is_autocommit());
    EXPECT_EQ(count(), 1);
    // A function without parameters, returning nothing.
    libsql::in_transaction(conn, [&] { conn.execute("INSERT INTO t VALUES (8)"); });
    EXPECT_EQ(count(), 2);
}

TEST_F(adapter_db, a_reference_result_stays_a_reference) {
    int target = 0;
    int& r = libsql::in_transaction(conn, [&]() -> int& { return target; });
    EXPECT_EQ(&r, &target);
    const auto s = libsql::in_transaction(conn, [] { return std::string("moved out"); });
    EXPECT_EQ(s, "moved out");
}

TEST_F(adapter_db, rolls_back_and_rethrows_when_fn_throws) {
    EXPECT_THROW(libsql::in_transaction(conn, [](libsql::connection& c) {
        c.execute("INSERT INTO t VALUES (1)");
        throw std::logic_error("boom");
    }), std::logic_error);
    EXPECT_TRUE(conn.is_autocommit());
    EXPECT_EQ(count(), 0);
    // An engine error propagates with its own type.
    EXPECT_THROW(libsql::in_transaction(conn, [](libsql::connection& c) {
        c.execute("INSERT INTO t VALUES (1)");
        c.execute("INSERT INTO missing VALUES (1)");
    }), libsql::sql_error);
    EXPECT_EQ(count(), 0);
}

TEST_F(adapter_db, nested_calls_become_savepoints) {
    libsql::in_transaction(conn, [](libsql::connection& c) {
        c.execute("INSERT INTO t VALUES (1)");
        // The inner call fails: only its own work is undone, and the outer transaction goes on.
        EXPECT_THROW(libsql::in_transaction(c, [](libsql::connection& c2) {
            EXPECT_FALSE(c2.is_autocommit());
            c2.execute("INSERT INTO t VALUES (2)");
            throw std::runtime_error("inner");
        }), std::runtime_error);
        EXPECT_FALSE(c.is_autocommit());
        const int inner = libsql::in_transaction(c, [](libsql::connection& c2) {
            c2.execute("INSERT INTO t VALUES (3)");
            return 3;
        }, libsql::transaction_behavior::exclusive);  // ignored when nested
        EXPECT_EQ(inner, 3);
    });
    EXPECT_EQ(conn.query_value<std::string>("SELECT group_concat(x) FROM (SELECT x FROM t ORDER BY x)"), "1,3");

    // Inside a transaction the caller opened by hand, the helper is a savepoint too: the outer rollback wins.
    {
        auto tx = conn.transaction();
        libsql::in_transaction(conn, [](libsql::connection& c) { c.execute("INSERT INTO t VALUES (9)"); });
        EXPECT_FALSE(conn.is_autocommit());
        tx.rollback();
    }
    EXPECT_EQ(count(), 2);
}

TEST_F(adapter_db, read_only_refuses_writes_and_ends_cleanly) {
    EXPECT_EQ(libsql::in_transaction(conn, [](libsql::connection& c) { return c.query_value<int>("SELECT count(*) FROM t"); },
                                     libsql::transaction_behavior::read_only), 0);
    EXPECT_THROW(libsql::in_transaction(conn, [](libsql::connection& c) { c.execute("INSERT INTO t VALUES (1)"); },
                                        libsql::transaction_behavior::read_only), libsql::readonly);
    EXPECT_EQ(conn.query_value<int>("PRAGMA query_only"), 0);
    conn.execute("INSERT INTO t VALUES (1)");  // writable again
    EXPECT_EQ(count(), 1);
}

TEST(adapter, immediate_takes_the_write_lock_at_once) {
    libsql::test::temp_db_file file("adapter-imm");
    libsql::database db(file.path(), no_wait());
    auto a = db.connect();
    auto b = db.connect();
    a.execute("PRAGMA journal_mode = WAL");
    a.execute("CREATE TABLE t(x)");
    libsql::in_transaction(a, [&] {
        // Nothing written yet, but b cannot start a writing transaction.
        EXPECT_THROW(libsql::in_transaction(b, [] {}, libsql::transaction_behavior::immediate), libsql::busy);
    }, libsql::transaction_behavior::immediate);
    libsql::in_transaction(b, [] {}, libsql::transaction_behavior::immediate);  // free again
}

// Two connections on a WAL file, no busy timeout: `holder` keeps the write lock for ~100 ms.
class adapter_busy : public ::testing::Test {
protected:
    void SetUp() override {
        holder.execute("PRAGMA journal_mode = WAL");
        holder.execute("CREATE TABLE t(x)");
    }
    void TearDown() override {
        if (releaser.joinable()) releaser.join();
    }
    void hold_for(std::chrono::milliseconds d) {
        holder.execute("BEGIN IMMEDIATE");
        holder.execute("INSERT INTO t VALUES (1)");
        releaser = std::thread([this, d] {
            std::this_thread::sleep_for(d);
            holder.execute("COMMIT");
        });
    }

    libsql::test::temp_db_file file{"adapter-busy"};
    libsql::database db{file.path(), no_wait()};
    libsql::connection holder = db.connect();
    libsql::connection other = db.connect();
    std::thread releaser;
};

TEST_F(adapter_busy, retries_with_backoff_until_the_lock_is_free) {
    hold_for(100ms);
    int attempts = 0;
    const auto started = std::chrono::steady_clock::now();
    const auto n = libsql::in_transaction(other, [&](libsql::connection& c) {
        ++attempts;
        c.execute("INSERT INTO t VALUES (2)");
        return c.query_value<int>("SELECT count(*) FROM t");
    }, retrying(libsql::transaction_behavior::immediate, 50, 5ms, 40ms));
    EXPECT_EQ(n, 2);  // the holder's row committed first
    EXPECT_EQ(attempts, 1);  // BEGIN IMMEDIATE failed before fn ran, so fn ran once
    EXPECT_GE(std::chrono::steady_clock::now() - started, 90ms);
    EXPECT_TRUE(other.is_autocommit());
}

TEST_F(adapter_busy, retries_a_busy_thrown_inside_fn) {
    hold_for(100ms);
    int attempts = 0;
    // Deferred: BEGIN succeeds, the first write inside fn is what meets the lock.
    libsql::in_transaction(other, [&](libsql::connection& c) {
        ++attempts;
        c.execute("INSERT INTO t VALUES (2)");
    }, retrying(libsql::transaction_behavior::deferred, 50, 5ms, 40ms));
    EXPECT_GT(attempts, 1);
    EXPECT_EQ(other.query_value<int>("SELECT count(*) FROM t"), 2);
}

TEST_F(adapter_busy, without_retry_busy_propagates_and_nothing_stays_open) {
    hold_for(100ms);
    EXPECT_THROW(libsql::in_transaction(other, [](libsql::connection& c) { c.execute("INSERT INTO t VALUES (2)"); },
                                        libsql::transaction_behavior::immediate), libsql::busy);
    EXPECT_THROW(libsql::in_transaction(other, [](libsql::connection& c) { c.execute("INSERT INTO t VALUES (2)"); },
                                        retrying(libsql::transaction_behavior::deferred, 2, 1ms, 1ms)), libsql::busy);
    EXPECT_TRUE(other.is_autocommit());
}

TEST(adapter, retry_delay_grows_exponentially_up_to_the_cap) {
    const libsql::retry_policy p{10, 10ms, 2.0, 50ms};
    EXPECT_EQ(libsql::detail::retry_delay(p, 1), 10ms);
    EXPECT_EQ(libsql::detail::retry_delay(p, 2), 20ms);
    EXPECT_EQ(libsql::detail::retry_delay(p, 3), 40ms);
    EXPECT_EQ(libsql::detail::retry_delay(p, 4), 50ms);
    EXPECT_EQ(libsql::detail::retry_delay(p, 1000), 50ms);
}

class adapter_explain : public ::testing::Test {
protected:
    void SetUp() override {
        conn.execute_batch("CREATE TABLE a(id INTEGER PRIMARY KEY, b_id INTEGER, name TEXT);"
                           "CREATE TABLE b(id INTEGER PRIMARY KEY, label TEXT);"
                           "CREATE TABLE c(x INTEGER);");
    }
    libsql::database db{":memory:"};
    libsql::connection conn = db.connect();
};

TEST_F(adapter_explain, a_join_is_two_top_level_steps) {
    const auto plan = libsql::explain_query_plan(conn, "SELECT a.name, b.label FROM a JOIN b ON b.id = a.b_id");
    ASSERT_EQ(plan.nodes.size(), 2u);
    EXPECT_EQ(plan.nodes[0].detail, "SCAN a");
    EXPECT_EQ(plan.nodes[0].parent, 0);
    EXPECT_TRUE(plan.nodes[0].children.empty());
    EXPECT_EQ(plan.nodes[1].detail, "SEARCH b USING INTEGER PRIMARY KEY (rowid=?)");
    EXPECT_EQ(plan.to_string(), "QUERY PLAN\n"
                                "|--SCAN a\n"
                                "`--SEARCH b USING INTEGER PRIMARY KEY (rowid=?)\n");
}

TEST_F(adapter_explain, subqueries_nest_and_render_like_the_shell) {
    const auto plan = libsql::explain_query_plan(
        conn, "SELECT * FROM a WHERE b_id IN (SELECT id FROM b WHERE label = ?) "
              "UNION ALL SELECT * FROM a WHERE name = :n");
    // COMPOUND QUERY
    // |--LEFT-MOST SUBQUERY
    // |  |--SCAN a
    // |  `--LIST SUBQUERY 1
    // |     `--SCAN b            (followed by CREATE BLOOM FILTER in recent SQLite versions)
    // `--UNION ALL
    //    `--SCAN a
    ASSERT_EQ(plan.nodes.size(), 1u);
    const auto& compound = plan.nodes[0];
    EXPECT_EQ(compound.detail, "COMPOUND QUERY");
    ASSERT_EQ(compound.children.size(), 2u);
    const auto& left = compound.children[0];
    EXPECT_EQ(left.detail, "LEFT-MOST SUBQUERY");
    EXPECT_EQ(left.parent, compound.id);
    ASSERT_EQ(left.children.size(), 2u);
    EXPECT_EQ(left.children[0].detail, "SCAN a");
    EXPECT_EQ(left.children[1].detail, "LIST SUBQUERY 1");
    ASSERT_FALSE(left.children[1].children.empty());
    EXPECT_EQ(left.children[1].children[0].detail, "SCAN b");
    EXPECT_EQ(compound.children[1].detail, "UNION ALL");

    const std::string text = plan.to_string();
    const std::string head = "QUERY PLAN\n"
                             "`--COMPOUND QUERY\n"
                             "   |--LEFT-MOST SUBQUERY\n"
                             "   |  |--SCAN a\n"
                             "   |  `--LIST SUBQUERY 1\n"
                             "   |     ";  // then |-- or `-- SCAN b, depending on what follows it
    const std::string tail = "   `--UNION ALL\n"
                             "      `--SCAN a\n";
    EXPECT_EQ(text.substr(0, head.size()), head) << text;
    ASSERT_GE(text.size(), tail.size());
    EXPECT_EQ(text.substr(text.size() - tail.size()), tail) << text;
    EXPECT_EQ(text.substr(head.size() + 3, 7), "SCAN b\n") << text;
}

TEST_F(adapter_explain, bad_sql_throws) {
    EXPECT_THROW((void)libsql::explain_query_plan(conn, "SELECT * FROM nowhere"), libsql::sql_error);
    EXPECT_EQ(libsql::query_plan{}.to_string(), "QUERY PLAN\n");
}

} // namespace
