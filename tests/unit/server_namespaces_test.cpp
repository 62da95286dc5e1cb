// `libsql serve --enable-namespaces --admin-listen-addr ...` against our own client: namespaces created and deleted
// through the admin API, each request's database chosen by the first label of its Host header. *.localhost does not
// resolve through this machine's resolver; curl (HTTP) and our WebSocket client both take it as the loopback
// (RFC 6761), so the URLs are http://ns1.localhost:PORT and ws://ns1.localhost:PORT, as a user would write them.
// The admin calls and the bad-input probes go through the HTTP client of src/remote, with the Host header given.
#include "libsql/libsql.hpp"

#include "remote/http.hpp"
#include "support/processes.hpp"
#include "support/temp_files.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <thread>

using namespace std::chrono_literals;
namespace fs = std::filesystem;

namespace {

using libsql::test::child_process;
using libsql::test::temp_dir;
namespace http = libsql::detail::http;

/// The server with namespaces and its admin port (the second line it prints).
class ns_server {
public:
    explicit ns_server(const std::string& folder, std::vector<std::string> extra = {}) {
        std::vector<std::string> argv{libsql::test::libsql_cli_path(), "serve", folder, "--enable-namespaces",
                                      "--listen", "127.0.0.1:0", "--admin-listen-addr", "127.0.0.1:0"};
        argv.insert(argv.end(), extra.begin(), extra.end());
        proc_ = std::make_unique<child_process>(argv, true);
        port_ = port_of(proc_->read_line(), "listening on");
        admin_ = port_of(proc_->read_line(), "admin listening on");
    }
    [[nodiscard]] std::string url(const std::string& ns, const char* scheme = "http") const {
        return std::string(scheme) + "://" + ns + ".localhost:" + std::to_string(port_);
    }
    [[nodiscard]] std::string plain() const { return "http://127.0.0.1:" + std::to_string(port_); }
    [[nodiscard]] std::string admin() const { return "http://127.0.0.1:" + std::to_string(admin_); }
    child_process& process() { return *proc_; }

private:
    static std::uint16_t port_of(const std::string& line, const std::string& what) {
        const auto colon = line.rfind(':');
        if (line.rfind(what, 0) != 0 || colon == std::string::npos)
            throw std::runtime_error("libsql serve: expected '" + what + "', got '" + line + "'");
        return static_cast<std::uint16_t>(std::stoi(line.substr(colon + 1)));
    }
    std::unique_ptr<child_process> proc_;
    std::uint16_t port_ = 0;
    std::uint16_t admin_ = 0;
};

http::response admin_call(const ns_server& s, std::string_view method, const std::string& path, std::string_view body = "{}") {
    http::client c(http::options{});
    return c.request(method, s.admin() + path, body, http::retry::if_unsent);
}

/// A pipeline on one stream (statements without '"' or '\\'), sent with an explicit Host header (as
/// @libsql/client sends it for http://<ns>.<domain>).
http::response pipeline_with_host(const ns_server& s, const std::string& host, const std::vector<std::string>& sqls) {
    http::options o;
    o.headers.push_back("Host: " + host);
    http::client c(o);
    std::string body = R"({"requests":[)";
    for (const auto& sql : sqls) body += R"({"type":"execute","stmt":{"sql":")" + sql + R"("}},)";
    body += R"({"type":"close"}]})";
    return c.request("POST", s.plain() + "/v2/pipeline", body, http::retry::if_unsent);
}
http::response pipeline_with_host(const ns_server& s, const std::string& host, const std::string& sql) {
    return pipeline_with_host(s, host, std::vector<std::string>{sql});
}

libsql::connect_options quick() {
    libsql::connect_options o;
    o.connect_timeout = 5s;
    o.request_timeout = 10s;
    return o;
}

std::size_t files_outside(const fs::path& root, const fs::path& inside) {
    std::size_t n = 0;
    for (const auto& e : fs::recursive_directory_iterator(root)) {
        const auto rel = fs::relative(e.path(), inside);
        if (e.is_regular_file() && (rel.empty() || rel.begin()->string() == "..")) ++n;
    }
    return n;
}

class server_namespaces : public ::testing::Test {
protected:
    temp_dir dir{"server-ns"};
    std::string folder() const { return dir.file("srv"); }
};

TEST_F(server_namespaces, each_namespace_is_its_own_database_over_http_and_websocket) {
    ns_server s(folder());
    ASSERT_EQ(admin_call(s, "POST", "/v1/namespaces/ns1/create").status, 200);
    ASSERT_EQ(admin_call(s, "POST", "/v1/namespaces/ns2/create").status, 200);
    EXPECT_TRUE(fs::exists(fs::path(folder()) / "dbs" / "ns1" / "data"));
    EXPECT_TRUE(fs::exists(fs::path(folder()) / "dbs" / "default" / "data"));
    {
        libsql::database one(s.url("ns1"), quick());
        auto c = one.connect();
        c.execute("CREATE TABLE t(x)");
        c.execute("INSERT INTO t VALUES ('one')");
        auto tx = c.transaction();  // a baton: the stream's later requests must reach the same namespace
        c.execute("INSERT INTO t VALUES ('one again')");
        tx.commit();
    }
    {
        libsql::database two(s.url("ns2", "ws"), quick());
        auto c = two.connect();
        c.execute("CREATE TABLE t(x)");
        c.execute("INSERT INTO t VALUES ('two')");
        EXPECT_EQ(c.query_value<std::int64_t>("SELECT count(*) FROM t"), 1);
    }
    libsql::database one_ws(s.url("ns1", "ws"), quick());
    EXPECT_EQ(one_ws.connect().query_value<std::int64_t>("SELECT count(*) FROM t"), 2);
    // A host without a namespace label (an IP address, or no dot) is the default namespace: no table t there.
    libsql::database plain(s.plain(), quick());
    auto d = plain.connect();
    EXPECT_EQ(d.query_value<std::int64_t>("SELECT count(*) FROM sqlite_schema WHERE name = 't'"), 0);
    // The Host header decides, whatever the address connected to.
    const auto r = pipeline_with_host(s, "ns2.db.example.com:443", "SELECT x FROM t");
    EXPECT_EQ(r.status, 200);
    EXPECT_NE(r.body.find("two"), std::string::npos) << r.body;
}

TEST_F(server_namespaces, unknown_and_invalid_namespaces_are_refused_and_no_file_is_created_outside) {
    ns_server s(folder());
    // Unknown: sqld's 404 {"error":"Namespace `nope` doesn't exist"}; our client says so.
    const auto unknown = pipeline_with_host(s, "nope.localhost", "SELECT 1");
    EXPECT_EQ(unknown.status, 404);
    EXPECT_NE(unknown.body.find("Namespace `nope` doesn't exist"), std::string::npos) << unknown.body;
    for (const char* scheme : {"http", "ws"}) {
        try {
            libsql::database db(s.url("nope", scheme), quick());
            (void)db.connect().query_value<std::int64_t>("SELECT 1");
            ADD_FAILURE() << scheme << ": an unknown namespace answered";
        } catch (const libsql::error& e) {
            EXPECT_NE(std::string(e.what()).find("404"), std::string::npos) << scheme << ": " << e.what();
        }
    }
    // Names that try to leave the folder, or cannot be a host label: 400 from the admin API and from the Host.
    const std::string long_name(64, 'a');
    // (A bare ".." never reaches the server in a path: curl removes dot segments. It is refused in headers below.)
    for (const std::string& bad : {std::string("..%2F..%2Fetc"), std::string("a%00b"), long_name, std::string("a.b"),
                                   std::string("%2E%2E"), std::string("a%20b"), std::string("x%2F..")}) {
        const auto r = admin_call(s, "POST", "/v1/namespaces/" + bad + "/create");
        EXPECT_EQ(r.status, 400) << bad << ": " << r.body;
        EXPECT_NE(r.body.find("Invalid namespace"), std::string::npos) << r.body;
    }
    EXPECT_EQ(admin_call(s, "POST", "/v1/namespaces/" + std::string(63, 'b') + "/create").status, 200);
    const auto via_header = [&](const std::string& ns) {
        http::options o;
        o.headers.push_back("x-namespace: " + ns);
        http::client c(o);
        return c.request("POST", s.plain() + "/v2/pipeline", R"({"requests":[]})", http::retry::if_unsent);
    };
    EXPECT_EQ(via_header("../default").status, 400);
    EXPECT_EQ(via_header("..").status, 400);
    EXPECT_EQ(pipeline_with_host(s, "..localhost", "SELECT 1").status, 400);  // an empty first label
    EXPECT_EQ(via_header(std::string(63, 'b')).status, 200);
    // Creating one that exists: sqld's 400.
    const auto again = admin_call(s, "POST", "/v1/namespaces/default/create");
    EXPECT_EQ(again.status, 400);
    EXPECT_NE(again.body.find("already exists"), std::string::npos) << again.body;
    EXPECT_EQ(files_outside(dir.path(), fs::path(folder()) / "dbs"), 0u);
    EXPECT_EQ(admin_call(s, "DELETE", "/v1/namespaces/nope").status, 404);
    EXPECT_EQ(admin_call(s, "GET", "/v1/namespaces/default/create").status, 405);
}

TEST_F(server_namespaces, deleting_a_namespace_with_an_open_stream) {
    ns_server s(folder());
    ASSERT_EQ(admin_call(s, "POST", "/v1/namespaces/doomed/create").status, 200);
    ASSERT_EQ(admin_call(s, "POST", "/v1/namespaces/kept/create").status, 200);
    libsql::database kept(s.url("kept"), quick());
    auto k = kept.connect();
    k.execute("CREATE TABLE t(x)");
    k.execute("INSERT INTO t VALUES (1)");

    libsql::database doomed(s.url("doomed"), quick());
    auto c = doomed.connect();
    c.execute("CREATE TABLE t(x)");
    auto tx = c.transaction();
    c.execute("INSERT INTO t VALUES (1)");
    ASSERT_EQ(admin_call(s, "DELETE", "/v1/namespaces/doomed").status, 200);
    // The open transaction's next statement fails cleanly (the stream was rolled back), new requests get 404.
    EXPECT_THROW(c.execute("INSERT INTO t VALUES (2)"), libsql::error);
    EXPECT_EQ(pipeline_with_host(s, "doomed.localhost", "SELECT 1").status, 404);
    tx.rollback();
    // Its folder goes once nothing runs on it; the other namespace is untouched.
    const auto gone = fs::path(folder()) / "dbs" / "doomed";
    for (int i = 0; i < 100 && fs::exists(gone); ++i) std::this_thread::sleep_for(50ms);
    EXPECT_FALSE(fs::exists(gone));
    EXPECT_EQ(k.query_value<std::int64_t>("SELECT count(*) FROM t"), 1);
    // The name can be used again, for a new, empty database.
    ASSERT_EQ(admin_call(s, "POST", "/v1/namespaces/doomed/create").status, 200);
    libsql::database fresh(s.url("doomed"), quick());
    EXPECT_EQ(fresh.connect().query_value<std::int64_t>("SELECT count(*) FROM sqlite_schema"), 0);
}

TEST_F(server_namespaces, fork_copies_a_namespace) {
    ns_server s(folder());
    ASSERT_EQ(admin_call(s, "POST", "/v1/namespaces/src/create").status, 200);
    libsql::database src(s.url("src"), quick());
    auto c = src.connect();
    c.execute("CREATE TABLE t(x)");
    c.execute("INSERT INTO t VALUES (1), (2)");
    ASSERT_EQ(admin_call(s, "POST", "/v1/namespaces/src/fork/copy").status, 200);
    c.execute("INSERT INTO t VALUES (3)");  // after the fork: not in the copy
    libsql::database copy(s.url("copy"), quick());
    EXPECT_EQ(copy.connect().query_value<std::int64_t>("SELECT sum(x) FROM t"), 3);
    EXPECT_EQ(admin_call(s, "POST", "/v1/namespaces/src/fork/copy").status, 400);
    EXPECT_EQ(admin_call(s, "POST", "/v1/namespaces/missing/fork/other").status, 404);
}

TEST_F(server_namespaces, attach_of_another_namespace_is_read_only_and_files_stay_refused) {
    ns_server s(folder());
    ASSERT_EQ(admin_call(s, "POST", "/v1/namespaces/other/create").status, 200);
    libsql::database other(s.url("other"), quick());
    auto o = other.connect();
    o.execute("CREATE TABLE t(x)");
    o.execute("INSERT INTO t VALUES (42)");

    // An attachment lives on its stream: one pipeline (as @libsql/client's batch would send it).
    const auto r = pipeline_with_host(s, "default.localhost",
                                      {"ATTACH DATABASE 'other' AS o", "SELECT x FROM o.t", "INSERT INTO o.t VALUES (1)",
                                       "DETACH DATABASE o", "ATTACH other AS o2", "SELECT count(*) FROM o2.t"});
    ASSERT_EQ(r.status, 200) << r.body;
    const auto results = r.body.substr(r.body.find("\"results\""));
    EXPECT_NE(results.find(R"("value":"42")"), std::string::npos) << r.body;
    EXPECT_NE(results.find("SQLITE_READONLY"), std::string::npos) << r.body;  // attached read-only
    EXPECT_EQ(results.find("SQLITE_AUTH"), std::string::npos) << r.body;
    EXPECT_NE(results.find(R"("value":"1")"), std::string::npos) << r.body;  // the unquoted form
    // Not a namespace: still a file, refused by the file-system policy (SQLITE_AUTH).
    libsql::database main_db(s.url("default"), quick());
    auto c = main_db.connect();
    EXPECT_THROW(c.execute("ATTACH DATABASE 'nope' AS n"), libsql::auth_error);
    EXPECT_THROW(c.execute("ATTACH DATABASE '../other/data' AS n"), libsql::auth_error);
    EXPECT_THROW(c.execute("ATTACH DATABASE 'file:other?mode=ro' AS n"), libsql::auth_error);
    EXPECT_FALSE(fs::exists(fs::path(folder()) / "dbs" / "default" / "nope"));
}

TEST_F(server_namespaces, embedded_replicas_follow_their_own_namespace) {
    ns_server s(folder());
    ASSERT_EQ(admin_call(s, "POST", "/v1/namespaces/ns1/create").status, 200);
    libsql::database primary(s.url("ns1"), quick());
    auto p = primary.connect();
    p.execute("CREATE TABLE t(x)");
    p.execute("INSERT INTO t VALUES (1), (2)");
    // Our replica: /info, /export, /sync of ns1 (chosen by the sync URL's host), reads local, writes go to ns1.
    libsql::connect_options o = quick();
    o.sync_url = s.url("ns1");
    libsql::database replica(dir.file("ns1-replica.db"), o);
    (void)replica.sync();
    auto r = replica.connect();
    EXPECT_EQ(r.query_value<std::int64_t>("SELECT sum(x) FROM t"), 3);
    p.execute("INSERT INTO t VALUES (3)");
    (void)replica.sync();
    EXPECT_EQ(r.query_value<std::int64_t>("SELECT sum(x) FROM t"), 6);
    r.execute("INSERT INTO t VALUES (4)");  // through ns1's pipeline, read back after its sync
    EXPECT_EQ(r.query_value<std::int64_t>("SELECT sum(x) FROM t"), 10);
    EXPECT_EQ(p.query_value<std::int64_t>("SELECT sum(x) FROM t"), 10);
    // A replica of the default namespace has none of it.
    libsql::connect_options d = quick();
    d.sync_url = s.plain();
    libsql::database other(dir.file("default-replica.db"), d);
    (void)other.sync();
    EXPECT_EQ(other.connect().query_value<std::int64_t>("SELECT count(*) FROM sqlite_schema WHERE name = 't'"), 0);
}

TEST_F(server_namespaces, auth_applies_to_every_namespace) {
    temp_dir keys("server-ns-keys");
    const std::string gen = "node -e \"const c=require('crypto');const {publicKey}=c.generateKeyPairSync('ed25519');"
                            "require('fs').writeFileSync('" + keys.file("k.pem") +
                            "', publicKey.export({type:'spki',format:'pem'}))\"";
    if (std::system(gen.c_str()) != 0) GTEST_SKIP() << "node is needed to make a key";
    ns_server s(folder(), {"--auth-jwt-key-file", keys.file("k.pem")});
    // Without a token every namespace refuses, the same as without namespaces.
    const auto r = pipeline_with_host(s, "default.localhost", "SELECT 1");
    EXPECT_EQ(r.status, 401) << r.body;
}

} // namespace
