// libsql serve's file-system safety and read-only tokens (sql_policy.hpp), through the service's own entry points:
// JSON pipelines in, as clients send them. Each probe here wrote a file, corrupted the database or took the write
// lock with a read-only token before the policy existed.
#include "server/service.hpp"

#include "hrana/protocol.hpp"
#include "libsql/database.hpp"
#include "libsql/error.hpp"
#include "server/auth.hpp"

#include <gtest/gtest.h>
#include <sodium.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <memory>
#include <string>

using namespace std::chrono_literals;
using libsql::server::service;
using libsql::server::service_options;
namespace fs = std::filesystem;
namespace hrana = libsql::hrana;

namespace {

struct temp_dir {
    fs::path path;
    temp_dir() {
        std::string templ = (fs::temp_directory_path() / "libsql-safety-XXXXXX").string();
        if (mkdtemp(templ.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
        path = templ;
    }
    ~temp_dir() {
        std::error_code ec;
        fs::remove_all(path, ec);
    }
    temp_dir(const temp_dir&) = delete;
    temp_dir& operator=(const temp_dir&) = delete;
};

/// A JSON string literal of text (paths here hold no quotes nor backslashes, checked).
std::string js(const std::string& text) {
    EXPECT_EQ(text.find_first_of("\"\\"), std::string::npos);
    return "\"" + text + "\"";
}

struct keypair {
    std::string pk = std::string(crypto_sign_PUBLICKEYBYTES, '\0');
    std::string sk = std::string(crypto_sign_SECRETKEYBYTES, '\0');
    keypair() {
        EXPECT_GE(sodium_init(), 0);
        crypto_sign_keypair(reinterpret_cast<unsigned char*>(pk.data()), reinterpret_cast<unsigned char*>(sk.data()));
    }
    [[nodiscard]] std::string bearer(const std::string& payload_json) const {
        using libsql::server::detail::base64url_encode;
        const std::string signing = base64url_encode(R"j({"alg":"EdDSA","typ":"JWT"})j") + "." + base64url_encode(payload_json);
        std::string sig(crypto_sign_BYTES, '\0');
        crypto_sign_detached(reinterpret_cast<unsigned char*>(sig.data()), nullptr,
                             reinterpret_cast<const unsigned char*>(signing.data()), signing.size(),
                             reinterpret_cast<const unsigned char*>(sk.data()));
        return "Bearer " + signing + "." + base64url_encode(sig);
    }
};

class safety_test : public ::testing::Test {
protected:
    temp_dir dir;         ///< holds the served database
    temp_dir elsewhere;   ///< a folder clients must not reach
    std::unique_ptr<service> svc;
    std::string auth;

    [[nodiscard]] std::string db_path() const { return (dir.path / "served.db").string(); }
    [[nodiscard]] service_options opts() const {
        service_options o;
        o.path = db_path();
        return o;
    }
    void SetUp() override {
        svc = std::make_unique<service>(opts());
        ok("CREATE TABLE t(x)");
        ok("INSERT INTO t VALUES (1), (2)");
    }

    hrana::pipeline_response post(const std::string& requests_json, const std::string& baton = {}, const std::string& a = {}) {
        const std::string body = "{" + (baton.empty() ? std::string() : "\"baton\":" + js(baton) + ",") +
                                 "\"requests\":" + requests_json + "}";
        const auto r = svc->pipeline(3, body, a.empty() ? auth : a);
        EXPECT_EQ(r.status, 200) << r.body;
        if (r.status != 200) return {};
        return hrana::parse_pipeline_response(r.body);
    }
    /// One statement on a fresh stream; the result or the error.
    hrana::stream_result run(const std::string& sql, const std::string& a = {}) {
        const auto r = post(R"j([{"type":"execute","stmt":{"sql":)j" + js(sql) + R"j(}},{"type":"close"}])j", {}, a);
        if (r.results.size() != 2) {
            ADD_FAILURE() << "no results for " << sql;
            return hrana::error{"no result", "TEST"};
        }
        return r.results[0];
    }
    hrana::stmt_result ok(const std::string& sql, const std::string& a = {}) {
        const auto r = run(sql, a);
        if (const auto* e = std::get_if<hrana::error>(&r)) {
            ADD_FAILURE() << sql << ": " << e->message << " (" << e->code << ")";
            return {};
        }
        return std::get<hrana::execute_resp>(std::get<hrana::stream_response>(r)).result;
    }
    hrana::error refused(const std::string& sql, const std::string& a = {}) { return error_of(run(sql, a), sql); }
    static hrana::error error_of(const hrana::stream_result& r, const std::string& what) {
        if (const auto* e = std::get_if<hrana::error>(&r)) return *e;
        ADD_FAILURE() << "expected an error: " << what;
        return {};
    }
    /// Every file below a folder (the server must not have created any).
    static std::size_t files_under(const fs::path& p) {
        std::size_t n = 0;
        for (const auto& e : fs::recursive_directory_iterator(p)) n += e.is_regular_file() ? 1u : 0u;
        return n;
    }
};

} // namespace

TEST_F(safety_test, server_safety_attach_of_any_file_is_refused_and_creates_nothing) {
    const std::string target = (elsewhere.path / "planted.db").string();
    auto e = refused("ATTACH " + std::string("'") + target + "' AS planted");
    EXPECT_EQ(e.code, "SQLITE_AUTH");
    EXPECT_NE(e.message.find("--attach-dir"), std::string::npos) << e.message;
    EXPECT_NE(e.message.find(target), std::string::npos) << e.message;
    // The name as a parameter: the authorizer cannot see it, so it is refused too.
    const auto r = post(R"j([{"type":"execute","stmt":{"sql":"ATTACH ? AS planted","args":[{"type":"text","value":)j" +
                        js(target) + R"j(}]}},{"type":"close"}])j");
    ASSERT_EQ(r.results.size(), 2u);
    EXPECT_EQ(error_of(r.results[0], "ATTACH ?").code, "SQLITE_AUTH");
    // A sequence and a batch go through the same authorizer.
    const auto s = post(R"j([{"type":"sequence","sql":)j" + js("SELECT 1; ATTACH '" + target + "' AS p; SELECT 2") +
                        R"j(},{"type":"close"}])j");
    ASSERT_EQ(s.results.size(), 2u);
    EXPECT_EQ(error_of(s.results[0], "sequence").code, "SQLITE_AUTH");
    EXPECT_FALSE(fs::exists(target));
    EXPECT_EQ(files_under(elsewhere.path), 0u);
    // In-memory and temporary attachments reach no file; they stay allowed.
    (void)ok("ATTACH ':memory:' AS scratch");
    (void)ok("ATTACH '' AS scratch2");
}

TEST_F(safety_test, server_safety_vacuum_into_is_refused_but_plain_vacuum_works) {
    const std::string target = (elsewhere.path / "copy.db").string();
    const auto e = refused("VACUUM INTO '" + target + "'");
    EXPECT_EQ(e.code, "SQLITE_AUTH");
    EXPECT_NE(e.message.find("VACUUM INTO"), std::string::npos) << e.message;
    EXPECT_FALSE(fs::exists(target));
    EXPECT_EQ(files_under(elsewhere.path), 0u);
    (void)ok("VACUUM");
    EXPECT_EQ(ok("SELECT count(*) FROM t").rows.at(0).at(0), libsql::value(2));
}

TEST_F(safety_test, server_safety_schema_and_page_writes_cannot_corrupt_the_database) {
    for (const char* sql : {"PRAGMA writable_schema=ON", "PRAGMA writable_schema = 1", "PRAGMA main.writable_schema=RESET",
                            "PRAGMA schema_version=12345", "PRAGMA journal_mode=OFF",
                            "INSERT INTO sqlite_dbpage VALUES (1, zeroblob(4096))",
                            "UPDATE sqlite_dbpage SET data = zeroblob(4096) WHERE pgno = 1",
                            "CREATE VIRTUAL TABLE raw USING sqlite_dbpage"}) {
        const auto e = refused(sql);
        EXPECT_EQ(e.code, "SQLITE_AUTH") << sql << ": " << e.message;
    }
    // What the probe did once writable_schema was on: SQLite itself refuses this without it.
    EXPECT_FALSE(refused("UPDATE sqlite_schema SET sql = 'CREATE TABLE t(' WHERE name = 't'").code.empty());
    // Reading stays possible.
    (void)ok("PRAGMA writable_schema");
    (void)ok("SELECT count(*) FROM sqlite_dbpage");
    // The database opens again and is intact.
    svc.reset();
    {
        libsql::database db(db_path());
        auto c = db.connect();
        EXPECT_EQ(c.query_value<std::string>("PRAGMA integrity_check"), "ok");
        EXPECT_EQ(c.query_value<std::int64_t>("SELECT count(*) FROM t"), 2);
    }
    svc = std::make_unique<service>(opts());
    EXPECT_EQ(ok("SELECT sum(x) FROM t").rows.at(0).at(0), libsql::value(3));
}

TEST_F(safety_test, server_safety_extensions_and_process_wide_pragmas_are_refused) {
    const auto e = refused("SELECT load_extension('/tmp/anything.so')");
    EXPECT_EQ(e.code, "SQLITE_AUTH") << e.message;
    EXPECT_NE(e.message.find("load_extension"), std::string::npos) << e.message;
    for (const std::string& sql : {"PRAGMA temp_store_directory = '" + elsewhere.path.string() + "'",
                                  std::string("PRAGMA hard_heap_limit = 1000"), std::string("PRAGMA soft_heap_limit = 1000"),
                                  std::string("PRAGMA threads = 8")})
        EXPECT_EQ(refused(sql).code, "SQLITE_AUTH") << sql << ": " << refused(sql).message;
    // Connection-local PRAGMAs still work.
    (void)ok("PRAGMA cache_size = 100");
    (void)ok("PRAGMA user_version = 7");
    EXPECT_EQ(ok("PRAGMA user_version").rows.at(0).at(0), libsql::value(7));
}

TEST_F(safety_test, server_safety_attach_dir_allows_files_under_it_only) {
    temp_dir attach;
    auto o = opts();
    o.attach_dir = attach.path.string() + "/.";  // canonicalised by the service
    svc = std::make_unique<service>(o);
    const std::string inside = (attach.path / "side.db").string();
    const auto r = post(R"j([{"type":"sequence","sql":)j" +
                        js("ATTACH '" + inside + "' AS side; CREATE TABLE side.s(y); INSERT INTO side.s VALUES (5)") +
                        R"j(},{"type":"execute","stmt":{"sql":"SELECT y FROM side.s"}},{"type":"close"}])j");
    ASSERT_EQ(r.results.size(), 3u);
    ASSERT_TRUE(std::holds_alternative<hrana::stream_response>(r.results[0])) << std::get<hrana::error>(r.results[0]).message;
    EXPECT_EQ(std::get<hrana::execute_resp>(std::get<hrana::stream_response>(r.results[1])).result.rows.at(0).at(0),
              libsql::value(5));
    EXPECT_TRUE(fs::exists(inside));
    (void)ok("VACUUM INTO '" + (attach.path / "copy.db").string() + "'");
    EXPECT_TRUE(fs::exists(attach.path / "copy.db"));

    // Escapes: "..", a symlink to the outside (to a folder and to a file), a URI, the folder itself.
    fs::create_directory(attach.path / "sub");
    fs::create_directory_symlink(elsewhere.path, attach.path / "link");
    fs::create_symlink(elsewhere.path / "via-link.db", attach.path / "file-link.db");
    for (const std::string& bad : {(attach.path / "sub" / ".." / ".." / "escaped.db").string(),
                                   (attach.path / "link" / "escaped.db").string(),
                                   (attach.path / "file-link.db").string(),
                                   "file:" + (attach.path / "uri.db").string(),
                                   attach.path.string()}) {
        const auto e = refused("ATTACH '" + bad + "' AS x");
        EXPECT_EQ(e.code, "SQLITE_AUTH") << bad;
        EXPECT_FALSE(fs::exists(attach.path / "uri.db"));
    }
    EXPECT_EQ(refused("VACUUM INTO '" + (elsewhere.path / "copy.db").string() + "'").code, "SQLITE_AUTH");
    EXPECT_EQ(files_under(elsewhere.path), 0u);
    EXPECT_FALSE(fs::exists(attach.path.parent_path() / "escaped.db"));

    // A folder that does not exist is a configuration error, not a silent "allow nothing".
    o.attach_dir = (elsewhere.path / "missing").string();
    EXPECT_THROW(service{o}, libsql::usage_error);
}

namespace {
class read_only_test : public safety_test {
protected:
    keypair keys;
    std::string ro;
    void SetUp() override {
        auto o = opts();
        o.jwt_public_key = keys.pk;
        svc = std::make_unique<service>(o);
        auth = keys.bearer(R"j({"a":"rw"})j");
        ro = keys.bearer(R"j({"a":"ro"})j");
        ok("CREATE TABLE t(x)");
    }
};
} // namespace

TEST_F(read_only_test, server_safety_read_only_token_cannot_take_the_write_lock) {
    for (const char* sql : {"BEGIN IMMEDIATE", "BEGIN EXCLUSIVE", "begin  immediate transaction"}) {
        const auto e = refused(sql, ro);
        EXPECT_EQ(e.code, "SQLITE_AUTH") << sql << ": " << e.message;
        EXPECT_NE(e.message.find("read-only"), std::string::npos) << e.message;
    }
    // A stream of the read-only token: a deferred transaction that reads works, and holds no write lock.
    auto r = post(R"j([{"type":"execute","stmt":{"sql":"BEGIN"}},{"type":"execute","stmt":{"sql":"SELECT count(*) FROM t"}},
                      {"type":"execute","stmt":{"sql":"BEGIN IMMEDIATE"}}])j", {}, ro);
    ASSERT_EQ(r.results.size(), 3u);
    EXPECT_TRUE(std::holds_alternative<hrana::stream_response>(r.results[0]));
    EXPECT_TRUE(std::holds_alternative<hrana::stream_response>(r.results[1]));
    EXPECT_EQ(error_of(r.results[2], "nested BEGIN").code.empty(), false);
    ASSERT_TRUE(r.baton.has_value());
    // Meanwhile a writer is not kept waiting (the busy timeout is 10 s).
    const auto start = std::chrono::steady_clock::now();
    EXPECT_EQ(ok("INSERT INTO t VALUES (1)").affected_row_count, 1u);
    EXPECT_LT(std::chrono::steady_clock::now() - start, 2s);
    // A read-only token cannot turn query_only off; the same stream continued with a read-write token may write.
    r = post(R"j([{"type":"execute","stmt":{"sql":"ROLLBACK"}},{"type":"execute","stmt":{"sql":"PRAGMA query_only=0"}}])j", *r.baton, ro);
    ASSERT_EQ(r.results.size(), 2u);
    EXPECT_EQ(error_of(r.results[1], "query_only=0").code, "SQLITE_AUTH");
    ASSERT_TRUE(r.baton.has_value());
    r = post(R"j([{"type":"execute","stmt":{"sql":"BEGIN IMMEDIATE"}},{"type":"execute","stmt":{"sql":"INSERT INTO t VALUES (2)"}},
                 {"type":"execute","stmt":{"sql":"COMMIT"}},{"type":"close"}])j", *r.baton, auth);
    ASSERT_EQ(r.results.size(), 4u);
    for (const auto& x : r.results)
        EXPECT_TRUE(std::holds_alternative<hrana::stream_response>(x)) << std::get<hrana::error>(x).message;
    // Pooled connections do not carry query_only over to a read-write stream.
    for (int i = 0; i < 3; ++i) {
        EXPECT_EQ(refused("BEGIN IMMEDIATE", ro).code, "SQLITE_AUTH");
        EXPECT_EQ(ok("INSERT INTO t VALUES (3)").affected_row_count, 1u);
    }
    EXPECT_EQ(ok("SELECT count(*) FROM t").rows.at(0).at(0), libsql::value(5));
}

TEST_F(read_only_test, server_safety_read_only_websocket_session_cannot_take_the_write_lock) {
    auto ws = svc->open_ws(3);
    auto first = [&](std::string_view msg) {
        const auto out = ws->on_message(msg);
        EXPECT_EQ(out.size(), 1u);
        return out.empty() ? hrana::ws_server_msg{} : hrana::parse_ws_server_msg(out[0]);
    };
    const auto token = ro.substr(7);
    EXPECT_TRUE(std::holds_alternative<hrana::ws_hello_ok>(first(R"j({"type":"hello","jwt":)j" + js(token) + "}")));
    EXPECT_TRUE(std::holds_alternative<hrana::ws_response_ok>(
        first(R"j({"type":"request","request_id":1,"request":{"type":"open_stream","stream_id":1}})j")));
    const auto m = first(R"j({"type":"request","request_id":2,"request":{"type":"execute","stream_id":1,"stmt":{"sql":"BEGIN IMMEDIATE"}}})j");
    ASSERT_TRUE(std::holds_alternative<hrana::ws_response_error>(m));
    EXPECT_EQ(std::get<hrana::ws_response_error>(m).error.code, "SQLITE_AUTH");
    const auto v = first(R"j({"type":"request","request_id":3,"request":{"type":"execute","stream_id":1,"stmt":{"sql":"VACUUM INTO '/tmp/x.db'"}}})j");
    ASSERT_TRUE(std::holds_alternative<hrana::ws_response_error>(v));
    EXPECT_EQ(std::get<hrana::ws_response_error>(v).error.code, "SQLITE_AUTH");
    EXPECT_EQ(ok("INSERT INTO t VALUES (1)").affected_row_count, 1u);
}

TEST_F(safety_test, server_limits_max_streams_refuses_new_streams_cleanly) {
    auto o = opts();
    o.max_streams = 3;
    svc = std::make_unique<service>(o);
    const std::string keep = R"j({"requests":[{"type":"execute","stmt":{"sql":"SELECT 1"}}]})j";
    std::vector<std::string> batons;
    for (int i = 0; i < 3; ++i) {
        const auto r = svc->pipeline(3, keep, "");
        ASSERT_EQ(r.status, 200) << r.body;
        batons.push_back(*hrana::parse_pipeline_response(r.body).baton);
    }
    const auto refused_http = svc->pipeline(3, keep, "");
    EXPECT_EQ(refused_http.status, 503);
    EXPECT_EQ(refused_http.content_type, "application/json");
    EXPECT_NE(refused_http.body.find(R"j("code":"STREAM_LIMIT")j"), std::string::npos) << refused_http.body;
    const auto refused_cursor = svc->cursor(R"j({"baton":null,"batch":{"steps":[{"stmt":{"sql":"SELECT 1"}}]}})j", "");
    EXPECT_EQ(refused_cursor.status, 503) << refused_cursor.body;
    // WebSocket streams count too, and are refused with a Hrana error response.
    auto ws = svc->open_ws(3);
    (void)ws->on_message(R"j({"type":"hello","jwt":null})j");
    const auto out = ws->on_message(R"j({"type":"request","request_id":1,"request":{"type":"open_stream","stream_id":1}})j");
    ASSERT_EQ(out.size(), 1u);
    const auto m = hrana::parse_ws_server_msg(out[0]);
    ASSERT_TRUE(std::holds_alternative<hrana::ws_response_error>(m));
    EXPECT_EQ(std::get<hrana::ws_response_error>(m).error.code, "STREAM_LIMIT");
    EXPECT_FALSE(ws->closed());
    // Open streams keep working; closing one makes room.
    auto r = post(R"j([{"type":"execute","stmt":{"sql":"SELECT 2"}},{"type":"close"}])j", batons[0]);
    ASSERT_EQ(r.results.size(), 2u);
    EXPECT_TRUE(std::holds_alternative<hrana::stream_response>(r.results[0]));
    EXPECT_EQ(svc->pipeline(3, keep, "").status, 200);
}

TEST_F(safety_test, server_limits_max_streams_per_token_refuses_one_token_not_the_others) {
    keypair keys;
    auto o = opts();
    o.jwt_public_key = keys.pk;
    o.max_streams_per_token = 2;
    svc = std::make_unique<service>(o);
    const std::string greedy = keys.bearer(R"j({"a":"rw","sub":"greedy"})j");
    const std::string other = keys.bearer(R"j({"a":"rw","sub":"other"})j");
    const std::string keep = R"j({"requests":[{"type":"execute","stmt":{"sql":"SELECT 1"}}]})j";
    std::vector<std::string> batons;
    for (int i = 0; i < 2; ++i) {
        const auto r = svc->pipeline(3, keep, greedy);
        ASSERT_EQ(r.status, 200) << r.body;
        batons.push_back(*hrana::parse_pipeline_response(r.body).baton);
    }
    // The third stream of the same token: a clean Hrana error, HTTP 429 (this client is over its share, the
    // server is not full), JSON with the code.
    const auto refused = svc->pipeline(3, keep, greedy);
    EXPECT_EQ(refused.status, 429);
    EXPECT_EQ(refused.content_type, "application/json");
    EXPECT_NE(refused.body.find(R"j("code":"STREAM_LIMIT")j"), std::string::npos) << refused.body;
    EXPECT_NE(refused.body.find("per token"), std::string::npos) << refused.body;
    EXPECT_EQ(svc->cursor(R"j({"baton":null,"batch":{"steps":[{"stmt":{"sql":"SELECT 1"}}]}})j", greedy).status, 429);
    // Its WebSocket streams count against the same token.
    auto ws = svc->open_ws(3);
    (void)ws->on_message(R"j({"type":"hello","jwt":")j" + greedy.substr(7) + R"j("})j");
    const auto out = ws->on_message(R"j({"type":"request","request_id":1,"request":{"type":"open_stream","stream_id":1}})j");
    ASSERT_EQ(out.size(), 1u);
    const auto m = hrana::parse_ws_server_msg(out[0]);
    ASSERT_TRUE(std::holds_alternative<hrana::ws_response_error>(m));
    EXPECT_EQ(std::get<hrana::ws_response_error>(m).error.code, "STREAM_LIMIT");
    EXPECT_FALSE(ws->closed());
    // Another token is not affected, over HTTP and WebSocket.
    const auto fine = svc->pipeline(3, keep, other);
    ASSERT_EQ(fine.status, 200) << fine.body;
    auto ws2 = svc->open_ws(3);
    (void)ws2->on_message(R"j({"type":"hello","jwt":")j" + other.substr(7) + R"j("})j");
    const auto opened = ws2->on_message(R"j({"type":"request","request_id":1,"request":{"type":"open_stream","stream_id":1}})j");
    ASSERT_EQ(opened.size(), 1u);
    EXPECT_TRUE(std::holds_alternative<hrana::ws_response_ok>(hrana::parse_ws_server_msg(opened[0])));
    // The greedy token's existing streams still work, and closing one makes room for it again.
    const std::string close_body = R"j({"baton":")j" + batons[0] + R"j(","requests":[{"type":"execute","stmt":{"sql":"SELECT 2"}},{"type":"close"}]})j";
    const auto closed = svc->pipeline(3, close_body, greedy);
    ASSERT_EQ(closed.status, 200) << closed.body;
    EXPECT_EQ(svc->pipeline(3, keep, greedy).status, 200);
    EXPECT_EQ(svc->pipeline(3, keep, greedy).status, 429);
}
