// Embedded replicas against a real primary: `libsql serve` (GET /info, /export, /sync). Writes on the primary go
// through the server (Hrana over HTTP); its file is read directly only to compare contents.
#include "libsql/database.hpp"

#include "remote/http.hpp"
#include "replica/apply.hpp"
#include "support/processes.hpp"
#include "support/sqlite_text.hpp"
#include "support/temp_files.hpp"

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <random>
#include <string>
#include <thread>

using libsql::test::libsql_server;
using libsql::test::temp_dir;
using namespace std::chrono_literals;
namespace rp = libsql::detail::replica;

namespace {

std::string json_string(std::string_view s) {
    std::string out = "\"";
    for (char c : s) {
        if (c == '"' || c == '\\') out += '\\';
        out += c;
    }
    return out + "\"";
}

/// Runs SQL on the primary through the server (Hrana v2 pipeline), one statement per element, in one request.
void primary_exec(const std::string& url, const std::vector<std::string>& sqls) {
    libsql::detail::http::client c(libsql::detail::http::options{});
    std::string body = "{\"requests\":[";
    for (std::size_t i = 0; i < sqls.size(); ++i)
        body += std::string(i ? "," : "") + "{\"type\":\"execute\",\"stmt\":{\"sql\":" + json_string(sqls[i]) + "}}";
    body += ",{\"type\":\"close\"}]}";
    const auto r = c.request("POST", url + "/v2/pipeline", body, libsql::detail::http::retry::if_unsent);
    ASSERT_EQ(r.status, 200) << r.body;
    ASSERT_EQ(r.body.find("\"type\":\"error\""), std::string::npos) << r.body;
}
void primary_exec1(const std::string& url, const std::string& sql) { primary_exec(url, std::vector<std::string>{sql}); }

/// Reads the primary's file directly (WAL mode: a reader in another process is fine).
std::string primary_text(const std::string& path, const std::string& sql) {
    sqlite3* db = nullptr;
    EXPECT_EQ(sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr), SQLITE_OK);
    std::string out = libsql::test::sqlite_text(db, sql);
    sqlite3_close(db);
    return out;
}

std::string conn_text(libsql::connection& c, const std::string& sql) {
    std::string out;
    auto rows = c.query(sql);
    while (rows.next()) {
        auto r = rows.current();
        for (int i = 0; i < r.size(); ++i) {
            const auto v = r.at_unchecked(i);
            switch (v.type()) {
            case libsql::value_type::null: out += "NULL"; break;
            case libsql::value_type::integer: out += std::to_string(v.as_integer()); break;
            case libsql::value_type::real: out += std::to_string(v.as_real()); break;
            case libsql::value_type::text: out += std::string(v.as_text()); break;
            case libsql::value_type::blob: out += "<blob>"; break;
            }
            out += '|';
        }
        out += '\n';
    }
    return out;
}

struct fixture {
    temp_dir dir{"replica"};
    std::string primary_path = dir.file("primary.db");
    std::string replica_path = dir.file("replica.db");
    std::unique_ptr<libsql_server> server;

    explicit fixture(std::vector<std::string> extra = {}) {
        server = std::make_unique<libsql_server>(primary_path, std::move(extra));
        primary_exec(url(), {"CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT)", "INSERT INTO t(v) VALUES ('one'), ('two')"});
    }
    std::string url() const { return server->url(); }
    libsql::connect_options opts() const {
        libsql::connect_options o;
        o.sync_url = url();
        return o;
    }
};

} // namespace

TEST(Replica, BootstrapsAndSyncsFromLibsqlServe) {
    fixture f;
    libsql::database db(f.replica_path, f.opts());
    EXPECT_EQ(db.transport(), libsql::transport::replica);
    EXPECT_TRUE(std::filesystem::exists(rp::metadata_path(f.replica_path)));
    const auto r = db.sync();
    EXPECT_GT(r.frames_applied, 0u);
    EXPECT_GT(r.replication_index, 0u);
    EXPECT_EQ(db.replication_index(), r.replication_index);
    auto c = db.connect();
    EXPECT_EQ(c.transport(), libsql::transport::replica);
    EXPECT_EQ(conn_text(c, "SELECT id, v FROM t ORDER BY id"), "1|one|\n2|two|\n");
    EXPECT_EQ(c.query_value<std::string>("PRAGMA integrity_check"), "ok");
    // Nothing new: nothing applied, same index.
    const auto again = db.sync();
    EXPECT_EQ(again.frames_applied, 0u);
    EXPECT_EQ(again.replication_index, r.replication_index);
}

TEST(Replica, OpenConnectionsSeeNewRowsAndTablesAfterSync) {
    fixture f;
    libsql::database db(f.replica_path, f.opts());
    db.sync();
    auto c = db.connect();
    auto count = c.prepare("SELECT count(*) FROM t");
    EXPECT_EQ(count.query_row().get<std::int64_t>(0), 2);
    const auto before = *db.replication_index();
    primary_exec(f.url(), {"INSERT INTO t(v) VALUES ('three')", "CREATE TABLE u(x)", "INSERT INTO u VALUES (7)"});
    const auto r = db.sync();
    EXPECT_GT(r.frames_applied, 0u);
    EXPECT_GT(r.replication_index, before);
    EXPECT_EQ(count.query_row().get<std::int64_t>(0), 3);
    EXPECT_EQ(c.query_value<std::int64_t>("SELECT x FROM u"), 7);
    EXPECT_EQ(conn_text(c, "SELECT * FROM t ORDER BY id"), primary_text(f.primary_path, "SELECT * FROM t ORDER BY id"));
}

// A local read past its first row takes the replica's fast path (steps and columns straight to the local
// statement). Routing is still decided per run: the same statement, run again inside a transaction on the primary,
// reads there; a reset, a connection reset or a new run leaves the old cursor stale; a cursor left open over a write
// keeps its snapshot while later runs go to the primary until it ends.
TEST(Replica, ReusedLocalReadReroutesBetweenRuns) {
    fixture f;
    libsql::database db(f.replica_path, f.opts());
    db.sync();
    auto c = db.connect();
    auto scan = c.prepare("SELECT id, v FROM t ORDER BY id");
    auto read_all = [&] {
        std::string out;
        for (auto r : scan.query()) out += std::to_string(r.get<std::int64_t>(0)) + ":" + r.get<std::string>(1) + ",";
        return out;
    };
    EXPECT_EQ(read_all(), "1:one,2:two,");
    {
        auto rows = scan.query();
        ASSERT_TRUE(rows.next());
        ASSERT_TRUE(rows.next());  // past the first row: the fast path
        const auto v = rows.current();
        EXPECT_EQ(v.get<std::string>(1), "two");
        // A write on the primary while this cursor is open: the cursor keeps its snapshot, the next run of another
        // statement goes to the primary (and sees the write).
        c.execute("INSERT INTO t(v) VALUES ('three')");
        EXPECT_EQ(v.get<std::string>(1), "two");
        EXPECT_FALSE(rows.next());
        EXPECT_THROW((void)v.get<std::string>(1), libsql::usage_error);  // stale after the step
    }
    EXPECT_EQ(read_all(), "1:one,2:two,3:three,");

    // Inside a transaction on the primary, the same statement reads the uncommitted row there.
    {
        auto tx = c.transaction();
        c.execute("INSERT INTO t(v) VALUES ('four')");
        EXPECT_EQ(read_all(), "1:one,2:two,3:three,4:four,");
        tx.rollback();
    }
    EXPECT_EQ(read_all(), "1:one,2:two,3:three,");

    // A new run, a statement reset or a connection reset mid-scan leave the cursor stale; the statement still works.
    {
        auto rows = scan.query();
        ASSERT_TRUE(rows.next());
        ASSERT_TRUE(rows.next());
        const auto v = rows.current();
        c.reset();
        EXPECT_THROW((void)v.get<std::int64_t>(0), libsql::usage_error);
        EXPECT_THROW((void)rows.next(), libsql::usage_error);
    }
    EXPECT_EQ(read_all(), "1:one,2:two,3:three,");
    {
        auto rows = scan.query();
        ASSERT_TRUE(rows.next());
        ASSERT_TRUE(rows.next());
        auto again = scan.query();
        EXPECT_THROW((void)rows.current().get<std::int64_t>(0), libsql::usage_error);
        ASSERT_TRUE(again.next());
        EXPECT_EQ(again.current().get<std::int64_t>(0), 1);
    }
    // Frozen: local for good, through the same statement.
    db.freeze();
    EXPECT_EQ(read_all(), "1:one,2:two,3:three,");
}

TEST(Replica, ReopenResumesWithoutBootstrapping) {
    fixture f;
    std::uint64_t index = 0;
    {
        libsql::database db(f.replica_path, f.opts());
        index = db.sync().replication_index;
        EXPECT_EQ(db.flush_replicator(), index);
    }
    primary_exec1(f.url(), "INSERT INTO t(v) VALUES ('later')");
    libsql::database db(f.replica_path, f.opts());
    EXPECT_EQ(db.replication_index(), index);
    const auto r = db.sync();
    EXPECT_GT(r.replication_index, index);
    // Only the new transaction's frames came (a bootstrap would not count frames at all).
    EXPECT_GT(r.frames_applied, 0u);
    EXPECT_EQ(r.frames_applied, r.replication_index - index);
    auto c = db.connect();
    EXPECT_EQ(c.query_value<std::int64_t>("SELECT count(*) FROM t"), 3);
}

TEST(Replica, SyncUntilAndReplicationIndex) {
    fixture f;
    libsql::database db(f.replica_path, f.opts());
    const auto first = db.sync().replication_index;
    primary_exec1(f.url(), "INSERT INTO t(v) VALUES ('x')");
    primary_exec1(f.url(), "INSERT INTO t(v) VALUES ('y')");
    const auto r = db.sync_until(first + 1);
    EXPECT_GE(r.replication_index, first + 1);
    EXPECT_EQ(db.replication_index(), r.replication_index);
    // An index beyond what the primary has: one full sync, then it stops (nothing more to wait for).
    const auto far = db.sync_until(r.replication_index + 1000);
    EXPECT_EQ(far.replication_index, r.replication_index);
    EXPECT_EQ(db.flush_replicator(), r.replication_index);
    auto meta = rp::read_metadata(rp::metadata_path(f.replica_path));
    ASSERT_TRUE(meta);
    EXPECT_EQ(meta->frame, r.replication_index);
    EXPECT_FALSE(meta->pending);
}

TEST(Replica, FreezeMakesAPlainLocalDatabase) {
    fixture f;
    libsql::database db(f.replica_path, f.opts());
    db.sync();
    db.freeze();
    EXPECT_FALSE(std::filesystem::exists(rp::metadata_path(f.replica_path)));
    EXPECT_EQ(db.transport(), libsql::transport::local);
    auto c = db.connect();
    EXPECT_EQ(c.transport(), libsql::transport::local);
    c.execute("INSERT INTO t(v) VALUES ('local')");
    EXPECT_EQ(c.query_value<std::int64_t>("SELECT count(*) FROM t"), 3);
    EXPECT_THROW(db.sync(), libsql::usage_error);
    // The primary did not get the local write.
    EXPECT_EQ(primary_text(f.primary_path, "SELECT count(*) FROM t"), "2|\n");
    // The file is an ordinary database afterwards.
    libsql::database plain(f.replica_path);
    auto p = plain.connect();
    EXPECT_EQ(p.query_value<std::int64_t>("SELECT count(*) FROM t"), 3);
    EXPECT_EQ(p.query_value<std::string>("PRAGMA integrity_check"), "ok");
}

TEST(Replica, BackgroundSyncPicksUpARow) {
    fixture f;
    auto o = f.opts();
    o.sync_interval = 30ms;
    libsql::database db(f.replica_path, o);
    auto c = db.connect();
    primary_exec1(f.url(), "INSERT INTO t(v) VALUES ('background')");
    const auto deadline = std::chrono::steady_clock::now() + 10s;
    bool seen = false;
    while (!seen && std::chrono::steady_clock::now() < deadline) {
        seen = c.query_value<std::int64_t>("SELECT count(*) FROM t WHERE v = 'background'") == 1;
        if (!seen) std::this_thread::sleep_for(10ms);
    }
    EXPECT_TRUE(seen);
    // The database goes while the thread runs: it stops cleanly (the test would hang or crash otherwise).
}

TEST(Replica, ExistingPlainFileIsRefused) {
    fixture f;
    {
        libsql::database plain(f.replica_path);
        plain.connect().execute("CREATE TABLE mine(x)");
    }
    EXPECT_THROW(libsql::database(f.replica_path, f.opts()), libsql::usage_error);
}

TEST(Replica, UnreachablePrimaryFailsTypedAndLeavesNoFile) {
    temp_dir dir("replica");
    libsql::connect_options o;
    o.sync_url = "http://127.0.0.1:" + std::to_string(libsql::test::free_port());
    o.connect_timeout = 2s;
    const auto path = dir.file("r.db");
    EXPECT_THROW(libsql::database(path, o), libsql::connection_error);
    EXPECT_FALSE(std::filesystem::exists(path));
}

TEST(Replica, FollowsGenerationChanges) {
    // The primary checkpoints (a new generation) once its WAL holds 8 frames, at its next sweep (500 ms); it keeps
    // only the last ended generation's frames.
    fixture f({"--checkpoint-frames", "8", "--keep-generations", "1"});
    libsql::database db(f.replica_path, f.opts());
    db.sync();
    auto c = db.connect();
    // A second replica that stays behind, with a connection open throughout.
    libsql::database behind(f.dir.file("behind.db"), f.opts());
    behind.sync();
    auto bc = behind.connect();
    EXPECT_EQ(bc.query_value<std::int64_t>("SELECT count(*) FROM t"), 2);
    std::uint64_t generations_seen = 1;
    // At least four rounds, and more (within a generous bound) on a machine slow enough to miss sweeps.
    const auto deadline = std::chrono::steady_clock::now() + 20s;
    for (int round = 0; round < 4 || (generations_seen < 3 && std::chrono::steady_clock::now() < deadline); ++round) {
        for (int i = 0; i < 6; ++i)
            primary_exec1(f.url(), "INSERT INTO t(v) VALUES (printf('%0800d', " + std::to_string(round * 10 + i) + "))");
        std::this_thread::sleep_for(700ms);  // a sweep passes: the primary checkpoints
        db.sync();
        EXPECT_EQ(conn_text(c, "SELECT count(*), sum(length(v)) FROM t"),
                  primary_text(f.primary_path, "SELECT count(*), sum(length(v)) FROM t"))
            << "round " << round;
        const auto meta = rp::read_metadata(rp::metadata_path(f.replica_path));
        ASSERT_TRUE(meta);
        EXPECT_GE(meta->generation, generations_seen);
        generations_seen = meta->generation;
    }
    EXPECT_EQ(c.query_value<std::string>("PRAGMA integrity_check"), "ok");
    EXPECT_GT(generations_seen, 2u);  // the primary checkpointed and the replica followed, generation by generation
    // The replica left behind is in generation 1, whose frames are gone (only the last ended generation is kept):
    // it bootstraps again in place, and its open connection sees the new content.
    behind.sync();
    const auto bmeta = rp::read_metadata(rp::metadata_path(f.dir.file("behind.db")));
    ASSERT_TRUE(bmeta);
    EXPECT_GE(bmeta->generation, generations_seen);
    EXPECT_EQ(conn_text(bc, "SELECT * FROM t ORDER BY id"), conn_text(c, "SELECT * FROM t ORDER BY id"));
    EXPECT_EQ(bc.query_value<std::string>("PRAGMA integrity_check"), "ok");
    // A replica bootstrapped now starts in the current generation and has the same content.
    libsql::database late(f.dir.file("late.db"), f.opts());
    late.sync();
    auto lc = late.connect();
    EXPECT_EQ(conn_text(lc, "SELECT * FROM t ORDER BY id"), conn_text(c, "SELECT * FROM t ORDER BY id"));
}

TEST(Replica, WritesGoToThePrimaryAndReadYourWrites) {
    fixture f;
    libsql::database db(f.replica_path, f.opts());
    db.sync();
    auto c = db.connect();
    EXPECT_EQ(c.execute("INSERT INTO t(v) VALUES ('via replica')"), 1);
    // On the primary, and (read_your_writes) already in the local file.
    EXPECT_EQ(primary_text(f.primary_path, "SELECT count(*) FROM t WHERE v = 'via replica'"), "1|\n");
    EXPECT_EQ(c.query_value<std::int64_t>("SELECT count(*) FROM t WHERE v = 'via replica'"), 1);

    // A transaction runs on the primary: it reads its own uncommitted write there.
    {
        auto tx = c.transaction();
        c.execute("INSERT INTO t(v) VALUES ('in tx')");
        EXPECT_EQ(c.query_value<std::int64_t>("SELECT count(*) FROM t WHERE v = 'in tx'"), 1);
        EXPECT_FALSE(c.is_autocommit());
        tx.commit();
    }
    EXPECT_TRUE(c.is_autocommit());
    EXPECT_EQ(c.query_value<std::int64_t>("SELECT count(*) FROM t WHERE v = 'in tx'"), 1);
    // A rolled-back transaction leaves nothing.
    {
        auto tx = c.transaction();
        c.execute("INSERT INTO t(v) VALUES ('rolled back')");
        tx.rollback();
    }
    db.sync();
    EXPECT_EQ(c.query_value<std::int64_t>("SELECT count(*) FROM t WHERE v = 'rolled back'"), 0);
    // DDL through the replica: the new table arrives locally.
    c.execute("CREATE TABLE made_here(a)");
    c.execute("INSERT INTO made_here VALUES (5)");
    EXPECT_EQ(c.query_value<std::int64_t>("SELECT a FROM made_here"), 5);
    // Errors keep their type.
    EXPECT_THROW(c.execute("INSERT INTO t(id, v) VALUES (1, 'dup')"), libsql::constraint_violation);
}

TEST(Replica, WithoutReadYourWritesTheWriteArrivesOnSync) {
    fixture f;
    auto o = f.opts();
    o.read_your_writes = false;
    libsql::database db(f.replica_path, o);
    db.sync();
    auto c = db.connect();
    c.execute("INSERT INTO t(v) VALUES ('later')");
    EXPECT_EQ(c.query_value<std::int64_t>("SELECT count(*) FROM t"), 2);
    db.sync();
    EXPECT_EQ(c.query_value<std::int64_t>("SELECT count(*) FROM t"), 3);
}

// --- malformed frames through a whole sync. libsql serve never sends bad frames, so this one case needs a peer that
// does: a minimal HTTP server serving a real SQLite primary's export and WAL frames, with one frame damaged on
// demand. (Every other sync test runs against libsql serve.)
namespace {

class frame_server {
public:
    frame_server(std::string export_image, std::string frames, std::size_t frame_size)
        : export_(std::move(export_image)), frames_(std::move(frames)), frame_size_(frame_size) {
        fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        socklen_t len = sizeof a;
        int one = 1;
        ::setsockopt(fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        if (::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || ::listen(fd_, 16) != 0 ||
            ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len) != 0)
            throw std::runtime_error("frame_server: cannot listen");
        port_ = ntohs(a.sin_port);
        thread_ = std::thread([this] { serve(); });
    }
    ~frame_server() {
        stop_ = true;
        ::shutdown(fd_, SHUT_RDWR);
        ::close(fd_);
        thread_.join();
    }
    std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
    /// Frames served: the first `n` of the WAL; frame `bad` (1-based; 0: none) has a page byte flipped.
    std::atomic<std::size_t> served{0};
    std::atomic<std::size_t> bad{0};

private:
    void serve() {
        while (!stop_) {
            const int c = ::accept(fd_, nullptr, nullptr);
            if (c < 0) continue;
            std::string req;
            char buf[4096];
            while (req.find("\r\n\r\n") == std::string::npos) {
                const auto n = ::recv(c, buf, sizeof buf, 0);
                if (n <= 0) break;
                req.append(buf, static_cast<std::size_t>(n));
            }
            const auto sp = req.find(' ');
            const auto path = req.substr(sp + 1, req.find(' ', sp + 1) - sp - 1);
            int status = 200;
            std::string body;
            if (path == "/info") {
                body = "{\"current_generation\":1}";
            } else if (path == "/export/1") {
                body = export_;
            } else if (path.starts_with("/sync/1/")) {
                unsigned long start = 0, end = 0;
                std::sscanf(path.c_str(), "/sync/1/%lu/%lu", &start, &end);
                const std::size_t last = served;
                if (start > last) {
                    status = 400;
                    body = "{\"status\":\"checkpoint_needed\",\"generation\":1,\"max_frame_no\":" + std::to_string(last) + "}";
                } else {
                    const std::size_t stop = std::min<std::size_t>(end, last + 1);
                    body = frames_.substr((start - 1) * frame_size_, (stop - start) * frame_size_);
                    const std::size_t b = bad;
                    if (b >= start && b < stop) body[(b - start) * frame_size_ + 24 + 200] ^= 0x5a;
                }
            } else {
                status = 404;
            }
            std::string head = "HTTP/1.1 " + std::to_string(status) + (status == 200 ? " OK" : " Error") +
                               "\r\nContent-Type: " + (path.starts_with("/export") || (path.starts_with("/sync") && status == 200)
                                                           ? "application/octet-stream" : "application/json") +
                               "\r\nContent-Length: " + std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n";
            head += body;
            std::size_t done = 0;
            while (done < head.size()) {
                const auto n = ::send(c, head.data() + done, head.size() - done, MSG_NOSIGNAL);
                if (n <= 0) break;
                done += static_cast<std::size_t>(n);
            }
            ::close(c);
        }
    }
    std::string export_, frames_;
    std::size_t frame_size_;
    int fd_ = -1;
    std::uint16_t port_ = 0;
    std::atomic<bool> stop_{false};
    std::thread thread_;
};

std::string slurp(const std::string& path) {
    std::string out;
    if (std::FILE* f = std::fopen(path.c_str(), "rb")) {
        char buf[65536];
        std::size_t n;
        while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) out.append(buf, n);
        std::fclose(f);
    }
    return out;
}

} // namespace

TEST(Replica, MalformedFramesFailTypedAndLeaveTheReplicaAsItWas) {
    temp_dir dir("replica-bad");
    const auto primary = dir.file("primary.db");
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(primary.c_str(), &db), SQLITE_OK);
    ASSERT_EQ(sqlite3_exec(db, "PRAGMA journal_mode=WAL; PRAGMA wal_autocheckpoint=0; CREATE TABLE t(x);"
                               "PRAGMA wal_checkpoint(TRUNCATE)", nullptr, nullptr, nullptr), SQLITE_OK);
    const auto image = slurp(primary);
    for (int i = 1; i <= 3; ++i)
        ASSERT_EQ(sqlite3_exec(db, ("INSERT INTO t VALUES (" + std::to_string(i) + ")").c_str(), nullptr, nullptr, nullptr), SQLITE_OK);
    const auto wal = slurp(primary + "-wal");
    sqlite3_close(db);
    const std::size_t fs = 24 + 4096;
    ASSERT_GT(wal.size(), 32u);
    const auto frames = wal.substr(32);
    const auto n = frames.size() / fs;
    ASSERT_GE(n, 3u);

    frame_server server(image, frames, fs);
    server.served = 1;  // the first transaction (one frame)
    libsql::connect_options o;
    o.sync_url = server.url();
    const auto path = dir.file("replica.db");
    libsql::database replica(path, o);
    EXPECT_EQ(replica.sync().replication_index, 1u);
    auto c = replica.connect();
    EXPECT_EQ(c.query_value<std::int64_t>("SELECT count(*) FROM t"), 1);
    const auto file_before = slurp(path) + slurp(path + "-wal");
    const auto meta_before = slurp(rp::metadata_path(path));

    server.served = n;
    server.bad = 3;  // a later frame's page damaged: its checksum no longer continues the chain
    EXPECT_THROW(replica.sync(), libsql::protocol_error);
    EXPECT_EQ(replica.replication_index(), 1u);
    EXPECT_EQ(slurp(path) + slurp(path + "-wal"), file_before);
    EXPECT_EQ(slurp(rp::metadata_path(path)), meta_before);
    EXPECT_EQ(c.query_value<std::int64_t>("SELECT count(*) FROM t"), 1);

    server.bad = 0;  // the primary behaves again: the same replica catches up
    const auto r = replica.sync();
    EXPECT_EQ(r.replication_index, n);
    EXPECT_EQ(c.query_value<std::int64_t>("SELECT sum(x) FROM t"), 6);
    EXPECT_EQ(c.query_value<std::string>("PRAGMA integrity_check"), "ok");
}

// --- the crash test: a child syncs in a loop while the primary takes writes; SIGKILL at random moments; after
// each kill the replica reopens consistent (integrity ok, a committed prefix of the primary's history), and at the
// end a sync reaches the primary's content exactly.
#ifdef LIBSQL_SYNC_CHILD_PATH
TEST(Replica, SurvivesSigkillAtRandomMomentsDuringSync) {
    fixture f({"--checkpoint-frames", "64"});
    primary_exec1(f.url(), "DELETE FROM t");
    std::atomic<bool> stop{false};
    std::atomic<int> written{0};
    std::atomic<int> attempted{0};
    std::thread writer([&] {
        // Rows 1..n in order, one transaction each; every fifth carries a few pages of padding so that
        // transactions span several frames (and some span /sync requests).
        for (int i = 1; !stop && i < 100000; ++i) {
            const std::string pad = i % 5 == 0 ? "zeroblob(9000)" : "NULL";
            attempted = i;
            primary_exec1(f.url(), "INSERT INTO t(id, v) VALUES (" + std::to_string(i) + ", " + pad + ")");
            written = i;
            std::this_thread::sleep_for(2ms);
        }
    });
    std::mt19937 rng(12345);
    std::uint64_t last_generation = 0, last_frame = 0;
    int last_rows = 0;
    const auto started = std::chrono::steady_clock::now();
    int kills = 0, pending_seen = 0, pending_applied = 0;
    for (int i = 0; i < 30 && std::chrono::steady_clock::now() - started < 15s; ++i) {
        {
            libsql::test::child_process child({LIBSQL_SYNC_CHILD_PATH, f.replica_path, f.url()}, true);
            std::this_thread::sleep_for(std::chrono::milliseconds(std::uniform_int_distribution<int>(5, 250)(rng)));
            child.kill_now();
            ++kills;
        }
        if (!std::filesystem::exists(f.replica_path)) continue;  // killed before the bootstrap finished
        const auto raw = rp::read_metadata(rp::metadata_path(f.replica_path));
        ASSERT_TRUE(raw) << "a replica file without metadata after kill " << i;
        if (raw->pending) ++pending_seen;
        auto o = f.opts();
        libsql::database db(f.replica_path, o);  // resolves a pending apply left by the kill
        auto c = db.connect();
        ASSERT_EQ(c.query_value<std::string>("PRAGMA integrity_check"), "ok") << "after kill " << i;
        const auto row = c.query_row("SELECT count(*), coalesce(max(id), 0), coalesce(sum(id), 0) FROM t");
        const auto count = row.get<std::int64_t>(0), max = row.get<std::int64_t>(1), sum = row.get<std::int64_t>(2);
        EXPECT_EQ(count, max) << "after kill " << i << ": not a prefix";
        EXPECT_EQ(sum, max * (max + 1) / 2) << "after kill " << i << ": not a prefix";
        EXPECT_LE(max, attempted.load());
        EXPECT_GE(max, last_rows) << "after kill " << i << ": went back";
        last_rows = static_cast<int>(max);
        const auto meta = rp::read_metadata(rp::metadata_path(f.replica_path));
        ASSERT_TRUE(meta);
        EXPECT_FALSE(meta->pending);
        if (raw->pending) {
            // Resolved one way or the other, exactly.
            EXPECT_TRUE((meta->generation == raw->pending->generation && meta->frame == raw->pending->frame) ||
                        (meta->generation == raw->generation && meta->frame == raw->frame));
            if (meta->frame == raw->pending->frame && meta->generation == raw->pending->generation) ++pending_applied;
        }
        // The position never goes back (a frame applied twice would need it to).
        EXPECT_TRUE(meta->generation > last_generation || (meta->generation == last_generation && meta->frame >= last_frame))
            << "after kill " << i;
        last_generation = meta->generation;
        last_frame = meta->frame;
    }
    stop = true;
    writer.join();
    EXPECT_GT(last_rows, 0);
    libsql::database db(f.replica_path, f.opts());
    db.sync();
    auto c = db.connect();
    EXPECT_EQ(conn_text(c, "SELECT id, length(v) FROM t ORDER BY id"),
              primary_text(f.primary_path, "SELECT id, length(v) FROM t ORDER BY id"));
    EXPECT_EQ(c.query_value<std::int64_t>("SELECT count(*) FROM t"), written.load());
    EXPECT_EQ(c.query_value<std::string>("PRAGMA integrity_check"), "ok");
    std::printf("crash test: %d kills, %d rows written, generation %llu, %d pending records found (%d had been applied)\n",
                kills, written.load(), static_cast<unsigned long long>(last_generation), pending_seen, pending_applied);
}
#endif

namespace {
std::string file_bytes(const std::string& path) {
    std::error_code ec;
    const auto size = std::filesystem::file_size(path, ec);
    if (ec) return {};
    std::string out(size, '\0');
    std::FILE* f = std::fopen(path.c_str(), "rb");
    if (!f) return {};
    const auto n = std::fread(out.data(), 1, size, f);
    std::fclose(f);
    out.resize(n);
    return out;
}
} // namespace

TEST(Replica, EncryptedReplicaOfAnEncryptedServerWithAnotherKey) {
    // The server's file is encrypted with key A; /export and /sync serve plaintext pages (frames with their checksum
    // chain over the plaintext); the replica stores them encrypted with key B.
    fixture f({"--encryption-key", "key-A"});
    primary_exec1(f.url(), "INSERT INTO t(v) VALUES ('secret-three')");
    EXPECT_EQ(file_bytes(f.primary_path + "-wal").find("secret-three"), std::string::npos);
    auto o = f.opts();
    o.encryption_key = "key-B";
    {
        libsql::database db(f.replica_path, o);
        const auto first = db.sync();
        auto c = db.connect();
        EXPECT_EQ(conn_text(c, "SELECT v FROM t ORDER BY id"), "one|\ntwo|\nsecret-three|\n");
        // Frames only (no new bootstrap): the recomputed chain is accepted across requests.
        primary_exec(f.url(), {"INSERT INTO t(v) VALUES ('secret-four')", "INSERT INTO t(v) VALUES ('secret-five')"});
        const auto second = db.sync();
        EXPECT_GT(second.frames_applied, 0u);
        EXPECT_GT(second.replication_index, first.replication_index);
        EXPECT_EQ(c.query_value<int>("SELECT count(*) FROM t"), 5);
        // A write goes to the primary and comes back through the frames.
        c.execute("INSERT INTO t(v) VALUES ('secret-six')");
        EXPECT_EQ(c.query_value<int>("SELECT count(*) FROM t"), 6);
        EXPECT_EQ(c.query_value<std::string>("PRAGMA integrity_check"), "ok");
    }
    for (const auto& file : {f.replica_path, f.replica_path + "-wal"}) {
        const auto bytes = file_bytes(file);
        EXPECT_EQ(bytes.find("secret-"), std::string::npos) << file;
    }
    const auto meta = file_bytes(rp::metadata_path(f.replica_path));
    EXPECT_FALSE(meta.empty());
    EXPECT_EQ(meta.find("key-B"), std::string::npos);
    // Only key B opens it; and it reopens as a replica.
    auto wrong = o;
    wrong.encryption_key = "key-A";
    EXPECT_THROW(libsql::database(f.replica_path, wrong), libsql::encryption_error);
    libsql::database again(f.replica_path, o);
    EXPECT_EQ(again.connect().query_value<int>("SELECT count(*) FROM t"), 6);
}
