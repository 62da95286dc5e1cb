// Tests for libsql/rows.hpp: the streaming cursor (rows), the current row (row_view), owned rows (row), and the
// result-shape helpers.
#include "libsql/rows.hpp"

#include "support/temp_files.hpp"
#include "libsql/database.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <optional>
#include <string>
#include <tuple>
#include <unistd.h>
#include <utility>
#include <vector>

using namespace std::string_literals;

namespace {

using libsql::test::temp_db_file;
using libsql::test::temp_dir;

class rows_db : public ::testing::Test {
protected:
    void SetUp() override {
        conn.execute_batch(
            "CREATE TABLE people(id INTEGER PRIMARY KEY, name TEXT NOT NULL, age INTEGER, score REAL);"
            "INSERT INTO people VALUES (1, 'ada', 36, 9.5), (2, 'bob', NULL, 7.0), (3, 'cy', 20, NULL);");
    }
    libsql::database db{":memory:"};
    libsql::connection conn = db.connect();
};

} // namespace

TEST_F(rows_db, range_for_with_typed_access) {
    std::vector<std::tuple<int, std::string, std::optional<int>>> seen;
    for (auto r : conn.query("SELECT id, name, age FROM people ORDER BY id")) {
        EXPECT_EQ(r.size(), 3);
        seen.emplace_back(r.get<int>(0), r.get<std::string>("name"), r.get<std::optional<int>>("age"));
    }
    ASSERT_EQ(seen.size(), 3u);
    EXPECT_EQ(seen[0], std::make_tuple(1, "ada"s, std::optional<int>(36)));
    EXPECT_EQ(seen[1], std::make_tuple(2, "bob"s, std::optional<int>()));
    EXPECT_EQ(seen[2], std::make_tuple(3, "cy"s, std::optional<int>(20)));
}

TEST_F(rows_db, empty_result_runs_no_iteration) {
    int n = 0;
    for (auto r : conn.query("SELECT id FROM people WHERE id > 100")) {
        (void)r;
        ++n;
    }
    EXPECT_EQ(n, 0);
}

TEST_F(rows_db, next_and_current) {
    auto rs = conn.query("SELECT id FROM people ORDER BY id");
    EXPECT_THROW((void)rs.current(), libsql::usage_error);  // before the first next()
    ASSERT_TRUE(rs.next());
    EXPECT_EQ(rs.current().get<int>(0), 1);
    ASSERT_TRUE(rs.next());
    EXPECT_EQ(rs.current().get<int>(0), 2);
    // begin() continues from the current row.
    std::vector<int> rest;
    for (auto r : rs) rest.push_back(r.get<int>(0));
    EXPECT_EQ(rest, (std::vector<int>{2, 3}));
    EXPECT_FALSE(rs.next());
    EXPECT_FALSE(rs.next());  // stays exhausted
    EXPECT_THROW((void)rs.current(), libsql::usage_error);
}

TEST_F(rows_db, access_by_name_and_index_errors) {
    auto rs = conn.query("SELECT id AS ident, name FROM people WHERE id = 1");
    ASSERT_TRUE(rs.next());
    const auto r = rs.current();
    EXPECT_EQ(r.get<int>("ident"), 1);
    EXPECT_EQ(r.get<int>("IDENT"), 1);  // names compare without case, as in SQLite
    EXPECT_EQ(r.column_index("name"), 1);
    EXPECT_EQ(r.column_name(0), "ident");
    EXPECT_EQ(r.at(1).as_text(), "ada");
    EXPECT_EQ(r.at("name").type(), libsql::value_type::text);
    EXPECT_FALSE(r.is_null(0));
    EXPECT_THROW((void)r.get<int>("id"), libsql::usage_error);
    EXPECT_THROW((void)r.get<int>(2), libsql::usage_error);
    EXPECT_THROW((void)r.get<int>(-1), libsql::usage_error);
    EXPECT_THROW((void)r.column_name(5), libsql::usage_error);
}

TEST_F(rows_db, conversion_errors_name_the_column) {
    auto rs = conn.query("SELECT name, age FROM people WHERE id = 2");
    ASSERT_TRUE(rs.next());
    try {
        (void)rs.current().get<int>(0);
        FAIL() << "no throw";
    } catch (const libsql::conversion_error& e) {
        EXPECT_NE(std::string(e.what()).find("name"), std::string::npos) << e.what();
    }
    try {
        (void)rs.current().get<int>("age");
        FAIL() << "no throw";
    } catch (const libsql::unexpected_null& e) {
        EXPECT_NE(std::string(e.what()).find("age"), std::string::npos) << e.what();
    }
    EXPECT_EQ(rs.current().get<std::optional<int>>("age"), std::nullopt);
}

TEST_F(rows_db, tuples) {
    auto rs = conn.query("SELECT id, name, score FROM people ORDER BY id");
    ASSERT_TRUE(rs.next());
    auto [id, name, score] = rs.current().as<int, std::string, std::optional<double>>();
    EXPECT_EQ(id, 1);
    EXPECT_EQ(name, "ada");
    EXPECT_EQ(score, 9.5);
    // Fewer types than columns: the first ones.
    EXPECT_EQ(std::get<0>(rs.current().as<int>()), 1);
    // More types than columns: a usage error, not a read past the end.
    EXPECT_THROW((void)(rs.current().as<int, std::string, double, int>()), libsql::usage_error);

    ASSERT_TRUE(rs.next());
    int i = 0;
    std::string n;
    rs.current().to(i, n);
    EXPECT_EQ(i, 2);
    EXPECT_EQ(n, "bob");
}

TEST_F(rows_db, column_names) {
    auto rs = conn.query("SELECT id, name AS who, 1 + 1 FROM people");
    EXPECT_EQ(rs.column_count(), 3);
    EXPECT_EQ(rs.column_names(), (std::vector<std::string>{"id", "who", "1 + 1"}));
    EXPECT_EQ(rs.column_name(1), "who");
    const libsql::rows empty;
    EXPECT_EQ(empty.column_count(), 0);
    EXPECT_TRUE(empty.column_names().empty());
}

TEST_F(rows_db, view_text_is_valid_until_the_row_moves) {
    auto rs = conn.query("SELECT name FROM people ORDER BY id");
    ASSERT_TRUE(rs.next());
    const std::string_view first = rs.current().get<std::string_view>(0);
    EXPECT_EQ(first, "ada");
    const auto owned = rs.current().to_row();
    ASSERT_TRUE(rs.next());
    EXPECT_EQ(rs.current().get<std::string_view>(0), "bob");
    EXPECT_EQ(owned.get<std::string>(0), "ada");  // the copy stays
}

TEST_F(rows_db, stale_row_view_throws) {
    auto rs = conn.query("SELECT id FROM people ORDER BY id");
    ASSERT_TRUE(rs.next());
    const libsql::row_view first = rs.current();
    EXPECT_EQ(first.get<int>(0), 1);
    ASSERT_TRUE(rs.next());
    EXPECT_THROW((void)first.get<int>(0), libsql::usage_error);
    EXPECT_THROW((void)first.at(0), libsql::usage_error);
    EXPECT_THROW((void)first.to_row(), libsql::usage_error);
    EXPECT_THROW((void)first.column_name(0), libsql::usage_error);
    const libsql::row_view second = rs.current();
    EXPECT_EQ(second.get<int>(0), 2);
    (void)rs.skip_all();
    EXPECT_THROW((void)second.get<int>(0), libsql::usage_error);  // exhausted
}

TEST_F(rows_db, running_the_statement_again_makes_the_cursor_stale) {
    auto st = conn.prepare("SELECT id FROM people ORDER BY id");
    auto first = st.query();
    ASSERT_TRUE(first.next());
    const auto view = first.current();
    auto second = st.query();
    EXPECT_THROW((void)first.next(), libsql::usage_error);
    EXPECT_THROW((void)view.get<int>(0), libsql::usage_error);
    // The new cursor starts from the beginning.
    EXPECT_EQ(second.all<int>(), (std::vector<std::tuple<int>>{{1}, {2}, {3}}));
    st.reset();
}

TEST_F(rows_db, one_row_and_opt_row) {
    const libsql::row r = conn.query("SELECT id, name FROM people WHERE id = 3").one_row();
    EXPECT_EQ(r.size(), 2);
    EXPECT_EQ(r.get<int>("id"), 3);
    EXPECT_EQ(r.get<std::string>(1), "cy");
    EXPECT_EQ(r.column_name(1), "name");
    EXPECT_EQ(r.values().size(), 2u);

    EXPECT_THROW((void)conn.query("SELECT id FROM people WHERE id = 99").one_row(), libsql::no_rows);
    EXPECT_THROW((void)conn.query("SELECT id FROM people").one_row(), libsql::unexpected_rows);
    try {
        (void)conn.query("SELECT id FROM people").one_row();
        FAIL() << "no throw";
    } catch (const libsql::unexpected_rows& e) {
        EXPECT_EQ(dynamic_cast<const libsql::no_rows*>(&e), nullptr);  // more than one is not "no rows"
        EXPECT_EQ(e.sql(), "SELECT id FROM people");
    }

    EXPECT_EQ(conn.query("SELECT id FROM people WHERE id = 99").opt_row(), std::nullopt);
    const auto some = conn.query("SELECT id FROM people WHERE id = 2").opt_row();
    ASSERT_TRUE(some.has_value());
    EXPECT_EQ(some->get<int>(0), 2);
    EXPECT_THROW((void)conn.query("SELECT id FROM people").opt_row(), libsql::unexpected_rows);
}

TEST_F(rows_db, one_value_and_opt_value) {
    EXPECT_EQ(conn.query("SELECT count(*) FROM people").one_value<int>(), 3);
    EXPECT_EQ(conn.query("SELECT name FROM people WHERE id = 1").one_value<std::string>(), "ada");
    EXPECT_EQ(conn.query("SELECT age FROM people WHERE id = 2").one_value<std::optional<int>>(), std::nullopt);
    EXPECT_THROW((void)conn.query("SELECT age FROM people WHERE id = 2").one_value<int>(), libsql::unexpected_null);
    EXPECT_THROW((void)conn.query("SELECT id FROM people WHERE id = 99").one_value<int>(), libsql::no_rows);
    EXPECT_THROW((void)conn.query("SELECT id FROM people").one_value<int>(), libsql::unexpected_rows);
    EXPECT_THROW((void)conn.query("SELECT id, name FROM people WHERE id = 1").one_value<int>(), libsql::unexpected_rows);

    EXPECT_EQ(conn.query("SELECT id FROM people WHERE id = 99").opt_value<int>(), std::nullopt);
    EXPECT_EQ(conn.query("SELECT id FROM people WHERE id = 3").opt_value<int>(), 3);
    EXPECT_THROW((void)conn.query("SELECT id FROM people").opt_value<int>(), libsql::unexpected_rows);
    EXPECT_THROW((void)conn.query("SELECT id, name FROM people").opt_value<int>(), libsql::unexpected_rows);
}

TEST_F(rows_db, all_and_skip_all) {
    const auto all = conn.query("SELECT id, name, age FROM people ORDER BY id").all<int, std::string, std::optional<int>>();
    ASSERT_EQ(all.size(), 3u);
    EXPECT_EQ(all[1], std::make_tuple(2, "bob"s, std::optional<int>()));
    EXPECT_TRUE(conn.query("SELECT id FROM people WHERE 0").all<int>().empty());

    auto rs = conn.query("SELECT id FROM people ORDER BY id");
    ASSERT_TRUE(rs.next());
    EXPECT_EQ(rs.skip_all(), 2u);  // the remaining rows
    EXPECT_EQ(rs.skip_all(), 0u);
    EXPECT_EQ(conn.query("SELECT id FROM people").skip_all(), 3u);
    // all() after some rows reads only the rest.
    auto rs2 = conn.query("SELECT id FROM people ORDER BY id");
    ASSERT_TRUE(rs2.next());
    EXPECT_EQ(rs2.all<int>(), (std::vector<std::tuple<int>>{{2}, {3}}));
}

TEST_F(rows_db, owned_row_errors) {
    const auto r = conn.query_row("SELECT 1 AS a, NULL AS b");
    EXPECT_THROW((void)r.get<int>(2), libsql::usage_error);
    EXPECT_THROW((void)r.get<int>("c"), libsql::usage_error);
    EXPECT_THROW((void)r.get<int>("b"), libsql::unexpected_null);
    EXPECT_TRUE(r.is_null(1));
    EXPECT_EQ(r.get<std::optional<int>>("b"), std::nullopt);
    auto [a, b] = r.as<int, std::optional<std::string>>();
    EXPECT_EQ(a, 1);
    EXPECT_EQ(b, std::nullopt);
    EXPECT_THROW((void)(r.as<int, int, int>()), libsql::usage_error);

    const libsql::row empty;
    EXPECT_EQ(empty.size(), 0);
    EXPECT_THROW((void)empty.get<int>(0), libsql::usage_error);
    EXPECT_THROW((void)empty.column_index("a"), libsql::usage_error);
}

TEST_F(rows_db, moved_rows) {
    auto rs = conn.query("SELECT id FROM people ORDER BY id");
    ASSERT_TRUE(rs.next());
    libsql::rows moved(std::move(rs));
    // The new owner carries on from where the old one was.
    EXPECT_EQ(moved.current().get<int>(0), 1);
    ASSERT_TRUE(moved.next());
    EXPECT_EQ(moved.current().get<int>(0), 2);
    // The moved-from cursor refuses use instead of crashing.
    EXPECT_THROW((void)rs.next(), libsql::usage_error);  // NOLINT(bugprone-use-after-move)
    EXPECT_THROW((void)rs.current(), libsql::usage_error);
    EXPECT_THROW((void)rs.column_name(0), libsql::usage_error);
    EXPECT_EQ(rs.column_count(), 0);

    // Move assignment: the old target is finished, the new one continues.
    libsql::rows target = conn.query("SELECT name FROM people ORDER BY id");
    ASSERT_TRUE(target.next());
    target = std::move(moved);
    ASSERT_TRUE(target.next());
    EXPECT_EQ(target.current().get<int>(0), 3);
    EXPECT_FALSE(target.next());
}

TEST_F(rows_db, fresh_moved_from_rows_refuse_use) {
    auto rs = conn.query("SELECT id FROM people");
    libsql::rows other = std::move(rs);
    EXPECT_THROW((void)rs.current(), libsql::usage_error);  // NOLINT(bugprone-use-after-move)
    EXPECT_THROW((void)rs.begin(), libsql::usage_error);
    EXPECT_EQ(other.skip_all(), 3u);
}

TEST_F(rows_db, default_rows_refuse_use) {
    libsql::rows rs;
    EXPECT_THROW((void)rs.next(), libsql::usage_error);
    EXPECT_THROW((void)rs.current(), libsql::usage_error);
}

TEST(rows_locking, destroying_rows_mid_iteration_releases_the_read_lock) {
    const temp_dir dir;
    libsql::database db(dir.file("locks.db"));
    auto reader = db.connect();
    auto writer = db.connect();
    writer.busy_timeout(std::chrono::milliseconds(0));
    // Rollback-journal mode: a reader's SHARED lock keeps a writer from committing.
    ASSERT_EQ(reader.query_value<std::string>("PRAGMA journal_mode"), "delete");
    reader.execute_batch("CREATE TABLE t(x); INSERT INTO t VALUES (1), (2), (3);");

    {
        auto rs = reader.query("SELECT x FROM t");
        ASSERT_TRUE(rs.next());
        EXPECT_THROW(writer.execute("INSERT INTO t VALUES (4)"), libsql::busy);
    }  // rs goes mid-iteration
    EXPECT_EQ(writer.execute("INSERT INTO t VALUES (4)"), 1);

    // The same with a statement that stays alive: the cursor's end resets it.
    auto st = reader.prepare("SELECT x FROM t");
    {
        auto rs = st.query();
        ASSERT_TRUE(rs.next());
        EXPECT_THROW(writer.execute("INSERT INTO t VALUES (5)"), libsql::busy);
    }
    EXPECT_EQ(writer.execute("INSERT INTO t VALUES (5)"), 1);
    EXPECT_EQ(reader.query_value<int>("SELECT count(*) FROM t"), 5);
    // The kept statement runs again from the start.
    EXPECT_EQ(st.query().skip_all(), 5u);
}
