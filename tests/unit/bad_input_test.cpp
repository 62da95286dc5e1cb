// Bad input of every kind: each must end in a typed libsql exception (or the user's own, for throwing callbacks),
// never a crash, and leave nothing behind for the leak checker.
#include "libsql/libsql.hpp"

#include "support/temp_files.hpp"
#include <gtest/gtest.h>

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <exception>
#include <filesystem>
#include <limits>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <typeinfo>
#include <vector>

using namespace std::chrono_literals;
using namespace std::string_literals;

namespace {

using libsql::test::temp_db_file;
using libsql::test::temp_dir;

constexpr int sqlite_error = 1;
constexpr int sqlite_busy = 5;
constexpr int sqlite_toobig = 18;

/// Runs f and returns the exception it threw as E; records a failure when it throws nothing or something else.
template <class E, class F> std::optional<E> thrown_as(F&& f) {
    try {
        f();
    } catch (const E& e) {
        return e;
    } catch (const std::exception& e) {
        ADD_FAILURE() << "expected " << typeid(E).name() << ", got " << typeid(e).name() << ": " << e.what();
        return std::nullopt;
    }
    ADD_FAILURE() << "expected " << typeid(E).name() << ", nothing was thrown";
    return std::nullopt;
}

/// The user's own exception type, thrown from callbacks: it must reach the caller unchanged.
struct hook_failure : std::runtime_error {
    using std::runtime_error::runtime_error;
};

class BadInput : public ::testing::Test {
protected:
    libsql::database db{":memory:"};
    libsql::connection conn = db.connect();
};

bool table_exists(libsql::connection& c, std::string_view name) {
    return c.query_value<int>("SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name = ?", name) == 1;
}

} // namespace

// --- SQL text

TEST_F(BadInput, InvalidSqlIsSqlErrorWithCodeAndSql) {
    const int line = __LINE__ + 1;
    const auto e = thrown_as<libsql::sql_error>([&] { conn.execute("SELEC 1"); });
    ASSERT_TRUE(e);
    EXPECT_EQ(e->code(), sqlite_error);
    EXPECT_EQ(e->sql(), "SELEC 1");
    EXPECT_EQ(e->code_name(), "SQLITE_ERROR");
    EXPECT_NE(std::string_view(e->what()).find("syntax error"), std::string_view::npos) << e->what();
    // The error names the user's line, not the library's.
    EXPECT_EQ(e->where().line(), static_cast<std::uint_least32_t>(line));
    EXPECT_NE(std::string_view(e->where().file_name()).find("bad_input_test.cpp"), std::string_view::npos);

    const auto missing = thrown_as<libsql::sql_error>([&] { (void)conn.query("SELECT * FROM no_such_table"); });
    ASSERT_TRUE(missing);
    EXPECT_EQ(missing->sql(), "SELECT * FROM no_such_table");
    EXPECT_EQ(conn.query_value<int>("SELECT 1"), 1);
}

TEST_F(BadInput, EmptyAndCommentOnlySqlIsUsageError) {
    for (const std::string& sql : {""s, "   "s, "\n\t  \r\n"s, "-- only a comment"s, "/* only a comment */"s,
                                  " ; ; "s, "  -- a\n  /* b */ ;"s}) {
        SCOPED_TRACE("SQL: '" + sql + "'");
        EXPECT_THROW(conn.execute(sql), libsql::usage_error);
        EXPECT_THROW((void)conn.query(sql), libsql::usage_error);
        EXPECT_THROW((void)conn.prepare(sql), libsql::usage_error);
        EXPECT_THROW((void)conn.query_row(sql), libsql::usage_error);
    }
    EXPECT_EQ(conn.query_value<int>("SELECT 2"), 2);
}

TEST_F(BadInput, SeveralStatementsAreUsageErrorButTrailingSemicolonsAndCommentsAreFine) {
    EXPECT_THROW(conn.execute("CREATE TABLE a(x); CREATE TABLE b(x)"), libsql::usage_error);
    // Refused before anything ran: not even the first statement.
    EXPECT_FALSE(table_exists(conn, "a"));
    EXPECT_FALSE(table_exists(conn, "b"));
    EXPECT_THROW((void)conn.query("SELECT 1; SELECT 2"), libsql::usage_error);
    EXPECT_THROW((void)conn.query_value<int>("SELECT 1;SELECT 2;"), libsql::usage_error);
    EXPECT_THROW((void)conn.prepare("SELECT 1; -- c\n SELECT 2"), libsql::usage_error);
    EXPECT_THROW((void)conn.prepare("SELECT 1; not even sql"), libsql::usage_error);

    for (const std::string& sql : {"SELECT 7;"s, "SELECT 7;;;"s, "SELECT 7; "s, "SELECT 7 -- trailing comment"s,
                                  "SELECT 7; -- trailing comment"s, "SELECT 7; /* block */"s,
                                  "SELECT 7 /* mid */ ; \n -- end\n"s, " ; SELECT 7"s /* leading ';' too */}) {
        SCOPED_TRACE("SQL: '" + sql + "'");
        EXPECT_EQ(conn.query_value<int>(sql), 7);
    }
    conn.execute("CREATE TABLE c(x);  -- the only statement");
    EXPECT_TRUE(table_exists(conn, "c"));
    // execute_batch is the way to run several.
    conn.execute_batch("CREATE TABLE a(x); CREATE TABLE b(x)");
    EXPECT_TRUE(table_exists(conn, "a"));
    EXPECT_TRUE(table_exists(conn, "b"));
}

TEST_F(BadInput, SqlTextWithEmbeddedNulIsUsageError) {
    const std::string sql("SELECT 1\0SELECT 2", 17);
    EXPECT_THROW(conn.execute(sql), libsql::usage_error);
    EXPECT_THROW((void)conn.query(std::string("SELECT 'a\0b'", 12)), libsql::usage_error);
    EXPECT_THROW(conn.execute_batch(std::string("SELECT 1;\0DROP TABLE x", 22)), libsql::usage_error);
    EXPECT_EQ(conn.query_value<int>("SELECT 1"), 1);
}

TEST_F(BadInput, MalformedUtf8InSqlText) {
    // An identifier made of invalid bytes: the engine does not know it.
    EXPECT_THROW((void)conn.query("SELECT \xff\xfe"), libsql::sql_error);
    EXPECT_THROW((void)conn.query("SELECT * FROM \xc0\xaf"), libsql::sql_error);
    // Inside a literal the bytes pass through to the engine unchanged (it stores text as given).
    EXPECT_EQ(conn.query_value<std::string>("SELECT '\xff\xfe\x80'"), "\xff\xfe\x80");
    // A long failing statement of continuation bytes: the error's SQL is truncated without crashing.
    const std::string junk = "SELECT " + std::string(1000, '\x80') + " FROM nowhere";
    const auto e = thrown_as<libsql::sql_error>([&] { (void)conn.query(junk); });
    ASSERT_TRUE(e);
    EXPECT_LE(e->sql().size(), libsql::error::max_sql_length + 3);
}

TEST_F(BadInput, HugeIntegerLiterals) {
    EXPECT_EQ(conn.query_value<std::int64_t>("SELECT 9223372036854775807"), std::numeric_limits<std::int64_t>::max());
    EXPECT_EQ(conn.query_value<std::int64_t>("SELECT -9223372036854775808"), std::numeric_limits<std::int64_t>::min());
    // One past the largest integer, and far past it, are real numbers to the engine: not integers.
    EXPECT_EQ(conn.query_value<std::string>("SELECT typeof(9223372036854775808)"), "real");
    EXPECT_THROW((void)conn.query_value<std::int64_t>("SELECT 9223372036854775808"), libsql::conversion_error);
    EXPECT_THROW((void)conn.query_value<std::int64_t>("SELECT 123456789012345678901234567890"), libsql::conversion_error);
    EXPECT_DOUBLE_EQ(conn.query_value<double>("SELECT 123456789012345678901234567890"), 1.2345678901234568e29);
    const std::string long_literal = "SELECT " + std::string(5000, '9');
    EXPECT_EQ(conn.query_value<std::string>("SELECT typeof(" + std::string(5000, '9') + ")"), "real");
    EXPECT_NO_THROW((void)conn.query_value<double>(long_literal));
    // Hex literals have no such escape: too big is an error.
    EXPECT_THROW((void)conn.query("SELECT 0x1FFFFFFFFFFFFFFFF"), libsql::sql_error);
    // Arithmetic overflow turns into a real, not UB.
    EXPECT_EQ(conn.query_value<std::string>("SELECT typeof(9223372036854775807 + 1)"), "real");
}

TEST_F(BadInput, ExpressionDeeperThanTheLimitIsSqlError) {
    std::string chain = "SELECT 1";
    for (int i = 0; i < 5000; ++i) chain += "+1";
    const auto e = thrown_as<libsql::sql_error>([&] { (void)conn.query(chain); });
    ASSERT_TRUE(e);
    EXPECT_NE(std::string_view(e->what()).find("too large"), std::string_view::npos) << e->what();

    // Deep parentheses: refused while parsing, no deep recursion.
    const std::string nested = "SELECT " + std::string(100'000, '(') + "1" + std::string(100'000, ')');
    EXPECT_THROW((void)conn.query(nested), libsql::sql_error);

    // A lowered limit applies too, and the connection works afterwards.
    const int old = conn.set_limit(libsql::limit::expr_depth, 10);
    std::string twenty = "SELECT 1";
    for (int i = 0; i < 20; ++i) twenty += "+1";
    EXPECT_THROW((void)conn.query(twenty), libsql::sql_error);
    conn.set_limit(libsql::limit::expr_depth, old);
    EXPECT_EQ(conn.query_value<int>(twenty), 21);
}

TEST_F(BadInput, QuotesInTableNameForTableInfoAreNotInjection) {
    conn.execute(R"(CREATE TABLE "we""ird'name" (a INTEGER, "b""c" TEXT NOT NULL))");
    conn.execute("CREATE TABLE victim(x)");
    const auto cols = libsql::pragma::table_info(conn, "we\"ird'name");
    ASSERT_EQ(cols.size(), 2u);
    EXPECT_EQ(cols[0].name, "a");
    EXPECT_EQ(cols[1].name, "b\"c");
    EXPECT_TRUE(cols[1].not_null);

    for (const char* evil : {"victim'); DROP TABLE victim; --", "victim\"); DROP TABLE victim; --",
                             "victim); DROP TABLE victim; --", "victim' OR '1'='1"}) {
        SCOPED_TRACE(evil);
        EXPECT_TRUE(libsql::pragma::table_info(conn, evil).empty());
    }
    EXPECT_TRUE(table_exists(conn, "victim"));
    EXPECT_EQ(libsql::pragma::table_info(conn, "victim").size(), 1u);
    // The free-form pragma runs one statement only.
    EXPECT_THROW((void)libsql::pragma::query(conn, "table_info(victim); DROP TABLE victim"), libsql::usage_error);
    EXPECT_TRUE(table_exists(conn, "victim"));
}

// --- binding

TEST_F(BadInput, BindIndexZeroOrPastTheEndIsUsageError) {
    auto st = conn.prepare("SELECT ?, ?");
    EXPECT_THROW(st.bind(0, 1), libsql::usage_error);
    EXPECT_THROW(st.bind(3, 1), libsql::usage_error);
    EXPECT_THROW(st.bind(-1, 1), libsql::usage_error);
    EXPECT_THROW(st.bind(std::numeric_limits<int>::max(), "x"), libsql::usage_error);
    EXPECT_THROW((void)st.parameter_name(0), libsql::usage_error);
    EXPECT_THROW((void)st.parameter_name(3), libsql::usage_error);
    st.bind(1, 10).bind(2, 20);
    const auto r = st.query_row();
    EXPECT_EQ(r.get<int>(0), 10);
    EXPECT_EQ(r.get<int>(1), 20);
}

TEST_F(BadInput, UnknownAndMissingNamedParametersAreUsageError) {
    using libsql::named;
    EXPECT_THROW(conn.execute("SELECT :a", named("b", 1)), libsql::usage_error);
    EXPECT_THROW((void)conn.query_row("SELECT :a, :b", named("a", 1)), libsql::usage_error);  // :b missing
    EXPECT_THROW((void)conn.query("SELECT :a", named("a", 1), named("zzz", 2)), libsql::usage_error);
    EXPECT_THROW(conn.execute("SELECT :a", libsql::params{{"nope", 1}}), libsql::usage_error);
    EXPECT_THROW(conn.execute("SELECT :a, :b", libsql::params{{"a", 1}}), libsql::usage_error);
    const auto e = thrown_as<libsql::usage_error>([&] { conn.execute("SELECT :a, :b", named("a", 1)); });
    ASSERT_TRUE(e);
    EXPECT_NE(std::string_view(e->what()).find(":b"), std::string_view::npos) << e->what();
    EXPECT_EQ(e->sql(), "SELECT :a, :b");

    auto st = conn.prepare("SELECT :a");
    EXPECT_THROW(st.bind("b", 1), libsql::usage_error);
    EXPECT_THROW(st.bind("", 1), libsql::usage_error);
    EXPECT_FALSE(st.parameter_index("b").has_value());
    // Any prefix matches; the right name works after all of that.
    EXPECT_EQ(conn.query_value<int>("SELECT :a", named("a", 5)), 5);
    EXPECT_EQ(conn.query_value<int>("SELECT @a", named("@a", 6)), 6);
    EXPECT_EQ(conn.query_value<int>("SELECT $a", named("a", 7)), 7);
}

TEST_F(BadInput, WrongNumberOfPositionalArgumentsIsUsageError) {
    EXPECT_THROW(conn.execute("SELECT ?, ?", 1), libsql::usage_error);
    EXPECT_THROW(conn.execute("SELECT ?", 1, 2), libsql::usage_error);
    EXPECT_THROW(conn.execute("SELECT ?"), libsql::usage_error);
    EXPECT_THROW(conn.execute("SELECT 1", 1), libsql::usage_error);
    EXPECT_THROW((void)conn.query("SELECT ?5", 1), libsql::usage_error);  // ?5 means five parameters
    libsql::params p;
    p.add(1).add(2);
    EXPECT_THROW(conn.execute("SELECT ?", p), libsql::usage_error);
    libsql::params one;
    one.add(1);
    EXPECT_THROW(conn.execute("SELECT ?, ?", one), libsql::usage_error);
    auto st = conn.prepare("SELECT ?, ?");
    EXPECT_THROW(st.bind_all(1), libsql::usage_error);
    EXPECT_THROW(st.bind_all(1, 2, 3), libsql::usage_error);
    const auto e = thrown_as<libsql::usage_error>([&] { conn.execute("SELECT ?, ?, ?", 1); });
    ASSERT_TRUE(e);
    EXPECT_NE(std::string_view(e->what()).find("3 parameter"), std::string_view::npos) << e->what();
}

TEST_F(BadInput, FailedBindingLeavesNoDanglingBinding) {
    // Arguments given to a run are bound without a copy. When a later argument fails (bad UTF-8, a missing
    // name), the earlier ones must not stay bound to memory the caller is about to free.
    conn.execute("CREATE TABLE t(a, b)");
    auto st = conn.prepare("INSERT INTO t VALUES (?, ?)");
    {
        const std::string good(1000, 'g');
        const std::string bad("\xff\xfe");
        EXPECT_THROW(st.execute(good, bad), libsql::conversion_error);
    }
    st.execute();  // current bindings: the freed string must not be among them
    auto named_st = conn.prepare("INSERT INTO t VALUES (:a, :b)");
    {
        const std::string good(1000, 'h');
        EXPECT_THROW(named_st.execute(libsql::named("a", good)), libsql::usage_error);
    }
    named_st.execute();
    EXPECT_EQ(conn.query_value<int>("SELECT count(*) FROM t WHERE a IS NULL AND b IS NULL"), 2);
}

TEST_F(BadInput, UnsignedTooBigToBindIsConversionError) {
    EXPECT_THROW(conn.execute("SELECT ?", std::numeric_limits<std::uint64_t>::max()), libsql::conversion_error);
    EXPECT_THROW(conn.execute("SELECT ?", std::uint64_t{1} << 63), libsql::conversion_error);
    EXPECT_EQ(conn.query_value<std::uint64_t>("SELECT ?", std::uint64_t{(std::uint64_t{1} << 63) - 1}),
              (std::uint64_t{1} << 63) - 1);
}

// --- reading

TEST_F(BadInput, ColumnIndexPastTheEndOrNegativeIsUsageError) {
    auto rs = conn.query("SELECT 1 AS a, 2 AS b");
    int seen = 0;
    for (auto r : rs) {
        ++seen;
        EXPECT_THROW((void)r.get<int>(2), libsql::usage_error);
        EXPECT_THROW((void)r.get<int>(-1), libsql::usage_error);
        EXPECT_THROW((void)r.get<int>(std::numeric_limits<int>::min()), libsql::usage_error);
        EXPECT_THROW((void)r.at(100), libsql::usage_error);
        EXPECT_THROW((void)r.is_null(-5), libsql::usage_error);
        EXPECT_THROW((void)r.column_name(2), libsql::usage_error);
        EXPECT_THROW((void)r.get<int>("c"), libsql::usage_error);
        EXPECT_THROW((void)(r.as<int, int, int>()), libsql::usage_error);
        EXPECT_EQ(r.get<int>(1), 2);
    }
    EXPECT_EQ(seen, 1);

    const auto row = conn.query_row("SELECT 1 AS a, 2 AS b");
    EXPECT_THROW((void)row.get<int>(2), libsql::usage_error);
    EXPECT_THROW((void)row.get<int>(-1), libsql::usage_error);
    EXPECT_THROW((void)row.at(2), libsql::usage_error);
    EXPECT_THROW((void)row.column_name(-1), libsql::usage_error);
    EXPECT_THROW((void)row.get<int>("nope"), libsql::usage_error);
    EXPECT_THROW((void)(row.as<int, int, int>()), libsql::usage_error);

    auto cursor = conn.query("SELECT 1 AS a");
    EXPECT_THROW((void)cursor.column_name(1), libsql::usage_error);
    EXPECT_THROW((void)cursor.column_name(-1), libsql::usage_error);
    auto st = conn.prepare("SELECT 1 AS a");
    EXPECT_THROW((void)st.column_name(1), libsql::usage_error);
}

TEST_F(BadInput, WrongTypeIsConversionError) {
    const auto r = conn.query_row("SELECT 'text' AS t, x'0102' AS b, 1.5 AS f, 7 AS i, '12' AS digits");
    EXPECT_THROW((void)r.get<int>(0), libsql::conversion_error);            // text as int
    EXPECT_THROW((void)r.get<std::string>(1), libsql::conversion_error);    // blob as string
    EXPECT_THROW((void)r.get<int>(2), libsql::conversion_error);            // real as int
    EXPECT_THROW((void)r.get<libsql::blob>(0), libsql::conversion_error);   // text as blob
    EXPECT_THROW((void)r.get<std::string>(3), libsql::conversion_error);    // integer as text
    EXPECT_THROW((void)r.get<int>(4), libsql::conversion_error);            // digits are still text
    EXPECT_THROW((void)r.get<double>(0), libsql::conversion_error);
    EXPECT_THROW((void)r.get<bool>(2), libsql::conversion_error);
    EXPECT_THROW((void)r.get<std::chrono::system_clock::time_point>(0), libsql::conversion_error);
    // Not a null problem: the narrower class must not be used for these.
    try {
        (void)r.get<int>(0);
    } catch (const libsql::unexpected_null&) {
        ADD_FAILURE() << "a type mismatch reported as unexpected_null";
    } catch (const libsql::conversion_error& e) {
        // The message names the column.
        EXPECT_NE(std::string_view(e.what()).find("'t'"), std::string_view::npos) << e.what();
    }
    // The same through a streaming cursor.
    for (auto v : conn.query("SELECT x'00ff'")) EXPECT_THROW((void)v.get<std::string_view>(0), libsql::conversion_error);
    EXPECT_THROW((void)conn.query_value<int>("SELECT 'abc'"), libsql::conversion_error);
}

TEST_F(BadInput, NullIntoNonOptionalIsUnexpectedNull) {
    const auto r = conn.query_row("SELECT NULL");
    EXPECT_THROW((void)r.get<int>(0), libsql::unexpected_null);
    EXPECT_THROW((void)r.get<std::string>(0), libsql::unexpected_null);
    EXPECT_THROW((void)r.get<double>(0), libsql::unexpected_null);
    EXPECT_THROW((void)r.get<libsql::blob>(0), libsql::unexpected_null);
    EXPECT_THROW((void)r.get<bool>(0), libsql::unexpected_null);
    // unexpected_null is a conversion_error too.
    EXPECT_THROW((void)r.get<std::int64_t>(0), libsql::conversion_error);
    EXPECT_THROW((void)conn.query_value<int>("SELECT NULL"), libsql::unexpected_null);
    EXPECT_FALSE(r.get<std::optional<int>>(0).has_value());
    EXPECT_FALSE(conn.query_value<std::optional<std::string>>("SELECT NULL").has_value());
}

TEST_F(BadInput, NarrowingOverflowIsConversionError) {
    const auto r = conn.query_row("SELECT 200, -200, 70000, 5000000000, -1, 2, 127, 65535, 4294967295");
    EXPECT_THROW((void)r.get<std::int8_t>(0), libsql::conversion_error);
    EXPECT_THROW((void)r.get<std::int8_t>(1), libsql::conversion_error);
    EXPECT_THROW((void)r.get<std::uint16_t>(2), libsql::conversion_error);
    EXPECT_THROW((void)r.get<std::int16_t>(2), libsql::conversion_error);
    EXPECT_THROW((void)r.get<std::uint32_t>(3), libsql::conversion_error);
    EXPECT_THROW((void)r.get<std::int32_t>(3), libsql::conversion_error);
    EXPECT_THROW((void)r.get<std::uint8_t>(4), libsql::conversion_error);
    EXPECT_THROW((void)r.get<std::uint32_t>(4), libsql::conversion_error);
    EXPECT_THROW((void)r.get<std::uint64_t>(4), libsql::conversion_error);
    EXPECT_THROW((void)r.get<bool>(5), libsql::conversion_error);
    EXPECT_THROW((void)r.get<std::optional<std::uint16_t>>(2), libsql::conversion_error);
    // The edges still fit.
    EXPECT_EQ(r.get<std::int8_t>(6), 127);
    EXPECT_EQ(r.get<std::uint16_t>(7), 65535);
    EXPECT_EQ(r.get<std::uint32_t>(8), 4294967295u);
    EXPECT_EQ(r.get<std::int64_t>(4), -1);
    const auto e = thrown_as<libsql::conversion_error>([&] { (void)r.get<std::uint16_t>(2); });
    ASSERT_TRUE(e);
    EXPECT_NE(std::string_view(e->what()).find("70000"), std::string_view::npos) << e->what();
}

// --- text and blobs

TEST_F(BadInput, TextWithEmbeddedNulRoundTripsExactly) {
    conn.execute("CREATE TABLE t(s TEXT)");
    const std::string s("a\0b\0\0c", 6);
    conn.execute("INSERT INTO t VALUES (?)", s);
    const auto back = conn.query_value<std::string>("SELECT s FROM t");
    EXPECT_EQ(back.size(), 6u);
    EXPECT_EQ(back, s);
    EXPECT_EQ(conn.query_value<std::string>("SELECT typeof(s) FROM t"), "text");
    EXPECT_EQ(conn.query_value<std::int64_t>("SELECT octet_length(s) FROM t"), 6);
    // The same through string_view, a prepared statement, and params.
    auto st = conn.prepare("SELECT ?");
    const auto r = st.query_row(std::string_view(s));
    EXPECT_EQ(r.get<std::string>(0), s);
    libsql::params p;
    p.add(s);
    EXPECT_EQ(conn.query_value<std::string>("SELECT ?", p), s);
    const std::string only_nuls(3, '\0');
    EXPECT_EQ(conn.query_value<std::string>("SELECT ?", only_nuls), only_nuls);
}

TEST_F(BadInput, InvalidUtf8AsTextIsConversionErrorAndAsBlobRoundTrips) {
    conn.execute("CREATE TABLE t(v)");
    for (const std::string& bad : {"\xff"s, "\xfe\xff"s, "abc\x80"s, "\xc0\xaf"s /* overlong '/' */,
                                  "\xed\xa0\x80"s /* surrogate */, "\xe2\x82"s /* truncated euro sign */,
                                  "\xf4\x90\x80\x80"s /* past U+10FFFF */}) {
        SCOPED_TRACE(bad);
        EXPECT_THROW(conn.execute("INSERT INTO t VALUES (?)", bad), libsql::conversion_error);
        EXPECT_THROW(conn.execute("INSERT INTO t VALUES (?)", std::string_view(bad)), libsql::conversion_error);
        EXPECT_THROW(conn.prepare("INSERT INTO t VALUES (?)").bind(1, bad), libsql::conversion_error);
        EXPECT_THROW((void)libsql::value(bad), libsql::conversion_error);

        const std::vector<std::uint8_t> bytes(bad.begin(), bad.end());
        conn.execute("DELETE FROM t");
        conn.execute("INSERT INTO t VALUES (?)", bytes);
        EXPECT_EQ(conn.query_value<std::string>("SELECT typeof(v) FROM t"), "blob");
        EXPECT_EQ(conn.query_value<std::vector<std::uint8_t>>("SELECT v FROM t"), bytes);
    }
    EXPECT_EQ(conn.query_value<int>("SELECT count(*) FROM t"), 1);
    // Valid multi-byte text is fine.
    EXPECT_EQ(conn.query_value<std::string>("SELECT ?", "h\xc3\xa9llo \xe2\x82\xac \xf0\x9f\x98\x80"s),
              "h\xc3\xa9llo \xe2\x82\xac \xf0\x9f\x98\x80");
}

TEST(BadInputBig, HundredMegabyteBlobRoundTripsAndLengthLimitGivesTooBig) {
    temp_db_file file;
    libsql::database db(file.path());
    auto conn = db.connect();
    conn.execute("CREATE TABLE big(b BLOB)");
    libsql::blob data(100u * 1024u * 1024u);
    for (std::size_t i = 0; i < data.size(); i += 4096) data[i] = static_cast<std::byte>((i / 4096) * 131 % 251);
    data.back() = std::byte{0x5a};

    conn.execute("INSERT INTO big VALUES (?)", data);
    {
        auto rs = conn.query("SELECT b FROM big");
        ASSERT_TRUE(rs.next());
        const auto got = rs.current().get<libsql::blob_view>(0);
        ASSERT_EQ(got.size(), data.size());
        EXPECT_EQ(got[0], data[0]);
        EXPECT_EQ(got[4096 * 7], data[4096 * 7]);
        EXPECT_EQ(got[data.size() / 2], data[data.size() / 2]);
        EXPECT_EQ(got.back(), std::byte{0x5a});
        EXPECT_EQ(std::memcmp(got.data(), data.data(), data.size()), 0);
        EXPECT_FALSE(rs.next());
    }
    EXPECT_EQ(conn.query_value<std::int64_t>("SELECT length(b) FROM big"), static_cast<std::int64_t>(data.size()));

    conn.set_limit(libsql::limit::length, 50'000'000);
    const auto e = thrown_as<libsql::too_big>([&] { conn.execute("INSERT INTO big VALUES (?)", data); });
    ASSERT_TRUE(e);
    EXPECT_EQ(e->code(), sqlite_toobig);
    auto st = conn.prepare("INSERT INTO big VALUES (?)");
    EXPECT_THROW(st.bind(1, data), libsql::too_big);
    // The row already stored is over the new limit too: reading it fails the same way.
    EXPECT_THROW((void)conn.query_value<libsql::blob>("SELECT b FROM big"), libsql::too_big);
    EXPECT_EQ(conn.query_value<int>("SELECT count(*) FROM big"), 1);
}

// --- closed connections, statements and rows

TEST_F(BadInput, ConnectionMethodsAfterCloseAreUsageError) {
    conn.execute("CREATE TABLE t(x)");
    conn.close();
    EXPECT_FALSE(conn.is_open());
    EXPECT_EQ(conn.native_handle(), nullptr);
    EXPECT_THROW(conn.execute("SELECT 1"), libsql::usage_error);
    EXPECT_THROW((void)conn.query("SELECT 1"), libsql::usage_error);
    EXPECT_THROW((void)conn.query_row("SELECT 1"), libsql::usage_error);
    EXPECT_THROW((void)conn.query_value<int>("SELECT 1"), libsql::usage_error);
    EXPECT_THROW((void)conn.prepare("SELECT 1"), libsql::usage_error);
    EXPECT_THROW(conn.execute_batch("SELECT 1; SELECT 2"), libsql::usage_error);
    EXPECT_THROW(conn.execute_transactional_batch("SELECT 1"), libsql::usage_error);
    EXPECT_THROW((void)conn.transaction(), libsql::usage_error);
    EXPECT_THROW((void)conn.savepoint(), libsql::usage_error);
    EXPECT_THROW((void)conn.is_autocommit(), libsql::usage_error);
    EXPECT_THROW((void)conn.changes(), libsql::usage_error);
    EXPECT_THROW((void)conn.total_changes(), libsql::usage_error);
    EXPECT_THROW((void)conn.last_insert_rowid(), libsql::usage_error);
    EXPECT_THROW(conn.busy_timeout(10ms), libsql::usage_error);
    EXPECT_THROW(conn.reset(), libsql::usage_error);
    EXPECT_THROW(conn.set_limit(libsql::limit::length, 1000), libsql::usage_error);
    EXPECT_THROW(conn.authorizer(nullptr), libsql::usage_error);
    EXPECT_THROW(conn.update_hook(nullptr), libsql::usage_error);
    EXPECT_THROW(conn.commit_hook(nullptr), libsql::usage_error);
    EXPECT_THROW(conn.rollback_hook(nullptr), libsql::usage_error);
    EXPECT_THROW(conn.enable_load_extension(true), libsql::usage_error);
    EXPECT_THROW(conn.load_extension("whatever.so"), libsql::usage_error);
    EXPECT_THROW((void)conn.transport(), libsql::usage_error);
    EXPECT_THROW((void)libsql::pragma::table_info(conn, "t"), libsql::usage_error);
    // Harmless on a closed connection.
    EXPECT_NO_THROW(conn.interrupt());
    EXPECT_NO_THROW(conn.close());

    // A moved-from connection behaves the same.
    auto other = db.connect();
    auto taken = std::move(other);
    EXPECT_FALSE(other.is_open());  // NOLINT(bugprone-use-after-move): that is the point
    EXPECT_THROW(other.execute("SELECT 1"), libsql::usage_error);
    EXPECT_NO_THROW(other.interrupt());
    EXPECT_EQ(taken.query_value<int>("SELECT 1"), 1);
    // A default-constructed one too.
    libsql::connection none;
    EXPECT_THROW((void)none.query("SELECT 1"), libsql::usage_error);
}

TEST_F(BadInput, StatementAfterItsConnectionClosedIsUsageError) {
    conn.execute("CREATE TABLE t(x)");
    conn.execute("INSERT INTO t VALUES (1), (2)");
    auto insert = conn.prepare("INSERT INTO t VALUES (?)");
    auto select = conn.prepare("SELECT x FROM t");
    auto counted = conn.prepare("SELECT count(*) FROM t");
    conn.close();
    EXPECT_THROW(insert.execute(3), libsql::usage_error);
    EXPECT_THROW(insert.execute(), libsql::usage_error);
    EXPECT_THROW(insert.bind(1, 3), libsql::usage_error);
    EXPECT_THROW(insert.bind_all(3), libsql::usage_error);
    EXPECT_THROW((void)select.query_row(), libsql::usage_error);
    auto rs = select.query();
    EXPECT_THROW(rs.next(), libsql::usage_error);
    EXPECT_THROW((void)rs.begin(), libsql::usage_error);
    EXPECT_THROW((void)counted.query_row(), libsql::usage_error);
    // Introspection needs no running engine and still answers.
    EXPECT_EQ(select.sql(), "SELECT x FROM t");
    EXPECT_EQ(insert.parameter_count(), 1);
    // The statements (and the engine handle they kept) go with no crash or leak at the end of this scope.
}

TEST(BadInputLifetime, StatementAndRowsOutlivingTheConnectionObject) {
    libsql::database db(":memory:");
    libsql::statement st;
    libsql::rows rs;
    {
        auto c = db.connect();
        c.execute("CREATE TABLE t(x)");
        c.execute("INSERT INTO t VALUES (1), (2), (3)");
        st = c.prepare("SELECT x FROM t");
        rs = c.query("SELECT x FROM t ORDER BY x");
        ASSERT_TRUE(rs.next());
        EXPECT_EQ(rs.current().get<int>(0), 1);
    }  // the connection closes here; the statement and the cursor keep the engine handle alive
    EXPECT_THROW(rs.next(), libsql::usage_error);
    EXPECT_THROW((void)st.query_row(), libsql::usage_error);
    rs = libsql::rows();  // destroying them in either order is fine
    st = libsql::statement();
}

TEST_F(BadInput, RowsFromAClosedConnectionAreUsageError) {
    conn.execute("CREATE TABLE t(x)");
    conn.execute("INSERT INTO t VALUES (1), (2), (3)");
    auto unstarted = conn.query("SELECT x FROM t");
    auto started = conn.query("SELECT x FROM t ORDER BY x");
    ASSERT_TRUE(started.next());
    EXPECT_EQ(started.current().get<int>(0), 1);
    conn.close();
    EXPECT_THROW(unstarted.next(), libsql::usage_error);
    EXPECT_THROW((void)unstarted.one_row(), libsql::usage_error);
    EXPECT_THROW((void)unstarted.skip_all(), libsql::usage_error);
    EXPECT_THROW(started.next(), libsql::usage_error);
    EXPECT_THROW((void)(started.all<int>()), libsql::usage_error);
}

TEST_F(BadInput, MovedFromAndEmptyRowsAreUsageError) {
    auto rs = conn.query("SELECT 1 UNION ALL SELECT 2");
    ASSERT_TRUE(rs.next());
    libsql::rows taken = std::move(rs);
    // NOLINTBEGIN(bugprone-use-after-move): using the moved-from cursor is the point
    EXPECT_THROW((void)rs.current(), libsql::usage_error);
    EXPECT_THROW(rs.next(), libsql::usage_error);
    EXPECT_THROW((void)rs.one_row(), libsql::usage_error);
    EXPECT_THROW((void)rs.opt_row(), libsql::usage_error);
    EXPECT_THROW((void)rs.one_value<int>(), libsql::usage_error);
    EXPECT_EQ(rs.column_count(), 0);
    // NOLINTEND(bugprone-use-after-move)
    EXPECT_EQ(taken.current().get<int>(0), 1);
    EXPECT_EQ(taken.skip_all(), 1u);

    // A cursor moved from after it finished.
    auto done = conn.query("SELECT 1");
    EXPECT_EQ(done.skip_all(), 1u);
    libsql::rows done_taken = std::move(done);
    EXPECT_THROW((void)done.one_row(), libsql::usage_error);  // NOLINT(bugprone-use-after-move)

    libsql::rows empty;
    EXPECT_THROW((void)empty.current(), libsql::usage_error);
    EXPECT_THROW(empty.next(), libsql::usage_error);
    EXPECT_THROW((void)empty.one_row(), libsql::usage_error);
    EXPECT_THROW((void)empty.begin(), libsql::usage_error);
    EXPECT_THROW((void)empty.column_name(0), libsql::usage_error);

    libsql::statement no_statement;
    EXPECT_THROW(no_statement.execute(), libsql::usage_error);
    EXPECT_THROW((void)no_statement.query_row(), libsql::usage_error);
    EXPECT_THROW(no_statement.bind(1, 1), libsql::usage_error);
}

// --- transactions

TEST_F(BadInput, CommitTwiceAndRollbackAfterCommitAreUsageError) {
    conn.execute("CREATE TABLE t(x)");
    auto tx = conn.transaction();
    conn.execute("INSERT INTO t VALUES (1)");
    tx.commit();
    EXPECT_THROW(tx.commit(), libsql::usage_error);
    EXPECT_THROW(tx.rollback(), libsql::usage_error);
    EXPECT_THROW((void)tx.savepoint(), libsql::usage_error);
    EXPECT_EQ(conn.query_value<int>("SELECT count(*) FROM t"), 1);
    EXPECT_TRUE(conn.is_autocommit());

    auto rolled = conn.transaction();
    rolled.rollback();
    EXPECT_THROW(rolled.rollback(), libsql::usage_error);
    EXPECT_THROW(rolled.commit(), libsql::usage_error);

    auto outer = conn.transaction();
    auto sp = outer.savepoint();
    sp.commit();
    EXPECT_THROW(sp.commit(), libsql::usage_error);
    EXPECT_THROW(sp.rollback(), libsql::usage_error);
    outer.commit();

    libsql::transaction none;
    EXPECT_THROW(none.commit(), libsql::usage_error);
    EXPECT_THROW(none.rollback(), libsql::usage_error);
}

TEST_F(BadInput, TransactionWhoseConnectionClosed) {
    conn.execute("CREATE TABLE t(x)");
    auto tx = conn.transaction();
    conn.execute("INSERT INTO t VALUES (1)");
    conn.close();
    EXPECT_THROW(tx.commit(), libsql::usage_error);
    // Its destructor runs at the end of the scope without touching the closed connection.
}

TEST_F(BadInput, BeginInsideATransactionIsSqlError) {
    auto tx = conn.transaction();
    EXPECT_THROW((void)conn.transaction(), libsql::sql_error);
    EXPECT_FALSE(conn.is_autocommit());  // the outer one is untouched
    tx.rollback();
    EXPECT_TRUE(conn.is_autocommit());
}

// --- callbacks that throw

TEST_F(BadInput, ThrowingUpdateHookReachesTheCaller) {
    conn.execute("CREATE TABLE t(x)");
    conn.update_hook([](libsql::update_kind, std::string_view, std::string_view, std::int64_t) {
        throw hook_failure("update hook refuses");
    });
    const auto e = thrown_as<hook_failure>([&] { conn.execute("INSERT INTO t VALUES (1)"); });
    ASSERT_TRUE(e);
    EXPECT_STREQ(e->what(), "update hook refuses");
    EXPECT_THROW(conn.execute("INSERT INTO t VALUES (1), (2), (3)"), hook_failure);
    // The failed autocommit statements were rolled back, and the connection carries on.
    EXPECT_TRUE(conn.is_autocommit());
    EXPECT_EQ(conn.query_value<int>("SELECT count(*) FROM t"), 0);
    conn.update_hook(nullptr);
    conn.execute("INSERT INTO t VALUES (4)");
    EXPECT_EQ(conn.query_value<int>("SELECT count(*) FROM t"), 1);
}

TEST_F(BadInput, ThrowingAuthorizerReachesTheCaller) {
    conn.execute("CREATE TABLE t(x)");
    conn.execute("INSERT INTO t VALUES (1)");
    bool armed = true;
    conn.authorizer([&](const libsql::authorizer_request& r) {
        if (armed && r.action == libsql::authorizer_action::read) throw hook_failure("authorizer refuses");
        return libsql::authorizer_result::allow;
    });
    const auto e = thrown_as<hook_failure>([&] { (void)conn.query_value<int>("SELECT x FROM t"); });
    ASSERT_TRUE(e);
    EXPECT_STREQ(e->what(), "authorizer refuses");
    EXPECT_THROW((void)conn.prepare("SELECT x FROM t"), hook_failure);
    EXPECT_THROW(conn.execute_batch("SELECT 1; SELECT x FROM t"), hook_failure);
    // Statements the authorizer does not object to still run while it is installed.
    EXPECT_EQ(conn.query_value<int>("SELECT 41 + 1"), 42);
    armed = false;
    EXPECT_EQ(conn.query_value<int>("SELECT x FROM t"), 1);
    conn.authorizer(nullptr);
    EXPECT_EQ(conn.query_value<int>("SELECT x FROM t"), 1);
}

// --- interrupt, extensions, busy

TEST_F(BadInput, InterruptWithNothingRunningIsHarmless) {
    conn.interrupt();
    EXPECT_EQ(conn.query_value<int>("SELECT 1"), 1);
    auto st = conn.prepare("SELECT 2");
    conn.interrupt();
    conn.interrupt();
    EXPECT_EQ(st.query_row().get<int>(0), 2);
    conn.interrupt();
    conn.execute("CREATE TABLE t(x)");
    conn.execute("INSERT INTO t VALUES (1)");
    EXPECT_EQ(conn.query_value<int>("SELECT count(*) FROM t"), 1);
}

TEST_F(BadInput, LoadExtensionWhenDisabledOrFromABadPath) {
    EXPECT_THROW(conn.load_extension(LIBSQL_TINY_EXTENSION), libsql::usage_error);
    EXPECT_THROW(conn.load_extension("/no/such/dir/libsql-missing-extension.so"), libsql::usage_error);

    conn.enable_load_extension(true);
    const std::string bad_path = "/no/such/dir/libsql-missing-extension.so";
    const auto e = thrown_as<libsql::error>([&] { conn.load_extension(bad_path); });
    ASSERT_TRUE(e);
    EXPECT_NE(std::string_view(e->what()).find(bad_path), std::string_view::npos) << e->what();
    EXPECT_THROW(conn.load_extension(std::string("a\0b", 3)), libsql::usage_error);
    // A file that exists but is no shared library.
    temp_db_file not_a_library;
    { libsql::database make(not_a_library.path()); }
    const auto e2 = thrown_as<libsql::error>([&] { conn.load_extension(not_a_library.path()); });
    ASSERT_TRUE(e2);
    EXPECT_NE(std::string_view(e2->what()).find(not_a_library.path()), std::string_view::npos) << e2->what();
    EXPECT_EQ(conn.query_value<int>("SELECT 1"), 1);
}

TEST(BadInputBusy, WriterBlockedPastItsBusyTimeoutGetsBusy) {
    temp_db_file file;
    libsql::database db(file.path());
    auto holder = db.connect();
    auto waiter = db.connect();
    holder.execute("CREATE TABLE t(x)");
    waiter.busy_timeout(50ms);

    auto tx = holder.transaction(libsql::transaction_behavior::immediate);
    holder.execute("INSERT INTO t VALUES (1)");
    const auto start = std::chrono::steady_clock::now();
    const auto e = thrown_as<libsql::busy>([&] { waiter.execute("INSERT INTO t VALUES (2)"); });
    const auto waited = std::chrono::steady_clock::now() - start;
    ASSERT_TRUE(e);
    EXPECT_EQ(e->code(), sqlite_busy);
    EXPECT_EQ(e->sql(), "INSERT INTO t VALUES (2)");
    EXPECT_GE(waited, 40ms);  // it did wait for its timeout...
    EXPECT_LT(waited, 3s);    // ...and not for the default five seconds
    EXPECT_THROW((void)waiter.transaction(libsql::transaction_behavior::immediate), libsql::busy);
    EXPECT_TRUE(waiter.is_autocommit());
    // Reading the committed state is still possible in rollback-journal mode while a write is pending.
    EXPECT_EQ(waiter.query_value<int>("SELECT count(*) FROM t"), 0);

    tx.commit();
    waiter.execute("INSERT INTO t VALUES (2)");
    EXPECT_EQ(waiter.query_value<int>("SELECT count(*) FROM t"), 2);
}
