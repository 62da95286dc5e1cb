// Tests for libsql/json.hpp: Boost.JSON values, objects and arrays, on their own and through a real database.
#include "libsql/json.hpp"

#include "support/memory_db.hpp"
#include "libsql/database.hpp"

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>

using namespace std::string_view_literals;

namespace {

namespace json = boost::json;

using json_db = libsql::test::memory_db;

json::value nested() {
    return json::parse(R"({"name":"Zoë \u263a 𝄞","tags":["a",{"deep":[1,[2,[3,null]]]},true,false],)"
                       R"("n":{"neg":-9223372036854775808,"max":9223372036854775807,"umax":18446744073709551615,)"
                       R"("pi":3.141592653589793,"tiny":5e-324},"empty":{},"none":[]})");
}

TEST(json, serialises_as_text) {
    const libsql::value v(json::value(json::object{{"a", 1}}));
    ASSERT_EQ(v.type(), libsql::value_type::text);
    EXPECT_EQ(v.get<std::string>(), R"({"a":1})");
    EXPECT_EQ(libsql::value(json::array{1, "x", nullptr}).get<std::string>(), R"([1,"x",null])");
    EXPECT_EQ(libsql::value("[1, 2]"sv).get<json::array>(), (json::array{1, 2}));
}

TEST(json, malformed_or_wrong_kind_throws) {
    for (auto s : {""sv, "{"sv, "[1,]"sv, "{'a':1}"sv, "nul"sv, "1 2"sv, R"({"a":1}})"sv}) {
        EXPECT_THROW((void)libsql::value(s).get<json::value>(), libsql::conversion_error) << s;
    }
    try {
        (void)libsql::value("[1,"sv).get<json::value>();
        FAIL() << "no exception";
    } catch (const libsql::conversion_error& e) {
        EXPECT_NE(std::string(e.what()).find("is not valid JSON"), std::string::npos) << e.what();
    }
    EXPECT_THROW((void)libsql::value("[1]"sv).get<json::object>(), libsql::conversion_error);
    EXPECT_THROW((void)libsql::value("{}"sv).get<json::array>(), libsql::conversion_error);
    EXPECT_THROW((void)libsql::value(std::int64_t{1}).get<json::value>(), libsql::conversion_error);
    EXPECT_THROW((void)libsql::value(1.5).get<json::array>(), libsql::conversion_error);
    EXPECT_THROW((void)libsql::value().get<json::value>(), libsql::unexpected_null);
    EXPECT_THROW((void)libsql::value().get<json::object>(), libsql::unexpected_null);
    // A string holding invalid UTF-8 cannot be written as text.
    EXPECT_THROW((void)libsql::value(json::value(json::string("\xff"))), libsql::conversion_error);
}

TEST_F(json_db, nested_values_round_trip) {
    const json::value j = nested();
    EXPECT_EQ(sql_type_of(j), "text");
    const auto back = round_trip<json::value>(j);
    EXPECT_EQ(back, j);
    const auto& n = back.at("n").as_object();
    EXPECT_EQ(n.at("neg").as_int64(), std::numeric_limits<std::int64_t>::min());
    EXPECT_EQ(n.at("max").as_int64(), std::numeric_limits<std::int64_t>::max());
    EXPECT_EQ(n.at("umax").as_uint64(), std::numeric_limits<std::uint64_t>::max());
    EXPECT_EQ(n.at("pi").as_double(), 3.141592653589793);
    EXPECT_EQ(n.at("tiny").as_double(), 5e-324);
    EXPECT_EQ(back.at("name").as_string(), "Zoë \u263a 𝄞");
    EXPECT_EQ(round_trip<json::object>(j.as_object()), j.as_object());
    EXPECT_EQ(round_trip<json::array>(j.at("tags").as_array()), j.at("tags").as_array());
}

TEST_F(json_db, through_a_table_and_sqlite_json_functions) {
    conn.execute("CREATE TABLE docs(id INTEGER PRIMARY KEY, body TEXT)");
    conn.execute("INSERT INTO docs(body) VALUES (?), (?), (?)", nested(), json::array{1, 2, 3},
                 std::optional<json::object>{});
    EXPECT_EQ(conn.query_value<json::value>("SELECT body FROM docs WHERE id = 1"), nested());
    EXPECT_EQ(conn.query_value<std::string>("SELECT body ->> '$.name' FROM docs WHERE id = 1"), "Zoë \u263a 𝄞");
    EXPECT_EQ(conn.query_value<std::int64_t>("SELECT body ->> '$.n.max' FROM docs WHERE id = 1"),
              std::numeric_limits<std::int64_t>::max());
    EXPECT_EQ(conn.query_value<json::array>("SELECT body FROM docs WHERE id = 2"), (json::array{1, 2, 3}));
    EXPECT_EQ(conn.query_value<json::object>("SELECT json_object('k', json_array(1, 'two'))"),
              (json::object{{"k", json::array{1, "two"}}}));
    EXPECT_FALSE(conn.query_value<std::optional<json::object>>("SELECT body FROM docs WHERE id = 3").has_value());
    EXPECT_THROW((void)conn.query_value<json::object>("SELECT body FROM docs WHERE id = 3"), libsql::unexpected_null);
    EXPECT_THROW((void)conn.query_value<json::object>("SELECT body FROM docs WHERE id = 2"), libsql::conversion_error);
    EXPECT_THROW((void)conn.query_value<json::value>("SELECT 'not json'"), libsql::conversion_error);
    // BLOBs (JSONB, or anything else) are refused; json() gives text.
    EXPECT_THROW((void)conn.query_value<json::value>("SELECT jsonb('[1]')"), libsql::conversion_error);
    EXPECT_EQ(conn.query_value<json::value>("SELECT json(jsonb('[1]'))"), (json::array{1}));
}

} // namespace
