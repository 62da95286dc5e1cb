// The HTTP layer (src/remote/http.hpp) against a real `libsql serve`, plus a tiny raw-socket server for the failure
// shapes a real server does not produce on demand (a connection dropped mid-response or after reading a request).
#include "remote/http.hpp"

#include "support/processes.hpp"
#include "support/temp_files.hpp"

#include <gtest/gtest.h>

#include <poll.h>

#include <atomic>
#include <chrono>
#include <fstream>
#include <functional>
#include <thread>

namespace {

using namespace std::chrono_literals;
namespace http = libsql::detail::http;
using libsql::test::libsql_server;
using libsql::test::temp_db_file;

std::string pipeline_body(const std::string& sql) {
    return R"({"baton":null,"requests":[{"type":"execute","stmt":{"sql":")" + sql +
           R"("}},{"type":"close"}]})";
}

std::string cursor_body(const std::string& sql) {
    return R"({"baton":null,"batch":{"steps":[{"stmt":{"sql":")" + sql + R"("}}]}})";
}

// Counts to `bound` on the server: a request that keeps the server busy for a while.
std::string slow_sql(long long bound) {
    return "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x+1 FROM c WHERE x < " + std::to_string(bound) +
           ") SELECT count(*) FROM c";
}

// The numbers 1..n, one row each.
std::string rows_sql(long long n) {
    return "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x+1 FROM c WHERE x < " + std::to_string(n) +
           ") SELECT x FROM c";
}

std::string base(const libsql_server& s) { return http::normalize_base_url(s.url()); }

#if defined(__SANITIZE_ADDRESS__)
constexpr bool asan_build = true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
constexpr bool asan_build = true;
#else
constexpr bool asan_build = false;
#endif
#else
constexpr bool asan_build = false;
#endif

/// Resident memory of this process in KiB (VmRSS), for the bounded-memory check.
long rss_kib() {
    std::ifstream in("/proc/self/status");
    std::string key;
    while (in >> key) {
        if (key == "VmRSS:") {
            long v = 0;
            in >> v;
            return v;
        }
        std::getline(in, key);
    }
    return -1;
}

// ---- normalize_base_url ----------------------------------------------------------------------------------------

TEST(HttpNormalizeBaseUrl, SchemesAndSlashes) {
    EXPECT_EQ(http::normalize_base_url("libsql://db-org.turso.io"), "https://db-org.turso.io/");
    EXPECT_EQ(http::normalize_base_url("libsql://127.0.0.1:8080?tls=0"), "http://127.0.0.1:8080/");
    EXPECT_EQ(http::normalize_base_url("libsql://h?authToken=x&tls=1"), "https://h/");
    EXPECT_EQ(http::normalize_base_url("LIBSQL://h"), "https://h/");
    EXPECT_EQ(http::normalize_base_url("http://127.0.0.1:8080"), "http://127.0.0.1:8080/");
    EXPECT_EQ(http::normalize_base_url("https://h/"), "https://h/");
    EXPECT_EQ(http::normalize_base_url("ws://h:8080"), "http://h:8080/");
    EXPECT_EQ(http::normalize_base_url("wss://h"), "https://h/");
    EXPECT_EQ(http::normalize_base_url("http://h/db/path"), "http://h/db/path/");
    EXPECT_EQ(http::normalize_base_url("http://h/db/path/?authToken=abc#frag"), "http://h/db/path/");
    EXPECT_EQ(http::normalize_base_url("http://h#frag"), "http://h/");
    EXPECT_EQ(http::normalize_base_url("http://[::1]:8080"), "http://[::1]:8080/");
    EXPECT_EQ(http::normalize_base_url("https://user:pw@h:443/x"), "https://user:pw@h:443/x/");
}

TEST(HttpNormalizeBaseUrl, Rejects) {
    for (const char* bad : {"", "h:8080", "file:/tmp/x.db", "ftp://h/", "http://", "http:///path", "http://:80/",
                            "libsql://h?tls=yes", "http://h:80x/", "http://h /", "http://user@/"}) {
        EXPECT_THROW((void)http::normalize_base_url(bad), libsql::usage_error) << bad;
    }
}

// ---- against libsql serve --------------------------------------------------------------------------------------

class HttpClientServer : public ::testing::Test {
protected:
    static void SetUpTestSuite() {
        db_ = new temp_db_file("http-client");
        server_ = new libsql_server(db_->path());
    }
    static void TearDownTestSuite() {
        server_->process().kill_now();  // no grace: the slow queries the interrupt tests left may still run
        delete server_;
        delete db_;
        server_ = nullptr;
        db_ = nullptr;
    }
    static temp_db_file* db_;
    static libsql_server* server_;
};
temp_db_file* HttpClientServer::db_ = nullptr;
libsql_server* HttpClientServer::server_ = nullptr;

TEST_F(HttpClientServer, HealthAndVersionProbe) {
    http::client c{http::options{}};
    const auto health = c.request("GET", base(*server_) + "health", "", http::retry::idempotent);
    EXPECT_EQ(health.status, 200);
    EXPECT_TRUE(health.body.empty());
    const auto v2 = c.request("GET", base(*server_) + "v2", "", http::retry::idempotent);
    EXPECT_EQ(v2.status, 200);
    EXPECT_NE(v2.body.find("HTTP API v2"), std::string::npos) << v2.body;
    EXPECT_EQ(v2.content_type, "text/plain");
    const auto missing = c.request("GET", base(*server_) + "no/such/path", "", http::retry::idempotent);
    EXPECT_EQ(missing.status, 404);
}

TEST_F(HttpClientServer, PipelineSelect) {
    http::client c{http::options{}};
    for (const auto policy : {http::retry::if_unsent, http::retry::idempotent}) {
        const auto r =
            c.request("POST", base(*server_) + "v2/pipeline", pipeline_body("SELECT 40 + 2 AS answer"), policy);
        ASSERT_EQ(r.status, 200) << r.body;
        EXPECT_EQ(r.content_type, "application/json");
        EXPECT_NE(r.body.find(R"("type":"integer","value":"42")"), std::string::npos) << r.body;
        EXPECT_NE(r.body.find("answer"), std::string::npos);
    }
    // A protocol error is a status, not an exception.
    const auto bad = c.request("POST", base(*server_) + "v2/pipeline", "{not json", http::retry::if_unsent);
    EXPECT_GE(bad.status, 400);
    EXPECT_FALSE(bad.body.empty());
}

TEST_F(HttpClientServer, KeepAliveReusesOneConnection) {
    http::client c{http::options{}};
    const std::string url = base(*server_) + "v2/pipeline";
    for (int i = 0; i < 50; ++i) {
        const auto r = c.request("POST", url, pipeline_body("SELECT " + std::to_string(i)),
                                 i % 2 ? http::retry::if_unsent : http::retry::idempotent);
        ASSERT_EQ(r.status, 200);
        ASSERT_NE(r.body.find(R"("value":")" + std::to_string(i) + R"(")"), std::string::npos);
    }
    EXPECT_EQ(c.connections_opened(), 1u);
}

TEST_F(HttpClientServer, InterruptFromAnotherThread) {
    http::client c{http::options{}};
    const std::string url = base(*server_) + "v2/pipeline";
    // A few seconds of server work: the interrupt must not wait for it.
    const std::string body = pipeline_body(slow_sql(40'000'000));
    std::atomic<bool> fired{false};
    std::chrono::steady_clock::time_point fired_at;
    std::thread killer([&] {
        std::this_thread::sleep_for(300ms);
        fired_at = std::chrono::steady_clock::now();
        fired = true;
        c.interrupt();
    });
    try {
        (void)c.request("POST", url, body, http::retry::if_unsent);
        killer.join();
        FAIL() << "the request finished despite interrupt()";
    } catch (const libsql::interrupted& e) {
        const auto caught = std::chrono::steady_clock::now();
        killer.join();
        ASSERT_TRUE(fired.load());
        EXPECT_LT(caught - fired_at, 1500ms);
        EXPECT_NE(std::string(e.what()).find(url), std::string::npos) << e.what();
    }
    // The next request works normally.
    const auto r = c.request("POST", url, pipeline_body("SELECT 7"), http::retry::if_unsent);
    EXPECT_EQ(r.status, 200);
    EXPECT_NE(r.body.find(R"("value":"7")"), std::string::npos);
    // An interrupt with nothing in flight does not poison the next request.
    c.interrupt();
    EXPECT_EQ(c.request("GET", base(*server_) + "health", "", http::retry::idempotent).status, 200);
}

TEST_F(HttpClientServer, RequestTimeout) {
    http::options o;
    o.request_timeout = 300ms;
    http::client c{o};
    const auto start = std::chrono::steady_clock::now();
    EXPECT_THROW((void)c.request("POST", base(*server_) + "v2/pipeline", pipeline_body(slow_sql(40'000'000)),
                                 http::retry::if_unsent),
                 libsql::timeout);
    EXPECT_LT(std::chrono::steady_clock::now() - start, 5s);
    EXPECT_EQ(c.request("GET", base(*server_) + "health", "", http::retry::idempotent).status, 200);
}

TEST_F(HttpClientServer, StreamTimeoutWaitingForTheServer) {
    http::options o;
    o.request_timeout = 300ms;
    http::client c{o};
    const auto start = std::chrono::steady_clock::now();
    // The server may send the cursor's head (with the baton) before the statement runs, so the wait can be for the
    // head or for the first entry: either way the client gives up after request_timeout.
    EXPECT_THROW(
        {
            auto r = c.request_stream("POST", base(*server_) + "v3/cursor", cursor_body(slow_sql(40'000'000)),
                                      http::retry::idempotent);
            std::string l;
            while (r->next_line(l)) {
            }
        },
        libsql::timeout);
    EXPECT_LT(std::chrono::steady_clock::now() - start, 5s);
    // A stream slower to read than request_timeout is fine: the limit is on the server, not on the reader.
    http::options patient;
    patient.request_timeout = 2000ms;
    http::client slow_reader{patient};
    auto reader = slow_reader.request_stream("POST", base(*server_) + "v3/cursor", cursor_body(rows_sql(20000)),
                                             http::retry::idempotent);
    std::string line;
    ASSERT_TRUE(reader->next_line(line));
    std::this_thread::sleep_for(2200ms);
    int rows = 0;
    while (reader->next_line(line)) rows += line.find(R"("type":"row")") != std::string::npos;
    EXPECT_EQ(rows, 20000);
}

TEST_F(HttpClientServer, StreamLargeCursorWithBoundedMemory) {
    http::client c{http::options{}};
    constexpr long long n = 300'000;
    const std::string sql =
        "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x+1 FROM c WHERE x < " + std::to_string(n) +
        ") SELECT x, 'some padding text to make the rows wider' AS pad FROM c";
    auto reader = c.request_stream("POST", base(*server_) + "v3/cursor", cursor_body(sql), http::retry::idempotent);
    ASSERT_EQ(reader->status(), 200);
    // While the reader is open, the client refuses other requests.
    EXPECT_THROW((void)c.request("GET", base(*server_) + "health", "", http::retry::idempotent), libsql::usage_error);

    const long rss_before = rss_kib();
    long rss_peak = rss_before;
    std::string line;
    long long rows = 0;
    std::size_t bytes = 0;
    bool saw_begin = false, saw_end = false;
    ASSERT_TRUE(reader->next_line(line));
    EXPECT_NE(line.find("baton"), std::string::npos) << line;
    while (reader->next_line(line)) {
        bytes += line.size() + 1;
        if (line.find(R"("type":"row")") != std::string::npos) {
            ++rows;
            if (rows % 20'000 == 0) rss_peak = std::max(rss_peak, rss_kib());
        } else if (line.find("step_begin") != std::string::npos) {
            saw_begin = true;
        } else if (line.find("step_end") != std::string::npos) {
            saw_end = true;
        }
    }
    EXPECT_TRUE(saw_begin);
    EXPECT_TRUE(saw_end);
    EXPECT_EQ(rows, n);
    EXPECT_GT(bytes, 20u << 20);  // a body far larger than the bound below
    // Buffering the body whole would grow by more than `bytes`. ASan's quarantine keeps freed blocks resident, so
    // there only that coarser bound holds.
    const long bound_kib = asan_build ? static_cast<long>(bytes / 1024 / 2) : 8 * 1024;
    EXPECT_LT(rss_peak - rss_before, bound_kib) << "KiB grown while streaming " << bytes << " bytes";
    EXPECT_FALSE(reader->next_line(line));
    reader.reset();
    EXPECT_EQ(c.request("GET", base(*server_) + "health", "", http::retry::idempotent).status, 200);
    EXPECT_EQ(c.connections_opened(), 1u);  // a fully read stream leaves the connection reusable
}

TEST_F(HttpClientServer, StreamReadSomeAndAbandon) {
    http::client c{http::options{}};
    const std::string sql = rows_sql(200000);
    {
        auto reader = c.request_stream("POST", base(*server_) + "v3/cursor", cursor_body(sql), http::retry::idempotent);
        ASSERT_EQ(reader->status(), 200);
        std::string out;
        ASSERT_TRUE(reader->read_some(out, 10));
        EXPECT_LE(out.size(), 10u);
        EXPECT_EQ(out.front(), '{');
        while (out.size() < 5000) ASSERT_TRUE(reader->read_some(out, 1000));
        EXPECT_NE(out.find(R"("type":"row")"), std::string::npos);
    }  // abandoned mid-body: its connection is closed, not reused
    const auto r = c.request("POST", base(*server_) + "v2/pipeline", pipeline_body("SELECT 1"), http::retry::if_unsent);
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(c.connections_opened(), 2u);
    // A small body read to the end through read_some.
    auto small = c.request_stream("GET", base(*server_) + "v2", "", http::retry::idempotent);
    std::string text;
    while (small->read_some(text, 4)) {
    }
    EXPECT_EQ(text, "Hello, this is HTTP API v2 (Hrana over HTTP)");
}

TEST_F(HttpClientServer, InterruptStreamRead) {
    http::client c{http::options{}};
    const std::string sql = rows_sql(100000);
    auto reader = c.request_stream("POST", base(*server_) + "v3/cursor", cursor_body(sql), http::retry::idempotent);
    std::string line;
    ASSERT_TRUE(reader->next_line(line));
    c.interrupt();
    EXPECT_THROW(
        {
            while (reader->next_line(line)) {
            }
        },
        libsql::interrupted);
    EXPECT_THROW((void)reader->next_line(line), libsql::interrupted);  // the reader stays failed
    reader.reset();
    EXPECT_EQ(c.request("GET", base(*server_) + "health", "", http::retry::idempotent).status, 200);
}

TEST(HttpClient, ConnectionRefused) {
    http::options o;
    o.transport = libsql::transport::replica;
    http::client c{o};
    const std::string url = "http://127.0.0.1:" + std::to_string(libsql::test::free_port()) + "/v2/pipeline";
    try {
        (void)c.request("POST", url, pipeline_body("SELECT 1"), http::retry::if_unsent);
        FAIL() << "no error";
    } catch (const libsql::connection_error& e) {
        const std::string what = e.what();
        EXPECT_NE(what.find(url), std::string::npos) << what;
        EXPECT_NE(what.find("not sent"), std::string::npos) << what;
        EXPECT_EQ(e.transport(), libsql::transport::replica);
    }
}

TEST(HttpClient, ConnectTimeout) {
    // A listener whose accept queue is full and never drained: further SYNs are dropped, the connect hangs.
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    ASSERT_EQ(::listen(fd, 0), 0);
    ASSERT_EQ(::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len), 0);
    std::vector<int> fillers;
    for (int i = 0; i < 4; ++i) {  // fill the queue; these connects may themselves hang, so non-blocking
        const int f = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
        (void)::connect(f, reinterpret_cast<sockaddr*>(&a), sizeof a);
        fillers.push_back(f);
    }
    std::this_thread::sleep_for(50ms);
    http::options o;
    o.connect_timeout = 300ms;
    http::client c{o};
    const std::string url = "http://127.0.0.1:" + std::to_string(ntohs(a.sin_port)) + "/v2/pipeline";
    const auto start = std::chrono::steady_clock::now();
    try {
        (void)c.request("POST", url, pipeline_body("SELECT 1"), http::retry::if_unsent);
        ADD_FAILURE() << "no error";
    } catch (const libsql::timeout& e) {
        EXPECT_NE(std::string(e.what()).find("not sent"), std::string::npos) << e.what();
    }
    EXPECT_LT(std::chrono::steady_clock::now() - start, 5s);
    for (const int f : fillers) ::close(f);
    ::close(fd);
}

TEST(HttpClient, ServerRestartedBetweenRequests) {
    temp_db_file db("http-restart");
    const auto port = libsql::test::free_port();
    const std::vector<std::string> argv{libsql::test::libsql_cli_path(), "serve", db.path(), "--listen",
                                        "127.0.0.1:" + std::to_string(port)};
    const std::string url = "http://127.0.0.1:" + std::to_string(port) + "/v2/pipeline";
    http::client c{http::options{}};
    {
        libsql::test::child_process server(argv, true);
        ASSERT_NE(server.read_line().find("listening on"), std::string::npos);
        ASSERT_EQ(c.request("POST", url, pipeline_body("SELECT 1"), http::retry::if_unsent).status, 200);
        server.kill_now();  // the idle keep-alive connection dies with it
    }
    libsql::test::child_process server(argv, true);
    ASSERT_NE(server.read_line().find("listening on"), std::string::npos);
    const auto r = c.request("POST", url, pipeline_body("SELECT 2"), http::retry::if_unsent);
    EXPECT_EQ(r.status, 200);
    EXPECT_NE(r.body.find(R"("value":"2")"), std::string::npos);
    EXPECT_EQ(c.connections_opened(), 2u);
}

#ifdef LIBSQL_NPM_DIR
TEST(HttpClient, TursodbClosesEveryConnection) {
    // tursodb's sync server answers each request with Connection: close: every request opens a new connection, and
    // none is left idle on the single-threaded server.
    if (!libsql::test::tursodb_available()) GTEST_SKIP() << "tursodb not installed (scripts/setup)";
    temp_db_file db("http-tursodb");
    libsql::test::tursodb_server server(db.path());
    http::client c{http::options{}};
    const std::string url = http::normalize_base_url(server.url()) + "v2/pipeline";
    for (int i = 0; i < 3; ++i) {
        const auto r = c.request("POST", url, R"({"requests":[{"type":"execute","stmt":{"sql":"SELECT )" +
                                                  std::to_string(i) + R"("}}]})",
                                 http::retry::if_unsent);
        ASSERT_EQ(r.status, 200) << r.body;
        EXPECT_EQ(r.content_type, "application/json");
        EXPECT_NE(r.body.find(R"("value":")" + std::to_string(i) + R"(")"), std::string::npos) << r.body;
    }
    EXPECT_EQ(c.connections_opened(), 3u);
    // Its errors are statuses with a text body, returned as they are.
    const auto bad = c.request("POST", url, "{}", http::retry::if_unsent);
    EXPECT_EQ(bad.status, 500);
    EXPECT_NE(bad.body.find("requests"), std::string::npos) << bad.body;
    EXPECT_EQ(c.request("GET", http::normalize_base_url(server.url()) + "v2", "", http::retry::idempotent).status, 404);
}
#endif

// ---- a raw-socket server for dropped connections -------------------------------------------------------------

/// Accepts connections on 127.0.0.1 and runs `script(fd, connection_index)` for each, one at a time.
class raw_server {
public:
    using script = std::function<void(int fd, int connection)>;
    /// Reads one request per connection and answers it with `reply` (then closes).
    explicit raw_server(std::string reply)
        : raw_server([this, reply = std::move(reply)](int fd, int) {
              if (read_request(fd)) send_all(fd, reply);
          }) {}
    explicit raw_server(script s) : script_(std::move(s)) {
        fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        socklen_t len = sizeof a;
        if (::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || ::listen(fd_, 8) != 0 ||
            ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len) != 0)
            throw std::runtime_error("raw_server: bind/listen failed");
        port_ = ntohs(a.sin_port);
        thread_ = std::thread([this] { run(); });
    }
    ~raw_server() {
        stop_ = true;
        thread_.join();
        ::close(fd_);
    }
    raw_server(const raw_server&) = delete;
    raw_server& operator=(const raw_server&) = delete;

    [[nodiscard]] std::string url(const std::string& path) const {
        return "http://127.0.0.1:" + std::to_string(port_) + path;
    }
    [[nodiscard]] int requests() const noexcept { return requests_.load(); }
    [[nodiscard]] int connections() const noexcept { return connections_.load(); }

    /// Reads one whole request (headers and Content-Length body); false when the peer closed first.
    bool read_request(int fd, std::string* captured = nullptr) {
        std::string data;
        char buf[4096];
        std::size_t header_end = std::string::npos;
        std::size_t need = 0;
        while (true) {
            if (header_end == std::string::npos) {
                header_end = data.find("\r\n\r\n");
                if (header_end != std::string::npos) {
                    std::size_t length = 0;
                    std::string lower_headers = data.substr(0, header_end);
                    for (auto& ch : lower_headers) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
                    const auto cl = lower_headers.find("content-length:");
                    if (cl != std::string::npos) length = std::stoul(lower_headers.substr(cl + 15));
                    need = header_end + 4 + length;
                }
            }
            if (header_end != std::string::npos && data.size() >= need) {
                if (captured != nullptr) *captured = data.substr(0, header_end + 4);
                ++requests_;
                return true;
            }
            const auto n = ::recv(fd, buf, sizeof buf, 0);
            if (n <= 0) return false;
            data.append(buf, static_cast<std::size_t>(n));
        }
    }
    static void send_all(int fd, const std::string& s) { (void)::send(fd, s.data(), s.size(), MSG_NOSIGNAL); }

private:
    void run() {
        int index = 0;
        while (!stop_) {
            pollfd p{fd_, POLLIN, 0};
            if (::poll(&p, 1, 50) <= 0) continue;
            const int conn = ::accept(fd_, nullptr, nullptr);
            if (conn < 0) continue;
            ++connections_;
            script_(conn, index++);
            ::close(conn);
        }
    }
    script script_;
    int fd_ = -1;
    std::uint16_t port_ = 0;
    std::atomic<bool> stop_{false};
    std::atomic<int> requests_{0};
    std::atomic<int> connections_{0};
    std::thread thread_;
};

const std::string ok_response = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}";

/// A write whose answer broke off: a connection_error that says the outcome is unknown.
void expect_outcome_unknown(http::client& c, const std::string& url, const std::string& body) {
    try {
        (void)c.request("POST", url, body, http::retry::if_unsent);
        FAIL() << "no error";
    } catch (const libsql::connection_error& e) {
        EXPECT_NE(std::string(e.what()).find("outcome is unknown"), std::string::npos) << e.what();
    }
}

TEST(HttpClientRaw, DroppedMidResponse) {
    raw_server server("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{\"res");
    http::client c{http::options{}};
    expect_outcome_unknown(c, server.url("/v2/pipeline"), pipeline_body("INSERT"));
    EXPECT_EQ(server.requests(), 1);  // a write whose outcome is unknown is never repeated
    // A read is tried once more.
    EXPECT_THROW((void)c.request("POST", server.url("/v2/pipeline"), pipeline_body("SELECT"), http::retry::idempotent),
                 libsql::connection_error);
    EXPECT_EQ(server.requests(), 3);
}

/// The keep-alive race: the server reads the second request on a reused connection, then closes without answering.
/// libcurl would resend on its own; for a write that could run it twice.
void dropped_after_request(http::retry policy, int expected_requests, bool expect_success) {
    raw_server server([&server](int fd, int connection) {
        if (connection == 0) {
            if (!server.read_request(fd)) return;
            raw_server::send_all(fd, ok_response);  // keep-alive
            (void)server.read_request(fd);         // the second request arrives... and is dropped
            return;
        }
        while (server.read_request(fd)) raw_server::send_all(fd, ok_response);
    });
    http::client c{http::options{}};
    ASSERT_EQ(c.request("POST", server.url("/v2/pipeline"), pipeline_body("SELECT 1"), policy).status, 200);
    if (expect_success) {
        EXPECT_EQ(c.request("POST", server.url("/v2/pipeline"), pipeline_body("SELECT 2"), policy).status, 200);
    } else {
        try {
            (void)c.request("POST", server.url("/v2/pipeline"), pipeline_body("INSERT 2"), policy);
            FAIL() << "no error";
        } catch (const libsql::connection_error& e) {
            EXPECT_NE(std::string(e.what()).find("outcome is unknown"), std::string::npos) << e.what();
        }
    }
    EXPECT_EQ(server.requests(), expected_requests);
}

TEST(HttpClientRaw, WriteDroppedOnReusedConnectionIsNotResent) {
    dropped_after_request(http::retry::if_unsent, 2, false);
}

TEST(HttpClientRaw, ReadDroppedOnReusedConnectionIsResent) { dropped_after_request(http::retry::idempotent, 3, true); }

TEST(HttpClientRaw, IdleConnectionClosedByServerIsReplaced) {
    // The server answers and closes the idle connection: the next write goes out on a fresh one.
    raw_server server([&server](int fd, int) {
        if (server.read_request(fd)) raw_server::send_all(fd, ok_response);
        ::shutdown(fd, SHUT_RDWR);
    });
    http::client c{http::options{}};
    const std::string url = server.url("/v2/pipeline");
    ASSERT_EQ(c.request("POST", url, pipeline_body("SELECT 1"), http::retry::if_unsent).status, 200);
    std::this_thread::sleep_for(50ms);
    EXPECT_EQ(c.request("POST", url, pipeline_body("INSERT 1"), http::retry::if_unsent).status, 200);
    EXPECT_EQ(server.requests(), 2);
    EXPECT_EQ(server.connections(), 2);
}

TEST(HttpClientRaw, HeadersSentAndLocation) {
    std::vector<std::string> seen;  // written by the server thread, read after it is joined
    http::response r;
    {
        raw_server server([&](int fd, int) {
            std::string head;
            while (server.read_request(fd, &head)) {
                seen.push_back(head);
                raw_server::send_all(fd, "HTTP/1.1 307 Temporary Redirect\r\nLocation: http://elsewhere/v2/pipeline\r\n"
                                         "Content-Type: Text/Plain; charset=utf-8\r\nContent-Length: 0\r\n\r\n");
            }
        });
        http::options o;
        o.headers = {"Authorization: Bearer secret-token", "x-turso-encryption-key: a2V5"};
        http::client c{o};
        const std::string body(1'200'000, 'x');  // large enough for libcurl to want Expect: 100-continue
        r = c.request("POST", server.url("/v2/pipeline"), body, http::retry::idempotent);
        (void)c.request("POST", server.url("/v3/pipeline"), "{}", http::retry::if_unsent, "");
        (void)c.request("GET", server.url("/v3"), "", http::retry::idempotent);
        EXPECT_EQ(c.connections_opened(), 1u);
    }
    EXPECT_EQ(r.status, 307);
    EXPECT_EQ(r.location, "http://elsewhere/v2/pipeline");
    EXPECT_EQ(r.content_type, "text/plain");
    ASSERT_EQ(seen.size(), 3u);
    for (const auto& head : seen) {
        EXPECT_NE(head.find("Authorization: Bearer secret-token\r\n"), std::string::npos) << head;
        EXPECT_NE(head.find("x-turso-encryption-key: a2V5\r\n"), std::string::npos);
        EXPECT_NE(head.find("User-Agent: libsql-cpp-0.1.0\r\n"), std::string::npos);
        EXPECT_NE(head.find("x-libsql-client-version: libsql-cpp-0.1.0\r\n"), std::string::npos);
        EXPECT_EQ(head.find("Expect:"), std::string::npos);
        EXPECT_EQ(head.find("chunked"), std::string::npos);
    }
    EXPECT_NE(seen[0].find("Content-Length: 1200000\r\n"), std::string::npos);
    EXPECT_NE(seen[0].find("Content-Type: application/json\r\n"), std::string::npos);
    // An empty content type sends none (as the Rust client does on /v3/pipeline); the body still has its length.
    EXPECT_EQ(seen[1].find("POST /v3/pipeline HTTP/1.1\r\n"), 0u) << seen[1];
    EXPECT_NE(seen[1].find("Content-Length: 2\r\n"), std::string::npos);
    EXPECT_EQ(seen[1].find("Content-Type"), std::string::npos) << seen[1];
    EXPECT_EQ(seen[2].find("GET /v3 HTTP/1.1\r\n"), 0u) << seen[2];
    EXPECT_EQ(seen[2].find("Content-Type"), std::string::npos);
    EXPECT_EQ(seen[2].find("Content-Length"), std::string::npos);
}

// ---- response framing: what our HTTP/1.1 client parses itself ----------------------------------------------------

/// Sends s in pieces of at most `piece` bytes with a short pause between them (they reach the client as separate reads).
void send_in_pieces(int fd, const std::string& s, std::size_t piece) {
    for (std::size_t at = 0; at < s.size(); at += piece) {
        raw_server::send_all(fd, s.substr(at, piece));
        std::this_thread::sleep_for(1ms);
    }
}

TEST(HttpClientRaw, ChunkedBodiesAndKeepAlive) {
    // Chunks with an extension, split across reads (even inside the chunk-size line), then a second request on the
    // same connection: a chunked body ends at its last chunk, not at the connection's end.
    raw_server server([&server](int fd, int) {
        int n = 0;
        while (server.read_request(fd)) {
            const std::string head = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n";
            const std::string body = "5\r\n{\"a\":\r\n3;ext=1\r\n" + std::to_string(100 + n) + "\r\n1\r\n}\r\n0\r\n\r\n";
            send_in_pieces(fd, head + body, n == 0 ? 7 : 4096);
            ++n;
        }
    });
    http::client c{http::options{}};
    const auto a = c.request("POST", server.url("/v2/pipeline"), "{}", http::retry::if_unsent);
    EXPECT_EQ(a.status, 200);
    EXPECT_EQ(a.body, R"({"a":100})");
    const auto b = c.request("POST", server.url("/v2/pipeline"), "{}", http::retry::if_unsent);
    EXPECT_EQ(b.body, R"({"a":101})");
    EXPECT_EQ(c.connections_opened(), 1u);
    EXPECT_EQ(server.connections(), 1);
}

TEST(HttpClientRaw, BodyDelimitedByTheConnectionsEnd) {
    // Neither Content-Length nor chunked: the body is what comes before the server closes; the next request needs a
    // new connection.
    raw_server server([&server](int fd, int connection) {
        if (!server.read_request(fd)) return;
        raw_server::send_all(fd, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nConnection: close\r\n\r\nfirst part, ");
        std::this_thread::sleep_for(5ms);
        raw_server::send_all(fd, "second part " + std::to_string(connection));
        ::shutdown(fd, SHUT_WR);
    });
    http::client c{http::options{}};
    EXPECT_EQ(c.request("GET", server.url("/v2"), "", http::retry::idempotent).body, "first part, second part 0");
    EXPECT_EQ(c.request("GET", server.url("/v2"), "", http::retry::idempotent).body, "first part, second part 1");
    EXPECT_EQ(c.connections_opened(), 2u);
    // The same through a stream.
    auto r = c.request_stream("GET", server.url("/v2"), "", http::retry::idempotent);
    std::string text;
    while (r->read_some(text, 5)) {
    }
    EXPECT_EQ(text, "first part, second part 2");
}

TEST(HttpClientRaw, Http10AndConnectionCloseAreNotReused) {
    raw_server server([&server](int fd, int connection) {
        if (!server.read_request(fd)) return;
        raw_server::send_all(fd, connection == 0 ? "HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok"
                                                 : "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok");
        (void)server.read_request(fd);  // a client that wrongly reused the connection would wait here for ever
    });
    http::client c{http::options{}};
    for (int i = 0; i < 3; ++i) EXPECT_EQ(c.request("POST", server.url("/x"), "{}", http::retry::if_unsent).body, "ok");
    EXPECT_EQ(c.connections_opened(), 3u);
    EXPECT_EQ(server.requests(), 3);
}

TEST(HttpClientRaw, InterimResponsesAreSkipped) {
    raw_server server("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 102 Processing\r\n\r\n" + ok_response);
    http::client c{http::options{}};
    const auto r = c.request("POST", server.url("/x"), "{}", http::retry::if_unsent);
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.body, "{}");
}

TEST(HttpClientRaw, ServerClosesMidChunkedBody) {
    // A whole request: a write whose answer broke off is not repeated; a stream: the reader fails and stays failed.
    raw_server server("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n6\r\nline1\n\r\n400\r\nline2\n");
    http::client c{http::options{}};
    expect_outcome_unknown(c, server.url("/v2/pipeline"), "{}");
    EXPECT_EQ(server.requests(), 1);
    auto r = c.request_stream("POST", server.url("/v3/cursor"), "{}", http::retry::if_unsent);
    std::string line;
    ASSERT_TRUE(r->next_line(line));
    EXPECT_EQ(line, "line1");
    ASSERT_TRUE(r->next_line(line));
    EXPECT_EQ(line, "line2");
    EXPECT_THROW((void)r->next_line(line), libsql::connection_error);
    EXPECT_THROW((void)r->next_line(line), libsql::connection_error);
    r.reset();
    EXPECT_EQ(server.requests(), 2);
}

TEST(HttpClientRaw, StreamedBodyLargerThanTheBufferArrivesWhole) {
    // 4 MB of numbered lines with a Content-Length, sent in odd-sized pieces: every line arrives once, in order.
    std::string body;
    for (int i = 0; i < 400'000; ++i) body += std::to_string(i) + " padding\n";
    raw_server server([&](int fd, int) {
        while (server.read_request(fd)) {
            const std::string head = "HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n";
            for (std::size_t at = 0; at < body.size(); at += 100'003)
                raw_server::send_all(fd, (at == 0 ? head : std::string()) + body.substr(at, 100'003));
        }
    });
    http::client c{http::options{}};
    {
        auto r = c.request_stream("POST", server.url("/v3/cursor"), "{}", http::retry::idempotent);
        std::string line;
        int expected = 0;
        bool in_order = true;
        while (r->next_line(line)) in_order = in_order && line == std::to_string(expected++) + " padding";
        EXPECT_TRUE(in_order);
        EXPECT_EQ(expected, 400'000);
    }
    // The whole body through request() too, on the same (kept) connection.
    EXPECT_EQ(c.request("POST", server.url("/v3/cursor"), "{}", http::retry::idempotent).body, body);
    EXPECT_EQ(c.connections_opened(), 1u);
}

TEST(HttpClientRaw, CallersHeadersReplaceOrDropOurs) {
    // As with libcurl before: the caller's Host and User-Agent replace ours, "Name:" drops a header, "Name;" sends
    // it empty (the namespace tests pick a namespace by Host this way).
    std::string head;
    {
        raw_server server([&](int fd, int) {
            if (server.read_request(fd, &head)) raw_server::send_all(fd, ok_response);
        });
        http::options o;
        o.headers = {"Host: ns2.db.example.com:443", "User-Agent: probe/1", "X-Empty;", "X-Dropped:"};
        http::client c{o};
        EXPECT_EQ(c.request("POST", server.url("/v2/pipeline"), "{}", http::retry::if_unsent).status, 200);
    }
    EXPECT_NE(head.find("\r\nHost: ns2.db.example.com:443\r\n"), std::string::npos) << head;
    EXPECT_EQ(head.find("Host: 127.0.0.1"), std::string::npos) << head;
    EXPECT_NE(head.find("\r\nUser-Agent: probe/1\r\n"), std::string::npos) << head;
    EXPECT_EQ(head.find("libsql-cpp-0.1.0\r\nUser"), std::string::npos) << head;
    EXPECT_NE(head.find("\r\nX-Empty:\r\n"), std::string::npos) << head;
    EXPECT_EQ(head.find("X-Dropped"), std::string::npos) << head;
    EXPECT_NE(head.find("x-libsql-client-version: libsql-cpp-0.1.0\r\n"), std::string::npos) << head;
}

} // namespace
