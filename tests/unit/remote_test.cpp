// The remote transport against real servers: `libsql serve` (Hrana 3 over HTTP) and `tursodb --sync-server` (the
// limited mode). Every test uses the public API only, as an application would.
#include "libsql/libsql.hpp"

#include "remote/remote.hpp"
#include "support/jwt.hpp"
#include "support/processes.hpp"
#include "support/temp_files.hpp"

#include <gtest/gtest.h>

#include <sodium.h>
#include <sqlite3.h>

#include <atomic>
#include <cmath>
#include <fstream>
#include <limits>
#include <random>
#include <thread>

using namespace std::chrono_literals;

namespace {

using libsql::test::libsql_server;
using libsql::test::temp_dir;

// ------------------------------------------------------------------------------ client-side SQL scanning
namespace rs = libsql::detail::remote;

TEST(remote_sql, parameters_are_numbered_as_sqlite_numbers_them) {
    auto p = rs::scan_parameters("SELECT ?, :a, ?5, ?, :a, @b, $c::d(x), '?:no', \"?x\", [?y], `:z` -- ?\n /* :w */ ?2");
    EXPECT_EQ(p.count, 8);
    ASSERT_EQ(p.names.size(), 8u);
    EXPECT_EQ(p.names[0], "");
    EXPECT_EQ(p.names[1], ":a");
    EXPECT_EQ(p.names[4], "?5");
    EXPECT_EQ(p.names[5], "");    // the '?' after ?5 is 6
    EXPECT_EQ(p.names[6], "@b");
    EXPECT_EQ(p.names[7], "$c::d(x)");
    EXPECT_EQ(p.names[2], "");
    ASSERT_EQ(p.tokens.size(), 8u);  // ?, :a, ?5, ?, :a, @b, $c::d(x), ?2
    EXPECT_EQ(p.tokens[4].index, 2);
    EXPECT_EQ(p.tokens[7].index, 2);
    EXPECT_EQ(rs::scan_parameters("SELECT 1").count, 0);
    EXPECT_EQ(rs::scan_parameters("SELECT x'3f', 'it''s ?', ?").count, 1);
    EXPECT_EQ(rs::scan_parameters("SELECT :").count, 0);
}

TEST(remote_sql, statements_split_like_sqlite_complete) {
    auto v = rs::split_statements(" SELECT 1; ;; -- only a comment\n; SELECT ';' ; /* ; */ SELECT 2 ");
    ASSERT_EQ(v.size(), 3u);
    EXPECT_EQ(v[0], "SELECT 1");
    EXPECT_EQ(v[1], "SELECT ';'");
    EXPECT_EQ(v[2], "/* ; */ SELECT 2");
    v = rs::split_statements("CREATE TEMP TRIGGER tr AFTER INSERT ON t BEGIN SELECT 1; SELECT 2; END; SELECT 3");
    ASSERT_EQ(v.size(), 2u);
    EXPECT_EQ(v[1], "SELECT 3");
    EXPECT_TRUE(rs::split_statements("  -- nothing\n /* at all */ ;").empty());
}

TEST(remote_sql, trigger_bodies_end_where_sqlite_complete_says) {
    // A CASE ... END; inside a trigger body does not end the trigger: only an END right after a ';' does.
    auto v = rs::split_statements("CREATE TRIGGER tr AFTER INSERT ON t BEGIN UPDATE u SET a = CASE WHEN 1 THEN 2 END; "
                                  "END; SELECT 3");
    ASSERT_EQ(v.size(), 2u);
    EXPECT_EQ(v[1], "SELECT 3");
    v = rs::split_statements("EXPLAIN QUERY PLAN CREATE TRIGGER tr AFTER INSERT ON t BEGIN SELECT 1; END; SELECT 2");
    ASSERT_EQ(v.size(), 2u);
    EXPECT_EQ(v[1], "SELECT 2");
    v = rs::split_statements("create temporary trigger tr after insert on t begin select 1; end ;select 2");
    ASSERT_EQ(v.size(), 2u);
    // As SQLite's tokenizer: "1e--" is the number 1e and a comment, "$a(;)" one parameter, literals of every kind.
    v = rs::split_statements("SELECT 1e--;\n, 2; SELECT $a(;), [b;], `c;`, \"d;\", x'3b', 'e;'; SELECT 4");
    ASSERT_EQ(v.size(), 3u);
    EXPECT_EQ(v[0], "SELECT 1e--;\n, 2");
    EXPECT_EQ(v[1], "SELECT $a(;), [b;], `c;`, \"d;\", x'3b', 'e;'");
    {
        // The tokenizer, not sqlite3_complete, is the judge here: sqlite3_prepare's tail starts after the ';' we cut at.
        const std::string two = "SELECT $a(;), :b(;), @c(;), #d(;); SELECT 4";
        v = rs::split_statements(two);
        ASSERT_EQ(v.size(), 2u);
        EXPECT_EQ(v[1], "SELECT 4");
        sqlite3* db = nullptr;
        ASSERT_EQ(sqlite3_open(":memory:", &db), SQLITE_OK);
        sqlite3_stmt* st = nullptr;
        const char* tail = nullptr;
        EXPECT_EQ(sqlite3_prepare_v2(db, two.c_str(), -1, &st, &tail), SQLITE_OK) << sqlite3_errmsg(db);
        EXPECT_EQ(std::string(tail), " SELECT 4");
        EXPECT_EQ(sqlite3_bind_parameter_count(st), 4);
        sqlite3_finalize(st);
        sqlite3_close(db);
    }
    // "/*" at the very end is not a comment for SQLite but a syntax error, so it is sent, not dropped.
    v = rs::split_statements("SELECT 1; /*");
    ASSERT_EQ(v.size(), 2u);
    EXPECT_EQ(v[1], "/*");
    EXPECT_EQ(rs::split_statements("SELECT 1; /* x").size(), 1u);
}

TEST(remote_sql, statement_boundaries_agree_with_sqlite3_complete_on_generated_text) {
    // Texts made of SQL fragments (literals, comments, trigger keywords, semicolons), split by us and checked
    // against SQLite's own sqlite3_complete(): every statement we cut ends where SQLite sees a complete statement,
    // no ';' inside one of them is such an end, and what lies between two of them runs nothing.
    // (Not here: a parameter with a "(...)" suffix such as $e(;), one token for SQLite's tokenizer, which
    // sqlite3_prepare follows, but not for sqlite3_complete; the test above checks it against sqlite3_prepare.)
    static constexpr std::string_view frags[] = {
        "SELECT", " ", " ", "1", "'a;b'", "'it''s'", "\"q;\"", "[x;]", "`y;`", "-- c;\n", "/* c; */", ";", ";",
        "CREATE", "TEMP", "temporary", "TRIGGER", "trigger", "BEGIN", "END", "end", "EXPLAIN", "x'3b'", "1e--",
        "\n", "CASE", "t", "?1 ", ":a ", "@b ", "$c ", "#d ", "(", ")", ",", "e", "1.5e+3", "Create", "\t",
        "\xc3\xa9", "'", "\"", "/*", "--", "[", "`", "a$(;)", "1e-5", "-", "/", "*",
        "x", "a$",
    };
    std::mt19937 rng(20261204);
    std::uniform_int_distribution<std::size_t> pick(0, std::size(frags) - 1);
    std::uniform_int_distribution<int> length(1, 40);
    int checked = 0;
    for (int round = 0; round < 4000; ++round) {
        std::string sql;
        for (int k = length(rng); k > 0; --k) sql += frags[pick(rng)];
        // The ';' at semi ends a statement for SQLite: the text up to it is complete, and a word after it makes it
        // incomplete again (which tells a real end from a ';' inside a trailing -- comment).
        const auto complete_at = [&](std::size_t semi) {
            const std::string upto = sql.substr(0, semi + 1);
            return sqlite3_complete(upto.c_str()) == 1 && sqlite3_complete((upto + " x").c_str()) == 0;
        };
        const auto stmts = rs::split_statements(sql);
        std::size_t prev_end = 0;  // just past the previous statement's ';'
        for (std::size_t k = 0; k < stmts.size(); ++k) {
            const auto b = static_cast<std::size_t>(stmts[k].data() - sql.data());
            const auto e = b + stmts[k].size();
            for (std::size_t p = b; p < e; ++p)
                if (sql[p] == ';') {
                    ASSERT_FALSE(complete_at(p)) << "split missed a boundary at " << p << " in: " << sql;
                }
            std::size_t semi = e;
            while (semi < sql.size() && sql[semi] != ';') ++semi;
            if (semi < sql.size()) {
                ASSERT_TRUE(complete_at(semi)) << "split at " << semi << ", SQLite sees no end there, in: " << sql;
            } else {
                ASSERT_EQ(k + 1, stmts.size()) << sql;  // only the last may run to the end of the text
            }
            // Between statements: whitespace, comments and semicolons only, which prepare as no statement.
            const std::string gap = sql.substr(prev_end, b - prev_end);
            sqlite3* db = nullptr;
            ASSERT_EQ(sqlite3_open(":memory:", &db), SQLITE_OK);
            sqlite3_stmt* st = nullptr;
            const char* tail = nullptr;
            const int rc = sqlite3_prepare_v2(db, gap.c_str(), -1, &st, &tail);
            EXPECT_TRUE(rc == SQLITE_OK && st == nullptr) << "text between statements runs something: [" << gap << "] in: " << sql;
            sqlite3_finalize(st);
            sqlite3_close(db);
            prev_end = semi < sql.size() ? semi + 1 : sql.size();
            ++checked;
        }
        const std::string rest = sql.substr(prev_end);
        sqlite3* db = nullptr;
        ASSERT_EQ(sqlite3_open(":memory:", &db), SQLITE_OK);
        sqlite3_stmt* st = nullptr;
        EXPECT_EQ(sqlite3_prepare_v2(db, rest.c_str(), -1, &st, nullptr), SQLITE_OK) << rest;
        EXPECT_EQ(st, nullptr) << "text after the last statement runs something: [" << rest << "] in: " << sql;
        sqlite3_finalize(st);
        sqlite3_close(db);
    }
    EXPECT_GT(checked, 4000);  // statements compared (about 5300 with this seed)
}

TEST(remote_sql, transaction_keywords) {
    using K = rs::txn_control::kind;
    EXPECT_EQ(rs::classify_transaction("begin immediate").what, K::begin);
    EXPECT_EQ(rs::classify_transaction("END TRANSACTION").what, K::commit);
    EXPECT_EQ(rs::classify_transaction("rollback").what, K::rollback);
    EXPECT_EQ(rs::classify_transaction("ROLLBACK TRANSACTION").what, K::rollback);
    auto t = rs::classify_transaction("ROLLBACK TO SAVEPOINT \"sp 1\"");
    EXPECT_EQ(t.what, K::rollback_to);
    EXPECT_EQ(t.name, "sp 1");
    t = rs::classify_transaction("rollback to x");
    EXPECT_EQ(t.what, K::rollback_to);
    EXPECT_EQ(t.name, "x");
    t = rs::classify_transaction("RELEASE SAVEPOINT a");
    EXPECT_EQ(t.what, K::release);
    EXPECT_EQ(t.name, "a");
    EXPECT_EQ(rs::classify_transaction("release b").name, "b");
    EXPECT_EQ(rs::classify_transaction("/* c */ SAVEPOINT s").name, "s");
    EXPECT_EQ(rs::classify_transaction("SELECT 'BEGIN'").what, K::none);
    EXPECT_TRUE(rs::looks_readonly("WITH x AS (SELECT 1) SELECT * FROM x"));
    EXPECT_FALSE(rs::looks_readonly("WITH x AS (SELECT 1) INSERT INTO t SELECT * FROM x"));
    EXPECT_TRUE(rs::is_insert("REPLACE INTO t VALUES (1)"));
    EXPECT_EQ(rs::sql_literal(libsql::value_view::text("it's")), "'it''s'");
    EXPECT_EQ(rs::sql_literal(libsql::value_view::real(2.0)), "2.0");
}

/// One `libsql serve` shared by the tests of a suite (each test uses its own tables).
class remote : public ::testing::Test {
protected:
    static void SetUpTestSuite() {
        dir_ = new temp_dir("remote-test");
        server_ = new libsql_server(dir_->file("shared.db"));
        db_ = new libsql::database(server_->url());
    }
    static void TearDownTestSuite() {
        delete db_;
        delete server_;
        delete dir_;
        db_ = nullptr;
        server_ = nullptr;
        dir_ = nullptr;
    }
    static libsql::database& db() { return *db_; }
    /// A table name of this test's own.
    static std::string table(const std::string& base) {
        static std::atomic<int> n{0};
        return base + "_" + std::to_string(n++);
    }

    static temp_dir* dir_;
    static libsql_server* server_;
    static libsql::database* db_;
};
temp_dir* remote::dir_ = nullptr;
libsql_server* remote::server_ = nullptr;
libsql::database* remote::db_ = nullptr;

TEST_F(remote, opens_and_reports_the_transport) {
    EXPECT_EQ(db().transport(), libsql::transport::remote);
    auto c = db().connect();
    EXPECT_EQ(c.transport(), libsql::transport::remote);
    EXPECT_EQ(c.native_handle(), nullptr);
    EXPECT_TRUE(c.is_autocommit());
    EXPECT_EQ(c.query_value<int>("SELECT 1 + 1"), 2);
}

TEST_F(remote, every_value_type_round_trips) {
    auto c = db().connect();
    const auto t = table("vals");
    c.execute("CREATE TABLE " + t + "(i INTEGER, r REAL, s TEXT, b BLOB, n)");
    const std::int64_t big = 9007199254740993;  // beyond 2^53
    const std::vector<std::uint8_t> bytes{0, 1, 2, 0xff, 0x80};
    const std::string text = "héllo wörld \xF0\x9F\x98\x80 \"quoted\" 'single'";
    EXPECT_EQ(c.execute("INSERT INTO " + t + " VALUES (?, ?, ?, ?, ?)", big, 1.5, text, bytes, nullptr), 1);
    c.execute("INSERT INTO " + t + " VALUES (?, ?, ?, ?, ?)", std::numeric_limits<std::int64_t>::min(), -0.1,
              std::string(), std::vector<std::uint8_t>{}, std::optional<int>{});
    c.execute("INSERT INTO " + t + " VALUES (?, ?, ?, ?, ?)", std::numeric_limits<std::int64_t>::max(), 1e300,
              std::string("a\0b", 3), bytes, 7);

    auto rows = c.query("SELECT i, r, s, b, n FROM " + t + " ORDER BY rowid");
    ASSERT_TRUE(rows.next());
    {
        const auto r = rows.current();
        EXPECT_EQ(r.get<std::int64_t>(0), big);
        EXPECT_EQ(r.get<double>(1), 1.5);
        EXPECT_EQ(r.get<std::string>(2), text);
        EXPECT_EQ(r.get<std::vector<std::uint8_t>>(3), bytes);
        EXPECT_TRUE(r.is_null(4));
        EXPECT_EQ(r.at(0).type(), libsql::value_type::integer);
        EXPECT_EQ(r.at(1).type(), libsql::value_type::real);
        EXPECT_EQ(r.at(2).type(), libsql::value_type::text);
        EXPECT_EQ(r.at(3).type(), libsql::value_type::blob);
        EXPECT_EQ(r.column_name(2), "s");
    }
    ASSERT_TRUE(rows.next());
    {
        const auto r = rows.current();
        EXPECT_EQ(r.get<std::int64_t>(0), std::numeric_limits<std::int64_t>::min());
        EXPECT_EQ(r.get<double>(1), -0.1);
        EXPECT_EQ(r.get<std::string>(2), "");
        EXPECT_EQ(r.at(3).type(), libsql::value_type::blob);
        EXPECT_TRUE(r.get<std::vector<std::uint8_t>>(3).empty());
        EXPECT_FALSE(r.get<std::optional<int>>(4).has_value());
    }
    ASSERT_TRUE(rows.next());
    {
        const auto r = rows.current();
        EXPECT_EQ(r.get<std::int64_t>(0), std::numeric_limits<std::int64_t>::max());
        EXPECT_EQ(r.get<double>(1), 1e300);
        EXPECT_EQ(r.get<std::string>(2), std::string("a\0b", 3));
        EXPECT_EQ(r.get<int>(4), 7);
    }
    EXPECT_FALSE(rows.next());

    // Floats keep every bit; an integral double stays REAL.
    for (const double d : {0.1, 1.0 / 3.0, 2.0, -1e-310, 123456789.123456789}) {
        const auto r = c.query_row("SELECT ?, typeof(?)", d, d);
        EXPECT_EQ(r.get<double>(0), d);
        EXPECT_EQ(r.get<std::string>(1), "real");
    }
    EXPECT_EQ(c.query_value<std::string>("SELECT typeof(?)", std::int64_t{2}), "integer");
}

TEST_F(remote, query_row_and_shapes) {
    auto c = db().connect();
    const auto r = c.query_row("SELECT 1 AS a, 'x' AS b");
    EXPECT_EQ(r.get<int>("a"), 1);
    EXPECT_EQ(r.get<std::string>("b"), "x");
    EXPECT_THROW((void)c.query_row("SELECT 1 WHERE 0"), libsql::no_rows);
    EXPECT_THROW((void)c.query("SELECT 1 UNION ALL SELECT 2").one_row(), libsql::unexpected_rows);
    EXPECT_THROW((void)c.execute("SELECT 1; SELECT 2"), libsql::usage_error);
    EXPECT_THROW((void)c.execute("  -- nothing\n"), libsql::usage_error);
    EXPECT_THROW((void)c.query_value<int>("SELECT 1, 2"), libsql::unexpected_rows);
    std::vector<int> seen;
    for (auto row : c.query("WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n WHERE x < 5) SELECT x FROM n"))
        seen.push_back(row.get<int>(0));
    EXPECT_EQ(seen, (std::vector<int>{1, 2, 3, 4, 5}));
}


// A transactional batch on a Hrana 3 server sends no counter probes: the counters come from the steps' own results.
// query_row on a many-row result, then the same statement streamed.
TEST_F(remote, batch_counters_from_steps_and_query_row) {
    auto c = db().connect();
    const auto t = table("qrb");
    c.execute("CREATE TABLE " + t + "(id INTEGER PRIMARY KEY, x)");
    const auto before = c.total_changes();
    c.execute_transactional_batch("INSERT INTO " + t + "(x) VALUES (1), (2); UPDATE " + t + " SET x = x + 1 WHERE id = 1; "
                                  "INSERT INTO " + t + "(id, x) VALUES (50, 3)");
    EXPECT_EQ(c.changes(), 1);
    EXPECT_EQ(c.last_insert_rowid(), 50);
    EXPECT_EQ(c.total_changes() - before, 4);
    EXPECT_TRUE(c.is_autocommit());
    c.execute_transactional_batch("UPDATE " + t + " SET x = 0 WHERE id > 1");
    EXPECT_EQ(c.changes(), 2);
    EXPECT_EQ(c.last_insert_rowid(), 50);  // no insert: unchanged
    // The first row of a many-row result; the statement is reusable, and streaming through query() still works.
    auto st = c.prepare("SELECT id FROM " + t + " ORDER BY id");
    EXPECT_EQ(st.query_row().get<int>(0), 1);
    EXPECT_EQ(st.query_row().get<int>(0), 1);
    std::vector<int> ids;
    for (auto r : st.query()) ids.push_back(r.get<int>(0));
    EXPECT_EQ(ids, (std::vector<int>{1, 2, 50}));
    EXPECT_EQ(c.query_row("SELECT x FROM " + t + " WHERE id = ?", 1).get<int>(0), 2);
    EXPECT_THROW((void)c.query_row("SELECT x FROM " + t + " WHERE id = ?", 7), libsql::no_rows);
    EXPECT_THROW((void)c.query_row("SELECT nosuch FROM " + t), libsql::sql_error);
    EXPECT_EQ(c.query_row("SELECT count(*) FROM " + t).get<int>(0), 3);
}

TEST_F(remote, named_and_numbered_parameters) {
    auto c = db().connect();
    auto st = c.prepare("SELECT :a, @b, $c, :a, ?7");
    EXPECT_EQ(st.parameter_count(), 7);
    EXPECT_EQ(st.parameter_name(1), ":a");
    EXPECT_EQ(st.parameter_name(2), "@b");
    EXPECT_EQ(st.parameter_name(3), "$c");
    EXPECT_EQ(st.parameter_name(7), "?7");
    EXPECT_EQ(st.parameter_index("a"), 1);
    EXPECT_EQ(st.parameter_index(":a"), 1);
    EXPECT_EQ(st.parameter_index("b"), 2);
    EXPECT_EQ(st.parameter_index("$c"), 3);
    EXPECT_FALSE(st.parameter_index("zz").has_value());
    st.bind("a", 1).bind("@b", std::string("two")).bind("c", 3.5).bind(7, 7);
    const auto r = st.query_row();
    EXPECT_EQ(r.get<int>(0), 1);
    EXPECT_EQ(r.get<std::string>(1), "two");
    EXPECT_EQ(r.get<double>(2), 3.5);
    EXPECT_EQ(r.get<int>(3), 1);
    EXPECT_EQ(r.get<int>(4), 7);
    EXPECT_EQ(st.expanded_sql(), "SELECT 1, 'two', 3.5, 1, 7");

    using libsql::named;
    EXPECT_EQ(c.query_value<int>("SELECT :x + :y", named("x", 40), named(":y", 2)), 42);
    libsql::params p{{"y", 2}, {":x", 5}};
    EXPECT_EQ(c.query_value<int>("SELECT :x * 10 + :y", p), 52);
    EXPECT_THROW((void)c.query_value<int>("SELECT ?, ?", 1), libsql::usage_error);
    EXPECT_THROW(st.bind(8, 1), libsql::usage_error);
    EXPECT_THROW(st.bind("nope", 1), libsql::usage_error);
    // Unbound parameters of a prepared statement are NULL, as in SQLite.
    auto st2 = c.prepare("SELECT ?1 IS NULL, ?2");
    st2.bind(2, 5);
    EXPECT_EQ(st2.query_row().get<int>(0), 1);
}

TEST_F(remote, describe_based_introspection) {
    auto c = db().connect();
    const auto t = table("intro");
    c.execute("CREATE TABLE " + t + "(id INTEGER PRIMARY KEY, name TEXT NOT NULL, score REAL)");
    auto sel = c.prepare("SELECT id, name AS who, score * 2 FROM " + t + " WHERE id = ?");
    // Known before running: from describe.
    EXPECT_EQ(sel.column_count(), 3);
    EXPECT_EQ(sel.column_name(1), "who");
    const auto cols = sel.columns();
    ASSERT_EQ(cols.size(), 3u);
    EXPECT_EQ(cols[0].name, "id");
    EXPECT_EQ(cols[0].declared_type, "INTEGER");
    EXPECT_EQ(cols[1].declared_type, "TEXT");
    EXPECT_EQ(cols[2].declared_type, "");
    EXPECT_TRUE(sel.readonly());
    EXPECT_FALSE(sel.is_explain());
    EXPECT_EQ(sel.parameter_count(), 1);
    auto ins = c.prepare("INSERT INTO " + t + "(name, score) VALUES (:name, :score)");
    EXPECT_FALSE(ins.readonly());
    EXPECT_EQ(ins.column_count(), 0);
    EXPECT_EQ(ins.parameter_count(), 2);
    EXPECT_TRUE(c.prepare("EXPLAIN QUERY PLAN SELECT * FROM " + t).is_explain());
    // A statement the server cannot prepare fails at prepare(), as locally.
    EXPECT_THROW((void)c.prepare("SELECT * FROM no_such_table_here"), libsql::sql_error);
    EXPECT_THROW((void)c.prepare("SELEKT 1"), libsql::sql_error);

    // Prepared once, run many times.
    for (int i = 0; i < 20; ++i) EXPECT_EQ(ins.execute(libsql::named("name", "n" + std::to_string(i)), libsql::named("score", i * 0.5)), 1);
    EXPECT_EQ(c.last_insert_rowid(), 20);
    EXPECT_EQ(sel.query_row(7).get<std::string>("who"), "n6");
    EXPECT_EQ(sel.query_row(20).get<double>(2), 19.0);
}

TEST_F(remote, changes_and_last_insert_rowid) {
    auto c = db().connect();
    const auto t = table("chg");
    c.execute("CREATE TABLE " + t + "(id INTEGER PRIMARY KEY, x)");
    EXPECT_EQ(c.total_changes(), 0);
    EXPECT_EQ(c.execute("INSERT INTO " + t + "(x) VALUES (1), (2), (3)"), 3);
    EXPECT_EQ(c.changes(), 3);
    EXPECT_EQ(c.last_insert_rowid(), 3);
    EXPECT_EQ(c.execute("UPDATE " + t + " SET x = x + 1 WHERE id > 1"), 2);
    EXPECT_EQ(c.changes(), 2);
    EXPECT_EQ(c.last_insert_rowid(), 3);
    (void)c.query_row("SELECT count(*) FROM " + t);
    EXPECT_EQ(c.changes(), 2);  // reads leave it alone, as locally
    EXPECT_EQ(c.execute("SELECT 1"), 0);
    EXPECT_EQ(c.execute("DELETE FROM " + t + " WHERE 0"), 0);
    EXPECT_EQ(c.changes(), 0);
    c.execute_batch("INSERT INTO " + t + "(id, x) VALUES (100, 1); INSERT INTO " + t + "(x) VALUES (2), (3)");
    EXPECT_EQ(c.changes(), 2);
    EXPECT_EQ(c.last_insert_rowid(), 102);
    EXPECT_EQ(c.total_changes(), 3 + 2 + 3);
    auto rows = c.query("INSERT INTO " + t + "(x) VALUES (9) RETURNING id");
    ASSERT_TRUE(rows.next());
    EXPECT_EQ(rows.current().get<int>(0), 103);
    EXPECT_FALSE(rows.next());
    EXPECT_EQ(c.last_insert_rowid(), 103);
}

TEST_F(remote, constraint_errors_map_to_the_local_classes) {
    auto c = db().connect();
    const auto t = table("cons");
    const auto p = table("parent");
    c.execute_batch("PRAGMA foreign_keys = ON");
    c.execute("CREATE TABLE " + p + "(id INTEGER PRIMARY KEY)");
    c.execute("CREATE TABLE " + t + "(id INTEGER PRIMARY KEY, u TEXT UNIQUE, nn TEXT NOT NULL, ck INT CHECK (ck > 0))");
    c.execute("INSERT INTO " + t + " VALUES (1, 'a', 'x', 1)");
    try {
        c.execute("INSERT INTO " + t + " VALUES (2, 'a', 'x', 1)");
        FAIL() << "no exception";
    } catch (const libsql::unique_violation& e) {
        EXPECT_EQ(e.code(), 19);
        EXPECT_EQ(e.hrana_code(), "SQLITE_CONSTRAINT");
        EXPECT_EQ(e.transport(), libsql::transport::remote);
        EXPECT_NE(std::string(e.what()).find("UNIQUE"), std::string::npos);
        EXPECT_NE(e.sql().find("INSERT INTO"), std::string::npos);
    }
    EXPECT_THROW(c.execute("INSERT INTO " + t + " VALUES (1, 'b', 'x', 1)"), libsql::unique_violation);
    EXPECT_THROW(c.execute("INSERT INTO " + t + " VALUES (3, 'c', NULL, 1)"), libsql::not_null_violation);
    EXPECT_THROW(c.execute("INSERT INTO " + t + " VALUES (4, 'd', 'x', 0)"), libsql::check_violation);
    EXPECT_THROW(c.execute("SELECT * FROM missing_table_x"), libsql::sql_error);
    EXPECT_THROW(c.execute_batch("SELECT 1; SELEKT 2"), libsql::sql_error);
    // Foreign keys need the pragma on the statement's own connection: one batch.
    EXPECT_THROW(c.execute_batch("PRAGMA foreign_keys = ON; CREATE TABLE " + t + "_c(p REFERENCES " + p +
                                 "(id)); INSERT INTO " + t + "_c VALUES (99)"),
                 libsql::foreign_key_violation);
    // The connection is fine afterwards.
    EXPECT_EQ(c.query_value<int>("SELECT count(*) FROM " + t), 1);
}

TEST_F(remote, interactive_transactions_commit_and_roll_back) {
    auto c = db().connect();
    auto other = db().connect();
    const auto t = table("tx");
    c.execute("CREATE TABLE " + t + "(x)");
    {
        auto tx = c.transaction();
        EXPECT_FALSE(c.is_autocommit());
        c.execute("INSERT INTO " + t + " VALUES (1)");
        EXPECT_EQ(c.query_value<int>("SELECT count(*) FROM " + t), 1);
        // Not visible elsewhere until committed.
        EXPECT_EQ(other.query_value<int>("SELECT count(*) FROM " + t), 0);
        tx.commit();
    }
    EXPECT_TRUE(c.is_autocommit());
    EXPECT_EQ(other.query_value<int>("SELECT count(*) FROM " + t), 1);
    {
        auto tx = c.transaction(libsql::transaction_behavior::immediate);
        c.execute("INSERT INTO " + t + " VALUES (2)");
        tx.rollback();
    }
    EXPECT_TRUE(c.is_autocommit());
    {
        auto tx = c.transaction(libsql::transaction_behavior::exclusive);
        c.execute("INSERT INTO " + t + " VALUES (3)");
        // Destroyed without commit: rolled back.
    }
    EXPECT_TRUE(c.is_autocommit());
    EXPECT_EQ(c.query_value<int>("SELECT count(*) FROM " + t), 1);
    {
        auto tx = c.transaction(libsql::transaction_behavior::read_only);
        EXPECT_EQ(c.query_value<int>("SELECT count(*) FROM " + t), 1);
        EXPECT_THROW(c.execute("INSERT INTO " + t + " VALUES (4)"), libsql::readonly);
        tx.commit();
    }
    // Read-only ended with the transaction.
    EXPECT_EQ(c.execute("INSERT INTO " + t + " VALUES (5)"), 1);
    EXPECT_EQ(c.query_value<int>("SELECT count(*) FROM " + t), 2);
    // Raw SQL works the same way.
    c.execute("BEGIN");
    EXPECT_FALSE(c.is_autocommit());
    c.execute("INSERT INTO " + t + " VALUES (6)");
    c.execute("ROLLBACK");
    EXPECT_TRUE(c.is_autocommit());
    EXPECT_EQ(c.query_value<int>("SELECT count(*) FROM " + t), 2);
}

TEST_F(remote, nested_savepoints) {
    auto c = db().connect();
    const auto t = table("sp");
    c.execute("CREATE TABLE " + t + "(x)");
    {
        auto tx = c.transaction();
        c.execute("INSERT INTO " + t + " VALUES (1)");
        {
            auto sp1 = tx.savepoint();
            c.execute("INSERT INTO " + t + " VALUES (2)");
            {
                auto sp2 = sp1.nested();
                c.execute("INSERT INTO " + t + " VALUES (3)");
                sp2.rollback();
            }
            {
                auto sp3 = sp1.nested();
                c.execute("INSERT INTO " + t + " VALUES (4)");
                sp3.commit();
            }
            sp1.commit();
        }
        {
            auto sp4 = tx.savepoint();
            c.execute("INSERT INTO " + t + " VALUES (5)");
            // abandoned: rolled back
        }
        EXPECT_FALSE(c.is_autocommit());
        tx.commit();
    }
    EXPECT_TRUE(c.is_autocommit());
    std::vector<int> got;
    for (auto r : c.query("SELECT x FROM " + t + " ORDER BY x")) got.push_back(r.get<int>(0));
    EXPECT_EQ(got, (std::vector<int>{1, 2, 4}));
    // A savepoint outside a transaction begins one and its release ends it.
    {
        auto sp = c.savepoint();
        EXPECT_FALSE(c.is_autocommit());
        c.execute("INSERT INTO " + t + " VALUES (6)");
        sp.commit();
    }
    EXPECT_TRUE(c.is_autocommit());
    EXPECT_EQ(c.query_value<int>("SELECT count(*) FROM " + t), 4);
}

TEST_F(remote, batches) {
    auto c = db().connect();
    const auto t = table("batch");
    c.execute_batch("CREATE TABLE " + t + "(x UNIQUE); INSERT INTO " + t + " VALUES (1); -- a comment\n INSERT INTO " + t +
                    " VALUES (2);");
    EXPECT_EQ(c.query_value<int>("SELECT count(*) FROM " + t), 2);
    // Stops at the first failure; earlier statements stay done.
    EXPECT_THROW(c.execute_batch("INSERT INTO " + t + " VALUES (3); INSERT INTO " + t + " VALUES (1); INSERT INTO " + t +
                                 " VALUES (4)"),
                 libsql::unique_violation);
    EXPECT_EQ(c.query_value<int>("SELECT count(*) FROM " + t), 3);
    // All or nothing.
    EXPECT_THROW(c.execute_transactional_batch("INSERT INTO " + t + " VALUES (10); INSERT INTO " + t + " VALUES (11); INSERT INTO " +
                                               t + " VALUES (1)"),
                 libsql::unique_violation);
    EXPECT_EQ(c.query_value<int>("SELECT count(*) FROM " + t), 3);
    EXPECT_TRUE(c.is_autocommit());
    c.execute_transactional_batch("INSERT INTO " + t + " VALUES (10); INSERT INTO " + t + " VALUES (11)");
    EXPECT_EQ(c.query_value<int>("SELECT count(*) FROM " + t), 5);
    // Inside a transaction: a savepoint, so that a failure undoes only the batch.
    {
        auto tx = c.transaction();
        c.execute("INSERT INTO " + t + " VALUES (20)");
        EXPECT_THROW(c.execute_transactional_batch("INSERT INTO " + t + " VALUES (21); INSERT INTO " + t + " VALUES (20)"),
                     libsql::unique_violation);
        EXPECT_FALSE(c.is_autocommit());
        c.execute_transactional_batch("INSERT INTO " + t + " VALUES (22)");
        tx.commit();
    }
    std::vector<int> got;
    for (auto r : c.query("SELECT x FROM " + t + " WHERE x >= 20 ORDER BY x")) got.push_back(r.get<int>(0));
    EXPECT_EQ(got, (std::vector<int>{20, 22}));
    // A trigger body's semicolons do not split the batch.
    c.execute_batch("CREATE TABLE " + t + "_log(y); CREATE TRIGGER " + t + "_tr AFTER INSERT ON " + t +
                    " BEGIN INSERT INTO " + t + "_log VALUES (new.x); INSERT INTO " + t + "_log VALUES (-new.x); END; INSERT INTO " + t +
                    " VALUES (30)");
    EXPECT_EQ(c.query_value<int>("SELECT count(*) FROM " + t + "_log"), 2);
}


TEST_F(remote, unsupported_calls_say_so) {
    auto c = db().connect();
    EXPECT_THROW(c.update_hook([](libsql::update_kind, std::string_view, std::string_view, std::int64_t) {}), libsql::unsupported);
    EXPECT_THROW(c.commit_hook([] { return true; }), libsql::unsupported);
    EXPECT_THROW(c.rollback_hook([] {}), libsql::unsupported);
    EXPECT_THROW(c.authorizer([](const libsql::authorizer_request&) { return libsql::authorizer_result::allow; }), libsql::unsupported);
    EXPECT_THROW(c.enable_load_extension(true), libsql::unsupported);
    EXPECT_THROW(c.load_extension("x.so"), libsql::unsupported);
    EXPECT_THROW((void)c.set_limit(libsql::limit::length, 100), libsql::unsupported);
    try {
        c.update_hook([](libsql::update_kind, std::string_view, std::string_view, std::int64_t) {});
    } catch (const libsql::unsupported& e) {
        EXPECT_NE(std::string(e.what()).find("remote"), std::string::npos);
        EXPECT_EQ(e.transport(), libsql::transport::remote);
    }
    // Removing a hook, turning extensions off and busy_timeout are accepted (they change nothing on the server).
    c.update_hook(nullptr);
    c.enable_load_extension(false);
    c.busy_timeout(1s);
    EXPECT_THROW(c.busy_timeout(-1ms), libsql::usage_error);
    EXPECT_EQ(c.query_value<int>("SELECT 3"), 3);
}

TEST_F(remote, reset_and_close) {
    auto c = db().connect();
    const auto t = table("rst");
    c.execute("CREATE TABLE " + t + "(x)");
    c.execute("BEGIN");
    c.execute("INSERT INTO " + t + " VALUES (1)");
    auto rows = c.query("SELECT 1 UNION ALL SELECT 2");
    ASSERT_TRUE(rows.next());
    c.reset();  // rolls the transaction back and resets statements
    EXPECT_TRUE(c.is_autocommit());
    EXPECT_THROW((void)rows.current().get<int>(0), libsql::usage_error);
    EXPECT_EQ(c.query_value<int>("SELECT count(*) FROM " + t), 0);
    auto st = c.prepare("SELECT 5");
    c.close();
    EXPECT_FALSE(c.is_open());
    EXPECT_THROW((void)st.query_row(), libsql::usage_error);
    EXPECT_THROW((void)c.query_value<int>("SELECT 1"), libsql::usage_error);
}

TEST_F(remote, statements_interleave_with_an_open_cursor) {
    auto c = db().connect();
    const auto t = table("inter");
    c.execute("CREATE TABLE " + t + "(x)");
    c.execute_transactional_batch("INSERT INTO " + t + " WITH RECURSIVE n(v) AS (SELECT 1 UNION ALL SELECT v + 1 FROM n WHERE v < 100) SELECT v FROM n");
    auto upd = c.prepare("UPDATE " + t + " SET x = -x WHERE x = ?");
    int n = 0;
    // The cursor's rows are buffered when another statement needs the connection.
    for (auto r : c.query("SELECT x FROM " + t + " ORDER BY x")) {
        EXPECT_EQ(upd.execute(r.get<int>(0)), 1);
        ++n;
    }
    EXPECT_EQ(n, 100);
    EXPECT_EQ(c.query_value<int>("SELECT count(*) FROM " + t + " WHERE x < 0"), 100);
}

TEST_F(remote, urls_are_normalised) {
    const auto port = std::to_string(server_->port());
    for (const std::string& url : {"http://127.0.0.1:" + port + "/", "ws://127.0.0.1:" + port,
                                  "libsql://127.0.0.1:" + port + "?tls=0"}) {
        libsql::database d(url);
        EXPECT_EQ(d.connect().query_value<int>("SELECT 7"), 7) << url;
    }
}

TEST_F(remote, hrana2_code_path_tracks_transactions_by_keyword) {
    // The same server, spoken to as a Hrana 2 server (no cursors, no get_autocommit).
    auto d = libsql::detail::remote::open_as(server_->url(), {}, libsql::detail::remote::server_kind::hrana2);
    EXPECT_FALSE(d->caps().cursor);
    libsql::connection c(d->connect());
    const auto t = table("v2");
    c.execute("CREATE TABLE " + t + "(x UNIQUE)");
    EXPECT_EQ(c.execute("INSERT INTO " + t + " VALUES (?), (?)", 1, 2), 2);
    EXPECT_EQ(c.last_insert_rowid(), 2);
    {
        auto tx = c.transaction(libsql::transaction_behavior::immediate);
        EXPECT_FALSE(c.is_autocommit());
        c.execute("INSERT INTO " + t + " VALUES (3)");
        {
            auto sp = tx.savepoint();
            c.execute("INSERT INTO " + t + " VALUES (4)");
            {
                auto inner = sp.nested();
                c.execute("INSERT INTO " + t + " VALUES (5)");
                inner.commit();
            }
            sp.rollback();
        }
        // A failed statement inside the transaction keeps it open.
        EXPECT_THROW(c.execute("INSERT INTO " + t + " VALUES (1)"), libsql::unique_violation);
        EXPECT_FALSE(c.is_autocommit());
        tx.commit();
    }
    EXPECT_TRUE(c.is_autocommit());
    {
        auto sp = c.savepoint();  // outside a transaction: begins one
        EXPECT_FALSE(c.is_autocommit());
        c.execute("INSERT INTO " + t + " VALUES (6)");
        sp.rollback();
    }
    EXPECT_TRUE(c.is_autocommit());
    {
        auto tx = c.transaction(libsql::transaction_behavior::read_only);
        EXPECT_THROW(c.execute("INSERT INTO " + t + " VALUES (7)"), libsql::readonly);
    }
    EXPECT_THROW(c.execute_transactional_batch("INSERT INTO " + t + " VALUES (8); INSERT INTO " + t + " VALUES (1)"),
                 libsql::unique_violation);
    std::vector<int> got;
    for (auto r : c.query("SELECT x FROM " + t + " ORDER BY x")) got.push_back(r.get<int>(0));
    EXPECT_EQ(got, (std::vector<int>{1, 2, 3}));
    c.execute_batch("BEGIN; INSERT INTO " + t + " VALUES (9)");
    EXPECT_FALSE(c.is_autocommit());
    c.execute_batch("COMMIT");
    EXPECT_TRUE(c.is_autocommit());
    EXPECT_EQ(c.query_value<int>("SELECT count(*) FROM " + t), 4);
}

TEST_F(remote, threads_share_a_database_and_a_connection) {
    const auto t = table("thr");
    db().connect().execute("CREATE TABLE " + t + "(who INTEGER, n INTEGER)");
    constexpr int threads = 4, per_thread = 25;
    std::vector<std::thread> pool;
    std::atomic<int> failures{0};
    // Connections of their own: transactions and queries at once.
    for (int w = 0; w < threads; ++w)
        pool.emplace_back([&, w] {
            try {
                auto c = db().connect();
                for (int i = 0; i < per_thread; ++i) {
                    auto tx = c.transaction(libsql::transaction_behavior::immediate);
                    c.execute("INSERT INTO " + t + " VALUES (?, ?)", w, i);
                    tx.commit();
                    if (c.query_value<int>("SELECT count(*) FROM " + t + " WHERE who = ?", w) != i + 1) ++failures;
                }
            } catch (const std::exception& e) {
                ADD_FAILURE() << e.what();
                ++failures;
            }
        });
    // One connection used by two threads: calls wait for each other.
    auto shared = db().connect();
    for (int w = 0; w < 2; ++w)
        pool.emplace_back([&, w] {
            try {
                for (int i = 0; i < per_thread; ++i) shared.execute("INSERT INTO " + t + " VALUES (?, ?)", 100 + w, i);
            } catch (const std::exception& e) {
                ADD_FAILURE() << e.what();
                ++failures;
            }
        });
    for (auto& th : pool) th.join();
    EXPECT_EQ(failures.load(), 0);
    EXPECT_EQ(shared.query_value<int>("SELECT count(*) FROM " + t), (threads + 2) * per_thread);
    EXPECT_EQ(shared.total_changes(), 2 * per_thread);
}

// --------------------------------------------------------------------------------------- own servers

struct jwt_material {
    std::string key_file;
    std::string valid;
    std::string expired;
    std::string read_only;
};

/// An Ed25519 key pair and signed tokens (support/jwt.hpp).
jwt_material make_jwts(const temp_dir& dir) {
    jwt_material m;
    m.key_file = dir.file("jwt_key.pem");
    const auto t = libsql::test::make_signed_tokens(m.key_file, {"{exp:now+3600}", "{exp:now-60}", "{exp:now+3600,a:'ro'}"});
    m.valid = t[0];
    m.expired = t[1];
    m.read_only = t[2];
    return m;
}

libsql::connect_options with_token(const std::string& token) {
    libsql::connect_options o;
    o.auth_token = token;
    return o;
}

TEST(remote_auth, tokens_are_checked) {
    temp_dir dir("remote-auth");
    const auto keys = make_jwts(dir);
    ASSERT_FALSE(keys.valid.empty());
    libsql_server server(dir.file("auth.db"), {"--auth-jwt-key-file", keys.key_file});

    libsql::database good(server.url(), with_token(keys.valid));
    auto c = good.connect();
    c.execute("CREATE TABLE t(x)");
    c.execute("INSERT INTO t VALUES (1)");
    EXPECT_EQ(c.query_value<int>("SELECT count(*) FROM t"), 1);

    for (const std::string& token : {std::string(), keys.expired, std::string("not.a.jwt")}) {
        try {
            libsql::database bad(server.url(), with_token(token));
            (void)bad.connect().query_value<int>("SELECT 1");
            FAIL() << "accepted token '" << token << "'";
        } catch (const libsql::auth_error& e) {
            EXPECT_NE(std::string(e.what()).find("401"), std::string::npos) << e.what();
            EXPECT_EQ(e.transport(), libsql::transport::remote);
        }
    }
    // The token may also come in the URL, as the official clients take it.
    libsql::database in_url(server.url() + "?authToken=" + keys.valid);
    EXPECT_EQ(in_url.connect().query_value<int>("SELECT count(*) FROM t"), 1);
    // A read-only token reads; its writes fail as SQLITE_AUTH does locally.
    libsql::database ro(server.url(), with_token(keys.read_only));
    auto rc = ro.connect();
    EXPECT_EQ(rc.query_value<int>("SELECT count(*) FROM t"), 1);
    EXPECT_THROW(rc.execute("INSERT INTO t VALUES (2)"), libsql::auth_error);
}

TEST(remote_stream, an_expired_transaction_is_a_typed_error_and_the_connection_recovers) {
    temp_dir dir("remote-expiry");
    libsql_server server(dir.file("exp.db"), {"--stream-expiry", "0.3"});
    libsql::database d(server.url());
    auto c = d.connect();
    c.execute("CREATE TABLE t(x)");
    {
        auto tx = c.transaction(libsql::transaction_behavior::immediate);
        c.execute("INSERT INTO t VALUES (1)");
        std::this_thread::sleep_for(1500ms);  // expiry 0.3 s, swept every 0.5 s
        try {
            c.execute("INSERT INTO t VALUES (2)");
            FAIL() << "no exception";
        } catch (const libsql::timeout& e) {
            EXPECT_EQ(e.hrana_code(), "STREAM_EXPIRED");
            EXPECT_NE(std::string(e.what()).find("rolled"), std::string::npos) << e.what();
        }
        EXPECT_TRUE(c.is_autocommit());
        EXPECT_THROW(tx.commit(), libsql::sql_error);  // nothing to commit any more
    }
    // Usable again, and nothing of the expired transaction is there.
    EXPECT_EQ(c.query_value<int>("SELECT count(*) FROM t"), 0);
    c.execute("INSERT INTO t VALUES (3)");
    EXPECT_EQ(c.query_value<int>("SELECT count(*) FROM t"), 1);
    // A stream left open after a transaction ended, expiring unused, is replaced silently.
    {
        auto tx = c.transaction();
        c.execute("INSERT INTO t VALUES (4)");
        tx.commit();
    }
    std::this_thread::sleep_for(1200ms);
    EXPECT_EQ(c.query_value<int>("SELECT count(*) FROM t"), 2);
}

/// Resident memory in KiB.
long rss_kib(const char* field) {
    std::ifstream in("/proc/self/status");
    std::string key;
    long v = 0;
    while (in >> key) {
        if (key == field) {
            in >> v;
            return v;
        }
        std::getline(in, key);
    }
    return 0;
}

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define LIBSQL_TEST_ASAN 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__)
#define LIBSQL_TEST_ASAN 1
#endif

TEST_F(remote, a_million_rows_stream_in_bounded_memory) {
#ifdef LIBSQL_TEST_ASAN
    // AddressSanitizer keeps freed memory in quarantine (RSS says nothing) and runs the parser several times slower
    // (libsql serve gives a client 30 s per response): fewer rows, no memory bound.
    constexpr std::int64_t total = 100'000;
#else
    constexpr std::int64_t total = 1'000'000;
#endif
    auto c = db().connect();
    { std::ofstream("/proc/self/clear_refs") << "5"; }
    const long before = rss_kib("VmRSS:");
    long peak = before;
    std::int64_t n = 0, sum = 0;
    std::size_t bytes = 0;
    auto rows = c.query("WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n WHERE x < ?) "
                        "SELECT x, printf('row %08d of a million, padded to be a little longer', x) FROM n",
                        total);
    while (rows.next()) {
        const auto r = rows.current();
        ++n;
        sum += r.get<std::int64_t>(0);
        bytes += r.get<std::string_view>(1).size();
        if (n % 100'000 == 0) peak = std::max(peak, rss_kib("VmRSS:"));
    }
    peak = std::max(peak, rss_kib("VmHWM:"));
    EXPECT_EQ(n, total);
    EXPECT_EQ(sum, total * (total + 1) / 2);
    EXPECT_EQ(bytes, static_cast<std::size_t>(total) * 55);
#ifndef LIBSQL_TEST_ASAN
    // ~50 MB of text (~120 MB of JSON) went through; memory grew by far less.
    EXPECT_LT(peak - before, 24 * 1024) << "RSS grew from " << before << " KiB to " << peak << " KiB";
#else
    (void)peak;
#endif
}

TEST_F(remote, interrupt_from_another_thread) {
    auto c = db().connect();
    // About a second of work on the server.
    auto st = c.prepare("WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n WHERE x < 5000000) SELECT sum(x) FROM n");
    std::atomic<bool> finished{false};
    std::atomic<int> interrupts{0};
    std::thread stopper([&] {
        // interrupt() stops only what runs at the time: keep at it until the call returns.
        while (!finished) {
            std::this_thread::sleep_for(50ms);
            c.interrupt();
            ++interrupts;
        }
    });
    const auto start = std::chrono::steady_clock::now();
    EXPECT_THROW((void)st.query().one_value<std::int64_t>(), libsql::interrupted);
    const auto took = std::chrono::steady_clock::now() - start;
    finished = true;
    stopper.join();
    EXPECT_GE(interrupts.load(), 1);
    EXPECT_LT(took, 2s);
    // The connection carries on.
    EXPECT_EQ(c.query_value<int>("SELECT 9"), 9);
}

/// `libsql serve` on a given port (to restart a server where its clients expect it).
std::unique_ptr<libsql::test::child_process> serve_on(const std::string& path, std::uint16_t port) {
    auto p = std::make_unique<libsql::test::child_process>(
        std::vector<std::string>{libsql::test::libsql_cli_path(), "serve", path, "--listen", "127.0.0.1:" + std::to_string(port)}, true);
    const auto line = p->read_line();
    if (line.find("listening on") == std::string::npos) throw std::runtime_error("libsql serve did not start: " + line);
    return p;
}

TEST(remote_failures, server_killed_mid_session_then_restarted) {
    temp_dir dir("remote-kill");
    const auto path = dir.file("kill.db");
    const auto port = libsql::test::free_port();
    auto server = serve_on(path, port);
    libsql::database d("http://127.0.0.1:" + std::to_string(port));
    auto c = d.connect();
    c.execute("CREATE TABLE t(x)");
    c.execute("INSERT INTO t VALUES (1)");
    c.execute("BEGIN");
    c.execute("INSERT INTO t VALUES (2)");
    server->kill_now();
    try {
        c.execute("INSERT INTO t VALUES (3)");
        FAIL() << "no exception";
    } catch (const libsql::connection_error& e) {
        EXPECT_EQ(e.transport(), libsql::transport::remote);
    }
    EXPECT_TRUE(c.is_autocommit());  // the transaction died with the server
    EXPECT_THROW((void)c.query_value<int>("SELECT 1"), libsql::connection_error);
    server = serve_on(path, port);
    EXPECT_EQ(c.query_value<int>("SELECT count(*) FROM t"), 1);
    c.execute("INSERT INTO t VALUES (4)");
    EXPECT_EQ(c.query_value<int>("SELECT count(*) FROM t"), 2);
    // Restarted between two requests: the idle keep-alive connection is dead, the write had not been sent, so it is
    // sent again on a new connection, exactly once.
    server->kill_now();
    server = serve_on(path, port);
    c.execute("INSERT INTO t VALUES (5)");
    EXPECT_EQ(c.query_value<int>("SELECT count(*) FROM t"), 3);
    // Killed while a write runs: a connection_error, and the write is not sent again.
    auto big = c.prepare("CREATE TABLE big AS WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n WHERE x < 20000000) "
                         "SELECT x FROM n");
    std::thread killer([&] {
        std::this_thread::sleep_for(300ms);
        server->kill_now();
    });
    try {
        big.execute();
        ADD_FAILURE() << "no exception";
    } catch (const libsql::connection_error& e) {
        EXPECT_NE(e.sql().find("CREATE TABLE big"), std::string::npos);
        EXPECT_EQ(e.transport(), libsql::transport::remote);
    }
    killer.join();
    // Not sent again behind our back: after a restart the table is not there (the server died before committing).
    server = serve_on(path, port);
    EXPECT_EQ(c.query_value<int>("SELECT count(*) FROM sqlite_master WHERE name = 'big'"), 0);
    EXPECT_EQ(c.query_value<int>("SELECT count(*) FROM t"), 3);
    // Nothing listening at all: the database cannot open.
    server->stop();
    EXPECT_THROW(libsql::database("http://127.0.0.1:" + std::to_string(port)), libsql::connection_error);
}


// ------------------------------------------------------------------------------- tursodb --sync-server
TEST(remote_tursodb, the_limited_server_serves_the_same_api) {
    if (!libsql::test::tursodb_available()) GTEST_SKIP() << "tursodb not installed (scripts/setup)";
    temp_dir dir("remote-turso");
    libsql::test::tursodb_server server(dir.file("turso.db"));
    libsql::database d(server.url());
    auto c = d.connect();

    c.execute("CREATE TABLE t(id INTEGER PRIMARY KEY, name TEXT UNIQUE, score REAL, data BLOB)");
    // affected_row_count and last_insert_rowid are always 0/null from this server: obtained another way.
    EXPECT_EQ(c.execute("INSERT INTO t(name, score, data) VALUES (?, ?, ?)", "a", 1.5, std::vector<std::uint8_t>{1, 2}), 1);
    EXPECT_EQ(c.last_insert_rowid(), 1);
    EXPECT_EQ(c.execute("INSERT INTO t(name, score) VALUES ('b', 2), ('c', 3)"), 2);
    EXPECT_EQ(c.changes(), 2);
    EXPECT_EQ(c.last_insert_rowid(), 3);
    EXPECT_EQ(c.execute("UPDATE t SET score = score * 2 WHERE id > 1"), 2);
    EXPECT_EQ(c.execute("SELECT 1"), 0);

    // Named parameters are turned into positional ones (the server ignores names).
    EXPECT_EQ(c.query_value<std::string>("SELECT name FROM t WHERE id = :id AND score > $min", libsql::named("min", 1.0),
                                         libsql::named("id", 1)),
              "a");
    auto st = c.prepare("SELECT :a, ?, :a, ?5");
    EXPECT_EQ(st.parameter_count(), 5);
    EXPECT_EQ(st.parameter_name(1), ":a");
    st.bind(":a", 1).bind(2, 2).bind(5, std::int64_t{9007199254740993});
    const auto r = st.query_row();
    EXPECT_EQ(r.get<int>(0), 1);
    EXPECT_EQ(r.get<int>(1), 2);
    EXPECT_EQ(r.get<int>(2), 1);
    EXPECT_EQ(r.get<std::int64_t>(3), 9007199254740993);
    // Columns are known once the statement ran (no describe here).
    auto q = c.prepare("SELECT id, name, data FROM t ORDER BY id");
    auto rows = q.query();
    ASSERT_TRUE(rows.next());
    EXPECT_EQ(rows.column_count(), 3);
    EXPECT_EQ(rows.current().get<std::string>("name"), "a");
    EXPECT_EQ(rows.current().get<std::vector<std::uint8_t>>(2), (std::vector<std::uint8_t>{1, 2}));
    EXPECT_EQ(rows.skip_all(), 2u);

    // Batches: split client-side, one request; stops at the first failure.
    c.execute_batch("INSERT INTO t(name) VALUES ('d'); INSERT INTO t(name) VALUES ('e')");
    EXPECT_EQ(c.query_value<int>("SELECT count(*) FROM t"), 5);
    EXPECT_THROW(c.execute_batch("INSERT INTO t(name) VALUES ('f'); INSERT INTO t(name) VALUES ('a'); INSERT INTO t(name) VALUES ('g')"),
                 libsql::unique_violation);
    EXPECT_EQ(c.query_value<int>("SELECT count(*) FROM t"), 6);
    // All or nothing, in one request.
    EXPECT_THROW(c.execute_transactional_batch("INSERT INTO t(name) VALUES ('h'); INSERT INTO t(name) VALUES ('a')"),
                 libsql::unique_violation);
    EXPECT_EQ(c.query_value<int>("SELECT count(*) FROM t WHERE name = 'h'"), 0);
    c.execute_transactional_batch("INSERT INTO t(name) VALUES ('h'); INSERT INTO t(name) VALUES ('i')");
    EXPECT_EQ(c.query_value<int>("SELECT count(*) FROM t"), 8);
    EXPECT_TRUE(c.is_autocommit());

    // Errors carry tursodb's code and map to the local classes by the SQLite code in the message.
    try {
        c.execute("INSERT INTO t(id, name) VALUES (1, 'zz')");
        FAIL() << "no exception";
    } catch (const libsql::constraint_violation& e) {
        EXPECT_EQ(e.hrana_code(), "BATCH_STEP_ERROR");
        EXPECT_EQ(e.code(), 19);
    }
    EXPECT_THROW(c.execute("SELECT * FROM nope"), libsql::sql_error);
    EXPECT_THROW((void)c.query_row("SELEKT"), libsql::sql_error);

    // Transactions work for a single client (the server shares one connection among all clients).
    {
        auto tx = c.transaction();
        c.execute("INSERT INTO t(name) VALUES ('tx')");
        EXPECT_FALSE(c.is_autocommit());
        tx.rollback();
    }
    EXPECT_TRUE(c.is_autocommit());
    EXPECT_EQ(c.query_value<int>("SELECT count(*) FROM t WHERE name = 'tx'"), 0);
    {
        auto tx = c.transaction();
        c.execute("INSERT INTO t(name) VALUES ('tx2')");
        {
            auto sp = tx.savepoint();
            c.execute("INSERT INTO t(name) VALUES ('sp')");
            sp.rollback();
        }
        tx.commit();
    }
    EXPECT_EQ(c.query_value<int>("SELECT count(*) FROM t WHERE name IN ('tx2', 'sp')"), 1);
    {
        auto tx = c.transaction(libsql::transaction_behavior::read_only);
        EXPECT_THROW(c.execute("INSERT INTO t(name) VALUES ('ro')"), libsql::readonly);
    }
    EXPECT_EQ(c.execute("INSERT INTO t(name) VALUES ('rw')"), 1);
}


TEST(remote_failures, a_stream_follows_the_base_url_the_server_returns) {
    temp_dir dir("remote-base-url");
    // The server sends this (unreachable) URL as the stream's base_url: a client that honours it fails there.
    const auto dead = libsql::test::free_port();
    libsql_server server(dir.file("b.db"), {"--self-url", "http://127.0.0.1:" + std::to_string(dead) + "/"});
    libsql::database d(server.url());
    auto c = d.connect();
    c.execute("CREATE TABLE t(x)");  // one request, its stream closed in it: base_url not needed
    c.execute("BEGIN");
    EXPECT_FALSE(c.is_autocommit());
    EXPECT_THROW(c.execute("INSERT INTO t VALUES (1)"), libsql::connection_error);
    EXPECT_TRUE(c.is_autocommit());
    EXPECT_EQ(c.query_value<int>("SELECT count(*) FROM t"), 0);
}

} // namespace
