// Tests for libsql/connection.hpp: running SQL, batches, connection state, busy handling, reset, close, limits,
// and one connection shared by two threads.
#include "libsql/connection.hpp"

#include "support/temp_files.hpp"
#include "libsql/database.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <exception>
#include <filesystem>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <unistd.h>
#include <vector>

using namespace std::chrono_literals;
using namespace std::string_literals;

namespace {

using libsql::test::temp_db_file;
using libsql::test::temp_dir;

class connection_db : public ::testing::Test {
protected:
    void SetUp() override { conn.execute("CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT UNIQUE)"); }
    int count() { return conn.query_value<int>("SELECT count(*) FROM t"); }
    libsql::database db{":memory:"};
    libsql::connection conn = db.connect();
};

} // namespace

TEST_F(connection_db, execute_query_and_values) {
    EXPECT_EQ(conn.execute("INSERT INTO t(v) VALUES (?), (?)", "a", "b"), 2);
    EXPECT_EQ(conn.execute("UPDATE t SET v = v || '!'"), 2);
    EXPECT_EQ(conn.execute("SELECT * FROM t"), 0);

    std::vector<std::string> seen;
    for (auto r : conn.query("SELECT v FROM t ORDER BY id")) seen.push_back(r.get<std::string>(0));
    EXPECT_EQ(seen, (std::vector<std::string>{"a!", "b!"}));

    const auto row = conn.query_row("SELECT id, v FROM t WHERE v = ?", "b!");
    EXPECT_EQ(row.get<int>("id"), 2);
    EXPECT_THROW((void)conn.query_row("SELECT id FROM t WHERE v = ?", "zzz"), libsql::no_rows);

    EXPECT_EQ(conn.query_value<int>("SELECT count(*) FROM t"), 2);
    EXPECT_EQ(conn.query_value<std::string>("SELECT v FROM t WHERE id = ?", 1), "a!");
    EXPECT_THROW((void)conn.query_value<int>("SELECT id FROM t"), libsql::unexpected_rows);
    EXPECT_THROW((void)conn.query_value<int>("SELECT 1, 2"), libsql::unexpected_rows);
    EXPECT_THROW((void)conn.query_value<int>("SELECT id FROM t WHERE 0"), libsql::no_rows);

    // SQL can come as std::string too.
    const std::string sql = "SELECT v FROM t WHERE id = 2";
    EXPECT_EQ(conn.query_value<std::string>(sql), "b!");
    auto st = conn.prepare(sql);
    EXPECT_EQ(st.query_row().get<std::string>(0), "b!");
}

TEST_F(connection_db, one_statement_per_call) {
    EXPECT_THROW(conn.execute("INSERT INTO t(v) VALUES ('x'); INSERT INTO t(v) VALUES ('y')"), libsql::usage_error);
    EXPECT_EQ(count(), 0);  // not even the first ran
    EXPECT_THROW((void)conn.query("SELECT 1; SELECT 2"), libsql::usage_error);
}

TEST_F(connection_db, errors_are_typed) {
    conn.execute("INSERT INTO t(v) VALUES ('dup')");
    try {
        conn.execute("INSERT INTO t(v) VALUES ('dup')");
        FAIL() << "no throw";
    } catch (const libsql::unique_violation& e) {
        EXPECT_EQ(e.extended_code(), 2067);
        EXPECT_EQ(e.sql(), "INSERT INTO t(v) VALUES ('dup')");
        EXPECT_NE(std::string(e.what()).find("UNIQUE constraint failed: t.v"), std::string::npos) << e.what();
    }
    EXPECT_THROW(conn.execute("INSERT INTO t(id, v) VALUES (1, 'other')"), libsql::primary_key_violation);
    EXPECT_THROW(conn.execute("INSERT INTO nowhere VALUES (1)"), libsql::sql_error);
}

TEST_F(connection_db, execute_batch_runs_all_and_stops_at_the_first_failure) {
    conn.execute_batch(
        "INSERT INTO t(v) VALUES ('a');\n"
        "-- a comment between statements\n"
        "INSERT INTO t(v) VALUES ('b'); SELECT * FROM t;;\n"
        "/* trailing comment */");
    EXPECT_EQ(count(), 2);
    conn.execute_batch("");  // nothing to do
    conn.execute_batch("  ;  -- nothing\n");

    EXPECT_THROW(conn.execute_batch("INSERT INTO t(v) VALUES ('c'); INSERT INTO t(v) VALUES ('a'); "
                                    "INSERT INTO t(v) VALUES ('d');"),
                 libsql::unique_violation);
    // The statement before the failure stays done, the one after never ran.
    EXPECT_EQ(conn.query_value<std::string>("SELECT group_concat(v, '') FROM (SELECT v FROM t ORDER BY id)"), "abc");
}

TEST_F(connection_db, transactional_batch_is_all_or_nothing) {
    conn.execute_transactional_batch("INSERT INTO t(v) VALUES ('a'); INSERT INTO t(v) VALUES ('b');");
    EXPECT_EQ(count(), 2);
    EXPECT_TRUE(conn.is_autocommit());

    // A failing last statement (a constraint, at run time) leaves no trace of the earlier ones.
    EXPECT_THROW(conn.execute_transactional_batch(
                     "INSERT INTO t(v) VALUES ('c'); CREATE TABLE u(x); INSERT INTO t(v) VALUES ('a');"),
                 libsql::unique_violation);
    EXPECT_EQ(count(), 2);
    EXPECT_TRUE(conn.is_autocommit());
    EXPECT_EQ(conn.query_value<int>("SELECT count(*) FROM sqlite_schema WHERE name = 'u'"), 0);

    // The same for a statement that does not even prepare.
    EXPECT_THROW(conn.execute_transactional_batch("INSERT INTO t(v) VALUES ('d'); INSERT INTO nowhere VALUES (1);"),
                 libsql::sql_error);
    EXPECT_EQ(count(), 2);
}

TEST_F(connection_db, transactional_batch_inside_a_transaction_uses_a_savepoint) {
    auto tx = conn.transaction();
    conn.execute("INSERT INTO t(v) VALUES ('outer')");
    EXPECT_THROW(conn.execute_transactional_batch("INSERT INTO t(v) VALUES ('inner'); INSERT INTO t(v) VALUES ('outer');"),
                 libsql::unique_violation);
    // Only the batch was undone: the outer transaction is still open with its own work.
    EXPECT_FALSE(conn.is_autocommit());
    EXPECT_EQ(conn.query_value<std::string>("SELECT group_concat(v, ',') FROM t"), "outer");

    conn.execute_transactional_batch("INSERT INTO t(v) VALUES ('batch');");
    EXPECT_FALSE(conn.is_autocommit());  // the savepoint's release did not end the transaction
    tx.commit();
    EXPECT_TRUE(conn.is_autocommit());
    EXPECT_EQ(conn.query_value<std::string>("SELECT group_concat(v, ',') FROM (SELECT v FROM t ORDER BY id)"),
              "outer,batch");
}

TEST_F(connection_db, changes_and_rowids) {
    const auto before = conn.total_changes();
    conn.execute("INSERT INTO t(v) VALUES ('a')");
    EXPECT_EQ(conn.changes(), 1);
    EXPECT_EQ(conn.last_insert_rowid(), 1);
    conn.execute("INSERT INTO t(id, v) VALUES (42, 'b')");
    EXPECT_EQ(conn.last_insert_rowid(), 42);
    conn.execute("INSERT INTO t(v) VALUES ('c')");
    EXPECT_EQ(conn.last_insert_rowid(), 43);
    EXPECT_EQ(conn.execute("UPDATE t SET v = v || '.'"), 3);
    EXPECT_EQ(conn.changes(), 3);
    EXPECT_EQ(conn.total_changes() - before, 6);
    EXPECT_EQ(conn.execute("DELETE FROM t WHERE id > 40"), 2);
    EXPECT_EQ(conn.changes(), 2);
    EXPECT_EQ(conn.total_changes() - before, 8);
}

TEST_F(connection_db, autocommit_state) {
    EXPECT_TRUE(conn.is_autocommit());
    conn.execute("BEGIN");
    EXPECT_FALSE(conn.is_autocommit());
    conn.execute("ROLLBACK");
    EXPECT_TRUE(conn.is_autocommit());
    {
        auto tx = conn.transaction();
        EXPECT_FALSE(conn.is_autocommit());
    }
    EXPECT_TRUE(conn.is_autocommit());
}

TEST(connection_busy, default_timeout_is_5000_ms) {
    libsql::database db(":memory:");
    auto c = db.connect();
    EXPECT_EQ(c.query_value<int>("PRAGMA busy_timeout"), 5000);
    c.busy_timeout(250ms);
    EXPECT_EQ(c.query_value<int>("PRAGMA busy_timeout"), 250);
    EXPECT_THROW(c.busy_timeout(-1ms), libsql::usage_error);
    EXPECT_EQ(c.query_value<int>("PRAGMA busy_timeout"), 250);

    libsql::connect_options o;
    o.busy_timeout = 0ms;
    libsql::database no_wait(":memory:", o);
    EXPECT_EQ(no_wait.connect().query_value<int>("PRAGMA busy_timeout"), 0);
}

TEST(connection_busy, a_short_timeout_gives_busy_quickly) {
    const temp_dir dir;
    libsql::database db(dir.file("busy.db"));
    auto holder = db.connect();
    auto waiter = db.connect();
    holder.execute("CREATE TABLE t(x)");

    auto tx = holder.transaction(libsql::transaction_behavior::immediate);
    holder.execute("INSERT INTO t VALUES (1)");

    waiter.busy_timeout(100ms);
    const auto start = std::chrono::steady_clock::now();
    try {
        waiter.execute("INSERT INTO t VALUES (2)");
        FAIL() << "no throw";
    } catch (const libsql::busy& e) {
        EXPECT_EQ(e.code(), 5);
    }
    const auto waited = std::chrono::steady_clock::now() - start;
    EXPECT_GE(waited, 80ms);    // it did wait
    EXPECT_LT(waited, 2500ms);  // but for its own timeout, not the default 5 s

    // Reading is still allowed in rollback-journal mode while the writer has not committed.
    EXPECT_EQ(waiter.query_value<int>("SELECT count(*) FROM t"), 0);
    tx.commit();
    EXPECT_EQ(waiter.execute("INSERT INTO t VALUES (2)"), 1);
    EXPECT_EQ(waiter.query_value<int>("SELECT count(*) FROM t"), 2);
}

TEST(connection_busy, waits_for_the_lock_to_go) {
    const temp_dir dir;
    libsql::database db(dir.file("wait.db"));
    auto holder = db.connect();
    auto waiter = db.connect();
    holder.execute("CREATE TABLE t(x)");
    auto tx = holder.transaction(libsql::transaction_behavior::immediate);
    std::thread releaser([&] {
        std::this_thread::sleep_for(100ms);
        tx.commit();
    });
    // The default 5 s timeout outlasts the 100 ms hold.
    EXPECT_EQ(waiter.execute("INSERT INTO t VALUES (1)"), 1);
    releaser.join();
}

TEST_F(connection_db, reset_rolls_back_and_makes_cursors_stale) {
    conn.execute("INSERT INTO t(v) VALUES ('kept')");
    auto st = conn.prepare("SELECT v FROM t");
    auto from_statement = st.query();
    ASSERT_TRUE(from_statement.next());
    auto from_connection = conn.query("SELECT id FROM t");
    ASSERT_TRUE(from_connection.next());

    conn.execute("BEGIN");
    conn.execute("INSERT INTO t(v) VALUES ('gone')");
    conn.reset();
    EXPECT_TRUE(conn.is_autocommit());
    EXPECT_EQ(conn.query_value<std::string>("SELECT group_concat(v) FROM t"), "kept");
    EXPECT_THROW((void)from_statement.next(), libsql::usage_error);
    EXPECT_THROW((void)from_connection.next(), libsql::usage_error);
    // The statement itself runs again.
    EXPECT_EQ(st.query().skip_all(), 1u);

    // reset on a clean connection is harmless.
    conn.reset();
    EXPECT_EQ(count(), 1);
}

TEST_F(connection_db, reset_lets_another_connection_write) {
    // A reader left mid-query blocks nothing after reset: its statements are reset with it.
    auto other = db.connect();
    other.busy_timeout(0ms);
    conn.execute_batch("INSERT INTO t(v) VALUES ('a'), ('b');");
    auto rs = conn.query("SELECT v FROM t");
    ASSERT_TRUE(rs.next());
    conn.reset();
    EXPECT_EQ(other.execute("INSERT INTO t(v) VALUES ('c')"), 1);
}

TEST_F(connection_db, close_then_use_is_a_usage_error) {
    EXPECT_TRUE(conn.is_open());
    EXPECT_NE(conn.native_handle(), nullptr);
    EXPECT_EQ(conn.transport(), libsql::transport::local);
    conn.close();
    EXPECT_FALSE(conn.is_open());
    EXPECT_EQ(conn.native_handle(), nullptr);
    EXPECT_THROW(conn.execute("SELECT 1"), libsql::usage_error);
    EXPECT_THROW((void)conn.query("SELECT 1"), libsql::usage_error);
    EXPECT_THROW((void)conn.prepare("SELECT 1"), libsql::usage_error);
    EXPECT_THROW(conn.execute_batch("SELECT 1"), libsql::usage_error);
    EXPECT_THROW((void)conn.transaction(), libsql::usage_error);
    EXPECT_THROW((void)conn.changes(), libsql::usage_error);
    EXPECT_THROW((void)conn.is_autocommit(), libsql::usage_error);
    EXPECT_THROW(conn.busy_timeout(1ms), libsql::usage_error);
    EXPECT_THROW(conn.reset(), libsql::usage_error);
    conn.close();      // twice is fine
    conn.interrupt();  // and so is interrupting a closed connection
}

TEST_F(connection_db, close_keeps_the_database_for_other_connections) {
    auto other = db.connect();
    conn.execute("INSERT INTO t(v) VALUES ('x')");
    conn.close();
    EXPECT_EQ(other.query_value<std::string>("SELECT v FROM t"), "x");
}

TEST(connection_empty, default_and_moved_from_refuse_use) {
    libsql::connection empty;
    EXPECT_FALSE(empty.is_open());
    EXPECT_EQ(empty.native_handle(), nullptr);
    EXPECT_THROW(empty.execute("SELECT 1"), libsql::usage_error);
    empty.close();
    empty.interrupt();

    libsql::database db(":memory:");
    auto a = db.connect();
    libsql::connection b = std::move(a);
    EXPECT_THROW(a.execute("SELECT 1"), libsql::usage_error);  // NOLINT(bugprone-use-after-move)
    EXPECT_EQ(b.query_value<int>("SELECT 1"), 1);
}

TEST_F(connection_db, limits) {
    // SQLite never lets the length limit go below 30 bytes.
    const int old_length = conn.set_limit(libsql::limit::length, 40);
    EXPECT_GT(old_length, 40);
    EXPECT_EQ(conn.set_limit(libsql::limit::length, 40), 40);  // returns the previous value
    EXPECT_EQ(conn.set_limit(libsql::limit::length, 1), 40);
    EXPECT_EQ(conn.set_limit(libsql::limit::length, 40), 30);  // 1 was raised to the minimum
    const std::string fits(40, 'x');
    EXPECT_EQ(conn.query_value<std::string>("SELECT ?", fits), fits);
    EXPECT_THROW((void)conn.query_value<std::string>("SELECT ?", fits + "y"), libsql::too_big);
    EXPECT_THROW((void)conn.query_value<std::string>("SELECT ? || 'y'", fits), libsql::too_big);
    conn.set_limit(libsql::limit::length, old_length);
    EXPECT_EQ(conn.query_value<std::string>("SELECT ?", fits + "y"), fits + "y");

    const int old_sql = conn.set_limit(libsql::limit::sql_length, 20);
    EXPECT_THROW((void)conn.prepare("SELECT 1 + 1 + 1 + 1 + 1 + 1 + 1"), libsql::too_big);
    conn.set_limit(libsql::limit::sql_length, old_sql);
    EXPECT_EQ(conn.query_value<int>("SELECT 1 + 1 + 1 + 1 + 1 + 1 + 1"), 7);

    conn.set_limit(libsql::limit::variable_number, 2);
    EXPECT_THROW((void)conn.prepare("SELECT ?, ?, ?"), libsql::sql_error);

    EXPECT_THROW(conn.set_limit(libsql::limit::length, -1), libsql::usage_error);
    EXPECT_THROW(conn.set_limit(static_cast<libsql::limit>(99), 1), libsql::usage_error);
}

TEST(connection_interrupt, stops_a_running_statement_from_another_thread) {
    libsql::database db(":memory:");
    auto c = db.connect();
    c.interrupt();  // nothing running: no effect on what comes next
    EXPECT_EQ(c.query_value<int>("SELECT 1"), 1);

    std::atomic<bool> done{false};
    std::exception_ptr caught;
    std::thread runner([&] {
        try {
            (void)c.query_value<std::int64_t>(
                "WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n) SELECT count(*) FROM n");
        } catch (...) {
            caught = std::current_exception();
        }
        done = true;
    });
    // Keep interrupting until it stops: an interrupt before the statement starts is a no-op.
    const auto deadline = std::chrono::steady_clock::now() + 10s;
    while (!done && std::chrono::steady_clock::now() < deadline) {
        std::this_thread::sleep_for(5ms);
        c.interrupt();
    }
    runner.join();
    ASSERT_TRUE(caught);
    EXPECT_THROW(std::rethrow_exception(caught), libsql::interrupted);
    EXPECT_EQ(c.query_value<int>("SELECT 2"), 2);  // usable afterwards
}

TEST(connection_threads, two_threads_share_one_connection) {
    libsql::database db(":memory:");
    auto c = db.connect();
    c.execute("CREATE TABLE t(thread INTEGER, i INTEGER)");
    constexpr int per_thread = 500;
    std::mutex errors_mutex;
    std::vector<std::string> errors;

    auto work = [&](int thread) {
        try {
            for (int i = 0; i < per_thread; ++i) {
                c.execute("INSERT INTO t VALUES (?, ?)", thread, i);
                const int mine = c.query_value<int>("SELECT count(*) FROM t WHERE thread = ?", thread);
                if (mine != i + 1) throw std::runtime_error("thread " + std::to_string(thread) + " saw " +
                                                            std::to_string(mine) + " rows after " + std::to_string(i + 1));
                const auto last = c.query_value<int>("SELECT max(i) FROM t WHERE thread = ?", thread);
                if (last != i) throw std::runtime_error("thread " + std::to_string(thread) + " read max " + std::to_string(last));
            }
        } catch (const std::exception& e) {
            std::lock_guard lk(errors_mutex);
            errors.emplace_back(e.what());
        }
    };
    std::thread a(work, 1);
    std::thread b(work, 2);
    a.join();
    b.join();
    EXPECT_TRUE(errors.empty()) << errors.front();
    EXPECT_EQ(c.query_value<int>("SELECT count(*) FROM t"), 2 * per_thread);
    EXPECT_EQ(c.query_value<int>("SELECT count(DISTINCT i) FROM t WHERE thread = 1"), per_thread);
    EXPECT_EQ(c.query_value<int>("SELECT count(DISTINCT i) FROM t WHERE thread = 2"), per_thread);
}
