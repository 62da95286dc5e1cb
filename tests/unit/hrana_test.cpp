#include "hrana/protocol.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <string>

namespace h = libsql::hrana;
using libsql::value;
using libsql::value_view;

namespace {

value integer(std::int64_t i) { return value(value_view::integer(i)); }
value real(double d) { return value(value_view::real(d)); }
value text(std::string_view s) { return value(value_view::text(s)); }
value blob(std::initializer_list<unsigned char> bytes) {
    libsql::blob b;
    for (auto c : bytes) b.push_back(static_cast<std::byte>(c));
    return value(value_view::blob(b));
}

h::stmt sql_stmt(std::string sql) {
    h::stmt s;
    s.sql = std::move(sql);
    return s;
}
h::condition ok(std::uint32_t step) { return h::condition{h::condition::kind::ok, step, {}}; }
h::condition not_(h::condition c) { return h::condition{h::condition::kind::not_, 0, {std::move(c)}}; }

template <class T> std::string to_json(const T& v) {
    std::string out;
    h::serialize(v, out);
    return out;
}

/// Expects parse to throw protocol_violation whose message contains `part`.
template <class F> void expect_violation(F&& parse, const std::string& part) {
    try {
        parse();
        ADD_FAILURE() << "no protocol_violation; expected one mentioning: " << part;
    } catch (const h::protocol_violation& e) {
        EXPECT_NE(std::string(e.what()).find(part), std::string::npos) << "message: " << e.what() << "\nwanted: " << part;
    }
}

/// The value a one-argument execute request carries.
value arg_of(const std::string& value_json) {
    const auto req = h::parse_pipeline_request(R"~({"requests":[{"type":"execute","stmt":{"sql":"x","args":[)~" +
                                               value_json + "]}}]}");
    return std::get<h::execute_req>(req.requests.at(0)).stmt.args.at(0);
}

/// A value serialized in a row and read back.
value value_round_trip(const value& v) {
    const std::string json = to_json(h::cursor_entry{h::row_entry{{v}}});
    return std::get<h::row_entry>(h::parse_cursor_entry(json)).row.at(0);
}

} // namespace

// ----------------------------------------------------------------------------------------- real peers' JSON
TEST(hrana_protocol, libsql_client_batch_parses) {
    const auto req = h::parse_pipeline_request(R"~({"requests":[
 {"type":"store_sql","sql_id":0,"sql":"CREATE TABLE IF NOT EXISTS t(x)"},
 {"type":"store_sql","sql_id":1,"sql":"INSERT INTO t VALUES (?)"},
 {"type":"batch","batch":{"steps":[
  {"stmt":{"sql":"BEGIN IMMEDIATE","args":[],"named_args":[],"want_rows":false}},
  {"condition":{"type":"ok","step":0},"stmt":{"sql_id":0,"args":[],"named_args":[],"want_rows":true}},
  {"condition":{"type":"ok","step":1},"stmt":{"sql_id":1,"args":[{"type":"float","value":1}],"named_args":[],"want_rows":true}},
  {"condition":{"type":"ok","step":2},"stmt":{"sql_id":1,"args":[{"type":"float","value":2}],"named_args":[],"want_rows":true}},
  {"condition":{"type":"ok","step":3},"stmt":{"sql":"COMMIT","args":[],"named_args":[],"want_rows":false}},
  {"condition":{"type":"not","cond":{"type":"ok","step":4}},"stmt":{"sql":"ROLLBACK","args":[],"named_args":[],"want_rows":false}}]}},
 {"type":"close"}]})~");

    h::pipeline_request want;
    want.requests.emplace_back(h::store_sql_req{0, "CREATE TABLE IF NOT EXISTS t(x)"});
    want.requests.emplace_back(h::store_sql_req{1, "INSERT INTO t VALUES (?)"});
    h::batch b;
    auto begin = sql_stmt("BEGIN IMMEDIATE");
    begin.want_rows = false;
    b.steps.push_back({std::nullopt, begin});
    h::stmt s0;
    s0.sql_id = 0;
    b.steps.push_back({ok(0), s0});
    h::stmt s1;
    s1.sql_id = 1;
    s1.args = {real(1.0)};
    b.steps.push_back({ok(1), s1});
    s1.args = {real(2.0)};
    b.steps.push_back({ok(2), s1});
    auto commit = sql_stmt("COMMIT");
    commit.want_rows = false;
    b.steps.push_back({ok(3), commit});
    auto rollback = sql_stmt("ROLLBACK");
    rollback.want_rows = false;
    b.steps.push_back({not_(ok(4)), rollback});
    want.requests.emplace_back(h::batch_req{b});
    want.requests.emplace_back(h::close_req{});

    EXPECT_FALSE(req.baton);
    EXPECT_EQ(req, want);
    // Float arguments written as JSON integers are floats.
    EXPECT_EQ(std::get<h::batch_req>(req.requests[2]).batch.steps[2].stmt.args[0].type(), libsql::value_type::real);
}

TEST(hrana_protocol, interactive_transaction_and_rust_shapes_parse) {
    auto req = h::parse_pipeline_request(
        R"~({"baton":"baton-2","requests":[{"type":"execute","stmt":{"sql":"COMMIT","args":[],"named_args":[],"want_rows":false}},{"type":"close"}]})~");
    EXPECT_EQ(req.baton, "baton-2");
    ASSERT_EQ(req.requests.size(), 2U);
    EXPECT_FALSE(std::get<h::execute_req>(req.requests[0]).stmt.want_rows);

    // Rust libsql: explicit nulls, want_rows and args omitted.
    req = h::parse_pipeline_request(
        R"~({"baton":null,"requests":[{"type":"execute","stmt":{"sql":"SELECT 1","sql_id":null,"replication_index":null}},{"type":"get_autocommit"}]})~");
    EXPECT_FALSE(req.baton);
    const auto& s = std::get<h::execute_req>(req.requests[0]).stmt;
    EXPECT_EQ(s, sql_stmt("SELECT 1"));
    EXPECT_TRUE(s.want_rows);
    EXPECT_TRUE(std::holds_alternative<h::get_autocommit_req>(req.requests[1]));

    req = h::parse_pipeline_request(R"~({"requests":[{"type":"sequence","sql":"CREATE TABLE a(x); SELECT 1"},{"type":"close"}]})~");
    EXPECT_EQ(std::get<h::sequence_req>(req.requests[0]).sql, "CREATE TABLE a(x); SELECT 1");
}

TEST(hrana_protocol, ws_transcript_parses) {
    EXPECT_EQ(h::parse_ws_client_msg(R"~({"type":"hello","jwt":"JWT"})~"), h::ws_client_msg(h::ws_hello{"JWT"}));
    EXPECT_EQ(h::parse_ws_client_msg(R"~({"type":"hello","jwt":null})~"), h::ws_client_msg(h::ws_hello{}));
    EXPECT_EQ(h::parse_ws_client_msg(R"~({"type":"request","request_id":0,"request":{"type":"open_stream","stream_id":0}})~"),
              h::ws_client_msg(h::ws_request_msg{0, h::ws_open_stream{0}}));
    EXPECT_EQ(h::parse_ws_client_msg(R"~({"type":"request","request_id":1,"request":{"type":"store_sql","sql_id":0,"sql":"SELECT 1"}})~"),
              h::ws_client_msg(h::ws_request_msg{1, h::store_sql_req{0, "SELECT 1"}}));
    h::stmt s;
    s.sql_id = 0;
    EXPECT_EQ(h::parse_ws_client_msg(
                  R"~({"type":"request","request_id":2,"request":{"type":"execute","stream_id":0,"stmt":{"sql_id":0,"args":[],"named_args":[],"want_rows":true}}})~"),
              h::ws_client_msg(h::ws_request_msg{2, h::ws_execute{0, s}}));
    EXPECT_EQ(h::parse_ws_client_msg(R"~({"type":"request","request_id":3,"request":{"type":"close_stream","stream_id":0}})~"),
              h::ws_client_msg(h::ws_request_msg{3, h::ws_close_stream{0}}));
    EXPECT_EQ(h::parse_ws_server_msg(R"~({"type":"hello_ok"})~"), h::ws_server_msg(h::ws_hello_ok{}));
}

TEST(hrana_protocol, cursor_body_lines_parse) {
    EXPECT_EQ(h::parse_cursor_response_head(R"~({"baton":"b","base_url":null})~"), (h::cursor_response_head{"b", {}}));
    EXPECT_EQ(h::parse_cursor_entry(R"~({"type":"step_begin","step":0,"cols":[{"name":"x","decltype":null}]})~"),
              h::cursor_entry(h::step_begin_entry{0, {h::column{"x", {}}}}));
    EXPECT_EQ(h::parse_cursor_entry(R"~({"type":"row","row":[{"type":"integer","value":"1"}]})~"),
              h::cursor_entry(h::row_entry{{integer(1)}}));
    EXPECT_EQ(h::parse_cursor_entry(R"~({"type":"step_end","affected_row_count":0,"last_insert_rowid":null})~"),
              h::cursor_entry(h::step_end_entry{}));
    EXPECT_EQ(h::parse_cursor_entry(R"~({"type":"step_error","step":1,"error":{"message":"m","code":"c"}})~"),
              h::cursor_entry(h::step_error_entry{1, {"m", "c"}}));
    EXPECT_EQ(h::parse_cursor_entry(R"~({"type":"error","error":{"message":"m"}})~"),
              h::cursor_entry(h::error_entry{{"m", ""}}));
    EXPECT_EQ(h::parse_error_body(R"~({"message":"The stream has expired due to inactivity","code":"STREAM_EXPIRED"})~"),
              (h::error{"The stream has expired due to inactivity", "STREAM_EXPIRED"}));
}

// ------------------------------------------------------------------------------------------------ round trips
TEST(hrana_protocol, pipeline_request_round_trip) {
    h::pipeline_request r;
    r.baton = "baton\"with\\quotes";
    h::stmt s = sql_stmt("SELECT ?, :a, @b");
    s.args = {value{}, integer(-5), real(0.25), text("t"), blob({0, 1, 255})};
    s.named_args = {{":a", integer(1)}, {"b", text("x")}};
    s.want_rows = false;
    s.replication_index = 18446744073709551615ULL;
    r.requests.emplace_back(h::execute_req{s});
    h::batch b;
    b.steps.push_back({std::nullopt, sql_stmt("BEGIN")});
    h::condition all{h::condition::kind::and_, 0, {ok(0), not_(h::condition{h::condition::kind::is_autocommit, 0, {}}),
                                                   h::condition{h::condition::kind::or_, 0, {h::condition{h::condition::kind::error, 7, {}}}},
                                                   h::condition{h::condition::kind::or_, 0, {}}}};
    b.steps.push_back({all, sql_stmt("SELECT 1")});
    b.replication_index = 3;
    r.requests.emplace_back(h::batch_req{b});
    r.requests.emplace_back(h::sequence_req{"a;b", std::nullopt});
    r.requests.emplace_back(h::sequence_req{std::nullopt, 4});
    r.requests.emplace_back(h::describe_req{"SELECT :x", std::nullopt});
    r.requests.emplace_back(h::describe_req{std::nullopt, -1});
    r.requests.emplace_back(h::store_sql_req{2147483647, "SELECT 2"});
    r.requests.emplace_back(h::close_sql_req{-2147483647 - 1});
    r.requests.emplace_back(h::close_req{});
    r.requests.emplace_back(h::get_autocommit_req{});
    const std::string json = to_json(r);
    EXPECT_EQ(h::parse_pipeline_request(json), r) << json;

    r.baton.reset();
    EXPECT_EQ(h::parse_pipeline_request(to_json(r)), r);
}

TEST(hrana_protocol, pipeline_response_round_trip) {
    h::pipeline_response r;
    r.baton = "b";
    r.base_url = "http://127.0.0.1:18111/some/prefix/";
    h::stmt_result sr;
    sr.cols = {{"id", "INTEGER"}, {"x", std::nullopt}, {"", std::nullopt}};
    sr.rows = {{integer(1), text("a"), value{}}, {integer(2), real(1e300), blob({})}};
    sr.affected_row_count = 3;
    sr.last_insert_rowid = -9;
    r.results.emplace_back(h::stream_response{h::execute_resp{sr}});
    sr.replication_index = 10;
    sr.rows_read = 100;
    sr.rows_written = 0;
    sr.query_duration_ms = 0.125;
    r.results.emplace_back(h::stream_response{h::execute_resp{sr}});
    h::batch_result br;
    br.step_results = {sr, std::nullopt, std::nullopt};
    br.step_errors = {std::nullopt, h::error{"no such table: t", "SQLITE_ERROR"}, std::nullopt};
    br.replication_index = 77;
    r.results.emplace_back(h::stream_response{h::batch_resp{br}});
    r.results.emplace_back(h::stream_response{h::sequence_resp{}});
    h::describe_result dr;
    dr.params = {{":x"}, {std::nullopt}};
    dr.cols = {{"1", std::nullopt}};
    dr.is_explain = true;
    dr.is_readonly = true;
    r.results.emplace_back(h::stream_response{h::describe_resp{dr}});
    r.results.emplace_back(h::stream_response{h::store_sql_resp{}});
    r.results.emplace_back(h::stream_response{h::close_sql_resp{}});
    r.results.emplace_back(h::stream_response{h::close_resp{}});
    r.results.emplace_back(h::stream_response{h::get_autocommit_resp{false}});
    r.results.emplace_back(h::stream_response{h::get_autocommit_resp{true}});
    r.results.emplace_back(h::error{"boom", "SQLITE_CONSTRAINT"});
    r.results.emplace_back(h::error{"no code", ""});
    const std::string json = to_json(r);
    EXPECT_EQ(h::parse_pipeline_response(json), r) << json;
}

TEST(hrana_protocol, cursor_round_trip) {
    h::cursor_request c;
    c.baton = "x";
    c.batch.steps.push_back({ok(0), sql_stmt("SELECT 1")});
    EXPECT_EQ(h::parse_cursor_request(to_json(c)), c);
    c.baton.reset();
    EXPECT_EQ(h::parse_cursor_request(to_json(c)), c);

    for (const h::cursor_response_head& head : {h::cursor_response_head{}, h::cursor_response_head{"b", "http://x/"}})
        EXPECT_EQ(h::parse_cursor_response_head(to_json(head)), head);

    const std::vector<h::cursor_entry> entries = {
        h::step_begin_entry{3, {{"a", "TEXT"}, {"b", std::nullopt}}},
        h::row_entry{{integer(1), real(-2.5), text("é"), blob({1, 2, 3}), value{}}},
        h::row_entry{},
        h::step_end_entry{5, 9223372036854775807LL},
        h::step_end_entry{},
        h::step_error_entry{1, {"bad", "SQLITE_ERROR"}},
        h::error_entry{{"whole batch", ""}},
    };
    for (const auto& e : entries) {
        const std::string json = to_json(e);
        EXPECT_EQ(json.find('\n'), std::string::npos);
        EXPECT_EQ(h::parse_cursor_entry(json), e) << json;
    }
}

TEST(hrana_protocol, ws_round_trip) {
    h::batch b;
    b.steps.push_back({std::nullopt, sql_stmt("SELECT 1")});
    h::stmt s;
    s.sql_id = 4;
    s.args = {integer(1)};
    const std::vector<h::ws_request> requests = {
        h::ws_open_stream{1}, h::ws_close_stream{1}, h::ws_execute{1, s}, h::ws_batch{2, b},
        h::ws_sequence{1, "a;b", std::nullopt}, h::ws_sequence{1, std::nullopt, 3},
        h::ws_describe{1, "SELECT ?", std::nullopt}, h::ws_describe{1, std::nullopt, 9},
        h::store_sql_req{5, "SELECT 5"}, h::close_sql_req{5}, h::ws_get_autocommit{1},
        h::ws_open_cursor{1, 2, b}, h::ws_close_cursor{2}, h::ws_fetch_cursor{2, 4294967295U},
    };
    std::int32_t id = 0;
    for (const auto& r : requests) {
        const h::ws_client_msg m = h::ws_request_msg{id++, r};
        const std::string json = to_json(m);
        EXPECT_EQ(h::parse_ws_client_msg(json), m) << json;
    }
    for (const h::ws_client_msg& m : {h::ws_client_msg{h::ws_hello{"jwt"}}, h::ws_client_msg{h::ws_hello{}}})
        EXPECT_EQ(h::parse_ws_client_msg(to_json(m)), m);

    h::stmt_result sr;
    sr.cols = {{"1", std::nullopt}};
    sr.rows = {{integer(1)}};
    h::batch_result br;
    br.step_results = {sr};
    br.step_errors = {std::nullopt};
    h::ws_fetch_cursor_resp fetch;
    fetch.entries = {h::step_begin_entry{0, {}}, h::row_entry{{integer(1)}}, h::step_end_entry{0, 5}};
    fetch.done = true;
    const std::vector<h::ws_response> responses = {
        h::ws_open_stream_resp{}, h::ws_close_stream_resp{}, h::execute_resp{sr}, h::batch_resp{br},
        h::sequence_resp{}, h::describe_resp{h::describe_result{{{"a"}}, {}, false, true}}, h::store_sql_resp{},
        h::close_sql_resp{}, h::get_autocommit_resp{true}, h::ws_open_cursor_resp{}, h::ws_close_cursor_resp{},
        fetch, h::ws_fetch_cursor_resp{},
    };
    for (const auto& r : responses) {
        const h::ws_server_msg m = h::ws_response_ok{id++, r};
        const std::string json = to_json(m);
        EXPECT_EQ(h::parse_ws_server_msg(json), m) << json;
    }
    for (const h::ws_server_msg& m : {h::ws_server_msg{h::ws_hello_ok{}}, h::ws_server_msg{h::ws_hello_error{{"bad jwt", "AUTH"}}},
                                      h::ws_server_msg{h::ws_response_error{7, {"Stream not open", "STREAM_NOT_OPEN"}}}})
        EXPECT_EQ(h::parse_ws_server_msg(to_json(m)), m) << to_json(m);
}

TEST(hrana_protocol, error_body_round_trip) {
    for (const h::error& e : {h::error{"m", "C"}, h::error{"only message", ""}, h::error{"", ""}})
        EXPECT_EQ(h::parse_error_body(to_json(e)), e);
    EXPECT_EQ(to_json(h::error{"m", ""}), R"~({"message":"m"})~");
    EXPECT_EQ(h::parse_error_body(R"~({"message":"m","code":null})~"), (h::error{"m", ""}));
}

// --------------------------------------------------------------------------------------------- exact output
TEST(hrana_protocol, pipeline_response_literal) {
    h::pipeline_response r;
    r.baton = "b1";
    h::stmt_result sr;
    sr.cols = {{"id", "INTEGER"}, {"x", std::nullopt}};
    sr.rows = {{integer(9007199254740993), real(1.5), text("a\"\n"), blob({0, 1, 2, 255}), value{}}};
    sr.affected_row_count = 1;
    sr.last_insert_rowid = 7;
    r.results.emplace_back(h::stream_response{h::execute_resp{sr}});
    r.results.emplace_back(h::stream_response{h::close_resp{}});
    r.results.emplace_back(h::error{"oops", "SQLITE_ERROR"});
    EXPECT_EQ(to_json(r),
              R"~({"baton":"b1","base_url":null,"results":[)~"
              R"~({"type":"ok","response":{"type":"execute","result":{"cols":[{"name":"id","decltype":"INTEGER"},{"name":"x","decltype":null}],)~"
              R"~("rows":[[{"type":"integer","value":"9007199254740993"},{"type":"float","value":1.5},{"type":"text","value":"a\"\n"},)~"
              R"~({"type":"blob","base64":"AAEC/w=="},{"type":"null"}]],"affected_row_count":1,"last_insert_rowid":"7"}}},)~"
              R"~({"type":"ok","response":{"type":"close"}},)~"
              R"~({"type":"error","error":{"message":"oops","code":"SQLITE_ERROR"}}]})~");
}

TEST(hrana_protocol, request_literal_matches_libsql_client_shape) {
    h::pipeline_request r;
    h::stmt s = sql_stmt("SELECT ?");
    s.args = {integer(1)};
    r.requests.emplace_back(h::execute_req{s});
    r.requests.emplace_back(h::close_req{});
    EXPECT_EQ(to_json(r),
              R"~({"baton":null,"requests":[{"type":"execute","stmt":{"sql":"SELECT ?","args":[{"type":"integer","value":"1"}],)~"
              R"~("named_args":[],"want_rows":true}},{"type":"close"}]})~");
}

TEST(hrana_protocol, stmt_result_extensions_only_when_set) {
    h::stmt_result sr;
    std::string json = to_json(h::cursor_entry{h::step_end_entry{}});
    EXPECT_EQ(json, R"~({"type":"step_end","affected_row_count":0,"last_insert_rowid":null})~");
    h::pipeline_response r;
    r.results.emplace_back(h::stream_response{h::execute_resp{sr}});
    json = to_json(r);
    EXPECT_EQ(json.find("replication_index"), std::string::npos);
    EXPECT_EQ(json.find("rows_read"), std::string::npos);
    EXPECT_EQ(json.find("rows_written"), std::string::npos);
    EXPECT_EQ(json.find("query_duration_ms"), std::string::npos);
    sr.replication_index = 3;
    sr.rows_read = 1;
    sr.rows_written = 2;
    sr.query_duration_ms = 0.5;
    r.results[0] = h::stream_response{h::execute_resp{sr}};
    json = to_json(r);
    EXPECT_NE(json.find(R"~("replication_index":"3","rows_read":1,"rows_written":2,"query_duration_ms":0.5)~"), std::string::npos) << json;
}

// --------------------------------------------------------------------------------------------------- values
TEST(hrana_protocol, integers_beyond_2_53_stay_exact) {
    for (std::int64_t i : {std::int64_t{9007199254740993}, std::numeric_limits<std::int64_t>::max(),
                           std::numeric_limits<std::int64_t>::min(), std::int64_t{-1}, std::int64_t{0}}) {
        EXPECT_EQ(value_round_trip(integer(i)), integer(i));
        EXPECT_EQ(arg_of(R"~({"type":"integer","value":")~" + std::to_string(i) + "\"}"), integer(i));
    }
    EXPECT_EQ(arg_of(R"~({"type":"integer","value":"9223372036854775807"})~"), integer(9223372036854775807LL));
    expect_violation([] { (void)arg_of(R"~({"type":"integer","value":"9223372036854775808"})~"); },
                     "requests[0].stmt.args[0].value: integer out of range");
    expect_violation([] { (void)arg_of(R"~({"type":"integer","value":"12x"})~"); }, "decimal integer string");
    expect_violation([] { (void)arg_of(R"~({"type":"integer","value":""})~"); }, "decimal integer string");
    expect_violation([] { (void)arg_of(R"~({"type":"integer","value":"+1"})~"); }, "decimal integer string");
    expect_violation([] { (void)arg_of(R"~({"type":"integer","value":" 1"})~"); }, "decimal integer string");
}

TEST(hrana_protocol, integer_values_as_json_numbers_when_exact) {
    EXPECT_EQ(arg_of(R"~({"type":"integer","value":42})~"), integer(42));
    EXPECT_EQ(arg_of(R"~({"type":"integer","value":-9223372036854775808})~"), integer(std::numeric_limits<std::int64_t>::min()));
    EXPECT_EQ(arg_of(R"~({"type":"integer","value":3.0})~"), integer(3));
    expect_violation([] { (void)arg_of(R"~({"type":"integer","value":1.5})~"); }, "args[0].value");
    expect_violation([] { (void)arg_of(R"~({"type":"integer","value":1e300})~"); }, "args[0].value");
    expect_violation([] { (void)arg_of(R"~({"type":"integer","value":9223372036854775808})~"); }, "out of range");
    expect_violation([] { (void)arg_of(R"~({"type":"integer","value":true})~"); }, "args[0].value");
}

TEST(hrana_protocol, floats_round_trip_exactly) {
    std::mt19937_64 rng(42);
    for (int i = 0; i < 20000; ++i) {
        const std::uint64_t bits = rng();
        double d = 0;
        std::memcpy(&d, &bits, sizeof d);
        if (!std::isfinite(d)) continue;
        const value got = value_round_trip(real(d));
        ASSERT_EQ(got.type(), libsql::value_type::real);
        const double back = got.view().as_real();
        ASSERT_EQ(std::memcmp(&bits, &back, sizeof d), 0) << d;
    }
    for (double d : {0.1, 1e-320, std::numeric_limits<double>::max(), std::numeric_limits<double>::denorm_min(), 1e21,
                     123456789012345680000.0, 1.0, -3.0, 9007199254740993.0}) {
        const value got = value_round_trip(real(d));
        ASSERT_EQ(got.type(), libsql::value_type::real);
        EXPECT_EQ(got.view().as_real(), d);
    }
    const value negative_zero = value_round_trip(real(-0.0));
    EXPECT_TRUE(std::signbit(negative_zero.view().as_real()));
    // Texts that Boost.JSON 1.81 alone would round wrongly.
    EXPECT_EQ(arg_of(R"~({"type":"float","value":1.3927926388013963e-143})~"), real(1.3927926388013963e-143));
    EXPECT_EQ(arg_of(R"~({"type":"float","value":5.409760742964738e+124})~"), real(5.409760742964738e+124));
    // Float values written as integers.
    EXPECT_EQ(arg_of(R"~({"type":"float","value":1})~"), real(1.0));
    EXPECT_EQ(arg_of(R"~({"type":"float","value":18446744073709551615})~"), real(18446744073709551615.0));
    expect_violation([] { (void)arg_of(R"~({"type":"float","value":"1.5"})~"); }, "args[0].value: expected a number");
}

TEST(hrana_protocol, nan_and_infinity) {
    EXPECT_EQ(to_json(h::cursor_entry{h::row_entry{{real(std::nan(""))}}}), R"~({"type":"row","row":[{"type":"null"}]})~");
    const double inf = std::numeric_limits<double>::infinity();
    EXPECT_EQ(to_json(h::cursor_entry{h::row_entry{{real(inf), real(-inf)}}}),
              R"~({"type":"row","row":[{"type":"float","value":9e999},{"type":"float","value":-9e999}]})~");
    EXPECT_EQ(value_round_trip(real(inf)), real(inf));
    EXPECT_EQ(value_round_trip(real(-inf)), real(-inf));
    EXPECT_EQ(arg_of(R"~({"type":"float","value":1e-999})~"), real(0.0));
    h::stmt_result sr;
    sr.query_duration_ms = std::nan("");
    h::pipeline_response r;
    r.results.emplace_back(h::stream_response{h::execute_resp{sr}});
    const auto back = h::parse_pipeline_response(to_json(r));
    EXPECT_FALSE(std::get<h::execute_resp>(std::get<h::stream_response>(back.results[0])).result.query_duration_ms);
}

TEST(hrana_protocol, unicode_text) {
    const std::string samples[] = {"héllo", "日本語", "😀 emoji", std::string("nul\0byte", 8), "tab\t nl\n cr\r \x01\x1f\x7f",
                                   "quote\" backslash\\ slash/", "\xe2\x80\xa8 line separator"};
    for (const auto& s : samples) EXPECT_EQ(value_round_trip(text(s)), text(s)) << s;
    EXPECT_EQ(arg_of(R"~({"type":"text","value":"\u00e9\ud83d\ude00"})~"), text("é😀"));
    EXPECT_EQ(to_json(h::cursor_entry{h::row_entry{{text(std::string("\0\x01\b\f\n\r\t\"\\", 9))}}}),
              R"~({"type":"row","row":[{"type":"text","value":"\u0000\u0001\b\f\n\r\t\"\\"}]})~");
}

TEST(hrana_protocol, text_with_special_bytes_anywhere_round_trips) {
    // Strings are written eight plain bytes at a time: a byte that needs escaping (or a UTF-8 sequence) at every
    // offset of a word, and around the end, must still come back exactly.
    const std::string specials[] = {"\"", "\\", "\n", std::string(1, '\0'), "\x1f", "\x7f", "\xc3\xa9", "\xf0\x9f\x98\x80", " ", "/"};
    std::mt19937 rng(42);
    for (int round = 0; round < 2000; ++round) {
        std::string t;
        const int len = static_cast<int>(rng() % 40);
        for (int k = 0; k < len; ++k) {
            if (rng() % 5 == 0) t += specials[rng() % std::size(specials)];
            else t += static_cast<char>('a' + rng() % 26);
        }
        ASSERT_EQ(value_round_trip(text(t)), text(t)) << t;
    }
}

TEST(hrana_protocol, invalid_utf8_never_gives_invalid_json) {
    // Lone continuation byte, truncated sequence, overlong '/', surrogate, beyond U+10FFFF, 0xFF.
    const std::string bad = "a\x80" "b\xe2\x82" "c\xc0\xaf" "d\xed\xa0\x80" "e\xf4\x90\x80\x80" "f\xff";
    const std::string json = to_json(h::cursor_entry{h::row_entry{{text(bad)}}});
    const auto back = h::parse_cursor_entry(json);  // valid JSON, valid UTF-8
    const std::string got = std::get<h::row_entry>(back).row.at(0).get<std::string>();
    EXPECT_EQ(got.substr(0, 4), "a\xef\xbf\xbd" );
    EXPECT_NE(got.find('f'), std::string::npos);
    EXPECT_EQ(got.find('\xff'), std::string::npos);
    // Invalid UTF-8 in input JSON is refused.
    expect_violation([] { (void)h::parse_error_body("{\"message\":\"\xff\"}"); }, "invalid JSON");
}

TEST(hrana_protocol, blobs) {
    EXPECT_EQ(arg_of(R"~({"type":"blob","base64":"AAEC/w=="})~"), blob({0, 1, 2, 255}));
    EXPECT_EQ(arg_of(R"~({"type":"blob","base64":"AAEC/w"})~"), blob({0, 1, 2, 255}));
    EXPECT_EQ(arg_of(R"~({"type":"blob","base64":"AAEC"})~"), blob({0, 1, 2}));
    EXPECT_EQ(arg_of(R"~({"type":"blob","base64":"AAE="})~"), blob({0, 1}));
    EXPECT_EQ(arg_of(R"~({"type":"blob","base64":""})~"), blob({}));
    for (const char* bad : {"AAEC/w=", "A", "A===", "AA=A", "AAEC-w==", "AA EC", "====", "AAEC/w==="})
        expect_violation([&] { (void)arg_of(std::string(R"~({"type":"blob","base64":")~") + bad + "\"}"); },
                         "requests[0].stmt.args[0].base64: invalid base64");
    expect_violation([] { (void)arg_of(R"~({"type":"blob"})~"); }, "args[0]: missing field 'base64'");

    // RFC 4648 test vectors.
    const std::pair<const char*, const char*> vectors[] = {{"", ""}, {"f", "Zg=="}, {"fo", "Zm8="}, {"foo", "Zm9v"},
                                                           {"foob", "Zm9vYg=="}, {"fooba", "Zm9vYmE="}, {"foobar", "Zm9vYmFy"}};
    for (auto [plain, encoded] : vectors) {
        const auto bytes = libsql::blob_view(reinterpret_cast<const std::byte*>(plain), std::strlen(plain));
        EXPECT_EQ(h::base64_encode(bytes), encoded);
        const auto decoded = h::base64_decode(encoded);
        ASSERT_TRUE(decoded);
        EXPECT_TRUE(std::equal(decoded->begin(), decoded->end(), bytes.begin(), bytes.end()));
    }
    libsql::blob all;
    for (int i = 0; i < 256; ++i) all.push_back(static_cast<std::byte>(i));
    EXPECT_EQ(h::base64_decode(h::base64_encode(all)), all);
    EXPECT_EQ(value_round_trip(value(value_view::blob(all))), value(value_view::blob(all)));
}

TEST(hrana_protocol, named_args_keep_their_prefix) {
    const auto req = h::parse_pipeline_request(
        R"~({"requests":[{"type":"execute","stmt":{"sql":"SELECT :a, @b, $c, d","named_args":[
          {"name":":a","value":{"type":"integer","value":"1"}},{"name":"@b","value":{"type":"null"}},
          {"name":"$c","value":{"type":"text","value":"c"}},{"name":"d","value":{"type":"float","value":2.5}}]}}]})~");
    const auto& args = std::get<h::execute_req>(req.requests[0]).stmt.named_args;
    ASSERT_EQ(args.size(), 4U);
    EXPECT_EQ(args[0], (h::named_arg{":a", integer(1)}));
    EXPECT_EQ(args[1], (h::named_arg{"@b", value{}}));
    EXPECT_EQ(args[2], (h::named_arg{"$c", text("c")}));
    EXPECT_EQ(args[3], (h::named_arg{"d", real(2.5)}));
}

// ----------------------------------------------------------------------------------------------- bad input
TEST(hrana_protocol, error_messages_say_where) {
    expect_violation([] {
        (void)h::parse_pipeline_request(R"~({"requests":[{"type":"close"},{"type":"close"},
            {"type":"execute","stmt":{"sql":"x","args":[{"type":"integer","value":true}]}}]})~");
    }, "requests[2].stmt.args[0].value: expected a decimal integer string, got a boolean");
    expect_violation([] { (void)h::parse_pipeline_request(R"~({"requests":[{"type":"frobnicate"}]})~"); },
                     "requests[0].type: unknown request type 'frobnicate'");
    expect_violation([] { (void)h::parse_pipeline_request(R"~({"requests":[{"stmt":{}}]})~"); },
                     "requests[0]: missing field 'type'");
    expect_violation([] { (void)h::parse_pipeline_request(R"~({"baton":null})~"); }, "missing field 'requests'");
    expect_violation([] { (void)h::parse_pipeline_request(R"~({"requests":{}})~"); }, "requests: expected an array, got an object");
    expect_violation([] { (void)h::parse_pipeline_request(R"~([])~"); }, "expected an object, got an array");
    expect_violation([] { (void)h::parse_pipeline_request(R"~({"baton":5,"requests":[]})~"); }, "baton: expected a string, got a number");
    expect_violation([] { (void)h::parse_pipeline_request(R"~({"requests":[{"type":"execute","stmt":{"sql":"x","sql_id":1}}]})~"); },
                     "requests[0].stmt: both 'sql' and 'sql_id' given");
    expect_violation([] { (void)h::parse_pipeline_request(R"~({"requests":[{"type":"execute","stmt":{"args":[]}}]})~"); },
                     "requests[0].stmt: one of 'sql' and 'sql_id' is required");
    expect_violation([] { (void)h::parse_pipeline_request(R"~({"requests":[{"type":"execute","stmt":{"sql":"x","want_rows":1}}]})~"); },
                     "requests[0].stmt.want_rows: expected a boolean");
    expect_violation([] { (void)h::parse_pipeline_request(R"~({"requests":[{"type":"store_sql","sql_id":2147483648,"sql":"x"}]})~"); },
                     "requests[0].sql_id: number out of range");
    expect_violation([] { (void)h::parse_pipeline_request(R"~({"requests":[{"type":"close_sql","sql_id":1.5}]})~"); },
                     "requests[0].sql_id: expected an integer");
    expect_violation([] {
        (void)h::parse_pipeline_request(R"~({"requests":[{"type":"batch","batch":{"steps":[{"condition":{"type":"ok","step":-1},"stmt":{"sql":"x"}}]}}]})~");
    }, "requests[0].batch.steps[0].condition.step: number out of range");
    expect_violation([] {
        (void)h::parse_pipeline_request(R"~({"requests":[{"type":"batch","batch":{"steps":[{"condition":{"type":"not","conds":[]},"stmt":{"sql":"x"}}]}}]})~");
    }, "requests[0].batch.steps[0].condition: missing field 'cond'");
    expect_violation([] {
        (void)h::parse_pipeline_request(R"~({"requests":[{"type":"batch","batch":{"steps":[{"condition":{"type":"and","conds":[{"type":"xor"}]},"stmt":{"sql":"x"}}]}}]})~");
    }, "requests[0].batch.steps[0].condition.conds[0].type: unknown condition type 'xor'");
    expect_violation([] { (void)h::parse_pipeline_request(R"~({"requests":[{"type":"execute","stmt":{"sql":"x","args":[{"type":"date"}]}}]})~"); },
                     "requests[0].stmt.args[0]: unknown value type 'date'");
    expect_violation([] { (void)h::parse_pipeline_response(R"~({"results":[{"type":"maybe"}]})~"); }, "results[0].type: unknown result type 'maybe'");
    expect_violation([] { (void)h::parse_pipeline_response(R"~({"results":[{"type":"ok","response":{"type":"open_stream"}}]})~"); },
                     "results[0].response.type: unknown response type 'open_stream'");
    expect_violation([] { (void)h::parse_pipeline_response(R"~({"results":[{"type":"error","error":{"code":"X"}}]})~"); },
                     "results[0].error: missing field 'message'");
    expect_violation([] { (void)h::parse_pipeline_response(R"~({"results":[{"type":"ok","response":{"type":"execute","result":{"affected_row_count":-1}}}]})~"); },
                     "results[0].response.result.affected_row_count: number out of range");
    expect_violation([] { (void)h::parse_cursor_entry(R"~({"type":"row"})~"); }, "missing field 'row'");
    expect_violation([] { (void)h::parse_cursor_entry(R"~({"type":"page"})~"); }, "type: unknown cursor entry type 'page'");
    expect_violation([] { (void)h::parse_ws_client_msg(R"~({"type":"request","request_id":1,"request":{"type":"execute","stmt":{"sql":"x"}}})~"); },
                     "request: missing field 'stream_id'");
    expect_violation([] { (void)h::parse_ws_client_msg(R"~({"type":"request","request":{"type":"close"}})~"); }, "missing field 'request_id'");
    expect_violation([] { (void)h::parse_ws_client_msg(R"~({"type":"request","request_id":1,"request":{"type":"close"}})~"); },
                     "request.type: unknown request type 'close'");
    expect_violation([] { (void)h::parse_ws_client_msg(R"~({"type":"goodbye"})~"); }, "unknown client message type 'goodbye'");
    expect_violation([] { (void)h::parse_ws_server_msg(R"~({"type":"response_ok","request_id":1,"response":{"type":"fetch_cursor","entries":[]}})~"); },
                     "response: missing field 'done'");
    expect_violation([] { (void)h::parse_error_body("not json"); }, "invalid JSON");
}

TEST(hrana_protocol, malformed_json) {
    for (const char* bad : {"", " ", "{", "{\"requests\":[}", "{\"requests\":[]} x", "{\"requests\":[],}", "nul",
                            "{\"requests\":[]}{}", "{'requests':[]}", "{\"requests\":[]} // c", "\"\\ud800\"x"}) {
        expect_violation([&] { (void)h::parse_pipeline_request(bad); }, "invalid JSON");
    }
    // Trailing whitespace is fine.
    EXPECT_NO_THROW((void)h::parse_pipeline_request("{\"requests\":[]}\n"));
}

TEST(hrana_protocol, duplicate_keys_last_wins) {
    const auto req = h::parse_pipeline_request(R"~({"requests":[],"baton":"a","requests":[{"type":"close"}],"baton":null})~");
    EXPECT_FALSE(req.baton);
    ASSERT_EQ(req.requests.size(), 1U);
}

TEST(hrana_protocol, deep_nesting) {
    const auto batch_with = [](const std::string& cond) {
        return R"~({"requests":[{"type":"batch","batch":{"steps":[{"condition":)~" + cond + R"~(,"stmt":{"sql":"x"}}]}}]})~";
    };
    const auto nots = [](int n) {
        std::string s;
        for (int i = 0; i < n; ++i) s += R"~({"type":"not","cond":)~";
        s += R"~({"type":"ok","step":0})~";
        s.append(static_cast<std::size_t>(n), '}');
        return s;
    };
    // 999 nots + the ok: 1000 levels of conditions, accepted and serialised back.
    const auto req = h::parse_pipeline_request(batch_with(nots(999)));
    std::string json = to_json(req);
    EXPECT_EQ(h::parse_pipeline_request(json), req);
    expect_violation([&] { (void)h::parse_pipeline_request(batch_with(nots(1000))); },
                     "conditions nested more than 1000 levels deep");
    // and/or nest two JSON levels per condition: still within the JSON depth limit.
    std::string ands;
    for (int i = 0; i < 999; ++i) ands += R"~({"type":"and","conds":[)~";
    ands += R"~({"type":"is_autocommit"})~";
    for (int i = 0; i < 999; ++i) ands += "]}";
    EXPECT_NO_THROW((void)h::parse_pipeline_request(batch_with(ands)));

    const std::string arrays = std::string(100000, '[') + std::string(100000, ']');
    expect_violation([&] { (void)h::parse_pipeline_request(arrays); }, "nested more than");
    expect_violation([&] { (void)h::parse_cursor_entry(R"~({"type":"row","row":)~" + arrays + "}"); }, "nested more than");
    std::string objects;
    for (int i = 0; i < 5000; ++i) objects += R"~({"a":)~";
    objects += "1";
    objects.append(5000, '}');
    expect_violation([&] { (void)h::parse_ws_server_msg(objects); }, "nested more than");
}

TEST(hrana_protocol, not_condition_needs_one_operand_to_serialize) {
    h::pipeline_request r;
    h::batch b;
    b.steps.push_back({h::condition{h::condition::kind::not_, 0, {}}, sql_stmt("x")});
    r.requests.emplace_back(h::batch_req{b});
    std::string out;
    EXPECT_THROW(h::serialize(r, out), libsql::usage_error);
}

TEST(hrana_protocol, huge_and_odd_numbers) {
    expect_violation([] { (void)h::parse_pipeline_response(R"~({"results":[{"type":"ok","response":{"type":"execute","result":{"affected_row_count":1e400}}}]})~"); },
                     "affected_row_count");
    const auto r = h::parse_pipeline_response(
        R"~({"results":[{"type":"ok","response":{"type":"execute","result":{"affected_row_count":18446744073709551615,"last_insert_rowid":5,"rows_read":0}}}]})~");
    const auto& sr = std::get<h::execute_resp>(std::get<h::stream_response>(r.results[0])).result;
    EXPECT_EQ(sr.affected_row_count, 18446744073709551615ULL);
    EXPECT_EQ(sr.last_insert_rowid, 5);
    EXPECT_EQ(sr.rows_read, 0U);
    const std::string long_number = "1" + std::string(5000, '0');
    EXPECT_EQ(arg_of(R"~({"type":"float","value":)~" + long_number + "}"), real(std::numeric_limits<double>::infinity()));
    EXPECT_EQ(arg_of(R"~({"type":"float","value":0.)~" + std::string(5000, '0') + "1}"), real(0.0));
}
