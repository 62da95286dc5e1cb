// Tests for libsql/params.hpp: run-time argument lists, named arguments, and how both bind to statements.
#include "libsql/params.hpp"

#include "libsql/database.hpp"

#include <gtest/gtest.h>

#include <limits>
#include <map>
#include <optional>
#include <string>

using namespace std::string_literals;
using namespace std::string_view_literals;

namespace {

class params_db : public ::testing::Test {
protected:
    libsql::database db{":memory:"};
    libsql::connection conn = db.connect();
};

} // namespace

TEST(params, positional_add) {
    libsql::params p;
    EXPECT_TRUE(p.empty());
    p.add(1).add("two").add(3.5).add(nullptr).add(libsql::value(5));
    ASSERT_EQ(p.positional().size(), 5u);
    EXPECT_EQ(p.size(), 5u);
    EXPECT_FALSE(p.empty());
    EXPECT_EQ(p.positional()[0], libsql::value(1));
    EXPECT_EQ(p.positional()[1], libsql::value("two"sv));
    EXPECT_EQ(p.positional()[2], libsql::value(3.5));
    EXPECT_TRUE(p.positional()[3].is_null());
    EXPECT_EQ(p.positional()[4], libsql::value(5));
    EXPECT_TRUE(p.named().empty());
    p.clear();
    EXPECT_TRUE(p.empty());
    EXPECT_EQ(p.size(), 0u);
}

TEST(params, named_add_and_replace) {
    libsql::params p;
    p.add("a", 1).add(":b", "x").add("@c", 2.0).add("$d", libsql::value(4));
    ASSERT_EQ(p.named().size(), 4u);
    EXPECT_EQ(p.named()[0].name, "a");
    EXPECT_EQ(p.named()[1].name, ":b");
    EXPECT_EQ(p.named()[3].value, libsql::value(4));

    // The same name, with or without a prefix, replaces the earlier value.
    p.add(":a", 10);
    p.add("b", "y");
    ASSERT_EQ(p.named().size(), 4u);
    EXPECT_EQ(p.named()[0].value, libsql::value(10));
    EXPECT_EQ(p.named()[1].value, libsql::value("y"sv));
    EXPECT_TRUE(p.positional().empty());
}

TEST(params, initializer_list_and_map) {
    const libsql::params p{{"id", 1}, {":name", "one"}};
    ASSERT_EQ(p.named().size(), 2u);
    EXPECT_EQ(p.named()[0].name, "id");
    EXPECT_EQ(p.named()[1].value, libsql::value("one"sv));

    const std::map<std::string, libsql::value, std::less<>> m{{"x", libsql::value(1)}, {"y", libsql::value("why"sv)}};
    const libsql::params q(m);
    ASSERT_EQ(q.named().size(), 2u);
    EXPECT_EQ(q.named()[0].name, "x");
    EXPECT_EQ(q.named()[1].value, libsql::value("why"sv));
}

TEST(params, invalid_values_are_refused_when_added) {
    libsql::params p;
    EXPECT_THROW(p.add("\xFF"s), libsql::conversion_error);
    EXPECT_THROW(p.add("n", std::numeric_limits<std::uint64_t>::max()), libsql::conversion_error);
    EXPECT_TRUE(p.empty());
}

TEST_F(params_db, positional_params_bind_in_order) {
    libsql::params p;
    p.add(1).add("two").add(3.5);
    const auto r = conn.query_row("SELECT ?, ?, ?", p);
    EXPECT_EQ(r.get<int>(0), 1);
    EXPECT_EQ(r.get<std::string>(1), "two");
    EXPECT_EQ(r.get<double>(2), 3.5);
}

TEST_F(params_db, named_with_and_without_prefix) {
    for (const char* sql : {"SELECT :a", "SELECT @a", "SELECT $a"}) {
        for (const char* name : {"a", ":a", "@a", "$a"}) {
            const std::string_view given(name);
            const std::string_view in_sql = std::string_view(sql).substr(7, 1);
            libsql::params p;
            p.add(name, 42);
            // A name with a prefix must match the prefix in the SQL; without one it matches any.
            if (given.size() == 2 && given.substr(0, 1) != in_sql) {
                EXPECT_THROW((void)conn.query_value<int>(sql, p), libsql::usage_error) << sql << " " << name;
            } else {
                EXPECT_EQ(conn.query_value<int>(sql, p), 42) << sql << " " << name;
            }
        }
    }
}

TEST_F(params_db, map_of_named_values) {
    const std::map<std::string, libsql::value, std::less<>> m{{"id", libsql::value(7)}, {":name", libsql::value("seven"sv)}};
    const auto r = conn.query_row("SELECT :name, :id", libsql::params(m));
    EXPECT_EQ(r.get<std::string>(0), "seven");
    EXPECT_EQ(r.get<int>(1), 7);
}

TEST_F(params_db, replaced_named_value_is_the_one_bound) {
    libsql::params p{{"v", 1}};
    p.add(":v", 2);
    EXPECT_EQ(conn.query_value<int>("SELECT :v", p), 2);
}

TEST_F(params_db, named_parameter_used_twice_binds_once) {
    EXPECT_EQ(conn.query_value<int>("SELECT :x + :x", libsql::params{{"x", 21}}), 42);
    EXPECT_EQ(conn.query_value<int>("SELECT :x + :x", libsql::named("x", 21)), 42);
}

TEST_F(params_db, mixing_positional_and_named) {
    // "?" is parameter 1 and ":b" parameter 2: positional values fill from ?1 on, named ones go by name.
    libsql::params p;
    p.add(1).add("b", 2);
    const auto r = conn.query_row("SELECT ?, :b", p);
    EXPECT_EQ(r.get<int>(0), 1);
    EXPECT_EQ(r.get<int>(1), 2);

    const auto r2 = conn.query_row("SELECT ?, :b", 10, libsql::named("b", 20));
    EXPECT_EQ(r2.get<int>(0), 10);
    EXPECT_EQ(r2.get<int>(1), 20);
    // Order of the arguments does not matter for the named one.
    const auto r3 = conn.query_row("SELECT ?, :b", libsql::named(":b", 200), 100);
    EXPECT_EQ(r3.get<int>(0), 100);
    EXPECT_EQ(r3.get<int>(1), 200);
}

TEST_F(params_db, unknown_name_is_a_usage_error) {
    libsql::params p{{"a", 1}, {"nope", 2}};
    EXPECT_THROW((void)conn.query_row("SELECT :a", p), libsql::usage_error);
    EXPECT_THROW((void)conn.query_row("SELECT :a", libsql::named("a", 1), libsql::named("nope", 2)), libsql::usage_error);
    try {
        (void)conn.query_row("SELECT :a", libsql::named("zzz", 1));
        FAIL() << "no throw";
    } catch (const libsql::usage_error& e) {
        EXPECT_NE(std::string(e.what()).find("zzz"), std::string::npos) << e.what();
        EXPECT_EQ(e.sql(), "SELECT :a");
    }
}

TEST_F(params_db, missing_named_value_is_a_usage_error) {
    EXPECT_THROW((void)conn.query_row("SELECT :a, :b", libsql::params{{"a", 1}}), libsql::usage_error);
    EXPECT_THROW((void)conn.query_row("SELECT :a, :b", libsql::named("b", 1)), libsql::usage_error);
    try {
        (void)conn.query_row("SELECT :a, :b", libsql::named("a", 1));
        FAIL() << "no throw";
    } catch (const libsql::usage_error& e) {
        EXPECT_NE(std::string(e.what()).find(":b"), std::string::npos) << e.what();
    }
}

TEST_F(params_db, wrong_positional_count_is_a_usage_error) {
    EXPECT_THROW((void)conn.query_row("SELECT ?, ?", 1), libsql::usage_error);
    EXPECT_THROW((void)conn.query_row("SELECT ?, ?", 1, 2, 3), libsql::usage_error);
    EXPECT_THROW((void)conn.query_row("SELECT ?"), libsql::usage_error);
    EXPECT_THROW((void)conn.query_row("SELECT 1", 1), libsql::usage_error);
    EXPECT_THROW((void)conn.execute("SELECT ?, ?", 1), libsql::usage_error);
    libsql::params one;
    one.add(1);
    EXPECT_THROW((void)conn.query_row("SELECT ?, ?", one), libsql::usage_error);
    libsql::params three;
    three.add(1).add(2).add(3);
    EXPECT_THROW((void)conn.query_row("SELECT ?, ?", three), libsql::usage_error);
    // Too many positional values next to a named one.
    EXPECT_THROW((void)conn.query_row("SELECT ?, :b", 1, 2, 3, libsql::named("b", 4)), libsql::usage_error);
    // The connection is fine afterwards.
    EXPECT_EQ(conn.query_value<int>("SELECT ? + ?", 1, 2), 3);
}

TEST_F(params_db, empty_params_for_a_statement_without_parameters) {
    EXPECT_EQ(conn.query_value<int>("SELECT 5", libsql::params{}), 5);
}

TEST_F(params_db, numbered_parameters) {
    // ?NNN: the count is the highest number; positional arguments fill ?1, ?2, ... in order.
    const auto r = conn.query_row("SELECT ?2, ?1, ?2", "first", "second");
    EXPECT_EQ(r.get<std::string>(0), "second");
    EXPECT_EQ(r.get<std::string>(1), "first");
    EXPECT_EQ(r.get<std::string>(2), "second");

    libsql::params p;
    p.add(1).add(2).add(3);
    EXPECT_EQ(conn.query_value<int>("SELECT ?3", p), 3);  // three parameters, of which ?3 is used

    // ?NNN by name.
    EXPECT_EQ(conn.query_value<int>("SELECT ?1 * 10 + ?2", libsql::named("?2", 4), libsql::named("?1", 3)), 34);
}

TEST_F(params_db, named_with_optional_and_null) {
    const auto r = conn.query_row("SELECT :a, :b", libsql::named("a", std::optional<int>{}), libsql::named("b", nullptr));
    EXPECT_TRUE(r.is_null(0));
    EXPECT_TRUE(r.is_null(1));
}

TEST_F(params_db, params_used_for_writes) {
    conn.execute("CREATE TABLE t(id INTEGER PRIMARY KEY, name TEXT)");
    libsql::params p;
    for (int i = 0; i < 3; ++i) {
        p.clear();
        p.add("id", i).add("name", "n" + std::to_string(i));
        EXPECT_EQ(conn.execute("INSERT INTO t VALUES (:id, :name)", p), 1);
    }
    EXPECT_EQ(conn.query_value<std::string>("SELECT group_concat(name, ',') FROM t"), "n0,n1,n2");
}
