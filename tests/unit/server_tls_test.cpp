// `libsql serve` with TLS (--tls-cert-file/--tls-key-file, --tls-client-ca-file) against our own client over
// https:// and wss://. The certificates are made at test time by tests/support/make_test_certs.sh (the openssl
// command) into a temp dir: a CA, a server certificate for localhost/127.0.0.1, a client certificate, and a second CA
// that signed nothing. Every server is a child process on 127.0.0.1, stopped by the test.
#include "libsql/libsql.hpp"

#include "support/processes.hpp"
#include "support/temp_files.hpp"

#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <string>
#include <thread>

using namespace std::chrono_literals;

namespace {

using libsql::test::libsql_server;
using libsql::test::temp_dir;

/// A temp dir holding the test PKI.
class pki {
public:
    pki() : dir_("server-tls") {
        const std::string cmd = std::string("bash '") + LIBSQL_TEST_CERTS_SCRIPT + "' '" + dir_.path().string() + "'";
        if (std::system(cmd.c_str()) != 0) throw std::runtime_error("make_test_certs.sh failed");
    }
    [[nodiscard]] std::string file(const std::string& name) const { return dir_.file(name); }
    [[nodiscard]] std::vector<std::string> server_args() const {
        return {"--tls-cert-file", file("server.pem"), "--tls-key-file", file("server.key")};
    }

private:
    temp_dir dir_;
};

std::string https(std::uint16_t port) { return "https://127.0.0.1:" + std::to_string(port); }
std::string wss(std::uint16_t port) { return "wss://127.0.0.1:" + std::to_string(port); }

libsql::connect_options with_ca(const pki& p) {
    libsql::connect_options o;
    o.tls_ca_file = p.file("ca.pem");
    o.connect_timeout = 5s;
    return o;
}

/// A raw TCP connection to 127.0.0.1:port.
class raw_socket {
public:
    explicit raw_socket(std::uint16_t port) : fd_(::socket(AF_INET, SOCK_STREAM, 0)) {
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        a.sin_port = htons(port);
        if (fd_ < 0 || ::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0)
            throw std::runtime_error("connect failed");
    }
    ~raw_socket() {
        if (fd_ >= 0) ::close(fd_);
    }
    raw_socket(const raw_socket&) = delete;
    raw_socket& operator=(const raw_socket&) = delete;
    void send_all(const std::string& s) const {
        ASSERT_EQ(::send(fd_, s.data(), s.size(), MSG_NOSIGNAL), static_cast<ssize_t>(s.size()));
    }
    /// Everything until the peer closes, or until `limit` passes; closed() says which.
    std::string read_until_closed(std::chrono::milliseconds limit) {
        std::string out;
        const auto deadline = std::chrono::steady_clock::now() + limit;
        for (;;) {
            const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
            if (left.count() <= 0) return out;
            pollfd p{fd_, POLLIN, 0};
            if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) return out;
            char buf[4096];
            const auto n = ::recv(fd_, buf, sizeof buf, 0);
            if (n <= 0) {
                closed_ = true;
                return out;
            }
            out.append(buf, static_cast<std::size_t>(n));
        }
    }
    [[nodiscard]] bool closed() const noexcept { return closed_; }

private:
    int fd_;
    bool closed_ = false;
};

class server_tls : public ::testing::Test {
protected:
    pki certs;
    temp_dir dir{"server-tls-db"};
};

TEST_F(server_tls, https_and_wss_with_the_ca_file) {
    libsql_server server(dir.file("tls.db"), certs.server_args());
    {
        libsql::database db(https(server.port()), with_ca(certs));
        auto c = db.connect();
        c.execute("CREATE TABLE t(x)");
        c.execute("INSERT INTO t VALUES (?)", 41);
        EXPECT_EQ(c.query_value<std::int64_t>("SELECT x + 1 FROM t"), 42);
        // An interactive transaction: a baton over the same TLS keep-alive connection.
        auto tx = c.transaction();
        c.execute("INSERT INTO t VALUES (1)");
        tx.commit();
    }
    {
        libsql::database db(wss(server.port()), with_ca(certs));
        auto c = db.connect();
        EXPECT_EQ(c.query_value<std::int64_t>("SELECT count(*) FROM t"), 2);
        c.execute("INSERT INTO t VALUES (2)");
        EXPECT_EQ(c.query_value<std::int64_t>("SELECT sum(x) FROM t"), 44);
    }
    // libsql:// is https:// (and ?tls=0 plain http).
    libsql::database db("libsql://127.0.0.1:" + std::to_string(server.port()), with_ca(certs));
    EXPECT_EQ(db.connect().query_value<std::int64_t>("SELECT count(*) FROM t"), 3);
}

TEST_F(server_tls, an_untrusted_certificate_is_a_tls_error) {
    libsql_server server(dir.file("tls.db"), certs.server_args());
    libsql::connect_options system_cas;  // the system's store does not know the test CA
    system_cas.connect_timeout = 5s;
    libsql::connect_options other = system_cas;
    other.tls_ca_file = certs.file("other-ca.pem");
    for (const auto& o : {system_cas, other}) {
        for (const auto& url : {https(server.port()), wss(server.port())}) {
            SCOPED_TRACE(url + (o.tls_ca_file.empty() ? " (system CAs)" : " (another CA)"));
            try {
                libsql::database db(url, o);
                (void)db.connect().query_value<std::int64_t>("SELECT 1");
                ADD_FAILURE() << "connected without trusting the server's CA";
            } catch (const libsql::tls_error& e) {
                EXPECT_NE(std::string(e.what()).find("certificate"), std::string::npos) << e.what();
                EXPECT_EQ(e.transport(), libsql::transport::remote);
            }
        }
    }
    // A CA file that does not exist says which file.
    libsql::connect_options missing = system_cas;
    missing.tls_ca_file = dir.file("no-such-ca.pem");
    for (const auto& url : {https(server.port()), wss(server.port())}) {
        SCOPED_TRACE(url);
        EXPECT_THROW(
            {
                libsql::database db(url, missing);
                (void)db.connect().query_value<std::int64_t>("SELECT 1");
            },
            libsql::tls_error);
    }
    // Verification off: encrypted, not authenticated, and it works.
    libsql::connect_options unverified = system_cas;
    unverified.tls_verify = false;
    for (const auto& url : {https(server.port()), wss(server.port())}) {
        libsql::database db(url, unverified);
        EXPECT_EQ(db.connect().query_value<std::int64_t>("SELECT 7"), 7) << url;
    }
}

TEST_F(server_tls, the_host_name_is_checked) {
    {
        libsql_server server(dir.file("tls.db"), certs.server_args());
        libsql::database ok("https://localhost:" + std::to_string(server.port()), with_ca(certs));  // DNS:localhost
        EXPECT_EQ(ok.connect().query_value<std::int64_t>("SELECT 1"), 1);
    }
    // A certificate from the trusted CA, but for another name.
    libsql_server server(dir.file("tls.db"), {"--tls-cert-file", certs.file("wrong-name.pem"), "--tls-key-file",
                                              certs.file("wrong-name.key")});
    for (const auto& url : {https(server.port()), wss(server.port())}) {
        SCOPED_TRACE(url);
        EXPECT_THROW(
            {
                libsql::database db(url, with_ca(certs));
                (void)db.connect().query_value<std::int64_t>("SELECT 1");
            },
            libsql::tls_error);
    }
}

TEST_F(server_tls, plain_http_to_the_tls_port_fails_cleanly_and_the_server_keeps_serving) {
    libsql_server server(dir.file("tls.db"), certs.server_args());
    {
        raw_socket s(server.port());
        s.send_all("GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
        const auto reply = s.read_until_closed(5s);
        EXPECT_TRUE(reply.starts_with("HTTP/1.1 400")) << reply;
        EXPECT_NE(reply.find("TLS"), std::string::npos) << reply;
        EXPECT_TRUE(s.closed());
    }
    // Our client with an http:// URL: an error, not a hang.
    auto started = std::chrono::steady_clock::now();
    libsql::connect_options o;
    o.connect_timeout = 5s;
    o.request_timeout = 5s;
    EXPECT_THROW(
        {
            libsql::database db("http://127.0.0.1:" + std::to_string(server.port()), o);
            (void)db.connect().query_value<std::int64_t>("SELECT 1");
        },
        libsql::error);
    EXPECT_LT(std::chrono::steady_clock::now() - started, 3s);
    started = std::chrono::steady_clock::now();
    EXPECT_THROW(
        {
            libsql::database db("ws://127.0.0.1:" + std::to_string(server.port()), o);
            (void)db.connect().query_value<std::int64_t>("SELECT 1");
        },
        libsql::connection_error);
    EXPECT_LT(std::chrono::steady_clock::now() - started, 3s);
    libsql::database db(https(server.port()), with_ca(certs));
    EXPECT_EQ(db.connect().query_value<std::int64_t>("SELECT 5"), 5);
}

TEST_F(server_tls, a_client_that_never_starts_the_handshake_loses_its_slot) {
    // Two connection slots, both taken by clients that send nothing: a third client is refused (503) until the
    // read timeout (1 s) closes the silent ones.
    auto args = certs.server_args();
    args.insert(args.end(), {"--read-timeout", "1", "--max-connections", "2"});
    libsql_server server(dir.file("tls.db"), args);
    raw_socket a(server.port());
    raw_socket b(server.port());
    std::this_thread::sleep_for(100ms);  // both accepted
    const auto started = std::chrono::steady_clock::now();
    {
        try {
            libsql::database db(https(server.port()), with_ca(certs));
            (void)db.connect().query_value<std::int64_t>("SELECT 1");
            // The refusal could race the timeout on a slow machine; if it worked, the slots were already free.
            EXPECT_GE(std::chrono::steady_clock::now() - started, 900ms);
        } catch (const libsql::error& e) {
            EXPECT_NE(std::string(e.what()).find("503"), std::string::npos) << e.what();
        }
    }
    (void)a.read_until_closed(5s);
    (void)b.read_until_closed(5s);
    EXPECT_TRUE(a.closed());
    EXPECT_TRUE(b.closed());
    EXPECT_LT(std::chrono::steady_clock::now() - started, 4s);
    libsql::database db(https(server.port()), with_ca(certs));
    EXPECT_EQ(db.connect().query_value<std::int64_t>("SELECT 2"), 2);
    // A client that sends half a handshake and stops is cut off the same way.
    raw_socket c(server.port());
    c.send_all(std::string("\x16\x03\x01\x02\x00\x01", 6));
    (void)c.read_until_closed(5s);
    EXPECT_TRUE(c.closed());
}

TEST_F(server_tls, mutual_tls_refuses_a_client_without_a_certificate) {
    auto args = certs.server_args();
    args.insert(args.end(), {"--tls-client-ca-file", certs.file("ca.pem")});
    libsql_server server(dir.file("tls.db"), args);
    for (const auto& url : {https(server.port()), wss(server.port())}) {
        SCOPED_TRACE(url);
        const auto started = std::chrono::steady_clock::now();
        try {
            libsql::database db(url, with_ca(certs));
            (void)db.connect().query_value<std::int64_t>("SELECT 1");
            ADD_FAILURE() << "served a client without a certificate";
        } catch (const libsql::tls_error& e) {
            EXPECT_LT(std::chrono::steady_clock::now() - started, 3s) << "the refusal must not wait for a timeout: " << e.what();
        }
    }
    // With the client certificate signed by the CA the server trusts: served.
    libsql::connect_options o = with_ca(certs);
    o.tls_cert_file = certs.file("client.pem");
    o.tls_key_file = certs.file("client.key");
    for (const auto& url : {https(server.port()), wss(server.port())}) {
        libsql::database db(url, o);
        EXPECT_EQ(db.connect().query_value<std::int64_t>("SELECT 3"), 3) << url;
    }
    // A certificate without its key is a usage error, said before connecting.
    libsql::connect_options half = with_ca(certs);
    half.tls_cert_file = certs.file("client.pem");
    EXPECT_THROW(libsql::database(https(server.port()), half), libsql::usage_error);
}

TEST_F(server_tls, unusable_certificate_files_stop_the_server_with_a_message) {
    // The key of another certificate: refused at startup, exit status 1, no "listening" line.
    libsql::test::child_process p({libsql::test::libsql_cli_path(), "serve", dir.file("tls.db"), "--listen",
                                   "127.0.0.1:0", "--tls-cert-file", certs.file("server.pem"), "--tls-key-file",
                                   certs.file("client.key")},
                                  true);
    EXPECT_EQ(p.read_line(), "");  // stdout closed: it has exited
    const int status = p.stop();
    EXPECT_TRUE(WIFEXITED(status));
    EXPECT_NE(WEXITSTATUS(status), 0);
}

} // namespace
