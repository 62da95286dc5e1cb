// Tests for libsql/transaction.hpp: transaction behaviours, RAII rollback, commit/rollback rules, savepoints, and
// moving both.
#include "libsql/transaction.hpp"

#include "support/temp_files.hpp"
#include "libsql/database.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <optional>
#include <string>
#include <unistd.h>
#include <vector>

using namespace std::chrono_literals;

namespace {

using libsql::test::temp_db_file;
using libsql::test::temp_dir;

class transaction_db : public ::testing::Test {
protected:
    void SetUp() override { conn.execute("CREATE TABLE t(x INTEGER)"); }
    void insert(int x) { conn.execute("INSERT INTO t VALUES (?)", x); }
    int count() { return conn.query_value<int>("SELECT count(*) FROM t"); }
    std::string contents() {
        return conn.query_value<std::optional<std::string>>("SELECT group_concat(x, ',') FROM (SELECT x FROM t ORDER BY x)")
            .value_or("");
    }
    libsql::database db{":memory:"};
    libsql::connection conn = db.connect();
};

} // namespace

TEST_F(transaction_db, commit_keeps_the_work) {
    auto tx = conn.transaction();
    EXPECT_TRUE(tx.is_active());
    EXPECT_EQ(tx.behavior(), libsql::transaction_behavior::deferred);
    EXPECT_FALSE(conn.is_autocommit());
    insert(1);
    insert(2);
    tx.commit();
    EXPECT_FALSE(tx.is_active());
    EXPECT_TRUE(conn.is_autocommit());
    EXPECT_EQ(contents(), "1,2");
}

TEST_F(transaction_db, destructor_rolls_back_what_was_not_committed) {
    insert(1);
    {
        auto tx = conn.transaction();
        insert(2);
        EXPECT_EQ(count(), 2);  // visible inside
    }
    EXPECT_TRUE(conn.is_autocommit());
    EXPECT_EQ(contents(), "1");
}

TEST_F(transaction_db, explicit_rollback) {
    auto tx = conn.transaction(libsql::transaction_behavior::immediate);
    insert(1);
    tx.rollback();
    EXPECT_FALSE(tx.is_active());
    EXPECT_TRUE(conn.is_autocommit());
    EXPECT_EQ(count(), 0);
}

TEST_F(transaction_db, commit_and_rollback_rules) {
    auto tx = conn.transaction();
    tx.commit();
    EXPECT_THROW(tx.commit(), libsql::usage_error);
    EXPECT_THROW(tx.rollback(), libsql::usage_error);
    EXPECT_THROW((void)tx.savepoint(), libsql::usage_error);

    auto tx2 = conn.transaction();
    tx2.rollback();
    EXPECT_THROW(tx2.rollback(), libsql::usage_error);
    EXPECT_THROW(tx2.commit(), libsql::usage_error);

    libsql::transaction empty;
    EXPECT_FALSE(empty.is_active());
    EXPECT_THROW(empty.commit(), libsql::usage_error);
    EXPECT_THROW(empty.rollback(), libsql::usage_error);
}

TEST_F(transaction_db, failed_commit_leaves_the_transaction_open) {
    conn.execute_batch(
        "PRAGMA foreign_keys = ON;"
        "CREATE TABLE parent(id INTEGER PRIMARY KEY);"
        "CREATE TABLE child(pid INTEGER REFERENCES parent(id) DEFERRABLE INITIALLY DEFERRED);");
    auto tx = conn.transaction();
    conn.execute("INSERT INTO child VALUES (5)");
    EXPECT_THROW(tx.commit(), libsql::foreign_key_violation);
    // Still open: the caller can fix the data and commit, or roll back.
    EXPECT_TRUE(tx.is_active());
    EXPECT_FALSE(conn.is_autocommit());
    conn.execute("INSERT INTO parent VALUES (5)");
    tx.commit();
    EXPECT_EQ(conn.query_value<int>("SELECT count(*) FROM child"), 1);
}

TEST_F(transaction_db, nested_begin_fails_without_harming_the_outer_transaction) {
    auto outer = conn.transaction();
    insert(1);
    EXPECT_THROW((void)conn.transaction(), libsql::sql_error);
    EXPECT_THROW((void)conn.transaction(libsql::transaction_behavior::read_only), libsql::sql_error);
    // The failed BEGIN must not roll back the transaction that was already open.
    EXPECT_FALSE(conn.is_autocommit());
    EXPECT_EQ(count(), 1);
    EXPECT_EQ(conn.query_value<int>("PRAGMA query_only"), 0);
    outer.commit();
    EXPECT_EQ(contents(), "1");
}

TEST_F(transaction_db, deferred_takes_no_lock_until_needed) {
    auto other = db.connect();
    other.busy_timeout(0ms);
    auto tx = conn.transaction(libsql::transaction_behavior::deferred);
    EXPECT_EQ(other.execute("INSERT INTO t VALUES (10)"), 1);  // nothing held yet
    insert(1);                                                  // now the write lock
    EXPECT_THROW(other.execute("INSERT INTO t VALUES (11)"), libsql::busy);
    tx.commit();
    EXPECT_EQ(other.execute("INSERT INTO t VALUES (12)"), 1);
    EXPECT_EQ(contents(), "1,10,12");
}

TEST_F(transaction_db, immediate_takes_the_write_lock_at_once) {
    auto other = db.connect();
    other.busy_timeout(0ms);
    auto tx = conn.transaction(libsql::transaction_behavior::immediate);
    EXPECT_EQ(tx.behavior(), libsql::transaction_behavior::immediate);
    EXPECT_THROW(other.execute("INSERT INTO t VALUES (1)"), libsql::busy);
    EXPECT_THROW((void)other.transaction(libsql::transaction_behavior::immediate), libsql::busy);
    EXPECT_TRUE(other.is_autocommit());  // the failed BEGIN left nothing open
    tx.rollback();
    EXPECT_EQ(other.execute("INSERT INTO t VALUES (1)"), 1);
}

TEST(transaction_file, exclusive_keeps_readers_out) {
    const temp_dir dir;
    libsql::database db(dir.file("exclusive.db"));
    auto conn = db.connect();
    auto other = db.connect();
    other.busy_timeout(0ms);
    conn.execute("CREATE TABLE t(x)");
    {
        auto tx = conn.transaction(libsql::transaction_behavior::exclusive);
        EXPECT_EQ(tx.behavior(), libsql::transaction_behavior::exclusive);
        EXPECT_THROW((void)other.query_value<int>("SELECT count(*) FROM t"), libsql::busy);
        conn.execute("INSERT INTO t VALUES (1)");
        tx.commit();
    }
    EXPECT_EQ(other.query_value<int>("SELECT count(*) FROM t"), 1);
}

TEST_F(transaction_db, read_only_refuses_writes_until_it_ends) {
    insert(1);
    {
        auto tx = conn.transaction(libsql::transaction_behavior::read_only);
        EXPECT_EQ(tx.behavior(), libsql::transaction_behavior::read_only);
        EXPECT_EQ(count(), 1);  // reads are fine
        EXPECT_THROW(insert(2), libsql::readonly);
        EXPECT_THROW(conn.execute("CREATE TABLE u(y)"), libsql::readonly);
        EXPECT_THROW(conn.execute("DELETE FROM t"), libsql::readonly);
        tx.commit();
    }
    insert(2);  // allowed after commit

    {
        auto tx = conn.transaction(libsql::transaction_behavior::read_only);
        EXPECT_THROW(insert(3), libsql::readonly);
        tx.rollback();
    }
    insert(3);  // allowed after rollback

    {
        auto tx = conn.transaction(libsql::transaction_behavior::read_only);
        EXPECT_THROW(insert(4), libsql::readonly);
    }
    insert(4);  // allowed after the destructor's rollback
    EXPECT_EQ(contents(), "1,2,3,4");
    EXPECT_EQ(conn.query_value<int>("PRAGMA query_only"), 0);
}

TEST_F(transaction_db, savepoints_nest_ten_deep) {
    auto tx = conn.transaction();
    std::vector<libsql::savepoint> levels;
    levels.reserve(10);
    // Each SAVEPOINT nests inside the one before it; a savepoint object opens the next with nested().
    for (int i = 0; i < 10; ++i) {
        levels.push_back(i == 0 ? tx.savepoint() : levels.back().nested());
        insert(i);
    }
    EXPECT_EQ(count(), 10);
    // Innermost three roll back, the rest are released, then the transaction commits.
    for (int i = 9; i >= 7; --i) levels[static_cast<std::size_t>(i)].rollback();
    EXPECT_EQ(count(), 7);
    for (int i = 6; i >= 0; --i) {
        levels[static_cast<std::size_t>(i)].commit();
        EXPECT_FALSE(levels[static_cast<std::size_t>(i)].is_active());
    }
    EXPECT_FALSE(conn.is_autocommit());  // releasing savepoints does not end the transaction
    tx.commit();
    EXPECT_EQ(contents(), "0,1,2,3,4,5,6");
}

TEST_F(transaction_db, inner_rollback_outer_commit) {
    {
        auto tx = conn.transaction();
        insert(1);
        {
            auto outer_sp = tx.savepoint();
            insert(2);
            {
                auto inner_sp = tx.savepoint();  // nests inside outer_sp: SQL savepoints stack
                insert(3);
            }  // not released: rolled back
            outer_sp.commit();
        }
        tx.commit();
    }
    EXPECT_EQ(contents(), "1,2");
}

TEST_F(transaction_db, savepoint_rules_and_names) {
    auto tx = conn.transaction();
    auto a = tx.savepoint();
    auto b = tx.savepoint();
    EXPECT_FALSE(a.name().empty());
    EXPECT_NE(a.name(), b.name());
    b.commit();
    EXPECT_THROW(b.commit(), libsql::usage_error);
    EXPECT_THROW(b.rollback(), libsql::usage_error);
    EXPECT_THROW((void)b.nested(), libsql::usage_error);
    a.rollback();
    EXPECT_THROW(a.rollback(), libsql::usage_error);
    EXPECT_THROW(a.commit(), libsql::usage_error);
    tx.commit();
}

TEST_F(transaction_db, savepoint_without_an_outer_transaction) {
    {
        auto sp = conn.savepoint();
        EXPECT_FALSE(conn.is_autocommit());  // a savepoint outside a transaction starts one
        insert(1);
        sp.commit();
    }
    EXPECT_TRUE(conn.is_autocommit());
    EXPECT_EQ(contents(), "1");

    {
        auto sp = conn.savepoint();
        insert(2);
        sp.rollback();
    }
    EXPECT_TRUE(conn.is_autocommit());
    {
        auto sp = conn.savepoint();
        insert(3);
        auto nested = conn.savepoint();
        insert(4);
        nested.commit();
    }  // the outer savepoint is not released: everything in it goes
    EXPECT_TRUE(conn.is_autocommit());
    EXPECT_EQ(contents(), "1");
}

TEST_F(transaction_db, moving_transactions) {
    auto a = conn.transaction();
    insert(1);
    libsql::transaction b = std::move(a);
    EXPECT_FALSE(a.is_active());  // NOLINT(bugprone-use-after-move)
    EXPECT_TRUE(b.is_active());
    EXPECT_THROW(a.commit(), libsql::usage_error);
    EXPECT_FALSE(conn.is_autocommit());  // the move did not end it

    libsql::transaction c;
    c = std::move(b);
    EXPECT_TRUE(c.is_active());
    c.commit();
    EXPECT_EQ(contents(), "1");

    // Assigning over an active transaction rolls it back first.
    auto d = conn.transaction();
    insert(2);
    d = libsql::transaction();
    EXPECT_FALSE(d.is_active());
    EXPECT_TRUE(conn.is_autocommit());
    EXPECT_EQ(contents(), "1");

    // A moved read-only transaction still restores writes when it ends.
    auto ro = conn.transaction(libsql::transaction_behavior::read_only);
    libsql::transaction ro2 = std::move(ro);
    EXPECT_EQ(ro2.behavior(), libsql::transaction_behavior::read_only);
    EXPECT_THROW(insert(3), libsql::readonly);
    ro2.commit();
    insert(3);
    EXPECT_EQ(contents(), "1,3");
}

TEST_F(transaction_db, moving_savepoints) {
    auto tx = conn.transaction();
    auto a = tx.savepoint();
    const std::string name = a.name();
    insert(1);
    libsql::savepoint b = std::move(a);
    EXPECT_FALSE(a.is_active());  // NOLINT(bugprone-use-after-move)
    EXPECT_EQ(b.name(), name);
    EXPECT_THROW(a.commit(), libsql::usage_error);
    libsql::savepoint c;
    c = std::move(b);
    c.rollback();
    EXPECT_EQ(count(), 0);
    tx.commit();
}

TEST_F(transaction_db, closing_the_connection_under_a_transaction) {
    auto other = db.connect();
    {
        auto tx = conn.transaction();
        insert(1);
        conn.close();  // the engine rolls back; the transaction's destructor must cope
    }
    EXPECT_EQ(other.query_value<int>("SELECT count(*) FROM t"), 0);
    EXPECT_THROW((void)conn.transaction(), libsql::usage_error);
    EXPECT_THROW((void)conn.savepoint(), libsql::usage_error);
}
