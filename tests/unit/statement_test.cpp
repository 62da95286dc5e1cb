// Tests for libsql/statement.hpp: binding, running, resetting and introspecting a prepared statement, and that a
// statement prepared once is never prepared again however it is run.
#include "libsql/statement.hpp"

#include "libsql/database.hpp"

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

using namespace std::string_literals;

namespace {

class statement_db : public ::testing::Test {
protected:
    void SetUp() override {
        conn.execute_batch(
            "CREATE TABLE items(id INTEGER PRIMARY KEY, name TEXT NOT NULL, price REAL, qty INT DEFAULT 0);"
            "INSERT INTO items VALUES (1, 'apple', 0.5, 10), (2, 'pear', 0.75, 0), (3, 'fig', NULL, 3);");
    }
    libsql::database db{":memory:"};
    libsql::connection conn = db.connect();
};

} // namespace

TEST_F(statement_db, bind_by_index_and_name) {
    auto st = conn.prepare("SELECT ?1, :name, @n2, $n3");
    st.bind(1, 10).bind(":name", "x").bind("n2", 2.5).bind("$n3", nullptr);
    const auto r = st.query_row();
    EXPECT_EQ(r.get<int>(0), 10);
    EXPECT_EQ(r.get<std::string>(1), "x");
    EXPECT_EQ(r.get<double>(2), 2.5);
    EXPECT_TRUE(r.is_null(3));

    EXPECT_THROW(st.bind(0, 1), libsql::usage_error);
    EXPECT_THROW(st.bind(5, 1), libsql::usage_error);
    EXPECT_THROW(st.bind("missing", 1), libsql::usage_error);
    EXPECT_THROW(st.bind(":n2", 1), libsql::usage_error);  // the prefix given must be the one in the SQL
}

TEST_F(statement_db, bound_values_are_copied) {
    auto st = conn.prepare("SELECT ?");
    {
        std::string s = "short lived value, long enough not to fit in a small string";
        st.bind(1, s);
        s.assign(s.size(), '#');
    }
    EXPECT_EQ(st.query_row().get<std::string>(0), "short lived value, long enough not to fit in a small string");
}

TEST_F(statement_db, bind_all_and_params) {
    auto st = conn.prepare("SELECT ? + ?");
    st.bind_all(2, 3);
    EXPECT_EQ(st.query_row().get<int>(0), 5);
    EXPECT_THROW(st.bind_all(1), libsql::usage_error);

    auto named_st = conn.prepare("SELECT :a || :b");
    named_st.bind_all(libsql::named("b", "B"), libsql::named("a", "A"));
    EXPECT_EQ(named_st.query_row().get<std::string>(0), "AB");
    named_st.bind(libsql::params{{"a", "x"}, {"b", "y"}});
    EXPECT_EQ(named_st.query_row().get<std::string>(0), "xy");
    EXPECT_THROW(named_st.bind(libsql::params{{"a", "x"}}), libsql::usage_error);
}

TEST_F(statement_db, reset_keeps_bindings_and_clear_bindings_makes_null) {
    auto st = conn.prepare("SELECT ?, ?");
    st.bind(1, 7).bind(2, "seven");
    EXPECT_EQ(st.query_row().get<int>(0), 7);
    st.reset();
    const auto again = st.query_row();
    EXPECT_EQ(again.get<int>(0), 7);
    EXPECT_EQ(again.get<std::string>(1), "seven");

    st.clear_bindings();
    const auto cleared = st.query_row();
    EXPECT_TRUE(cleared.is_null(0));
    EXPECT_TRUE(cleared.is_null(1));
    EXPECT_EQ(st.expanded_sql(), "SELECT NULL, NULL");
}

TEST_F(statement_db, unbound_parameters_are_null_without_arguments) {
    auto st = conn.prepare("SELECT ?");
    EXPECT_TRUE(st.query_row().is_null(0));
}

TEST_F(statement_db, reset_mid_query_ends_the_cursor) {
    auto st = conn.prepare("SELECT id FROM items ORDER BY id");
    auto rs = st.query();
    ASSERT_TRUE(rs.next());
    st.reset();
    EXPECT_THROW((void)rs.next(), libsql::usage_error);
    EXPECT_EQ(st.query().skip_all(), 3u);
}

TEST_F(statement_db, execute_returns_changes) {
    auto insert = conn.prepare("INSERT INTO items(name, price) VALUES (?, ?)");
    EXPECT_EQ(insert.execute("kiwi", 1.0), 1);
    EXPECT_EQ(insert.execute("lime", 0.2), 1);
    auto update = conn.prepare("UPDATE items SET qty = qty + 1 WHERE price < ?");
    EXPECT_EQ(update.execute(0.6), 2);  // apple 0.5 and lime 0.2; fig's NULL price does not match
    EXPECT_EQ(conn.query_value<int>("SELECT count(*) FROM items WHERE price < 0.6"), 2);
    EXPECT_EQ(update.execute(0.0), 0);
    EXPECT_EQ(conn.prepare("DELETE FROM items WHERE id > 100").execute(), 0);

    // Statements that change nothing report 0, even right after a change.
    EXPECT_EQ(conn.prepare("SELECT * FROM items").execute(), 0);
    EXPECT_EQ(conn.prepare("CREATE TABLE other(x)").execute(), 0);
    EXPECT_EQ(conn.prepare("DROP TABLE other").execute(), 0);
    EXPECT_EQ(conn.prepare("DELETE FROM items").execute(), 5);
}

TEST_F(statement_db, execute_with_current_bindings) {
    auto insert = conn.prepare("INSERT INTO items(name) VALUES (?)");
    insert.bind(1, "bound");
    EXPECT_EQ(insert.execute(), 1);
    EXPECT_EQ(insert.execute(), 1);  // again, same bindings
    EXPECT_EQ(conn.query_value<int>("SELECT count(*) FROM items WHERE name = 'bound'"), 2);
    // A failing run reports the engine's error and leaves the statement usable.
    insert.clear_bindings();
    EXPECT_THROW(insert.execute(), libsql::not_null_violation);
    EXPECT_EQ(insert.execute("ok"), 1);
}

TEST_F(statement_db, query_and_query_row) {
    auto st = conn.prepare("SELECT name FROM items WHERE id >= ? ORDER BY id");
    std::vector<std::string> names;
    for (auto r : st.query(2)) names.push_back(r.get<std::string>(0));
    EXPECT_EQ(names, (std::vector<std::string>{"pear", "fig"}));
    EXPECT_EQ(st.query_row(3).get<std::string>(0), "fig");
    EXPECT_EQ(st.query_row(1).get<std::string>(0), "apple");  // the first row of several
    EXPECT_THROW((void)st.query_row(4), libsql::no_rows);
    EXPECT_EQ(st.query(1).skip_all(), 3u);
    // query_row resets the statement: the same statement runs again at once.
    EXPECT_EQ(st.query_row(1).get<std::string>(0), "apple");
}

TEST_F(statement_db, columns_metadata) {
    auto st = conn.prepare("SELECT i.id, i.name AS label, price * 2 AS doubled, 'lit' FROM items AS i");
    ASSERT_EQ(st.column_count(), 4);
    EXPECT_EQ(st.column_name(1), "label");
    const auto cols = st.columns();
    ASSERT_EQ(cols.size(), 4u);
    EXPECT_EQ(cols[0], (libsql::column_info{"id", "INTEGER", "main", "items", "id"}));
    EXPECT_EQ(cols[1], (libsql::column_info{"label", "TEXT", "main", "items", "name"}));
    // Expressions have a name and nothing else.
    EXPECT_EQ(cols[2], (libsql::column_info{"doubled", "", "", "", ""}));
    EXPECT_EQ(cols[3], (libsql::column_info{"'lit'", "", "", "", ""}));
    EXPECT_THROW((void)st.column_name(4), libsql::usage_error);

    // A statement that returns nothing has no columns.
    EXPECT_TRUE(conn.prepare("UPDATE items SET qty = 0").columns().empty());
    EXPECT_EQ(conn.prepare("UPDATE items SET qty = 0").column_count(), 0);
}

TEST_F(statement_db, parameter_introspection) {
    auto st = conn.prepare("SELECT :alpha, ?, @beta, $gamma, ?7");
    EXPECT_EQ(st.parameter_count(), 7);
    EXPECT_EQ(st.parameter_name(1), ":alpha");
    EXPECT_EQ(st.parameter_name(2), "");
    EXPECT_EQ(st.parameter_name(3), "@beta");
    EXPECT_EQ(st.parameter_name(4), "$gamma");
    EXPECT_EQ(st.parameter_name(5), "");  // never named in the SQL
    EXPECT_EQ(st.parameter_name(7), "?7");
    EXPECT_THROW((void)st.parameter_name(0), libsql::usage_error);
    EXPECT_THROW((void)st.parameter_name(8), libsql::usage_error);

    EXPECT_EQ(st.parameter_index("alpha"), 1);
    EXPECT_EQ(st.parameter_index(":alpha"), 1);
    EXPECT_EQ(st.parameter_index("beta"), 3);
    EXPECT_EQ(st.parameter_index("@beta"), 3);
    EXPECT_EQ(st.parameter_index("gamma"), 4);
    EXPECT_EQ(st.parameter_index("?7"), 7);
    EXPECT_EQ(st.parameter_index("delta"), std::nullopt);
    EXPECT_EQ(st.parameter_index(":beta"), std::nullopt);
    EXPECT_EQ(st.parameter_index(""), std::nullopt);

    EXPECT_EQ(conn.prepare("SELECT 1").parameter_count(), 0);
}

TEST_F(statement_db, readonly_explain_and_sql) {
    EXPECT_TRUE(conn.prepare("SELECT * FROM items").readonly());
    EXPECT_FALSE(conn.prepare("INSERT INTO items(name) VALUES ('x')").readonly());
    EXPECT_FALSE(conn.prepare("CREATE TABLE t2(x)").readonly());

    EXPECT_FALSE(conn.prepare("SELECT 1").is_explain());
    auto explain = conn.prepare("EXPLAIN SELECT * FROM items");
    EXPECT_TRUE(explain.is_explain());
    EXPECT_GT(explain.query().skip_all(), 0u);
    auto plan = conn.prepare("EXPLAIN QUERY PLAN SELECT * FROM items WHERE id = 1");
    EXPECT_TRUE(plan.is_explain());
    EXPECT_EQ(plan.columns().at(3).name, "detail");
    bool uses_pk = false;
    for (auto r : plan.query())
        if (r.get<std::string>("detail").find("INTEGER PRIMARY KEY") != std::string::npos) uses_pk = true;
    EXPECT_TRUE(uses_pk);

    auto st = conn.prepare("SELECT * FROM items WHERE name = ? AND id > ?");
    EXPECT_EQ(st.sql(), "SELECT * FROM items WHERE name = ? AND id > ?");
    st.bind(1, "it's").bind(2, 5);
    EXPECT_EQ(st.expanded_sql(), "SELECT * FROM items WHERE name = 'it''s' AND id > 5");
}

TEST_F(statement_db, empty_and_moved_statements_refuse_use) {
    libsql::statement empty;
    EXPECT_FALSE(empty);
    EXPECT_EQ(empty.native_handle(), nullptr);
    EXPECT_THROW((void)empty.execute(), libsql::usage_error);
    EXPECT_THROW((void)empty.query(), libsql::usage_error);
    EXPECT_THROW((void)empty.parameter_count(), libsql::usage_error);
    EXPECT_NO_THROW(empty.reset());

    auto st = conn.prepare("SELECT 1");
    EXPECT_TRUE(st);
    libsql::statement other = std::move(st);
    EXPECT_FALSE(st);  // NOLINT(bugprone-use-after-move)
    EXPECT_THROW((void)st.query_row(), libsql::usage_error);
    EXPECT_EQ(other.query_row().get<int>(0), 1);
}

TEST_F(statement_db, one_statement_only) {
    EXPECT_THROW((void)conn.prepare("SELECT 1; SELECT 2"), libsql::usage_error);
    // Trailing semicolons, spaces and comments are fine.
    EXPECT_EQ(conn.prepare("SELECT 1;  ; -- done\n /* really */").query_row().get<int>(0), 1);
    EXPECT_THROW((void)conn.prepare(""), libsql::usage_error);
    EXPECT_THROW((void)conn.prepare("  -- only a comment"), libsql::usage_error);
    EXPECT_THROW((void)conn.prepare("SELEC 1"), libsql::sql_error);
    EXPECT_THROW((void)conn.prepare("SELECT * FROM nowhere"), libsql::sql_error);
}

TEST_F(statement_db, errors_carry_the_sql_and_the_callers_line) {
    const std::uint_least32_t line = __LINE__ + 2;
    try {
        (void)conn.prepare("SELECT * FROM nowhere");
        FAIL() << "no throw";
    } catch (const libsql::sql_error& e) {
        EXPECT_EQ(e.sql(), "SELECT * FROM nowhere");
        EXPECT_EQ(e.code(), SQLITE_ERROR);
        EXPECT_NE(std::string(e.what()).find("no such table"), std::string::npos) << e.what();
        EXPECT_EQ(e.where().line(), line);
        EXPECT_NE(std::string(e.where().file_name()).find("statement_test"), std::string::npos);
    }
}

TEST_F(statement_db, statement_outlives_a_closed_connection_safely) {
    auto st = conn.prepare("SELECT 1");
    conn.close();
    EXPECT_THROW((void)st.query_row(), libsql::usage_error);
    EXPECT_THROW((void)st.execute(), libsql::usage_error);
}

// The statement is prepared once; executing, querying and query_row-ing it many times must never prepare it again
// (same engine handle, one engine run per call, no re-prepare).
TEST_F(statement_db, prepared_once_runs_many_times_without_re_preparing) {
    constexpr int runs = 1000;
    conn.execute("CREATE TABLE counter(n INTEGER)");

    auto insert = conn.prepare("INSERT INTO counter VALUES (?)");
    sqlite3_stmt* const insert_handle = insert.native_handle();
    ASSERT_NE(insert_handle, nullptr);
    for (int i = 0; i < runs; ++i) {
        ASSERT_EQ(insert.execute(i), 1);
        ASSERT_EQ(insert.native_handle(), insert_handle);
    }
    EXPECT_EQ(sqlite3_stmt_status(insert_handle, SQLITE_STMTSTATUS_RUN, 0), runs);
    EXPECT_EQ(sqlite3_stmt_status(insert_handle, SQLITE_STMTSTATUS_REPREPARE, 0), 0);

    auto select = conn.prepare("SELECT n FROM counter WHERE n >= ? ORDER BY n LIMIT 2");
    sqlite3_stmt* const select_handle = select.native_handle();
    std::int64_t sum = 0;
    for (int i = 0; i < runs; ++i) {
        for (auto r : select.query(i)) sum += r.get<int>(0);
        ASSERT_EQ(select.native_handle(), select_handle);
    }
    for (int i = 0; i < runs; ++i) {
        sum += select.query_row(i).get<int>(0);
        ASSERT_EQ(select.native_handle(), select_handle);
    }
    // Unfinished cursors (one row read of two) count as runs too.
    for (int i = 0; i < runs; ++i) {
        auto rs = select.query(i);
        ASSERT_TRUE(rs.next());
        ASSERT_EQ(select.native_handle(), select_handle);
    }
    EXPECT_EQ(sqlite3_stmt_status(select_handle, SQLITE_STMTSTATUS_RUN, 0), 3 * runs);
    EXPECT_EQ(sqlite3_stmt_status(select_handle, SQLITE_STMTSTATUS_REPREPARE, 0), 0);
    // sum of (i + min(i+1, 999)) for the cursors plus sum of i for query_row.
    std::int64_t expected = 0;
    for (int i = 0; i < runs; ++i) expected += i + (i + 1 < runs ? i + 1 : 0) + i;
    EXPECT_EQ(sum, expected);

    // execute() of a SELECT, with the bindings of the last run, also runs the same handle.
    for (int i = 0; i < runs; ++i) ASSERT_EQ(select.execute(), 0);
    EXPECT_EQ(sqlite3_stmt_status(select_handle, SQLITE_STMTSTATUS_RUN, 0), 4 * runs);
    EXPECT_EQ(sqlite3_stmt_status(select_handle, SQLITE_STMTSTATUS_REPREPARE, 0), 0);
}
