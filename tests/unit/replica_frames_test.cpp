// Replica frames and apply, with REAL SQLite WAL frames: a WAL-mode primary with checkpoints off, its -wal file
// read while open, its frames fed to the validator and applied through sqlite_dbpage to a copy of its main file.
#include "replica/apply.hpp"
#include "replica/frames.hpp"

#include "libsql/database.hpp"
#include "local/local.hpp"
#include "support/sqlite_text.hpp"
#include "support/temp_files.hpp"

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <cstdio>
#include <string>

namespace rp = libsql::detail::replica;
using libsql::test::temp_dir;

namespace {

std::string read_file(const std::string& path) {
    std::string out;
    if (std::FILE* f = std::fopen(path.c_str(), "rb")) {
        char buf[65536];
        std::size_t n;
        while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) out.append(buf, n);
        std::fclose(f);
    }
    return out;
}

void exec(sqlite3* db, const std::string& sql) {
    char* err = nullptr;
    if (sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &err) != SQLITE_OK) {
        std::string msg = err ? err : "?";
        sqlite3_free(err);
        FAIL() << sql << ": " << msg;
    }
}

std::string text_of(sqlite3* db, const std::string& sql) { return libsql::test::sqlite_text(db, sql); }

/// A WAL-mode primary whose base image (checkpointed) is copied to `replica`; later transactions stay in its WAL.
struct primary {
    temp_dir dir{"replica-frames"};
    std::string path = dir.file("primary.db");
    std::string replica = dir.file("replica.db");
    sqlite3* db = nullptr;

    primary() {
        EXPECT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
        exec(db, "PRAGMA journal_mode=WAL; PRAGMA wal_autocheckpoint=0;"
                 "CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT);"
                 "INSERT INTO t(v) VALUES ('base1'), ('base2');");
        exec(db, "PRAGMA wal_checkpoint(TRUNCATE)");
        std::filesystem::copy_file(path, replica);
        EXPECT_EQ(read_file(path + "-wal").size(), 0u);
    }
    ~primary() { sqlite3_close(db); }
    /// The frames now in the WAL (without its 32-byte header).
    std::string frames() const {
        const auto wal = read_file(path + "-wal");
        return wal.size() > 32 ? wal.substr(32) : std::string();
    }
    std::uint32_t page_size() { return static_cast<std::uint32_t>(std::stoul(text_of(db, "PRAGMA page_size"))); }
};

libsql::connect_options rw() {
    libsql::connect_options o;
    o.mode = libsql::open_mode::read_write;
    return o;
}

/// Feeds every frame and applies what is complete; returns the set applied.
rp::ready_set feed_and_apply(const std::string& replica, std::uint32_t page_size, const std::string& body,
                             rp::chain_state chain = {}, std::uint64_t next = 1) {
    rp::frame_stream s(page_size, chain, next);
    s.feed(body, body.size() / s.frame_size());
    EXPECT_TRUE(s.has_ready());
    auto ready = s.take_ready();
    libsql::detail::local_connection c(replica, rw());
    rp::apply_pages(c, ready.pages, ready.db_size);
    return ready;
}

std::string replica_text(const std::string& replica, const std::string& sql) {
    sqlite3* db = nullptr;
    EXPECT_EQ(sqlite3_open_v2(replica.c_str(), &db, SQLITE_OPEN_READONLY, nullptr), SQLITE_OK);
    auto s = text_of(db, sql);
    sqlite3_close(db);
    return s;
}

} // namespace

TEST(ReplicaFrames, HeaderRoundTripAndPageSize) {
    rp::frame_header h{7, 9, 0x01020304, 0xa0b0c0d0, 1, 2};
    unsigned char buf[24];
    rp::write_frame_header(h, buf);
    EXPECT_EQ(buf[3], 7);
    const auto back = rp::parse_frame_header(buf);
    EXPECT_EQ(back.page_number, 7u);
    EXPECT_EQ(back.db_size_after_commit, 9u);
    EXPECT_EQ(back.salt2, 0xa0b0c0d0u);
    std::string page1(4096, '\0');
    std::memcpy(page1.data(), "SQLite format 3\0", 16);
    page1[16] = 0x10;
    page1[17] = 0;
    EXPECT_EQ(rp::page_size_of_header(page1), 4096u);
    page1[16] = 0;
    page1[17] = 1;
    EXPECT_EQ(rp::page_size_of_header(page1), 65536u);
    page1[17] = 3;
    EXPECT_EQ(rp::page_size_of_header(page1), 0u);
    EXPECT_EQ(rp::page_size_of_header("not a database"), 0u);
}

TEST(ReplicaFrames, RealFramesApplyToACopyOfTheBase) {
    primary p;
    exec(p.db, "INSERT INTO t(v) VALUES ('one')");
    exec(p.db, "BEGIN; INSERT INTO t(v) VALUES ('two'); CREATE TABLE u(x); INSERT INTO u VALUES (42); COMMIT");
    exec(p.db, "UPDATE t SET v = 'ONE' WHERE v = 'one'");
    const auto body = p.frames();
    const auto ps = p.page_size();
    ASSERT_EQ(body.size() % (24 + ps), 0u);
    const auto n = body.size() / (24 + ps);
    ASSERT_GE(n, 3u);

    const auto ready = feed_and_apply(p.replica, ps, body);
    EXPECT_EQ(ready.commit_frame, n);
    EXPECT_EQ(ready.frames, n);
    EXPECT_EQ(ready.chain.order, rp::checksum_order::little);  // x86 writes little-endian checksums
    EXPECT_TRUE(ready.chain.salt1.has_value());
    EXPECT_EQ(replica_text(p.replica, "SELECT id, v FROM t ORDER BY id"), text_of(p.db, "SELECT id, v FROM t ORDER BY id"));
    EXPECT_EQ(replica_text(p.replica, "SELECT x FROM u"), "42|\n");
    EXPECT_EQ(replica_text(p.replica, "PRAGMA integrity_check"), "ok|\n");
}

TEST(ReplicaFrames, ChainContinuesAcrossBatchesAndTransactionsSpanBatches) {
    primary p;
    exec(p.db, "BEGIN");
    for (int i = 0; i < 300; ++i) exec(p.db, "INSERT INTO t(v) VALUES (printf('%0500d', " + std::to_string(i) + "))");
    exec(p.db, "COMMIT");
    exec(p.db, "INSERT INTO t(v) VALUES ('last')");
    const auto body = p.frames();
    const auto ps = p.page_size();
    const auto fs = 24 + ps;
    const auto n = body.size() / fs;
    ASSERT_GT(n, 20u);
    // Three frames per request: the big transaction spans many requests and stays buffered until its commit.
    rp::frame_stream s(ps, {}, 1);
    std::size_t commits = 0;
    libsql::detail::local_connection c(p.replica, rw());
    for (std::size_t i = 0; i < n; i += 3) {
        const auto k = std::min<std::size_t>(3, n - i);
        s.feed(std::string_view(body).substr(i * fs, k * fs), 3);
        if (s.has_ready()) {
            auto r = s.take_ready();
            rp::apply_pages(c, r.pages, r.db_size);
            ++commits;
        }
    }
    EXPECT_FALSE(s.in_transaction());
    EXPECT_EQ(s.next_frame(), n + 1);
    EXPECT_GE(commits, 1u);
    EXPECT_EQ(replica_text(p.replica, "SELECT count(*), max(v) FROM t"), text_of(p.db, "SELECT count(*), max(v) FROM t"));
    EXPECT_EQ(replica_text(p.replica, "PRAGMA integrity_check"), "ok|\n");

    // Resuming from a persisted chain: the next transaction's first frame is checked against it.
    rp::frame_stream all(ps, {}, 1);
    all.feed(body, n);
    const auto chain = all.take_ready().chain;
    exec(p.db, "INSERT INTO t(v) VALUES ('after')");
    const auto more = p.frames().substr(n * fs);
    rp::frame_stream resumed(ps, chain, n + 1);
    EXPECT_NO_THROW(resumed.feed(more, 100));
    EXPECT_TRUE(resumed.has_ready());
    // The same frames against a wrong chain fail.
    auto wrong = chain;
    *wrong.checksum1 ^= 1;
    rp::frame_stream bad(ps, wrong, n + 1);
    EXPECT_THROW(bad.feed(more, 100), libsql::protocol_error);
}

TEST(ReplicaFrames, OpenReadersSeeNewRowsAndNewTables) {
    primary p;
    libsql::connect_options o = rw();
    libsql::database replica_db(p.replica, o);
    auto reader = replica_db.connect();
    EXPECT_EQ(reader.query_value<std::int64_t>("SELECT count(*) FROM t"), 2);
    auto stmt = reader.prepare("SELECT count(*) FROM t");
    // A read transaction open across the apply keeps its snapshot; a new one sees the apply whole.
    auto tx = reader.transaction();
    EXPECT_EQ(stmt.query_row().get<std::int64_t>(0), 2);

    exec(p.db, "INSERT INTO t(v) VALUES ('new'); CREATE TABLE fresh(a, b); INSERT INTO fresh VALUES (1, 2)");
    feed_and_apply(p.replica, p.page_size(), p.frames());

    EXPECT_EQ(stmt.query_row().get<std::int64_t>(0), 2);  // still the old snapshot
    tx.commit();
    EXPECT_EQ(stmt.query_row().get<std::int64_t>(0), 3);
    EXPECT_EQ(reader.query_value<std::int64_t>("SELECT b FROM fresh"), 2);
    EXPECT_EQ(reader.query_value<std::string>("PRAGMA integrity_check"), "ok");
}

TEST(ReplicaFrames, ShrinkAfterVacuumTruncatesTheReplica) {
    primary p;
    exec(p.db, "BEGIN");
    for (int i = 0; i < 200; ++i) exec(p.db, "INSERT INTO t(v) VALUES (printf('%01000d', " + std::to_string(i) + "))");
    exec(p.db, "COMMIT");
    exec(p.db, "PRAGMA wal_checkpoint(TRUNCATE)");
    std::filesystem::copy_file(p.path, p.replica, std::filesystem::copy_options::overwrite_existing);
    const auto big = std::stoul(text_of(p.db, "PRAGMA page_count"));

    libsql::database replica_db(p.replica, rw());
    auto reader = replica_db.connect();
    EXPECT_EQ(reader.query_value<std::int64_t>("SELECT count(*) FROM t"), 202);

    exec(p.db, "DELETE FROM t WHERE id > 3");
    exec(p.db, "VACUUM");
    const auto small = std::stoul(text_of(p.db, "PRAGMA page_count"));
    ASSERT_LT(small, big);
    const auto ready = feed_and_apply(p.replica, p.page_size(), p.frames());
    EXPECT_EQ(ready.db_size, small);
    EXPECT_EQ(reader.query_value<std::int64_t>("SELECT count(*) FROM t"), 3);
    EXPECT_EQ(reader.query_value<std::int64_t>("PRAGMA page_count"), static_cast<std::int64_t>(small));
    EXPECT_EQ(reader.query_value<std::string>("PRAGMA integrity_check"), "ok");
}

namespace {

/// Frames of three transactions, for the malformed-input cases.
struct three_txns {
    primary p;
    std::string body;
    std::uint32_t ps;
    std::size_t fs;
    three_txns() {
        exec(p.db, "INSERT INTO t(v) VALUES ('a')");
        exec(p.db, "INSERT INTO t(v) VALUES ('b')");
        exec(p.db, "INSERT INTO t(v) VALUES ('c')");
        body = p.frames();
        ps = p.page_size();
        fs = 24 + ps;
    }
    std::size_t count() const { return body.size() / fs; }
    unsigned char* frame(std::size_t i) { return reinterpret_cast<unsigned char*>(body.data() + i * fs); }
    /// Feeding the body fails with protocol_error and leaves the replica file byte-for-byte as it was.
    void expect_rejected() {
        const auto before = read_file(p.replica);
        rp::frame_stream s(ps, {}, 1);
        EXPECT_THROW(s.feed(body, count() + 1), libsql::protocol_error);
        // The caller applies nothing of a batch that failed (the exception skips take_ready()).
        EXPECT_EQ(read_file(p.replica), before);
        EXPECT_EQ(replica_text(p.replica, "SELECT count(*) FROM t"), "2|\n");
    }
};

} // namespace

TEST(ReplicaFrames, TruncatedBodyIsRejected) {
    three_txns f;
    f.body.pop_back();
    f.expect_rejected();
}

TEST(ReplicaFrames, BadPageNumberIsRejected) {
    three_txns f;
    auto h = rp::parse_frame_header(f.frame(1));
    h.page_number = 0;
    rp::write_frame_header(h, f.frame(1));
    f.expect_rejected();
    three_txns g;
    h = rp::parse_frame_header(g.frame(1));
    h.page_number = 0x80000000U;
    rp::write_frame_header(h, g.frame(1));
    g.expect_rejected();
}

TEST(ReplicaFrames, SaltMismatchIsRejected) {
    three_txns f;
    ASSERT_GE(f.count(), 3u);
    auto h = rp::parse_frame_header(f.frame(2));
    h.salt1 ^= 0x10;
    rp::write_frame_header(h, f.frame(2));
    f.expect_rejected();
}

TEST(ReplicaFrames, ChecksumMismatchIsRejected) {
    three_txns f;
    ASSERT_GE(f.count(), 3u);
    f.frame(2)[24 + 100] ^= 0xff;  // a page byte
    f.expect_rejected();
}

TEST(ReplicaFrames, TooManyFramesAndPage1WithWrongPageSizeAreRejected) {
    three_txns f;
    rp::frame_stream s(f.ps, {}, 1);
    EXPECT_THROW(s.feed(f.body, f.count() - 1), libsql::protocol_error);
    // A body of 1024-byte frames read as 4096-byte frames does not divide.
    rp::frame_stream t(1024, {}, 1);
    EXPECT_THROW(t.feed(f.body, 1000), libsql::protocol_error);
}

TEST(ReplicaFrames, MetadataRoundTripAndPendingResolution) {
    primary p;
    const auto meta_path = rp::metadata_path(p.replica);
    EXPECT_FALSE(rp::read_metadata(meta_path).has_value());
    rp::metadata m;
    m.generation = 3;
    m.frame = 17;
    m.page_size = p.page_size();
    m.sync_url = "http://127.0.0.1:1";
    m.chain.salt1 = 1;
    m.chain.salt2 = 0xffffffffU;
    m.chain.checksum1 = 5;
    m.chain.checksum2 = 6;
    m.chain.order = rp::checksum_order::big;
    rp::write_metadata(meta_path, m);
    auto back = rp::read_metadata(meta_path);
    ASSERT_TRUE(back);
    EXPECT_EQ(back->generation, 3u);
    EXPECT_EQ(back->frame, 17u);
    EXPECT_EQ(back->chain, m.chain);
    EXPECT_EQ(back->sync_url, m.sync_url);
    EXPECT_FALSE(back->pending);

    exec(p.db, "INSERT INTO t(v) VALUES ('pending')");
    rp::frame_stream s(p.page_size(), {}, 1);
    const auto body = p.frames();
    s.feed(body, 100);
    auto ready = s.take_ready();
    rp::pending_apply pa;
    pa.generation = 3;
    pa.frame = 17 + ready.commit_frame;
    pa.db_size = ready.db_size;
    for (const auto& [pgno, data] : ready.pages) pa.pages.emplace_back(pgno, rp::page_hash(data));
    m.pending = pa;
    rp::write_metadata(meta_path, m);
    back = rp::read_metadata(meta_path);
    ASSERT_TRUE(back && back->pending);
    EXPECT_EQ(back->pending->pages, pa.pages);

    libsql::detail::local_connection c(p.replica, rw());
    EXPECT_FALSE(rp::pending_was_applied(c, pa));
    rp::apply_pages(c, ready.pages, ready.db_size);
    EXPECT_TRUE(rp::pending_was_applied(c, pa));

    // A damaged file is reported as corrupt, never half-read.
    std::ofstream(meta_path) << "{\"version\":1,\"generation\":";
    EXPECT_THROW((void)rp::read_metadata(meta_path), libsql::corrupt);
}
