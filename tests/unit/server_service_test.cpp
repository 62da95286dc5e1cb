// libsql serve's service without the network: JSON bodies in, as @libsql/client and the Rust crate send them, and
// replies checked through the Hrana codec's own parsers.
#include "server/service.hpp"

#include "hrana/protocol.hpp"
#include "server/auth.hpp"

#include <gtest/gtest.h>
#include <sodium.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

using namespace std::chrono_literals;
using libsql::server::access;
using libsql::server::http_reply;
using libsql::server::service;
using libsql::server::service_options;
namespace hrana = libsql::hrana;

namespace {

struct temp_dir {
    std::filesystem::path path;
    temp_dir() {
        std::string templ = (std::filesystem::temp_directory_path() / "libsql-service-XXXXXX").string();
        if (mkdtemp(templ.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
        path = templ;
    }
    ~temp_dir() {
        std::error_code ec;
        std::filesystem::remove_all(path, ec);
    }
    [[nodiscard]] std::string file(const char* name) const { return (path / name).string(); }
};

hrana::stmt_result result(const hrana::stream_result& r) {
    if (const auto* e = std::get_if<hrana::error>(&r)) {
        ADD_FAILURE() << "error: " << e->message << " (" << e->code << ")";
        return {};
    }
    return std::get<hrana::execute_resp>(std::get<hrana::stream_response>(r)).result;
}

hrana::error error_of(const hrana::stream_result& r) {
    if (const auto* e = std::get_if<hrana::error>(&r)) return *e;
    ADD_FAILURE() << "expected an error";
    return {};
}

template <class T> T response(const hrana::stream_result& r) {
    if (const auto* e = std::get_if<hrana::error>(&r)) {
        ADD_FAILURE() << "error: " << e->message << " (" << e->code << ")";
        return {};
    }
    return std::get<T>(std::get<hrana::stream_response>(r));
}

class service_test : public ::testing::Test {
protected:
    temp_dir dir;
    std::unique_ptr<service> svc;
    std::string default_auth;  ///< sent when a call gives none

    void SetUp() override { svc = std::make_unique<service>(opts()); }
    service_options opts() const {
        service_options o;
        o.path = dir.file("test.db");
        return o;
    }
    void restart(service_options o) {
        svc.reset();
        svc = std::make_unique<service>(std::move(o));
    }

    hrana::pipeline_response post(std::string_view body, int version = 2, std::string_view auth = {}) {
        const auto r = svc->pipeline(version, body, auth.empty() ? std::string_view(default_auth) : auth);
        EXPECT_EQ(r.status, 200) << r.body;
        EXPECT_EQ(r.content_type, "application/json");
        return hrana::parse_pipeline_response(r.body);
    }
    /// Runs one statement on a fresh stream (execute + close, as @libsql/client's execute()).
    hrana::stream_result run(const std::string& stmt_json, int version = 2, std::string_view auth = {}) {
        auto r = post(R"j({"requests":[{"type":"execute","stmt":)j" + stmt_json + R"j(},{"type":"close"}]})j", version, auth);
        EXPECT_EQ(r.results.size(), 2u);
        EXPECT_FALSE(r.baton.has_value());
        return r.results.at(0);
    }
    void sql(const std::string& text) {
        const auto r = run(R"j({"sql":")j" + text + R"j("})j");
        ASSERT_TRUE(std::holds_alternative<hrana::stream_response>(r)) << std::get<hrana::error>(r).message;
    }
    std::int64_t count(const std::string& table) {
        const auto r = result(run(R"j({"sql":"SELECT count(*) FROM )j" + table + R"j("})j"));
        return r.rows.at(0).at(0).get<std::int64_t>();
    }
};

std::string with_baton(const std::string& baton, const std::string& requests) {
    return R"j({"baton":")j" + baton + R"j(","requests":)j" + requests + "}";
}

// ------------------------------------------------------------------------------------------------- JWT helpers
std::string b64url(std::string_view bytes) { return libsql::server::detail::base64url_encode(bytes); }

struct keypair {
    std::string pk = std::string(crypto_sign_PUBLICKEYBYTES, '\0');
    std::string sk = std::string(crypto_sign_SECRETKEYBYTES, '\0');
    keypair() {
        EXPECT_GE(sodium_init(), 0);
        crypto_sign_keypair(reinterpret_cast<unsigned char*>(pk.data()), reinterpret_cast<unsigned char*>(sk.data()));
    }
    [[nodiscard]] std::string token(const std::string& payload_json, const std::string& header_json = R"j({"alg":"EdDSA","typ":"JWT"})j") const {
        const std::string signing = b64url(header_json) + "." + b64url(payload_json);
        std::string sig(crypto_sign_BYTES, '\0');
        crypto_sign_detached(reinterpret_cast<unsigned char*>(sig.data()), nullptr,
                             reinterpret_cast<const unsigned char*>(signing.data()), signing.size(),
                             reinterpret_cast<const unsigned char*>(sk.data()));
        return signing + "." + b64url(sig);
    }
};

std::int64_t unix_now() {
    return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

} // namespace

// ------------------------------------------------------------------------------------------------ execute, values
TEST_F(service_test, service_execute_every_value_type_round_trips) {
    sql("CREATE TABLE v(i INTEGER, f REAL, t TEXT, b BLOB, n)");
    const auto ins = result(run(R"j({"sql":"INSERT INTO v VALUES (?, ?, ?, ?, ?)","args":[
        {"type":"integer","value":"9007199254740993"},{"type":"float","value":1.5},{"type":"text","value":"héllo ✓ 🎉"},
        {"type":"blob","base64":"AAEC/w"},{"type":"null"}],"named_args":[],"want_rows":true})j"));
    EXPECT_EQ(ins.affected_row_count, 1u);
    EXPECT_EQ(ins.last_insert_rowid, 1);
    const auto sel = result(run(R"j({"sql":"SELECT i, f, t, b, n, i + 1 AS j FROM v","args":[],"named_args":[],"want_rows":true})j"));
    ASSERT_EQ(sel.cols.size(), 6u);
    EXPECT_EQ(sel.cols[0].name, "i");
    EXPECT_EQ(sel.cols[0].decltype_, "INTEGER");
    EXPECT_EQ(sel.cols[3].decltype_, "BLOB");
    EXPECT_EQ(sel.cols[5].name, "j");
    EXPECT_FALSE(sel.cols[5].decltype_.has_value());
    ASSERT_EQ(sel.rows.size(), 1u);
    const auto& row = sel.rows[0];
    EXPECT_EQ(row[0], libsql::value(std::int64_t{9007199254740993}));
    EXPECT_EQ(row[1], libsql::value(1.5));
    EXPECT_EQ(row[2], libsql::value(std::string("héllo ✓ 🎉")));
    EXPECT_EQ(row[3], libsql::value(libsql::blob{std::byte{0}, std::byte{1}, std::byte{2}, std::byte{0xff}}));
    EXPECT_TRUE(row[4].is_null());
    EXPECT_EQ(row[5], libsql::value(std::int64_t{9007199254740994}));
    EXPECT_EQ(sel.affected_row_count, 0u);
}

TEST_F(service_test, service_execute_want_rows_false_and_errors) {
    sql("CREATE TABLE t(x INTEGER PRIMARY KEY, y UNIQUE)");
    const auto r = result(run(R"j({"sql":"INSERT INTO t(y) VALUES (1) RETURNING x","want_rows":false})j"));
    EXPECT_TRUE(r.rows.empty());
    EXPECT_EQ(r.affected_row_count, 1u);

    const auto dup = error_of(run(R"j({"sql":"INSERT INTO t(y) VALUES (1)"})j"));
    EXPECT_EQ(dup.code, "SQLITE_CONSTRAINT");
    EXPECT_NE(dup.message.find("UNIQUE"), std::string::npos) << dup.message;

    EXPECT_EQ(error_of(run(R"j({"sql":"SELECT 1; SELECT 2"})j")).code, "SQL_MANY_STATEMENTS");
    EXPECT_EQ(error_of(run(R"j({"sql":"  "})j")).code, "SQL_NO_STATEMENT");
    EXPECT_EQ(error_of(run(R"j({"sql":"SELEC 1"})j")).code, "SQLITE_ERROR");
    EXPECT_EQ(error_of(run(R"j({"sql":"SELECT * FROM nowhere"})j")).code, "SQLITE_ERROR");
    EXPECT_EQ(error_of(run(R"j({"sql":"SELECT ?, ?","args":[{"type":"null"}]})j")).code, "ARGS_INVALID");
    EXPECT_EQ(error_of(run(R"j({"sql":"SELECT ?","args":[{"type":"null"},{"type":"null"}]})j")).code, "ARGS_INVALID");
    EXPECT_EQ(error_of(run(R"j({"sql_id":7})j")).code, "SQL_NOT_FOUND");
    // A trailing semicolon and comment are one statement.
    EXPECT_EQ(result(run(R"j({"sql":"SELECT 1; -- done"})j")).rows.size(), 1u);
}

TEST_F(service_test, service_named_args_with_and_without_prefix) {
    // ?5 has no value: an error, even though every named parameter has one.
    const auto r = error_of(run(R"j({"sql":"SELECT :a, @b, $c, :d, ?5","args":[],"named_args":[
        {"name":"a","value":{"type":"integer","value":"1"}},{"name":"@b","value":{"type":"text","value":"two"}},
        {"name":"c","value":{"type":"float","value":3.5}},{"name":":d","value":{"type":"null"}},
        {"name":"unused","value":{"type":"null"}}]})j"));
    EXPECT_EQ(r.code, "ARGS_INVALID");
    const auto ok = result(run(R"j({"sql":"SELECT :a, @b, $c, :d","named_args":[
        {"name":"a","value":{"type":"integer","value":"1"}},{"name":"@b","value":{"type":"text","value":"two"}},
        {"name":"c","value":{"type":"float","value":3.5}},{"name":":d","value":{"type":"null"}}]})j"));
    ASSERT_EQ(ok.rows.size(), 1u);
    EXPECT_EQ(ok.rows[0][0], libsql::value(1));
    EXPECT_EQ(ok.rows[0][1], libsql::value(std::string("two")));
    EXPECT_EQ(ok.rows[0][2], libsql::value(3.5));
    EXPECT_TRUE(ok.rows[0][3].is_null());
    const auto missing = error_of(run(R"j({"sql":"SELECT :a, :b","named_args":[{"name":"a","value":{"type":"null"}}]})j"));
    EXPECT_EQ(missing.code, "ARGS_INVALID");
    EXPECT_NE(missing.message.find(":b"), std::string::npos) << missing.message;
    // ?NNN takes args[NNN-1].
    const auto nnn = result(run(R"j({"sql":"SELECT ?2, ?1","args":[{"type":"integer","value":"10"},{"type":"integer","value":"20"}]})j"));
    EXPECT_EQ(nnn.rows.at(0).at(0), libsql::value(20));
    EXPECT_EQ(nnn.rows.at(0).at(1), libsql::value(10));
}

TEST_F(service_test, service_first_request_with_explicit_null_baton_and_v3) {
    const auto r = post(R"j({"baton":null,"requests":[{"type":"execute","stmt":{"sql":"SELECT 1"}}]})j", 3);
    ASSERT_TRUE(r.baton.has_value());
    EXPECT_FALSE(r.base_url.has_value());
    EXPECT_EQ(result(r.results.at(0)).rows.size(), 1u);
}

TEST_F(service_test, service_base_url_from_self_url) {
    auto o = opts();
    o.self_url = "http://127.0.0.1:9/prefix/";
    restart(o);
    const auto r = post(R"j({"requests":[{"type":"execute","stmt":{"sql":"SELECT 1"}}]})j");
    EXPECT_EQ(r.base_url, "http://127.0.0.1:9/prefix/");
}

// ------------------------------------------------------------------------------------------------ batches
TEST_F(service_test, service_batch_write_mode_failing_step_leaves_no_trace) {
    sql("CREATE TABLE t(x UNIQUE)");
    // Exactly what @libsql/client sends for batch([...], "write").
    const auto r = post(R"j({"requests":[
 {"type":"store_sql","sql_id":0,"sql":"INSERT INTO t VALUES (?)"},
 {"type":"batch","batch":{"steps":[
  {"stmt":{"sql":"BEGIN IMMEDIATE","args":[],"named_args":[],"want_rows":false}},
  {"condition":{"type":"ok","step":0},"stmt":{"sql_id":0,"args":[{"type":"float","value":1}],"named_args":[],"want_rows":true}},
  {"condition":{"type":"ok","step":1},"stmt":{"sql_id":0,"args":[{"type":"float","value":1}],"named_args":[],"want_rows":true}},
  {"condition":{"type":"ok","step":2},"stmt":{"sql":"COMMIT","args":[],"named_args":[],"want_rows":false}},
  {"condition":{"type":"not","cond":{"type":"ok","step":3}},"stmt":{"sql":"ROLLBACK","args":[],"named_args":[],"want_rows":false}}]}},
 {"type":"close"}]})j");
    ASSERT_EQ(r.results.size(), 3u);
    const auto b = response<hrana::batch_resp>(r.results[1]).result;
    ASSERT_EQ(b.step_results.size(), 5u);
    ASSERT_EQ(b.step_errors.size(), 5u);
    EXPECT_TRUE(b.step_results[0] && b.step_results[1]);
    EXPECT_FALSE(b.step_results[2]);
    ASSERT_TRUE(b.step_errors[2]);
    EXPECT_EQ(b.step_errors[2]->code, "SQLITE_CONSTRAINT");
    EXPECT_FALSE(b.step_results[3] || b.step_errors[3]);  // skipped
    EXPECT_TRUE(b.step_results[4]);                      // the rollback ran
    EXPECT_EQ(count("t"), 0);
    EXPECT_FALSE(r.baton.has_value());
}

TEST_F(service_test, service_batch_conditions) {
    const auto r = post(R"j({"requests":[{"type":"batch","batch":{"steps":[
  {"stmt":{"sql":"SELECT 1"}},
  {"stmt":{"sql":"SELECT nope"}},
  {"condition":{"type":"error","step":1},"stmt":{"sql":"SELECT 2"}},
  {"condition":{"type":"and","conds":[{"type":"ok","step":0},{"type":"error","step":1}]},"stmt":{"sql":"SELECT 3"}},
  {"condition":{"type":"or","conds":[{"type":"ok","step":1},{"type":"not","cond":{"type":"ok","step":0}}]},"stmt":{"sql":"SELECT 4"}},
  {"condition":{"type":"ok","step":4},"stmt":{"sql":"SELECT 5"}},
  {"condition":{"type":"error","step":4},"stmt":{"sql":"SELECT 6"}}]}},{"type":"close"}]})j");
    const auto b = response<hrana::batch_resp>(r.results.at(0)).result;
    const std::vector<bool> ran_ok{true, false, true, true, false, false, false};
    for (std::size_t i = 0; i < ran_ok.size(); ++i) EXPECT_EQ(b.step_results.at(i).has_value(), ran_ok[i]) << i;
    EXPECT_TRUE(b.step_errors.at(1).has_value());
    EXPECT_EQ(b.step_errors.at(1)->code, "SQLITE_ERROR");
    for (std::size_t i : {0u, 2u, 3u, 4u, 5u, 6u}) EXPECT_FALSE(b.step_errors.at(i).has_value()) << i;

    // A condition on a later (or the same) step is a protocol violation: 400, nothing runs.
    const auto bad = svc->pipeline(2, R"j({"requests":[{"type":"execute","stmt":{"sql":"CREATE TABLE never(x)"}},
        {"type":"batch","batch":{"steps":[{"condition":{"type":"ok","step":0},"stmt":{"sql":"SELECT 1"}}]}}]})j", "");
    EXPECT_EQ(bad.status, 400);
    EXPECT_EQ(bad.content_type.rfind("text/plain", 0), 0u);
    EXPECT_FALSE(bad.body.empty());
    EXPECT_EQ(error_of(run(R"j({"sql":"SELECT * FROM never"})j")).code, "SQLITE_ERROR");

    // is_autocommit needs v3.
    const std::string autocommit = R"j({"requests":[{"type":"batch","batch":{"steps":[
        {"stmt":{"sql":"BEGIN"}},{"condition":{"type":"not","cond":{"type":"is_autocommit"}},"stmt":{"sql":"SELECT 1"}},
        {"condition":{"type":"is_autocommit"},"stmt":{"sql":"SELECT 2"}},{"stmt":{"sql":"COMMIT"}},
        {"condition":{"type":"is_autocommit"},"stmt":{"sql":"SELECT 3"}}]}},{"type":"close"}]})j";
    EXPECT_EQ(svc->pipeline(2, autocommit, "").status, 400);
    const auto v3 = post(autocommit, 3);
    const auto b3 = response<hrana::batch_resp>(v3.results.at(0)).result;
    EXPECT_TRUE(b3.step_results.at(1).has_value());
    EXPECT_FALSE(b3.step_results.at(2).has_value());
    EXPECT_TRUE(b3.step_results.at(4).has_value());
}

TEST_F(service_test, service_sequence_and_describe) {
    auto r = post(R"j({"requests":[{"type":"sequence","sql":"CREATE TABLE s(a INTEGER, b TEXT); INSERT INTO s VALUES (1, 'x'); INSERT INTO s VALUES (2, 'y');"},
        {"type":"describe","sql":"SELECT a AS first, b, a + 1 FROM s WHERE a = :a AND b = ?2"},
        {"type":"describe","sql":"INSERT INTO s VALUES (?, ?)"},
        {"type":"describe","sql":"EXPLAIN SELECT 1"},
        {"type":"sequence","sql":"INSERT INTO s VALUES (3, 'z'); SELECT nope"},
        {"type":"close"}]})j");
    ASSERT_EQ(r.results.size(), 6u);
    (void)response<hrana::sequence_resp>(r.results[0]);
    const auto d = response<hrana::describe_resp>(r.results[1]).result;
    ASSERT_EQ(d.params.size(), 2u);
    EXPECT_EQ(d.params[0].name, ":a");
    EXPECT_EQ(d.params[1].name, "?2");
    ASSERT_EQ(d.cols.size(), 3u);
    EXPECT_EQ(d.cols[0].name, "first");
    EXPECT_EQ(d.cols[0].decltype_, "INTEGER");
    EXPECT_FALSE(d.cols[2].decltype_.has_value());
    EXPECT_TRUE(d.is_readonly);
    EXPECT_FALSE(d.is_explain);
    const auto w = response<hrana::describe_resp>(r.results[2]).result;
    EXPECT_FALSE(w.is_readonly);
    ASSERT_EQ(w.params.size(), 2u);
    EXPECT_FALSE(w.params[0].name.has_value());
    EXPECT_TRUE(response<hrana::describe_resp>(r.results[3]).result.is_explain);
    EXPECT_EQ(error_of(r.results[4]).code, "SQLITE_ERROR");
    EXPECT_EQ(count("s"), 3);  // the sequence stopped at its failure; what ran stays
}

TEST_F(service_test, service_store_sql_limits) {
    auto o = opts();
    o.max_stored_sql = 2;
    o.max_stored_sql_bytes = 16;
    restart(o);
    const auto r = post(R"j({"requests":[
        {"type":"store_sql","sql_id":1,"sql":"SELECT 1"},
        {"type":"store_sql","sql_id":2,"sql":"SELECT 2"},
        {"type":"store_sql","sql_id":3,"sql":"SELECT 3"},
        {"type":"store_sql","sql_id":4,"sql":"SELECT 'this is far too long'"},
        {"type":"execute","stmt":{"sql_id":2}},
        {"type":"close_sql","sql_id":2},
        {"type":"execute","stmt":{"sql_id":2}},
        {"type":"store_sql","sql_id":3,"sql":"SELECT 3"},
        {"type":"execute","stmt":{"sql_id":3}}]})j");
    ASSERT_EQ(r.results.size(), 9u);
    (void)response<hrana::store_sql_resp>(r.results[0]);
    (void)response<hrana::store_sql_resp>(r.results[1]);
    EXPECT_EQ(error_of(r.results[2]).code, "SQL_STORE_TOO_MANY");
    EXPECT_EQ(error_of(r.results[3]).code, "SQL_STORE_TOO_LARGE");
    EXPECT_EQ(result(r.results[4]).rows.at(0).at(0), libsql::value(2));
    (void)response<hrana::close_sql_resp>(r.results[5]);
    EXPECT_EQ(error_of(r.results[6]).code, "SQL_NOT_FOUND");
    (void)response<hrana::store_sql_resp>(r.results[7]);
    EXPECT_EQ(result(r.results[8]).rows.at(0).at(0), libsql::value(3));
    // Stored SQL belongs to its stream.
    EXPECT_EQ(error_of(run(R"j({"sql_id":1})j")).code, "SQL_NOT_FOUND");
}

// ------------------------------------------------------------------------------------------------ streams, batons
TEST_F(service_test, service_interactive_transaction_commit_and_rollback) {
    sql("CREATE TABLE t(x)");
    for (const char* end : {"COMMIT", "ROLLBACK"}) {
        auto r = post(R"j({"requests":[{"type":"store_sql","sql_id":0,"sql":"SELECT count(*) FROM t"},
            {"type":"batch","batch":{"steps":[{"stmt":{"sql":"BEGIN IMMEDIATE","want_rows":false}},
            {"condition":{"type":"ok","step":0},"stmt":{"sql_id":0}}]}}]})j");
        ASSERT_TRUE(r.baton.has_value());
        const auto baton1 = *r.baton;
        r = post(with_baton(baton1, R"j([{"type":"execute","stmt":{"sql":"INSERT INTO t VALUES (?)","args":[{"type":"float","value":3}]}}])j"));
        ASSERT_TRUE(r.baton.has_value());
        EXPECT_NE(*r.baton, baton1);
        EXPECT_EQ(result(r.results.at(0)).affected_row_count, 1u);
        const auto baton2 = *r.baton;
        // Another stream does not see the uncommitted row (WAL: it reads the last committed state, without waiting).
        const auto before = count("t");
        r = post(with_baton(baton2, R"j([{"type":"get_autocommit"}])j"), 3);
        EXPECT_FALSE(response<hrana::get_autocommit_resp>(r.results.at(0)).is_autocommit);
        r = post(with_baton(*r.baton, std::string(R"j([{"type":"execute","stmt":{"sql":")j") + end +
                                          R"j(","want_rows":false}},{"type":"close"}])j"));
        EXPECT_FALSE(r.baton.has_value());
        (void)result(r.results.at(0));
        EXPECT_EQ(count("t"), std::string_view(end) == "COMMIT" ? before + 1 : before);
    }
    EXPECT_EQ(count("t"), 1);
}

TEST_F(service_test, service_baton_replay_and_forgery_are_400) {
    auto r = post(R"j({"requests":[{"type":"execute","stmt":{"sql":"SELECT 1"}}]})j");
    ASSERT_TRUE(r.baton.has_value());
    const auto baton = *r.baton;
    r = post(with_baton(baton, R"j([{"type":"execute","stmt":{"sql":"SELECT 2"}}])j"));
    ASSERT_TRUE(r.baton.has_value());
    const auto replay = svc->pipeline(2, with_baton(baton, R"j([{"type":"execute","stmt":{"sql":"SELECT 3"}}])j"), "");
    EXPECT_EQ(replay.status, 400);
    EXPECT_EQ(replay.content_type.rfind("text/plain", 0), 0u);
    EXPECT_NE(replay.body.find("used"), std::string::npos) << replay.body;
    // The replay did not hurt the stream: its current baton still works.
    r = post(with_baton(*r.baton, R"j([{"type":"close"}])j"));
    EXPECT_FALSE(r.baton.has_value());

    // Flip one character of a valid baton; also plain garbage.
    auto forged = baton;
    forged[3] = forged[3] == 'A' ? 'B' : 'A';
    for (const std::string& b : {forged, std::string("garbage"), std::string("")}) {
        const auto f = svc->pipeline(2, with_baton(b, R"j([{"type":"close"}])j"), "");
        EXPECT_EQ(f.status, 400) << b;
        EXPECT_EQ(f.content_type.rfind("text/plain", 0), 0u);
    }
    // A closed stream's baton is refused too.
    const auto closed = svc->pipeline(2, with_baton(*post(R"j({"requests":[]})j").baton, R"j([{"type":"close"}])j"), "");
    EXPECT_EQ(closed.status, 200);
    // Malformed bodies: 400 with a message.
    for (const char* body : {"", "{", "[]", R"j({"requests":[{"type":"nope"}]})j", R"j({"requests":[{"type":"execute"}]})j", "\xff\xfe"}) {
        const auto m = svc->pipeline(2, body, "");
        EXPECT_EQ(m.status, 400) << body;
        EXPECT_FALSE(m.body.empty());
    }
}

TEST_F(service_test, service_stream_expiry_rolls_back) {
    sql("CREATE TABLE t(x)");
    auto o = opts();
    o.stream_expiry = 200ms;
    restart(o);
    for (const bool sweep : {true, false}) {
        auto r = post(R"j({"requests":[{"type":"execute","stmt":{"sql":"BEGIN IMMEDIATE"}},
            {"type":"execute","stmt":{"sql":"INSERT INTO t VALUES (1)"}}]})j");
        ASSERT_TRUE(r.baton.has_value());
        std::this_thread::sleep_for(350ms);
        if (sweep) svc->sweep_expired();
        const auto late = svc->pipeline(2, with_baton(*r.baton, R"j([{"type":"execute","stmt":{"sql":"COMMIT"}}])j"), "");
        EXPECT_EQ(late.status, 400);
        EXPECT_EQ(late.content_type, "application/json");
        const auto e = hrana::parse_error_body(late.body);
        EXPECT_EQ(e.code, "STREAM_EXPIRED");
        EXPECT_EQ(e.message, "The stream has expired due to inactivity");
        // Rolled back, and the write lock is free again.
        EXPECT_EQ(count("t"), 0);
        sql("INSERT INTO t VALUES (2)");
        sql("DELETE FROM t");
    }
    // A stream used within the expiry stays alive.
    auto r = post(R"j({"requests":[]})j");
    for (int i = 0; i < 3; ++i) {
        std::this_thread::sleep_for(100ms);
        svc->sweep_expired();
        r = post(with_baton(*r.baton, R"j([])j"));
        ASSERT_TRUE(r.baton.has_value());
    }
}

TEST_F(service_test, service_begin_transaction_readonly_refuses_writes) {
    sql("CREATE TABLE t(x)");
    sql("INSERT INTO t VALUES (1)");
    auto r = post(R"j({"requests":[{"type":"batch","batch":{"steps":[
        {"stmt":{"sql":"  begin   Transaction\n readonly ;","want_rows":false}},
        {"condition":{"type":"ok","step":0},"stmt":{"sql":"SELECT count(*) FROM t"}},
        {"condition":{"type":"ok","step":1},"stmt":{"sql":"INSERT INTO t VALUES (2)"}}]}}]})j");
    const auto b = response<hrana::batch_resp>(r.results.at(0)).result;
    ASSERT_TRUE(b.step_results.at(0).has_value()) << (b.step_errors.at(0) ? b.step_errors.at(0)->message : "");
    EXPECT_EQ(b.step_results.at(1)->rows.at(0).at(0), libsql::value(1));
    ASSERT_TRUE(b.step_errors.at(2).has_value());
    EXPECT_EQ(b.step_errors.at(2)->code, "SQLITE_READONLY");
    r = post(with_baton(*r.baton, R"j([{"type":"execute","stmt":{"sql":"COMMIT"}},{"type":"execute","stmt":{"sql":"INSERT INTO t VALUES (3)"}},{"type":"close"}])j"));
    (void)result(r.results.at(0));
    EXPECT_EQ(result(r.results.at(1)).affected_row_count, 1u);  // writable again after the transaction
    // Inside a transaction already: BEGIN fails, nothing changes.
    r = post(R"j({"requests":[{"type":"execute","stmt":{"sql":"BEGIN"}},{"type":"execute","stmt":{"sql":"BEGIN TRANSACTION READONLY"}},
        {"type":"execute","stmt":{"sql":"INSERT INTO t VALUES (4)"}},{"type":"execute","stmt":{"sql":"COMMIT"}},{"type":"close"}]})j");
    EXPECT_EQ(error_of(r.results.at(1)).code, "SQLITE_ERROR");
    (void)result(r.results.at(2));
    EXPECT_EQ(count("t"), 3);
}

TEST_F(service_test, service_get_autocommit_only_on_v3) {
    const auto v2 = svc->pipeline(2, R"j({"requests":[{"type":"get_autocommit"}]})j", "");
    EXPECT_EQ(v2.status, 400);
    EXPECT_EQ(v2.content_type.rfind("text/plain", 0), 0u);
    const auto r = post(R"j({"requests":[{"type":"get_autocommit"},{"type":"execute","stmt":{"sql":"BEGIN"}},{"type":"get_autocommit"},{"type":"close"}]})j", 3);
    EXPECT_TRUE(response<hrana::get_autocommit_resp>(r.results.at(0)).is_autocommit);
    EXPECT_FALSE(response<hrana::get_autocommit_resp>(r.results.at(2)).is_autocommit);
}

TEST_F(service_test, service_connection_state_does_not_leak_between_streams) {
    sql("CREATE TABLE t(x)");
    // Each stream changes its connection's state, then closes; the next streams (which may reuse a pooled
    // connection) start clean.
    for (int i = 0; i < 3; ++i) {
        auto r = post(R"j({"requests":[{"type":"execute","stmt":{"sql":"PRAGMA query_only = 1"}},{"type":"execute","stmt":{"sql":"CREATE TEMP TABLE tmp(y)"}},{"type":"close"}]})j");
        ASSERT_TRUE(std::holds_alternative<hrana::stream_response>(r.results.at(0)));
        r = post(R"j({"requests":[{"type":"execute","stmt":{"sql":"BEGIN TRANSACTION READONLY"}},{"type":"close"}]})j");
        sql("INSERT INTO t VALUES (1)");
        sql("CREATE TEMP TABLE tmp(y)");
    }
    EXPECT_EQ(count("t"), 3);
}

TEST_F(service_test, service_requests_after_close_fail) {
    const auto r = post(R"j({"requests":[{"type":"close"},{"type":"execute","stmt":{"sql":"SELECT 1"}}]})j");
    EXPECT_FALSE(r.baton.has_value());
    EXPECT_EQ(error_of(r.results.at(1)).code, "STREAM_CLOSED");
}

// ------------------------------------------------------------------------------------------------ cursor
TEST_F(service_test, service_cursor_body_shape) {
    sql("CREATE TABLE t(x INTEGER)");
    const auto reply = svc->cursor(R"j({"baton":null,"batch":{"steps":[
        {"stmt":{"sql":"INSERT INTO t VALUES (1), (2)"}},
        {"stmt":{"sql":"SELECT x FROM t ORDER BY x"}},
        {"condition":{"type":"error","step":1},"stmt":{"sql":"SELECT 'skipped'"}},
        {"stmt":{"sql":"SELECT nope"}}]}})j", "");
    ASSERT_EQ(reply.status, 200) << reply.body;
    EXPECT_EQ(reply.content_type.rfind("text/plain", 0), 0u);
    std::istringstream in(reply.body);
    std::string line;
    ASSERT_TRUE(std::getline(in, line));
    const auto head = hrana::parse_cursor_response_head(line);
    ASSERT_TRUE(head.baton.has_value());
    std::vector<hrana::cursor_entry> entries;
    while (std::getline(in, line)) entries.push_back(hrana::parse_cursor_entry(line));
    ASSERT_EQ(entries.size(), 7u);
    EXPECT_EQ(std::get<hrana::step_begin_entry>(entries[0]).step, 0u);
    EXPECT_EQ(std::get<hrana::step_end_entry>(entries[1]).affected_row_count, 2u);
    EXPECT_EQ(std::get<hrana::step_end_entry>(entries[1]).last_insert_rowid, 2);
    const auto& begin = std::get<hrana::step_begin_entry>(entries[2]);
    EXPECT_EQ(begin.step, 1u);
    ASSERT_EQ(begin.cols.size(), 1u);
    EXPECT_EQ(begin.cols[0].name, "x");
    EXPECT_EQ(begin.cols[0].decltype_, "INTEGER");
    EXPECT_EQ(std::get<hrana::row_entry>(entries[3]).row.at(0), libsql::value(1));
    EXPECT_EQ(std::get<hrana::row_entry>(entries[4]).row.at(0), libsql::value(2));
    EXPECT_EQ(std::get<hrana::step_end_entry>(entries[5]).affected_row_count, 0u);
    const auto& err = std::get<hrana::step_error_entry>(entries[6]);
    EXPECT_EQ(err.step, 3u);
    EXPECT_EQ(err.error.code, "SQLITE_ERROR");
    // The baton continues the stream with a pipeline.
    const auto r = post(with_baton(*head.baton, R"j([{"type":"execute","stmt":{"sql":"SELECT count(*) FROM t"}},{"type":"close"}])j"), 3);
    EXPECT_EQ(result(r.results.at(0)).rows.at(0).at(0), libsql::value(2));
    EXPECT_EQ(svc->cursor("{nope", "").status, 400);
}

// ------------------------------------------------------------------------------------------------ WebSocket
namespace {
std::vector<hrana::ws_server_msg> send(libsql::server::ws_session& ws, std::string_view msg) {
    std::vector<hrana::ws_server_msg> out;
    for (const auto& m : ws.on_message(msg)) out.push_back(hrana::parse_ws_server_msg(m));
    return out;
}
template <class T> T ws_ok(const std::vector<hrana::ws_server_msg>& msgs, std::int32_t request_id) {
    EXPECT_EQ(msgs.size(), 1u);
    if (msgs.empty()) return {};
    if (const auto* e = std::get_if<hrana::ws_response_error>(&msgs[0])) {
        ADD_FAILURE() << e->error.message << " (" << e->error.code << ")";
        return {};
    }
    const auto& ok = std::get<hrana::ws_response_ok>(msgs[0]);
    EXPECT_EQ(ok.request_id, request_id);
    return std::get<T>(ok.response);
}
hrana::error ws_err(const std::vector<hrana::ws_server_msg>& msgs, std::int32_t request_id) {
    EXPECT_EQ(msgs.size(), 1u);
    if (msgs.empty() || !std::holds_alternative<hrana::ws_response_error>(msgs[0])) {
        ADD_FAILURE() << "expected response_error";
        return {};
    }
    EXPECT_EQ(std::get<hrana::ws_response_error>(msgs[0]).request_id, request_id);
    return std::get<hrana::ws_response_error>(msgs[0]).error;
}
} // namespace

TEST_F(service_test, service_ws_session_flow) {
    auto ws = svc->open_ws(2);
    auto m = send(*ws, R"j({"type":"hello","jwt":null})j");
    ASSERT_EQ(m.size(), 1u);
    EXPECT_TRUE(std::holds_alternative<hrana::ws_hello_ok>(m[0]));
    (void)ws_ok<hrana::ws_open_stream_resp>(send(*ws, R"j({"type":"request","request_id":0,"request":{"type":"open_stream","stream_id":0}})j"), 0);
    (void)ws_ok<hrana::store_sql_resp>(send(*ws, R"j({"type":"request","request_id":1,"request":{"type":"store_sql","sql_id":0,"sql":"SELECT ? + 1"}})j"), 1);
    const auto ex = ws_ok<hrana::execute_resp>(send(*ws, R"j({"type":"request","request_id":2,"request":{"type":"execute","stream_id":0,"stmt":{"sql_id":0,"args":[{"type":"integer","value":"41"}],"named_args":[],"want_rows":true}}})j"), 2);
    EXPECT_EQ(ex.result.rows.at(0).at(0), libsql::value(42));
    (void)ws_ok<hrana::sequence_resp>(send(*ws, R"j({"type":"request","request_id":3,"request":{"type":"sequence","stream_id":0,"sql":"CREATE TABLE w(x); INSERT INTO w VALUES (1)"}})j"), 3);
    const auto b = ws_ok<hrana::batch_resp>(send(*ws, R"j({"type":"request","request_id":4,"request":{"type":"batch","stream_id":0,"batch":{"steps":[{"stmt":{"sql":"SELECT x FROM w"}}]}}})j"), 4);
    EXPECT_EQ(b.result.step_results.at(0)->rows.size(), 1u);
    const auto d = ws_ok<hrana::describe_resp>(send(*ws, R"j({"type":"request","request_id":5,"request":{"type":"describe","stream_id":0,"sql":"SELECT :p"}})j"), 5);
    EXPECT_EQ(d.result.params.at(0).name, ":p");
    EXPECT_EQ(ws_err(send(*ws, R"j({"type":"request","request_id":6,"request":{"type":"execute","stream_id":9,"stmt":{"sql":"SELECT 1"}}})j"), 6).code, "STREAM_NOT_OPEN");
    EXPECT_EQ(ws_err(send(*ws, R"j({"type":"request","request_id":7,"request":{"type":"execute","stream_id":0,"stmt":{"sql":"SELECT nope"}}})j"), 7).code, "SQLITE_ERROR");
    (void)ws_ok<hrana::close_sql_resp>(send(*ws, R"j({"type":"request","request_id":8,"request":{"type":"close_sql","sql_id":0}})j"), 8);
    (void)ws_ok<hrana::ws_close_stream_resp>(send(*ws, R"j({"type":"request","request_id":9,"request":{"type":"close_stream","stream_id":0}})j"), 9);
    EXPECT_FALSE(ws->closed());
    // get_autocommit on hrana2 breaks the protocol: the session closes.
    EXPECT_TRUE(ws->on_message(R"j({"type":"request","request_id":10,"request":{"type":"get_autocommit","stream_id":0}})j").empty());
    EXPECT_TRUE(ws->closed());
    EXPECT_TRUE(ws->on_message(R"j({"type":"hello","jwt":null})j").empty());

    // Garbage closes too; a request before hello as well.
    auto ws2 = svc->open_ws(3);
    (void)ws2->on_message("not json");
    EXPECT_TRUE(ws2->closed());
    auto ws3 = svc->open_ws(3);
    (void)ws3->on_message(R"j({"type":"request","request_id":0,"request":{"type":"open_stream","stream_id":0}})j");
    EXPECT_TRUE(ws3->closed());
}

TEST_F(service_test, service_ws_v3_cursor_and_autocommit) {
    auto ws = svc->open_ws(3);
    (void)send(*ws, R"j({"type":"hello","jwt":null})j");
    (void)ws_ok<hrana::ws_open_stream_resp>(send(*ws, R"j({"type":"request","request_id":1,"request":{"type":"open_stream","stream_id":5}})j"), 1);
    EXPECT_TRUE(ws_ok<hrana::get_autocommit_resp>(send(*ws, R"j({"type":"request","request_id":2,"request":{"type":"get_autocommit","stream_id":5}})j"), 2).is_autocommit);
    (void)ws_ok<hrana::ws_open_cursor_resp>(send(*ws, R"j({"type":"request","request_id":3,"request":{"type":"open_cursor","stream_id":5,"cursor_id":1,"batch":{"steps":[{"stmt":{"sql":"SELECT column1 FROM (VALUES (1), (2), (3))"}}]}}})j"), 3);
    auto f = ws_ok<hrana::ws_fetch_cursor_resp>(send(*ws, R"j({"type":"request","request_id":4,"request":{"type":"fetch_cursor","cursor_id":1,"max_count":3}})j"), 4);
    ASSERT_EQ(f.entries.size(), 3u);
    EXPECT_TRUE(std::holds_alternative<hrana::step_begin_entry>(f.entries[0]));
    EXPECT_FALSE(f.done);
    f = ws_ok<hrana::ws_fetch_cursor_resp>(send(*ws, R"j({"type":"request","request_id":5,"request":{"type":"fetch_cursor","cursor_id":1,"max_count":10}})j"), 5);
    ASSERT_EQ(f.entries.size(), 2u);
    EXPECT_TRUE(std::holds_alternative<hrana::step_end_entry>(f.entries[1]));
    EXPECT_TRUE(f.done);
    (void)ws_ok<hrana::ws_close_cursor_resp>(send(*ws, R"j({"type":"request","request_id":6,"request":{"type":"close_cursor","cursor_id":1}})j"), 6);
    EXPECT_EQ(ws_err(send(*ws, R"j({"type":"request","request_id":7,"request":{"type":"fetch_cursor","cursor_id":1,"max_count":1}})j"), 7).code, "CURSOR_NOT_OPEN");
    // Reopening an open stream id breaks the protocol.
    (void)ws->on_message(R"j({"type":"request","request_id":8,"request":{"type":"open_stream","stream_id":5}})j");
    EXPECT_TRUE(ws->closed());
}

// ------------------------------------------------------------------------------------------------ concurrency
TEST_F(service_test, service_concurrent_writers_see_no_busy) {
    sql("CREATE TABLE t(id INTEGER PRIMARY KEY, who INTEGER)");
    constexpr int threads = 8;
    constexpr int each = 25;
    std::atomic<int> failures{0};
    std::vector<std::thread> pool;
    for (int t = 0; t < threads; ++t) {
        pool.emplace_back([&, t] {
            for (int i = 0; i < each; ++i) {
                // Alternate single inserts and write-mode batches, as @libsql/client sends them.
                std::string body;
                if (i % 2 == 0) {
                    body = R"j({"requests":[{"type":"execute","stmt":{"sql":"INSERT INTO t(who) VALUES ()j" + std::to_string(t) + R"j()"}},{"type":"close"}]})j";
                } else {
                    body = R"j({"requests":[{"type":"batch","batch":{"steps":[{"stmt":{"sql":"BEGIN IMMEDIATE"}},
                        {"condition":{"type":"ok","step":0},"stmt":{"sql":"INSERT INTO t(who) VALUES ()j" + std::to_string(t) + R"j()"}},
                        {"condition":{"type":"ok","step":1},"stmt":{"sql":"COMMIT"}},
                        {"condition":{"type":"not","cond":{"type":"ok","step":2}},"stmt":{"sql":"ROLLBACK"}}]}},{"type":"close"}]})j";
                }
                const auto r = svc->pipeline(2, body, "");
                if (r.status != 200 || r.body.find(R"j("type":"error")j") != std::string::npos) ++failures;
            }
        });
    }
    for (auto& th : pool) th.join();
    EXPECT_EQ(failures.load(), 0);
    EXPECT_EQ(count("t"), threads * each);
}

TEST_F(service_test, service_shutdown_rolls_back_open_streams) {
    sql("CREATE TABLE t(x)");
    const auto r = post(R"j({"requests":[{"type":"execute","stmt":{"sql":"BEGIN IMMEDIATE"}},{"type":"execute","stmt":{"sql":"INSERT INTO t VALUES (1)"}}]})j");
    ASSERT_TRUE(r.baton.has_value());
    auto ws = svc->open_ws(2);
    (void)send(*ws, R"j({"type":"hello","jwt":null})j");
    (void)send(*ws, R"j({"type":"request","request_id":0,"request":{"type":"open_stream","stream_id":0}})j");
    (void)send(*ws, R"j({"type":"request","request_id":1,"request":{"type":"execute","stream_id":0,"stmt":{"sql":"SELECT 1"}}})j");
    svc->shutdown();
    EXPECT_EQ(svc->pipeline(2, R"j({"requests":[]})j", "").status, 503);
    EXPECT_TRUE(ws->on_message(R"j({"type":"request","request_id":2,"request":{"type":"execute","stream_id":0,"stmt":{"sql":"SELECT 1"}}})j").empty());
    EXPECT_TRUE(ws->closed());
    ws.reset();
    restart(opts());
    EXPECT_EQ(count("t"), 0);
}

// ------------------------------------------------------------------------------------------------ interrupts
namespace {
constexpr const char* endless_sql = "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x+1 FROM c) SELECT count(*) FROM c";

/// Calls f every 20 ms on another thread until done (an interrupt reaches only the statement running at that
/// instant, so callers repeat it, as the front end does).
struct repeater {
    std::atomic<bool> done{false};
    std::thread t;
    template <class F> explicit repeater(F f, std::chrono::milliseconds first) : t([this, f, first] {
        std::this_thread::sleep_for(first);
        while (!done.load()) {
            f();
            std::this_thread::sleep_for(20ms);
        }
    }) {}
    ~repeater() {
        done.store(true);
        t.join();
    }
};
} // namespace

TEST_F(service_test, service_request_interrupt_stops_a_running_statement_and_frees_the_stream) {
    sql("CREATE TABLE t(x)");
    // A stream inside a transaction, then an endless query on it, interrupted from another thread.
    const auto first = post(R"j({"requests":[{"type":"execute","stmt":{"sql":"BEGIN IMMEDIATE"}},{"type":"execute","stmt":{"sql":"INSERT INTO t VALUES (1)"}}]})j");
    ASSERT_TRUE(first.baton.has_value());
    libsql::server::request_interrupt stop;
    const auto started = std::chrono::steady_clock::now();
    http_reply r;
    {
        repeater interrupter([&] { stop.interrupt(); }, 300ms);
        r = svc->pipeline(2, with_baton(*first.baton, std::string(R"j([{"type":"execute","stmt":{"sql":")j") + endless_sql +
                                                        R"j("}},{"type":"execute","stmt":{"sql":"SELECT 2"}}])j"),
                          "", &stop);
    }
    EXPECT_LT(std::chrono::steady_clock::now() - started, 20s);
    EXPECT_TRUE(stop.interrupted());
    ASSERT_EQ(r.status, 200) << r.body;
    const auto resp = hrana::parse_pipeline_response(r.body);
    ASSERT_EQ(resp.results.size(), 2u);
    EXPECT_EQ(error_of(resp.results[0]).code, "SQLITE_INTERRUPT");
    EXPECT_EQ(error_of(resp.results[1]).code, "SQLITE_INTERRUPT");  // later statements do not start
    EXPECT_FALSE(resp.baton.has_value());                            // the stream is gone...
    // ...rolled back (the write lock is free again) and remembered as expired.
    EXPECT_EQ(count("t"), 0);
    sql("INSERT INTO t VALUES (2)");
    EXPECT_EQ(count("t"), 1);
    const auto again = svc->pipeline(2, with_baton(*first.baton, R"j([{"type":"execute","stmt":{"sql":"SELECT 1"}}])j"), "");
    EXPECT_EQ(again.status, 400);

    // The same for a cursor.
    libsql::server::request_interrupt stop2;
    http_reply c;
    {
        repeater interrupter([&] { stop2.interrupt(); }, 200ms);
        c = svc->cursor(std::string(R"j({"baton":null,"batch":{"steps":[{"stmt":{"sql":")j") + endless_sql + R"j("}}]}})j", "", &stop2);
    }
    ASSERT_EQ(c.status, 200) << c.body;
    EXPECT_NE(c.body.find("SQLITE_INTERRUPT"), std::string::npos) << c.body;
    // The head (and its baton) leaves before the rows are stepped; the interrupted stream is freed all the same,
    // so that baton is refused as expired.
    const auto head = hrana::parse_cursor_response_head(c.body.substr(0, c.body.find('\n')));
    ASSERT_TRUE(head.baton.has_value()) << c.body;
    const auto late = svc->pipeline(3, with_baton(*head.baton, R"j([{"type":"execute","stmt":{"sql":"SELECT 1"}}])j"), "");
    EXPECT_EQ(late.status, 400);
    EXPECT_NE(late.body.find("STREAM_EXPIRED"), std::string::npos) << late.body;

    // A request that was not interrupted keeps its stream.
    libsql::server::request_interrupt unused;
    const auto fine = svc->pipeline(2, R"j({"requests":[{"type":"execute","stmt":{"sql":"SELECT 1"}}]})j", "", &unused);
    EXPECT_TRUE(hrana::parse_pipeline_response(fine.body).baton.has_value());
}

TEST_F(service_test, service_interrupt_running_stops_http_and_ws_work) {
    auto ws = svc->open_ws(2);
    (void)send(*ws, R"j({"type":"hello","jwt":null})j");
    (void)ws_ok<hrana::ws_open_stream_resp>(send(*ws, R"j({"type":"request","request_id":0,"request":{"type":"open_stream","stream_id":0}})j"), 0);
    http_reply r;
    std::vector<std::string> ws_out;
    {
        std::thread ws_thread([&] {
            ws_out = ws->on_message(std::string(R"j({"type":"request","request_id":1,"request":{"type":"execute","stream_id":0,"stmt":{"sql":")j") +
                                    endless_sql + R"j("}}})j");
        });
        repeater interrupter([&] { svc->interrupt_running(); }, 300ms);
        r = svc->pipeline(2, std::string(R"j({"requests":[{"type":"execute","stmt":{"sql":")j") + endless_sql + R"j("}}]})j", "");
        ws_thread.join();
    }
    ASSERT_EQ(r.status, 200) << r.body;
    const auto resp = hrana::parse_pipeline_response(r.body);
    EXPECT_EQ(error_of(resp.results.at(0)).code, "SQLITE_INTERRUPT");
    EXPECT_FALSE(resp.baton.has_value());
    ASSERT_EQ(ws_out.size(), 1u);
    EXPECT_NE(ws_out[0].find("SQLITE_INTERRUPT"), std::string::npos) << ws_out[0];
    // From now on nothing starts; shutdown still rolls back and closes cleanly.
    const auto later = hrana::parse_pipeline_response(svc->pipeline(2, R"j({"requests":[{"type":"execute","stmt":{"sql":"SELECT 1"}}]})j", "").body);
    EXPECT_EQ(error_of(later.results.at(0)).code, "SQLITE_INTERRUPT");
    svc->shutdown();
    ws.reset();
    restart(opts());
    sql("CREATE TABLE ok(x)");
}

TEST_F(service_test, service_ws_interrupt_stops_the_session) {
    sql("CREATE TABLE t(x)");
    auto ws = svc->open_ws(3);
    (void)send(*ws, R"j({"type":"hello","jwt":null})j");
    (void)ws_ok<hrana::ws_open_stream_resp>(send(*ws, R"j({"type":"request","request_id":0,"request":{"type":"open_stream","stream_id":0}})j"), 0);
    (void)ws_ok<hrana::execute_resp>(send(*ws, R"j({"type":"request","request_id":1,"request":{"type":"execute","stream_id":0,"stmt":{"sql":"BEGIN IMMEDIATE"}}})j"), 1);
    (void)ws_ok<hrana::execute_resp>(send(*ws, R"j({"type":"request","request_id":2,"request":{"type":"execute","stream_id":0,"stmt":{"sql":"INSERT INTO t VALUES (1)"}}})j"), 2);
    std::vector<std::string> out;
    {
        repeater interrupter([&] { ws->interrupt(); }, 300ms);
        out = ws->on_message(std::string(R"j({"type":"request","request_id":3,"request":{"type":"execute","stream_id":0,"stmt":{"sql":")j") +
                             endless_sql + R"j("}}})j");
    }
    ASSERT_EQ(out.size(), 1u);
    EXPECT_NE(out[0].find("SQLITE_INTERRUPT"), std::string::npos) << out[0];
    // The session is done for; dropping it rolls its stream back.
    EXPECT_TRUE(ws->on_message(R"j({"type":"request","request_id":4,"request":{"type":"execute","stream_id":0,"stmt":{"sql":"SELECT 1"}}})j").empty());
    EXPECT_TRUE(ws->closed());
    ws.reset();
    EXPECT_EQ(count("t"), 0);
    sql("INSERT INTO t VALUES (2)");
    EXPECT_EQ(count("t"), 1);
}

// ------------------------------------------------------------------------------------------------ auth
class auth_test : public service_test {
protected:
    keypair keys;
    void SetUp() override {
        auto o = opts();
        o.jwt_public_key = keys.pk;
        svc = std::make_unique<service>(o);
        default_auth = "Bearer " + keys.token("{}");
        sql("CREATE TABLE t(x)");
    }
};

TEST_F(auth_test, auth_tokens_are_checked) {
    const std::string body = R"j({"requests":[{"type":"execute","stmt":{"sql":"SELECT count(*) FROM t"}},{"type":"close"}]})j";
    const auto now = unix_now();
    const auto valid = keys.token(R"j({"exp":)j" + std::to_string(now + 60) + R"j(,"a":"rw"})j");
    EXPECT_EQ(svc->authenticate("Bearer " + valid), access::full);
    EXPECT_EQ(svc->authenticate("bearer  " + valid), access::full);
    EXPECT_EQ(svc->authenticate("Bearer " + keys.token(R"j({"id":"x"})j")), access::full);
    EXPECT_EQ(svc->pipeline(2, body, "Bearer " + valid).status, 200);

    keypair other;
    const std::vector<std::string> bad{
        "",
        valid,                                                                  // no "Bearer"
        "Bearer ",
        "Bearer " + keys.token(R"j({"exp":)j" + std::to_string(now - 10) + "}"),  // expired
        "Bearer " + other.token("{}"),                                         // wrong key
        "Bearer " + valid.substr(0, valid.size() - 4),                         // truncated signature
        "Bearer not.a.jwt",
        "Bearer abc",
        "Bearer " + keys.token("{}", R"j({"alg":"HS256","typ":"JWT"})j"),         // wrong algorithm
        "Bearer " + keys.token("[1]"),                                         // payload not an object
        "Bearer " + keys.token(R"j({"a":"admin"})j"),                            // unknown access
        "Bearer " + keys.token(R"j({"nbf":)j" + std::to_string(now + 600) + "}"),  // not valid yet
    };
    for (const auto& h : bad) {
        EXPECT_EQ(svc->authenticate(h), access::denied) << h;
        const auto r = svc->pipeline(2, body, h);
        EXPECT_EQ(r.status, 401) << h;
        EXPECT_EQ(r.content_type, "application/json");
        EXPECT_EQ(hrana::parse_error_body(r.body).code, "UNAUTHORIZED");
        EXPECT_EQ(svc->cursor(R"j({"batch":{"steps":[]}})j", h).status, 401);
    }
    // A token tampered with after signing.
    auto tampered = valid;
    const auto dot = tampered.find('.');
    tampered[dot + 2] = tampered[dot + 2] == 'A' ? 'B' : 'A';
    EXPECT_EQ(svc->authenticate("Bearer " + tampered), access::denied);
}

TEST_F(auth_test, auth_read_only_token_can_only_read) {
    const std::string ro = "Bearer " + keys.token(R"j({"a":"ro"})j");
    const std::string rw = "Bearer " + keys.token(R"j({"a":"rw"})j");
    EXPECT_EQ(svc->authenticate(ro), access::read_only);
    auto r = post(R"j({"requests":[
        {"type":"execute","stmt":{"sql":"SELECT count(*) FROM t"}},
        {"type":"execute","stmt":{"sql":"INSERT INTO t VALUES (1)"}},
        {"type":"execute","stmt":{"sql":"CREATE TABLE u(x)"}},
        {"type":"sequence","sql":"SELECT 1; DELETE FROM t"},
        {"type":"execute","stmt":{"sql":"PRAGMA user_version = 5"}},
        {"type":"execute","stmt":{"sql":"PRAGMA query_only = 0"}},
        {"type":"execute","stmt":{"sql":"PRAGMA table_info(t)"}},
        {"type":"describe","sql":"INSERT INTO t VALUES (1)"},
        {"type":"execute","stmt":{"sql":"BEGIN"}},
        {"type":"execute","stmt":{"sql":"COMMIT"}}]})j", 2, ro);
    EXPECT_EQ(result(r.results.at(0)).rows.at(0).at(0), libsql::value(0));
    for (std::size_t i : {1u, 2u, 3u, 4u, 5u}) {
        const auto e = error_of(r.results.at(i));
        EXPECT_EQ(e.code, "SQLITE_AUTH") << i;
        EXPECT_NE(e.message.find("read-only"), std::string::npos) << e.message;
    }
    EXPECT_FALSE(result(r.results.at(6)).rows.empty());
    EXPECT_FALSE(response<hrana::describe_resp>(r.results.at(7)).result.is_readonly);
    (void)result(r.results.at(8));
    (void)result(r.results.at(9));
    // The same stream continued with a read-write token may write.
    ASSERT_TRUE(r.baton.has_value());
    r = post(with_baton(*r.baton, R"j([{"type":"execute","stmt":{"sql":"INSERT INTO t VALUES (1)"}},{"type":"close"}])j"), 2, rw);
    EXPECT_EQ(result(r.results.at(0)).affected_row_count, 1u);
    // A batch: the write step fails, the rest runs.
    r = post(R"j({"requests":[{"type":"batch","batch":{"steps":[{"stmt":{"sql":"SELECT 1"}},{"stmt":{"sql":"UPDATE t SET x = 2"}}]}},{"type":"close"}]})j", 2, ro);
    const auto b = response<hrana::batch_resp>(r.results.at(0)).result;
    EXPECT_TRUE(b.step_results.at(0).has_value());
    EXPECT_EQ(b.step_errors.at(1)->code, "SQLITE_AUTH");
    EXPECT_EQ(count("t"), 1);
}

TEST_F(auth_test, auth_token_expiry_is_checked_on_every_use) {
    const auto token = keys.token(R"j({"exp":)j" + std::to_string(unix_now() + 1) + "}");
    const std::string body = R"j({"requests":[{"type":"execute","stmt":{"sql":"SELECT 1"}},{"type":"close"}]})j";
    EXPECT_EQ(svc->pipeline(2, body, "Bearer " + token).status, 200);
    EXPECT_EQ(svc->pipeline(2, body, "Bearer " + token).status, 200);  // remembered as verified
    auto ws = svc->open_ws(2);
    EXPECT_TRUE(std::holds_alternative<hrana::ws_hello_ok>(send(*ws, R"j({"type":"hello","jwt":")j" + token + R"j("})j").at(0)));
    (void)ws_ok<hrana::ws_open_stream_resp>(send(*ws, R"j({"type":"request","request_id":1,"request":{"type":"open_stream","stream_id":1}})j"), 1);
    std::this_thread::sleep_for(1100ms);
    EXPECT_EQ(svc->pipeline(2, body, "Bearer " + token).status, 401);
    EXPECT_EQ(ws_err(send(*ws, R"j({"type":"request","request_id":2,"request":{"type":"execute","stream_id":1,"stmt":{"sql":"SELECT 1"}}})j"), 2).code, "UNAUTHORIZED");
    EXPECT_FALSE(ws->closed());
    EXPECT_TRUE(std::holds_alternative<hrana::ws_hello_ok>(send(*ws, R"j({"type":"hello","jwt":")j" + keys.token("{}") + R"j("})j").at(0)));
    (void)ws_ok<hrana::execute_resp>(send(*ws, R"j({"type":"request","request_id":3,"request":{"type":"execute","stream_id":1,"stmt":{"sql":"SELECT 1"}}})j"), 3);
}

TEST_F(auth_test, auth_ws_hello) {
    auto ws = svc->open_ws(2);
    auto m = send(*ws, R"j({"type":"hello","jwt":")j" + keys.token(R"j({"a":"ro"})j") + R"j("})j");
    ASSERT_EQ(m.size(), 1u);
    EXPECT_TRUE(std::holds_alternative<hrana::ws_hello_ok>(m[0]));
    (void)ws_ok<hrana::ws_open_stream_resp>(send(*ws, R"j({"type":"request","request_id":1,"request":{"type":"open_stream","stream_id":1}})j"), 1);
    EXPECT_EQ(ws_err(send(*ws, R"j({"type":"request","request_id":2,"request":{"type":"execute","stream_id":1,"stmt":{"sql":"INSERT INTO t VALUES (1)"}}})j"), 2).code, "SQLITE_AUTH");
    // A fresh hello with a read-write token upgrades the session.
    m = send(*ws, R"j({"type":"hello","jwt":")j" + keys.token("{}") + R"j("})j");
    EXPECT_TRUE(std::holds_alternative<hrana::ws_hello_ok>(m.at(0)));
    (void)ws_ok<hrana::execute_resp>(send(*ws, R"j({"type":"request","request_id":3,"request":{"type":"execute","stream_id":1,"stmt":{"sql":"INSERT INTO t VALUES (1)"}}})j"), 3);

    for (const std::string& jwt : {std::string("null"), std::string(R"j("garbage")j"), "\"" + keypair().token("{}") + "\""}) {
        auto bad = svc->open_ws(3);
        m = send(*bad, R"j({"type":"hello","jwt":)j" + jwt + "}");
        ASSERT_EQ(m.size(), 1u) << jwt;
        ASSERT_TRUE(std::holds_alternative<hrana::ws_hello_error>(m[0])) << jwt;
        EXPECT_EQ(std::get<hrana::ws_hello_error>(m[0]).error.code, "UNAUTHORIZED");
        EXPECT_TRUE(bad->closed());
    }
}

TEST(auth_key_file, auth_reads_pem_and_raw_keys) {
    temp_dir dir;
    keypair keys;
    const auto write = [&](const char* name, const std::string& text) {
        std::ofstream(dir.file(name), std::ios::binary) << text;
        return dir.file(name);
    };
    const std::string prefix("\x30\x2a\x30\x05\x06\x03\x2b\x65\x70\x03\x21\x00", 12);
    const auto der = prefix + keys.pk;
    const auto b64 = hrana::base64_encode(libsql::blob_view(reinterpret_cast<const std::byte*>(der.data()), der.size()));
    const auto pem = write("key.pem", "-----BEGIN PUBLIC KEY-----\n" + b64 + "\n-----END PUBLIC KEY-----\n");
    EXPECT_EQ(libsql::server::read_ed25519_public_key_file(pem), keys.pk);
    const auto raw_std = hrana::base64_encode(libsql::blob_view(reinterpret_cast<const std::byte*>(keys.pk.data()), keys.pk.size()));
    EXPECT_EQ(libsql::server::read_ed25519_public_key_file(write("raw.txt", raw_std + "\n")), keys.pk);
    EXPECT_EQ(libsql::server::read_ed25519_public_key_file(write("raw_url.txt", b64url(keys.pk))), keys.pk);

    EXPECT_THROW((void)libsql::server::read_ed25519_public_key_file(dir.file("missing")), libsql::usage_error);
    EXPECT_THROW((void)libsql::server::read_ed25519_public_key_file(write("short.txt", "AAAA")), libsql::usage_error);
    EXPECT_THROW((void)libsql::server::read_ed25519_public_key_file(write("junk.txt", "not a key at all!")), libsql::usage_error);
    EXPECT_THROW((void)libsql::server::read_ed25519_public_key_file(write("trunc.pem", "-----BEGIN PUBLIC KEY-----\n" + b64)), libsql::usage_error);
    // An RSA-looking DER (wrong OID) is refused.
    auto wrong = der;
    wrong[8] = '\x2c';
    const auto wrong_b64 = hrana::base64_encode(libsql::blob_view(reinterpret_cast<const std::byte*>(wrong.data()), wrong.size()));
    EXPECT_THROW((void)libsql::server::read_ed25519_public_key_file(write("wrong.pem", "-----BEGIN PUBLIC KEY-----\n" + wrong_b64 + "\n-----END PUBLIC KEY-----\n")), libsql::usage_error);
}

TEST(auth_namespaces, auth_scoping_claims_as_sqld) {
    keypair keys;
    using libsql::server::detail::verify_jwt;
    const auto now = std::chrono::system_clock::now();
    auto check = [&](const std::string& claims, std::optional<std::string_view> ns) {
        return verify_jwt(keys.token(claims), keys.pk, now, ns).granted;
    };
    // Without namespaces the scoping claims are not looked at.
    EXPECT_EQ(check(R"j({"id":"a"})j", std::nullopt), access::full);
    EXPECT_EQ(check(R"j({"p":{"ro":{"ns":["a"]}}})j", std::nullopt), access::full);
    // "id": that namespace only, with its "a".
    EXPECT_EQ(check(R"j({"id":"a"})j", "a"), access::full);
    EXPECT_EQ(check(R"j({"id":"a","a":"ro"})j", "a"), access::read_only);
    EXPECT_EQ(check(R"j({"id":"a"})j", "b"), access::denied);
    EXPECT_EQ(check(R"j({"id":7})j", "a"), access::denied);
    // "p" replaces "a": rw full, ro/roa/rwa read-only, elsewhere nothing.
    const std::string p = R"j({"a":"rw","p":{"rw":{"ns":["a"]},"ro":{"ns":["b"]},"roa":{"ns":["c"]},"rwa":{"ns":["d"]}}})j";
    EXPECT_EQ(check(p, "a"), access::full);
    EXPECT_EQ(check(p, "b"), access::read_only);
    EXPECT_EQ(check(p, "c"), access::read_only);
    EXPECT_EQ(check(p, "d"), access::read_only);
    EXPECT_EQ(check(p, "e"), access::denied);
    EXPECT_EQ(check(R"j({"p":{}})j", "a"), access::denied);
    EXPECT_EQ(check(R"j({"p":"rw"})j", "a"), access::denied);
    EXPECT_EQ(check(R"j({"p":{"rw":{"ns":"a"}}})j", "a"), access::denied);
    // Neither: every namespace, as its "a" says; expiry still applies.
    EXPECT_EQ(check(R"j({"a":"ro"})j", "x"), access::read_only);
    const auto past = std::to_string(std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count() - 10);
    EXPECT_EQ(check(R"j({"p":{"rw":{"ns":["a"]}},"exp":)j" + past + "}", "a"), access::denied);
}

TEST(auth_base64, auth_base64url_round_trips) {
    for (std::size_t n = 0; n < 40; ++n) {
        std::string bytes;
        for (std::size_t i = 0; i < n; ++i) bytes += static_cast<char>((i * 37 + n) & 0xff);
        const auto enc = libsql::server::detail::base64url_encode(bytes);
        EXPECT_EQ(enc.find_first_of("+/="), std::string::npos);
        EXPECT_EQ(libsql::server::detail::base64_any_decode(enc), bytes);
    }
    EXPECT_FALSE(libsql::server::detail::base64_any_decode("A").has_value());
    EXPECT_FALSE(libsql::server::detail::base64_any_decode("AB!C").has_value());
    EXPECT_EQ(libsql::server::detail::base64_any_decode("AP8="), std::string("\x00\xff", 2));
}

// ------------------------------------------------------------------------------------------------ bad input
TEST_F(service_test, service_survives_mutated_bodies) {
    const std::vector<std::string> seeds{
        R"j({"requests":[{"type":"store_sql","sql_id":0,"sql":"SELECT ?"},{"type":"batch","batch":{"steps":[{"stmt":{"sql":"BEGIN IMMEDIATE"}},{"condition":{"type":"and","conds":[{"type":"ok","step":0},{"type":"not","cond":{"type":"error","step":0}}]},"stmt":{"sql_id":0,"args":[{"type":"blob","base64":"AAE="}]}},{"stmt":{"sql":"COMMIT"}}]}},{"type":"describe","sql":"SELECT :a"},{"type":"sequence","sql":"SELECT 1;SELECT 2"},{"type":"close"}]})j",
        R"j({"baton":null,"requests":[{"type":"execute","stmt":{"sql":"SELECT :a, ?2","named_args":[{"name":"a","value":{"type":"integer","value":"-9223372036854775808"}}],"args":[{"type":"null"},{"type":"float","value":1e308}],"want_rows":false}},{"type":"get_autocommit"}]})j",
    };
    std::uint32_t seed = 12345;
    const auto next = [&] { seed = seed * 1103515245u + 12345u; return seed >> 8; };
    int ok = 0;
    for (int i = 0; i < 3000; ++i) {
        std::string body = seeds[static_cast<std::size_t>(i) % seeds.size()];
        const int edits = 1 + static_cast<int>(next() % 4);
        for (int e = 0; e < edits && !body.empty(); ++e) {
            const auto at = next() % body.size();
            switch (next() % 4) {
            case 0: body[at] = static_cast<char>(next() & 0xff); break;
            case 1: body.erase(at, 1 + next() % 8); break;
            case 2: body.insert(at, 1, "{}[]\",:0-9e"[next() % 11]); break;
            default: body.insert(at, body.substr(next() % body.size(), next() % 16)); break;
            }
        }
        const auto r = svc->pipeline(1 + i % 3 == 3 ? 3 : 2, body, "");
        EXPECT_TRUE(r.status == 200 || r.status == 400) << r.status << " " << r.body << " for " << body;
        if (r.status == 200) ++ok;
        const auto c = svc->cursor(body, "");
        EXPECT_TRUE(c.status == 200 || c.status == 400) << c.status << " " << c.body;
    }
    EXPECT_GT(ok, 0);
    auto ws = svc->open_ws(3);
    (void)ws->on_message(R"j({"type":"hello","jwt":null})j");
    for (int i = 0; i < 500 && !ws->closed(); ++i) {
        std::string msg = R"j({"type":"request","request_id":1,"request":{"type":"open_cursor","stream_id":0,"cursor_id":1,"batch":{"steps":[{"stmt":{"sql":"SELECT 1"}}]}}})j";
        msg[next() % msg.size()] = static_cast<char>(next() & 0xff);
        (void)ws->on_message(msg);
    }
}
