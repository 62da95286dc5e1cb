// The remote transport over Hrana-over-WebSocket (ws://) against `libsql serve` as a child process: faults (the
// server killed and restarted, streams the server refuses, tokens that expire, timeouts, interrupt()), many
// connections of one database sharing its one socket from several threads, huge results, and interop with
// @libsql/client@0.18.0 over ws://. The conformance suite runs the ordinary API over ws:// (remote_ws); this file
// is about what only a long-lived shared socket can get wrong.
#include "libsql/libsql.hpp"

#include "remote/remote.hpp"
#include "support/jwt.hpp"
#include "support/processes.hpp"
#include "support/temp_files.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <mutex>
#include <random>
#include <thread>

using namespace std::chrono_literals;

namespace {

using libsql::test::child_process;
using libsql::test::libsql_server;
using libsql::test::temp_dir;
namespace rs = libsql::detail::remote;

std::string ws_url(std::uint16_t port) { return "ws://127.0.0.1:" + std::to_string(port); }

/// `libsql serve` on a given port (to restart a server where its clients expect it).
std::unique_ptr<child_process> serve_on(const std::string& path, std::uint16_t port, std::vector<std::string> extra = {}) {
    std::vector<std::string> argv{libsql::test::libsql_cli_path(), "serve", path, "--listen",
                                  "127.0.0.1:" + std::to_string(port)};
    argv.insert(argv.end(), extra.begin(), extra.end());
    auto p = std::make_unique<child_process>(argv, true);
    const auto line = p->read_line();
    if (line.find("listening on") == std::string::npos) throw std::runtime_error("libsql serve did not start: " + line);
    return p;
}

/// Milliseconds since `start`.
long long ms_since(std::chrono::steady_clock::time_point start) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start).count();
}

/// A shared server for the tests that do not need their own.
class remote_ws : public ::testing::Test {
protected:
    static void SetUpTestSuite() {
        dir_ = new temp_dir("remote-ws");
        server_ = new libsql_server(dir_->file("ws.db"));
    }
    static void TearDownTestSuite() {
        delete server_;
        delete dir_;
        server_ = nullptr;
        dir_ = nullptr;
    }
    static std::string url() { return ws_url(server_->port()); }
    static std::uint16_t port() { return server_->port(); }
    /// A table name no other test uses.
    static std::string table(const char* base) {
        static std::atomic<int> n{0};
        return std::string(base) + "_" + std::to_string(++n);
    }

    static temp_dir* dir_;
    static libsql_server* server_;
};
temp_dir* remote_ws::dir_ = nullptr;
libsql_server* remote_ws::server_ = nullptr;

// ------------------------------------------------------------------------------------ (a) the server killed
TEST(remote_ws_failures, server_killed_mid_transaction_then_restarted) {
    temp_dir dir("remote-ws-kill");
    const auto path = dir.file("kill.db");
    const auto port = libsql::test::free_port();
    auto server = serve_on(path, port);
    libsql::database d(ws_url(port));
    auto c = d.connect();
    c.execute("CREATE TABLE t(x)");
    c.execute("INSERT INTO t VALUES (1)");
    c.execute("BEGIN");
    c.execute("INSERT INTO t VALUES (2)");
    EXPECT_FALSE(c.is_autocommit());
    server->kill_now();
    auto start = std::chrono::steady_clock::now();
    try {
        c.execute("INSERT INTO t VALUES (3)");
        FAIL() << "no exception";
    } catch (const libsql::connection_error& e) {
        // Reported as lost, not run again in autocommit mode behind the caller's back.
        EXPECT_NE(std::string(e.what()).find("transaction"), std::string::npos) << e.what();
        EXPECT_NE(std::string(e.what()).find("lost"), std::string::npos) << e.what();
        EXPECT_EQ(e.transport(), libsql::transport::remote);
        EXPECT_EQ(e.sql(), "INSERT INTO t VALUES (3)");
    }
    EXPECT_LT(ms_since(start), 5000);
    EXPECT_TRUE(c.is_autocommit());  // the transaction died with the server
    // Nothing listening: a prompt connection_error, on this connection and on a new one.
    start = std::chrono::steady_clock::now();
    EXPECT_THROW((void)c.query_value<int>("SELECT 1"), libsql::connection_error);
    EXPECT_THROW((void)d.connect().query_value<int>("SELECT 1"), libsql::connection_error);
    EXPECT_LT(ms_since(start), 5000);

    server = serve_on(path, port);
    // A new connection of the same database object reconnects; the killed transaction left nothing behind, and the
    // statement that failed was not sent again.
    auto fresh = d.connect();
    EXPECT_EQ(fresh.query_value<int>("SELECT count(*) FROM t"), 1);
    fresh.execute("INSERT INTO t VALUES (4)");
    // The old connection works again too, in autocommit mode.
    EXPECT_EQ(c.query_value<int>("SELECT count(*) FROM t"), 2);
    {
        auto tx = c.transaction();
        c.execute("INSERT INTO t VALUES (5)");
        tx.commit();
    }
    EXPECT_EQ(fresh.query_value<std::string>("SELECT group_concat(x) FROM (SELECT x FROM t ORDER BY x)"), "1,4,5");
}

TEST(remote_ws_failures, killed_while_a_write_runs_and_between_autocommit_statements) {
    temp_dir dir("remote-ws-kill2");
    const auto path = dir.file("kill.db");
    const auto port = libsql::test::free_port();
    auto server = serve_on(path, port);
    libsql::database d(ws_url(port));
    auto c = d.connect();
    c.execute("CREATE TABLE t(x)");
    c.execute("INSERT INTO t VALUES (1)");
    // Restarted between two autocommit statements: the dead socket is noticed and replaced, and the statement runs
    // once on the new one.
    server->kill_now();
    server = serve_on(path, port);
    std::this_thread::sleep_for(100ms);
    c.execute("INSERT INTO t VALUES (2)");
    EXPECT_EQ(c.query_value<int>("SELECT count(*) FROM t"), 2);
    // Killed while a write runs: a connection_error saying the outcome is unknown, and the write is not sent again.
    auto big = c.prepare("CREATE TABLE big AS WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n WHERE x < 20000000) "
                         "SELECT x FROM n");
    std::thread killer([&] {
        std::this_thread::sleep_for(300ms);
        server->kill_now();
    });
    const auto start = std::chrono::steady_clock::now();
    try {
        big.execute();
        ADD_FAILURE() << "no exception";
    } catch (const libsql::connection_error& e) {
        EXPECT_NE(e.sql().find("CREATE TABLE big"), std::string::npos);
        EXPECT_NE(std::string(e.what()).find("may or may not"), std::string::npos) << e.what();
    }
    killer.join();
    EXPECT_LT(ms_since(start), 5000);
    server = serve_on(path, port);
    EXPECT_EQ(c.query_value<int>("SELECT count(*) FROM sqlite_master WHERE name = 'big'"), 0);
    EXPECT_EQ(c.query_value<int>("SELECT count(*) FROM t"), 2);
    // A read in flight when the server dies: a connection_error, promptly (servers are started from this thread
    // only: a child dies with the thread that forked it).
    auto slow_read = c.prepare("WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n WHERE x < 30000000) "
                               "SELECT count(*) FROM n");
    std::thread killer2([&] {
        std::this_thread::sleep_for(200ms);
        server->kill_now();
    });
    const auto read_start = std::chrono::steady_clock::now();
    EXPECT_THROW((void)slow_read.query().one_value<std::int64_t>(), libsql::connection_error);
    killer2.join();
    EXPECT_LT(ms_since(read_start), 5000);
    server = serve_on(path, port);
    EXPECT_EQ(c.query_value<int>("SELECT count(*) FROM t"), 2);
    EXPECT_EQ(slow_read.query().one_value<std::int64_t>(), 30000000);
}

// ---------------------------------------------------------------- (b) many connections of one database, threads
TEST_F(remote_ws, connections_of_one_database_work_concurrently_from_threads) {
    libsql::connect_options o;
    const auto db = rs::open(url(), o);
    ASSERT_NE(db->ws(), nullptr);
    const std::string t = table("share");
    libsql::connection setup(db->connect());
    setup.execute("CREATE TABLE " + t + "(thread INTEGER, i INTEGER, v TEXT, PRIMARY KEY (thread, i))");

    constexpr int threads = 8;
    constexpr int per_thread = 200;
    std::atomic<int> failures{0};
    std::mutex m;
    std::string first_failure;
    std::vector<std::thread> pool;
    for (int th = 0; th < threads; ++th) {
        pool.emplace_back([&, th] {
            try {
                libsql::connection c(db->connect());
                for (int i = 0; i < per_thread; ++i) {
                    const std::string v = "t" + std::to_string(th) + "-" + std::to_string(i);
                    if (i % 4 == 0) {
                        c.execute("INSERT INTO " + t + " VALUES (?, ?, ?)", th, i, v);
                    } else if (i % 4 == 1) {
                        // Read back what this thread wrote one statement ago.
                        const auto got = c.query_value<std::string>("SELECT v FROM " + t + " WHERE thread = ? AND i = ?", th, i - 1);
                        if (got != "t" + std::to_string(th) + "-" + std::to_string(i - 1)) throw std::runtime_error("read " + got);
                        c.execute("INSERT INTO " + t + " VALUES (?, ?, ?)", th, i, v);
                    } else if (i % 4 == 2) {
                        // An interactive transaction on this connection's stream, interleaved with the others'.
                        auto tx = c.transaction();
                        c.execute("INSERT INTO " + t + " VALUES (?, ?, ?)", th, i, v);
                        if (c.is_autocommit()) throw std::runtime_error("not in a transaction");
                        const auto mine = c.query_value<std::int64_t>("SELECT count(*) FROM " + t + " WHERE thread = ?", th);
                        if (mine != i + 1) throw std::runtime_error("counted " + std::to_string(mine) + " at " + std::to_string(i));
                        tx.commit();
                    } else {
                        const auto r = c.query_row("SELECT ? + 1, ?, length(?)", i, v, v);
                        if (r.get<std::int64_t>(0) != i + 1 || r.get<std::string>(1) != v ||
                            r.get<std::int64_t>(2) != static_cast<std::int64_t>(v.size()))
                            throw std::runtime_error("echo mismatch at " + std::to_string(i));
                        c.execute("INSERT INTO " + t + " VALUES (?, ?, ?)", th, i, v);
                    }
                }
            } catch (const std::exception& e) {
                ++failures;
                std::lock_guard lk(m);
                if (first_failure.empty()) first_failure = "thread " + std::to_string(th) + ": " + e.what();
            }
        });
    }
    for (auto& th : pool) th.join();
    EXPECT_EQ(failures.load(), 0) << first_failure;
    EXPECT_EQ(setup.query_value<int>("SELECT count(*) FROM " + t), threads * per_thread);
    EXPECT_EQ(setup.query_value<int>("SELECT count(DISTINCT v) FROM " + t), threads * per_thread);
    // One socket per live connection (the server runs one message of a socket at a time: connections sharing one
    // would wait behind each other, and a COMMIT behind a statement waiting for that transaction's lock), the
    // probe's reused by the first; the sockets of closed connections serve the next ones.
    EXPECT_LE(db->ws_clients_made(), static_cast<std::uint64_t>(threads + 1));
    const auto made = db->ws_clients_made();
    for (int i = 0; i < threads; ++i) EXPECT_EQ(libsql::connection(db->connect()).query_value<int>("SELECT ?", i), i);
    EXPECT_EQ(db->ws_clients_made(), made);
}

// --------------------------------------------------------------------- (c) what the server refuses or expires
TEST(remote_ws_streams, idle_transactions_outlive_the_http_stream_expiry) {
    // Over WebSocket a stream lives as long as its socket (as in sqld): --stream-expiry is for HTTP batons.
    temp_dir dir("remote-ws-expiry");
    libsql_server server(dir.file("exp.db"), {"--stream-expiry", "0.3"});
    libsql::database d(ws_url(server.port()));
    auto c = d.connect();
    c.execute("CREATE TABLE t(x)");
    auto tx = c.transaction(libsql::transaction_behavior::immediate);
    c.execute("INSERT INTO t VALUES (1)");
    std::this_thread::sleep_for(1200ms);  // expiry 0.3 s, swept every 0.5 s
    c.execute("INSERT INTO t VALUES (2)");
    tx.commit();
    EXPECT_EQ(c.query_value<int>("SELECT count(*) FROM t"), 2);
    // The same over HTTP expires, for contrast (so the option did take effect).
    libsql::database h(server.url());
    auto hc = h.connect();
    auto htx = hc.transaction();
    hc.execute("INSERT INTO t VALUES (3)");
    std::this_thread::sleep_for(1200ms);
    EXPECT_THROW(hc.execute("INSERT INTO t VALUES (4)"), libsql::timeout);
}

TEST(remote_ws_streams, a_stream_the_server_refuses_is_a_typed_error_and_the_connection_recovers) {
    // --max-streams 2: a third connection's stream (opened with its first request) is refused with STREAM_LIMIT.
    temp_dir dir("remote-ws-limit");
    libsql_server server(dir.file("limit.db"), {"--max-streams", "2"});
    libsql::database d(ws_url(server.port()));
    auto a = d.connect();
    auto b = d.connect();
    a.execute("CREATE TABLE t(x)");
    b.execute("INSERT INTO t VALUES (1)");
    auto c = d.connect();
    try {
        c.execute("INSERT INTO t VALUES (2)");
        FAIL() << "no exception";
    } catch (const libsql::error& e) {
        EXPECT_EQ(e.hrana_code(), "STREAM_LIMIT") << e.what();
        EXPECT_EQ(e.transport(), libsql::transport::remote);
    }
    EXPECT_TRUE(c.is_autocommit());
    // Nothing ran, and the socket is fine for the other connections.
    EXPECT_EQ(a.query_value<int>("SELECT count(*) FROM t"), 1);
    // Once another connection closes its stream, the refused one works (close() does not wait for the server:
    // the stream is freed a moment later).
    b.close();
    const auto deadline = std::chrono::steady_clock::now() + 3s;
    for (;;) {
        try {
            c.execute("INSERT INTO t VALUES (2)");
            break;
        } catch (const libsql::error& e) {
            ASSERT_EQ(e.hrana_code(), "STREAM_LIMIT") << e.what();
            ASSERT_LT(std::chrono::steady_clock::now(), deadline) << "the closed stream was never freed";
            std::this_thread::sleep_for(10ms);
        }
    }
    EXPECT_EQ(c.query_value<int>("SELECT count(*) FROM t"), 2);
}

std::string node_env() { return "/usr/bin/env"; }

struct jwt_material {
    std::string key_file;
    std::string soon;   ///< expires 2 s after it was made
    std::string valid;  ///< for an hour
};

/// An Ed25519 key pair and signed tokens (support/jwt.hpp).
jwt_material make_jwts(const temp_dir& dir) {
    jwt_material m;
    m.key_file = dir.file("jwt_key.pem");
    const auto t = libsql::test::make_signed_tokens(m.key_file, {"{exp:now+2}", "{exp:now+3600}"});
    m.soon = t[0];
    m.valid = t[1];
    return m;
}

TEST(remote_ws_streams, a_session_whose_token_expires_fails_with_auth_error) {
    temp_dir dir("remote-ws-jwt");
    const auto keys = make_jwts(dir);
    ASSERT_FALSE(keys.soon.empty());
    libsql_server server(dir.file("jwt.db"), {"--auth-jwt-key-file", keys.key_file});
    libsql::connect_options o;
    o.auth_token = keys.soon;
    libsql::database d(ws_url(server.port()), o);
    auto c = d.connect();
    c.execute("CREATE TABLE t(x)");
    c.execute("INSERT INTO t VALUES (1)");
    std::this_thread::sleep_for(3200ms);  // the token's exp passes (whole seconds)
    const auto start = std::chrono::steady_clock::now();
    try {
        c.execute("INSERT INTO t VALUES (2)");
        FAIL() << "no exception";
    } catch (const libsql::auth_error& e) {
        EXPECT_EQ(e.hrana_code(), "UNAUTHORIZED") << e.what();
    }
    EXPECT_LT(ms_since(start), 5000);
    EXPECT_THROW((void)d.connect().query_value<int>("SELECT 1"), libsql::auth_error);
    // A database with a good token sees that the refused write did not run.
    libsql::connect_options good;
    good.auth_token = keys.valid;
    libsql::database fresh(ws_url(server.port()), good);
    EXPECT_EQ(fresh.connect().query_value<int>("SELECT count(*) FROM t"), 1);
}

// ---------------------------------------------------------------------------------------- (d) huge results
TEST_F(remote_ws, fifty_thousand_rows_arrive_intact) {
    auto c = libsql::database(url()).connect();
    constexpr std::int64_t total = 50'000;
    const auto sql = "WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n WHERE x < ?) "
                     "SELECT x, printf('row %08d', x), x * 0.5 FROM n";
    auto check = [&](libsql::connection& conn) {
        std::int64_t n = 0, sum = 0;
        for (auto r : conn.query(sql, total)) {
            ++n;
            const auto x = r.get<std::int64_t>(0);
            sum += x;
            char expect[32];
            std::snprintf(expect, sizeof expect, "row %08lld", static_cast<long long>(x));
            if (r.get<std::string_view>(1) != expect || r.get<double>(2) != static_cast<double>(x) * 0.5) {
                ADD_FAILURE() << "row " << n << " is wrong";
                return;
            }
        }
        EXPECT_EQ(n, total);
        EXPECT_EQ(sum, total * (total + 1) / 2);
    };
    check(c);
    // Inside a transaction (the cursor on the connection's stream), with statements interleaved at the end.
    auto tx = c.transaction();
    check(c);
    EXPECT_EQ(c.query_value<int>("SELECT 5"), 5);
    tx.commit();
}

TEST_F(remote_ws, a_ten_megabyte_blob_arrives_intact) {
    auto c = libsql::database(url()).connect();
    const std::string t = table("blob");
    c.execute("CREATE TABLE " + t + "(b BLOB)");
    c.execute("INSERT INTO " + t + " VALUES (randomblob(10 * 1024 * 1024))");
    const auto blob = c.query_value<std::vector<std::byte>>("SELECT b FROM " + t);
    ASSERT_EQ(blob.size(), 10u * 1024 * 1024);
    // The same bytes a second way (20 MB of hex text), checked against the blob byte for byte.
    const auto hex = c.query_value<std::string>("SELECT hex(b) FROM " + t);
    ASSERT_EQ(hex.size(), 2 * blob.size());
    static constexpr char digits[] = "0123456789ABCDEF";
    std::size_t bad = 0;
    for (std::size_t i = 0; i < blob.size(); ++i) {
        const auto v = static_cast<unsigned>(blob[i]);
        bad += hex[2 * i] != digits[v >> 4] || hex[2 * i + 1] != digits[v & 15];
    }
    EXPECT_EQ(bad, 0u);
    // A blob sent as an argument (4 MB, under the server's 10 MB message limit) comes back as sent.
    std::vector<std::byte> sent(4u << 20);
    std::mt19937 rng(42);
    for (auto& b : sent) b = static_cast<std::byte>(rng());
    c.execute("INSERT INTO " + t + " VALUES (?)", sent);
    EXPECT_EQ(c.query_value<std::vector<std::byte>>("SELECT b FROM " + t + " WHERE length(b) = ?",
                                                    static_cast<std::int64_t>(sent.size())),
              sent);
}

TEST(remote_ws_limits, a_message_over_the_server_limit_is_a_typed_error_and_the_connection_recovers) {
    temp_dir dir("remote-ws-big");
    libsql_server server(dir.file("big.db"), {"--max-body-bytes", "1048576"});
    libsql::database d(ws_url(server.port()));
    auto c = d.connect();
    c.execute("CREATE TABLE t(b BLOB)");
    std::vector<std::byte> big(2u << 20, std::byte{7});
    const auto start = std::chrono::steady_clock::now();
    try {
        c.execute("INSERT INTO t VALUES (?)", big);
        FAIL() << "no exception";
    } catch (const libsql::error& e) {
        EXPECT_TRUE(dynamic_cast<const libsql::connection_error*>(&e) != nullptr ||
                    dynamic_cast<const libsql::too_big*>(&e) != nullptr)
            << e.what();
    }
    EXPECT_LT(ms_since(start), 5000);
    EXPECT_EQ(c.query_value<int>("SELECT count(*) FROM t"), 0);
    c.execute("INSERT INTO t VALUES (?)", std::vector<std::byte>(1000, std::byte{1}));
    EXPECT_EQ(c.query_value<int>("SELECT count(*) FROM t"), 1);
}

// ------------------------------------------------------------------------------- (e) timeouts and interrupt
constexpr const char* slow_sql =
    "WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n WHERE x < 40000000) SELECT sum(x) FROM n";

TEST_F(remote_ws, a_request_timeout_fires_and_the_database_carries_on) {
    libsql::connect_options o;
    o.request_timeout = 300ms;
    libsql::database d(url(), o);
    auto c = d.connect();
    auto other = d.connect();
    EXPECT_EQ(other.query_value<int>("SELECT 1"), 1);
    auto start = std::chrono::steady_clock::now();
    EXPECT_THROW((void)c.query_value<std::int64_t>(slow_sql), libsql::timeout);
    EXPECT_LT(ms_since(start), 3000);
    // The statement does not keep running behind the next requests: they answer at once, on this connection and
    // on the others of the database (they share the socket).
    start = std::chrono::steady_clock::now();
    EXPECT_EQ(c.query_value<int>("SELECT 9"), 9);
    EXPECT_EQ(other.query_value<int>("SELECT 8"), 8);
    EXPECT_LT(ms_since(start), 1000);
    // Inside a transaction the timeout loses the stream, and says so.
    c.execute("BEGIN");
    try {
        (void)c.query_value<std::int64_t>(slow_sql);
        FAIL() << "no exception";
    } catch (const libsql::timeout& e) {
        EXPECT_NE(std::string(e.what()).find("lost"), std::string::npos) << e.what();
    }
    EXPECT_TRUE(c.is_autocommit());
    EXPECT_EQ(c.query_value<int>("SELECT 7"), 7);
}

TEST_F(remote_ws, interrupt_from_another_thread) {
    libsql::database d(url());
    auto c = d.connect();
    auto other = d.connect();
    EXPECT_EQ(other.query_value<int>("SELECT 1"), 1);
    auto st = c.prepare(slow_sql);
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
    auto start = std::chrono::steady_clock::now();
    EXPECT_THROW((void)st.query().one_value<std::int64_t>(), libsql::interrupted);
    const auto took = ms_since(start);
    finished = true;
    stopper.join();
    EXPECT_GE(interrupts.load(), 1);
    EXPECT_LT(took, 2000);
    // The connection and its siblings carry on at once: the statement stopped on the server.
    start = std::chrono::steady_clock::now();
    EXPECT_EQ(c.query_value<int>("SELECT 9"), 9);
    EXPECT_EQ(other.query_value<int>("SELECT 8"), 8);
    EXPECT_LT(ms_since(start), 1000);
    // An interrupt with nothing in flight does not poison the next request.
    c.interrupt();
    EXPECT_EQ(c.query_value<int>("SELECT 6"), 6);
}

// --------------------------------------------------------------------------- (f) @libsql/client over ws://
TEST_F(remote_ws, the_official_client_writes_and_libsql_cpp_reads) {
    const std::string module = std::string(LIBSQL_NPM_DIR) + "/node_modules/@libsql/client/lib-cjs/node.js";
    if (!std::filesystem::exists(module)) GTEST_SKIP() << "@libsql/client not installed (scripts/setup)";
    const std::string t = table("interop");
    const std::string script =
        "const {createClient}=require(process.argv[1]);"
        "(async()=>{const c=createClient({url:process.argv[2]});const t=process.argv[3];"
        "await c.execute(`CREATE TABLE ${t}(i INTEGER, s TEXT, r REAL, b BLOB)`);"
        "const tx=await c.transaction('write');"
        "for(let i=1n;i<=50n;++i)await tx.execute({sql:`INSERT INTO ${t} VALUES (?, ?, ?, ?)`,"
        "args:[i,'text '+i+' é',Number(i)/4,new Uint8Array([Number(i),0,255])]});"
        "await tx.commit();"
        "await c.batch([`INSERT INTO ${t} VALUES (1000, NULL, NULL, NULL)`],'write');"
        "const r=await c.execute(`SELECT count(*) AS n FROM ${t}`);console.log('ok '+r.rows[0].n);c.close();"
        "})().catch(e=>{console.log('err '+e.message);process.exit(0)});";
    child_process node({node_env(), "node", "-e", script, module, url(), t}, true);
    const auto answer = node.read_line();
    node.stop(SIGTERM, 10s);
    ASSERT_EQ(answer, "ok 51");
    auto c = libsql::database(url()).connect();
    int n = 0;
    for (auto r : c.query("SELECT i, s, r, b FROM " + t + " WHERE i < 1000 ORDER BY i")) {
        ++n;
        EXPECT_EQ(r.get<std::int64_t>(0), n);
        EXPECT_EQ(r.get<std::string>(1), "text " + std::to_string(n) + " é");
        EXPECT_EQ(r.get<double>(2), n / 4.0);
        EXPECT_EQ(r.get<std::vector<std::byte>>(3),
                  (std::vector<std::byte>{static_cast<std::byte>(n), std::byte{0}, std::byte{255}}));
    }
    EXPECT_EQ(n, 50);
    EXPECT_FALSE(c.query_value<std::optional<std::string>>("SELECT s FROM " + t + " WHERE i = 1000").has_value());
}

} // namespace

// ------------------------------------------------------------------------------------ choosing WebSocket by URL
/// Whether connections of `d` keep connection state between statements (one stream per connection: WebSocket),
/// seen through a temporary table, which over HTTP lives only as long as one request's stream.
bool keeps_connection_state(libsql::database& d, const std::string& name) {
    auto c = d.connect();
    c.execute("CREATE TEMP TABLE " + name + "(x)");
    try {
        c.execute("INSERT INTO " + name + " VALUES (1)");
        return c.query_value<std::int64_t>("SELECT count(*) FROM " + name) == 1;
    } catch (const libsql::sql_error&) {
        return false;  // no such table: the next statement ran on a fresh stream
    }
}

TEST_F(remote_ws, libsql_urls_pick_websocket_by_query_parameter_or_option) {
    const std::string base = "libsql://127.0.0.1:" + std::to_string(port());
    {
        libsql::database d(base + "?tls=0");  // HTTP by default, as @libsql/client on Node
        EXPECT_FALSE(keeps_connection_state(d, table("tmp")));
    }
    {
        libsql::database d(base + "?tls=0&transport=ws");
        EXPECT_TRUE(keeps_connection_state(d, table("tmp")));
    }
    {
        libsql::connect_options o;
        o.protocol = libsql::remote_protocol::websocket;
        libsql::database d(base + "?tls=0", o);
        EXPECT_TRUE(keeps_connection_state(d, table("tmp")));
    }
    {
        libsql::connect_options o;
        o.protocol = libsql::remote_protocol::http;
        libsql::database d(url(), {});  // ws:// is WebSocket whatever the default
        EXPECT_TRUE(keeps_connection_state(d, table("tmp")));
        EXPECT_THROW(libsql::database(url(), o), libsql::usage_error);  // ws:// cannot be HTTP
    }
    const std::string http = "http://127.0.0.1:" + std::to_string(port());
    EXPECT_THROW(libsql::database(http + "?transport=ws"), libsql::usage_error);
    EXPECT_THROW(libsql::database(base + "?tls=0&transport=carrier-pigeon"), libsql::usage_error);
}

// ------------------------------------------------------------------------------------ encodings
/// The same work over a database opened one way or another: statements, a batch, a transaction, a cursor.
void run_the_same_work(libsql::connection& c, const std::string& t) {
    c.execute("CREATE TABLE " + t + "(k INTEGER PRIMARY KEY, v)");
    c.execute_transactional_batch("INSERT INTO " + t + " VALUES (1, 'a'); INSERT INTO " + t + " VALUES (2, x'00ff');");
    EXPECT_THROW(c.execute_transactional_batch("INSERT INTO " + t + " VALUES (3, 'c'); INSERT INTO " + t +
                                               " VALUES (1, 'dup');"),
                 libsql::constraint_violation);
    {
        auto tx = c.transaction();
        c.execute("INSERT INTO " + t + " VALUES (?, ?)", 4, 2.5);
        tx.commit();
    }
    EXPECT_EQ(c.query_value<std::int64_t>("SELECT count(*) FROM " + t), 3);
    EXPECT_EQ(c.query_row("SELECT v FROM " + t + " WHERE k = 2").get<std::vector<std::uint8_t>>(0),
              (std::vector<std::uint8_t>{0x00, 0xff}));
    auto rs = c.query("WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 5000) SELECT i FROM n");
    EXPECT_EQ(rs.skip_all(), 5000u);
    EXPECT_THROW(c.execute("SELECT * FROM no_such_table"), libsql::sql_error);
}

TEST_F(remote_ws, protobuf_is_spoken_when_the_server_offers_it_and_json_otherwise) {
    auto pb = rs::open(url(), {});
    ASSERT_NE(pb->ws(), nullptr);
    EXPECT_EQ(pb->ws()->subprotocol(), "hrana3-protobuf");
    libsql::connection a(pb->connect());
    run_the_same_work(a, table("pb"));

    auto json = rs::open_as(url(), {}, rs::server_kind::hrana3);  // offers hrana3 (JSON) only
    EXPECT_EQ(json->ws()->subprotocol(), "hrana3");
    libsql::connection b(json->connect());
    run_the_same_work(b, table("json"));

    auto v2 = rs::open_as(url(), {}, rs::server_kind::hrana2);
    EXPECT_EQ(v2->ws()->subprotocol(), "hrana2");
    libsql::connection c(v2->connect());
    c.execute("CREATE TABLE " + table("v2") + "(x)");
    EXPECT_EQ(c.query_value<std::int64_t>("SELECT 40 + 2"), 42);
}
