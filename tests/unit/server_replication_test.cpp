// The server side of embedded replicas (legacy Turso sync): the WAL frame index against real WAL files written by
// SQLite, generations and checkpoints, and the protocol end to end without a client: the export plus the served
// frames, applied through sqlite_dbpage (page 1 last), reproduce the primary.
#include "server/replication.hpp"
#include "server/service.hpp"

#include "libsql/database.hpp"

#include <gtest/gtest.h>
#include <sodium.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <sstream>
#include <thread>

using libsql::server::http_reply;
using libsql::server::service;
using libsql::server::service_options;
using libsql::server::wal_index;

namespace {

struct temp_dir {
    std::filesystem::path path;
    temp_dir() {
        std::string templ = (std::filesystem::temp_directory_path() / "libsql-repl-XXXXXX").string();
        if (mkdtemp(templ.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
        path = templ;
    }
    ~temp_dir() {
        std::error_code ec;
        std::filesystem::remove_all(path, ec);
    }
    [[nodiscard]] std::string file(const std::string& name) const { return (path / name).string(); }
};

std::string read_bytes(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream out;
    out << in.rdbuf();
    return out.str();
}

void write_bytes(const std::string& path, const std::string& bytes) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

std::uint32_t be32(const std::string& s, std::size_t at) {
    const auto* u = reinterpret_cast<const unsigned char*>(s.data() + at);
    return (std::uint32_t{u[0]} << 24) | (std::uint32_t{u[1]} << 16) | (std::uint32_t{u[2]} << 8) | std::uint32_t{u[3]};
}

constexpr std::size_t page_size = 4096;
constexpr std::size_t frame_size = 24 + page_size;

/// The 1-based numbers of the commit frames in a WAL image (read straight from the frame headers).
std::vector<std::uint64_t> commit_frames(const std::string& wal) {
    std::vector<std::uint64_t> out;
    for (std::size_t i = 0; 32 + (i + 1) * frame_size <= wal.size(); ++i)
        if (be32(wal, 32 + i * frame_size + 4) != 0) out.push_back(i + 1);
    return out;
}

std::uint64_t last_commit_before(const std::vector<std::uint64_t>& commits, std::uint64_t frame) {
    std::uint64_t last = 0;
    for (const auto c : commits)
        if (c < frame) last = c;
    return last;
}

/// A WAL-mode database written by a local connection that never checkpoints (and stays open, so the WAL stays).
struct wal_writer {
    libsql::database db;
    libsql::connection conn;
    explicit wal_writer(const std::string& path) : db(path), conn(db.connect()) {
        (void)conn.query_value<std::string>("PRAGMA journal_mode=WAL");
        conn.execute("PRAGMA wal_autocheckpoint=0");
        conn.execute("CREATE TABLE t(i INTEGER PRIMARY KEY, b BLOB)");
    }
    void small(int i) { conn.execute("INSERT INTO t VALUES (?, randomblob(100))", i); }
    void big(int from, int count) {
        conn.execute("WITH RECURSIVE c(k) AS (SELECT ?1 UNION ALL SELECT k + 1 FROM c WHERE k < ?1 + ?2 - 1) "
                     "INSERT INTO t SELECT k, randomblob(300) FROM c", from, count);
    }
};

// ------------------------------------------------------------------------------------------------ service helpers
http_reply run(service& s, const std::string& sql, const std::string& baton = "") {
    std::string body = "{";
    if (!baton.empty()) body += "\"baton\":\"" + baton + "\",";
    body += R"("requests":[{"type":"execute","stmt":{"sql":")" + sql + R"("}}]})";
    auto r = s.pipeline(3, body, "");
    EXPECT_EQ(r.status, 200) << sql << ": " << r.body;
    EXPECT_EQ(r.body.find("\"type\":\"error\""), std::string::npos) << sql << ": " << r.body;
    return r;
}

std::string baton_of(const http_reply& r) {
    const auto at = r.body.find("\"baton\":\"");
    if (at == std::string::npos) return {};
    const auto start = at + 9;
    return r.body.substr(start, r.body.find('"', start) - start);
}

/// A number field of a flat JSON reply.
std::uint64_t json_number(const std::string& body, const std::string& key) {
    const auto at = body.find("\"" + key + "\":");
    if (at == std::string::npos) throw std::runtime_error("no " + key + " in " + body);
    return std::stoull(body.substr(at + key.size() + 3));
}

/// A replica file fed with the export and the served frames, applied per transaction through sqlite_dbpage.
class page_replica {
public:
    page_replica(const std::string& path, const std::string& image) : path_(path) {
        write_bytes(path, image);
        db_.emplace(path);
        conn_ = db_->connect();
        reader_ = db_->connect();
    }

    /// Feeds a /sync body; returns the frames it held.
    std::uint64_t feed(const std::string& body) {
        EXPECT_EQ(body.size() % frame_size, 0u);
        for (std::size_t at = 0; at + frame_size <= body.size(); at += frame_size) {
            const std::uint32_t pgno = be32(body, at);
            const std::uint32_t db_size = be32(body, at + 4);
            pending_[pgno] = body.substr(at + 24, page_size);
            if (db_size != 0) apply(db_size);
        }
        return body.size() / frame_size;
    }

    /// Pulls generation g from `next` until the server says checkpoint_needed; returns that reply's body.
    std::string pull(service& s, std::uint64_t g, std::uint64_t& next) {
        for (;;) {
            const auto r = s.replication_frames(g, next, next + 128, "");
            if (r.status != 200) {
                EXPECT_EQ(r.status, 400) << r.body;
                EXPECT_NE(r.body.find("\"status\":\"checkpoint_needed\""), std::string::npos) << r.body;
                return r.body;
            }
            EXPECT_EQ(r.content_type, "application/octet-stream");
            next += feed(r.body);
        }
    }

    /// A connection open throughout, as a replica's readers are (the applying connection keeps the schema it
    /// cached: it never reads).
    libsql::connection& conn() { return reader_; }
    [[nodiscard]] bool has_pending() const { return !pending_.empty(); }

private:
    void apply(std::uint32_t db_size) {
        auto tx = conn_.transaction(libsql::transaction_behavior::immediate);
        auto insert = [&](std::uint32_t pgno, const std::string& page) {
            libsql::blob b(reinterpret_cast<const std::byte*>(page.data()), reinterpret_cast<const std::byte*>(page.data()) + page.size());
            conn_.execute("INSERT INTO sqlite_dbpage(pgno, data) VALUES (?, ?)", static_cast<std::int64_t>(pgno), b);
        };
        for (const auto& [pgno, page] : pending_)
            if (pgno != 1) insert(pgno, page);
        if (const auto it = pending_.find(1); it != pending_.end()) insert(1, it->second);
        if (conn_.query_value<std::int64_t>("PRAGMA page_count") > db_size)
            conn_.execute("INSERT INTO sqlite_dbpage(pgno, data) VALUES (?, NULL)", static_cast<std::int64_t>(db_size) + 1);
        tx.commit();
        pending_.clear();
    }

    std::string path_;
    std::optional<libsql::database> db_;
    libsql::connection conn_;
    libsql::connection reader_;
    std::map<std::uint32_t, std::string> pending_;
};

/// What a database holds, as one comparable string.
std::string content(libsql::connection& c) {
    std::string out = c.query_value<std::string>("SELECT group_concat(type || name || coalesce(sql, ''), '|') FROM sqlite_schema");
    out += "#" + c.query_value<std::string>("SELECT count(*) || ':' || coalesce(group_concat(i || hex(b), ','), '') FROM (SELECT * FROM t ORDER BY i)");
    if (c.query_value<std::int64_t>("SELECT count(*) FROM sqlite_schema WHERE name = 'u'") == 1)
        out += "#" + c.query_value<std::string>("SELECT coalesce(group_concat(v, ','), '') FROM (SELECT v FROM u ORDER BY v)");
    return out;
}

std::string primary_content(const std::string& path) {
    libsql::database db(path);
    auto c = db.connect();
    return content(c);
}

service_options options_for(const std::string& path) {
    service_options o;
    o.path = path;
    o.checkpoint_frames = 1'000'000;  // only explicit checkpoints
    return o;
}

} // namespace

// ---------------------------------------------------------------------------------------------------- WAL index
TEST(wal_index, indexes_exactly_the_frames_sqlite_wrote_with_their_commit_boundaries) {
    temp_dir dir;
    const auto db = dir.file("w.db");
    wal_writer w(db);
    wal_index idx(db + "-wal");
    std::uint64_t previous = idx.refresh();
    for (int i = 0; i < 30; ++i) {
        if (i % 10 == 5) w.big(1000 * (i + 1), 150);  // one transaction of many frames
        else w.small(i);
        const std::string wal = read_bytes(db + "-wal");
        const auto commits = commit_frames(wal);
        const std::uint64_t frames_in_file = (wal.size() - 32) / frame_size;
        ASSERT_EQ((wal.size() - 32) % frame_size, 0u);
        EXPECT_EQ(idx.refresh(), frames_in_file) << "after write " << i;  // all committed: every frame counts
        EXPECT_EQ(commits.back(), frames_in_file);
        EXPECT_GT(idx.committed_frames(), previous);
        previous = idx.committed_frames();
    }
    const std::string wal = read_bytes(db + "-wal");
    const auto commits = commit_frames(wal);
    EXPECT_EQ(commits.size(), 31u);  // CREATE TABLE + 30 writes, one commit frame each
    ASSERT_TRUE(idx.header().has_value());
    EXPECT_EQ(idx.header()->page_size, page_size);
    EXPECT_EQ(idx.header()->salt1, be32(wal, 16));
    EXPECT_EQ(idx.header()->salt2, be32(wal, 20));
    EXPECT_EQ(idx.frame_size(), frame_size);
    EXPECT_FALSE(idx.header()->big_endian_checksums());  // x86: SQLite writes native (little-endian) checksums
    // The multi-frame transactions really are several frames with one commit at the end.
    std::uint64_t longest = 0;
    for (std::size_t i = 1; i < commits.size(); ++i) longest = std::max(longest, commits[i] - commits[i - 1]);
    EXPECT_GT(longest, 5u);
}

TEST(wal_index, a_torn_tail_a_bad_checksum_or_foreign_salts_are_not_served) {
    temp_dir dir;
    const auto db = dir.file("w.db");
    wal_writer w(db);
    for (int i = 0; i < 5; ++i) w.small(i);
    w.big(100, 150);
    for (int i = 5; i < 8; ++i) w.small(i);
    const std::string wal = read_bytes(db + "-wal");
    const auto commits = commit_frames(wal);
    const std::uint64_t total = (wal.size() - 32) / frame_size;
    ASSERT_EQ(commits.back(), total);
    const std::uint64_t middle = commits[6] - 3;  // inside the big transaction
    ASSERT_GT(middle, commits[5]);
    const auto copy = dir.file("copy-wal");
    auto index_of = [&](const std::string& image) {
        write_bytes(copy, image);
        wal_index idx(copy);
        return idx.refresh();
    };

    EXPECT_EQ(index_of(wal), total);
    // Torn: the last frame is cut short, so its transaction is not there; a partial header is nothing at all.
    EXPECT_EQ(index_of(wal.substr(0, wal.size() - 100)), commits[commits.size() - 2]);
    EXPECT_EQ(index_of(wal.substr(0, 20)), 0u);
    // The frames of a transaction without its commit frame are never served.
    EXPECT_EQ(index_of(wal.substr(0, 32 + (commits[6] - 1) * frame_size)), commits[5]);
    // A bad checksum (one byte of a page) ends the valid log before that frame, at the last commit.
    std::string bad = wal;
    bad[32 + (middle - 1) * frame_size + 24 + 1000] ^= 0x5a;
    EXPECT_EQ(index_of(bad), last_commit_before(commits, middle));
    // A frame header checksum that does not match.
    bad = wal;
    bad[32 + (middle - 1) * frame_size + 17] ^= 0x01;
    EXPECT_EQ(index_of(bad), last_commit_before(commits, middle));
    // Salts of another WAL lifetime (a leftover frame after a restart).
    bad = wal;
    bad[32 + (commits[3] - 1) * frame_size + 8] ^= 0x01;
    EXPECT_EQ(index_of(bad), commits[2]);
    // A damaged WAL header: nothing is valid.
    bad = wal;
    bad[17] ^= 0x01;
    EXPECT_EQ(index_of(bad), 0u);

    // Incremental: garbage appended after the valid frames changes nothing; the next real frames do.
    const std::string prefix = wal.substr(0, 32 + commits[4] * frame_size);
    write_bytes(copy, prefix);
    wal_index idx(copy);
    EXPECT_EQ(idx.refresh(), commits[4]);
    write_bytes(copy, prefix + std::string(frame_size * 2, '\x7f'));
    EXPECT_EQ(idx.refresh(), commits[4]);
    write_bytes(copy, wal);
    EXPECT_EQ(idx.refresh(), total);
    // A different WAL under indexed frames is refused, not silently mixed in.
    write_bytes(copy, bad);
    EXPECT_THROW((void)idx.refresh(), libsql::corrupt);
}

// ---------------------------------------------------------------------------------------------------- the service
TEST(replication, export_and_frames_reproduce_the_primary_across_a_checkpoint) {
    temp_dir dir;
    const auto db = dir.file("primary.db");
    service s(options_for(db));
    EXPECT_EQ(s.replication_generation(), 1u);
    auto info = s.replication_info("");
    EXPECT_EQ(info.status, 200);
    EXPECT_EQ(info.body, R"({"current_generation":1})");

    run(s, "CREATE TABLE t(i INTEGER PRIMARY KEY, b BLOB)");
    for (int i = 0; i < 10; ++i) run(s, "INSERT INTO t VALUES (" + std::to_string(i) + ", randomblob(50))");

    // The export is the database file (unchanged within the generation: nothing is checkpointed).
    const auto exported = s.replication_export(1, "");
    ASSERT_EQ(exported.status, 200);
    EXPECT_EQ(exported.content_type, "application/octet-stream");
    EXPECT_EQ(exported.body, read_bytes(db));
    EXPECT_EQ(exported.body.size() % page_size, 0u);

    run(s, "WITH RECURSIVE c(k) AS (SELECT 100 UNION ALL SELECT k + 1 FROM c WHERE k < 400) INSERT INTO t SELECT k, randomblob(300) FROM c");
    run(s, "CREATE TABLE u(v TEXT)");
    run(s, "CREATE INDEX t_b ON t(b)");
    run(s, "INSERT INTO u VALUES ('first')");

    page_replica replica(dir.file("replica.db"), exported.body);
    std::uint64_t next = 1;
    auto end = replica.pull(s, 1, next);
    const std::uint64_t wal_frames = (read_bytes(db + "-wal").size() - 32) / frame_size;
    EXPECT_EQ(next, wal_frames + 1);
    EXPECT_EQ(json_number(end, "generation"), 1u);
    EXPECT_EQ(json_number(end, "max_frame_no"), wal_frames);
    EXPECT_FALSE(replica.has_pending());
    EXPECT_EQ(replica.conn().query_value<std::string>("PRAGMA integrity_check"), "ok");
    EXPECT_EQ(content(replica.conn()), primary_content(db));

    // More in generation 1 that this replica has not pulled, then the generation ends.
    run(s, "DELETE FROM t WHERE i % 3 = 0");
    run(s, "INSERT INTO u VALUES ('second')");
    const std::uint64_t final_frames = (read_bytes(db + "-wal").size() - 32) / frame_size;
    ASSERT_TRUE(s.checkpoint_now());
    EXPECT_EQ(s.replication_generation(), 2u);
    EXPECT_EQ(read_bytes(db + "-wal").size(), 0u);  // truncated
    EXPECT_TRUE(std::filesystem::exists(db + "-libsql-wal-1"));
    EXPECT_EQ(s.replication_export(1, "").status, 404);
    const auto export2 = s.replication_export(2, "");
    ASSERT_EQ(export2.status, 200);
    EXPECT_EQ(export2.body, read_bytes(db));
    // Nothing new in generation 2 yet: checkpoint_needed with max_frame_no 0.
    auto empty = s.replication_frames(2, 1, 129, "");
    EXPECT_EQ(empty.status, 400);
    EXPECT_EQ(empty.body, R"({"status":"checkpoint_needed","generation":2,"max_frame_no":0})");

    // The lagging replica finishes generation 1 from the archive, then learns that generation 2 exists.
    end = replica.pull(s, 1, next);
    EXPECT_EQ(next, final_frames + 1);
    EXPECT_EQ(json_number(end, "generation"), 2u);  // the CURRENT generation, as the engine expects
    EXPECT_EQ(json_number(end, "max_frame_no"), final_frames);
    EXPECT_EQ(content(replica.conn()), primary_content(db));

    // Generation 2 continues on top, frame numbers from 1 again.
    run(s, "INSERT INTO u VALUES ('third')");
    run(s, "UPDATE t SET b = zeroblob(10) WHERE i < 200");
    next = 1;
    end = replica.pull(s, 2, next);
    EXPECT_GT(next, 1u);
    EXPECT_EQ(json_number(end, "generation"), 2u);
    EXPECT_EQ(replica.conn().query_value<std::string>("PRAGMA integrity_check"), "ok");
    EXPECT_EQ(content(replica.conn()), primary_content(db));

    // A fresh replica bootstraps from generation 2's export and reaches the same state.
    page_replica fresh(dir.file("fresh.db"), export2.body);
    std::uint64_t fresh_next = 1;
    (void)fresh.pull(s, 2, fresh_next);
    EXPECT_EQ(fresh_next, next);
    EXPECT_EQ(content(fresh.conn()), primary_content(db));
}

TEST(replication, a_frame_batch_is_cut_at_the_last_commit_and_at_the_requested_end) {
    temp_dir dir;
    const auto db = dir.file("primary.db");
    service s(options_for(db));
    run(s, "CREATE TABLE t(i INTEGER PRIMARY KEY, b BLOB)");
    run(s, "WITH RECURSIVE c(k) AS (SELECT 1 UNION ALL SELECT k + 1 FROM c WHERE k < 200) INSERT INTO t SELECT k, randomblob(300) FROM c");
    const std::string wal = read_bytes(db + "-wal");
    const auto commits = commit_frames(wal);
    ASSERT_EQ(commits.size(), 2u);
    const auto r = s.replication_frames(1, 2, 5, "");
    ASSERT_EQ(r.status, 200);
    EXPECT_EQ(r.body, wal.substr(32 + frame_size, 3 * frame_size));  // frames 2, 3, 4 byte for byte
    const auto all = s.replication_frames(1, 1, 100000, "");
    ASSERT_EQ(all.status, 200);
    EXPECT_EQ(all.body.size(), commits.back() * frame_size);
    EXPECT_EQ(be32(all.body, all.body.size() - frame_size + 4) != 0, true);  // ends on a commit frame
    EXPECT_EQ(s.replication_frames(1, 0, 5, "").status, 400);
    EXPECT_EQ(s.replication_frames(1, 5, 5, "").status, 400);
    const auto unknown = s.replication_frames(7, 1, 5, "");
    EXPECT_EQ(unknown.status, 404);
    EXPECT_NE(unknown.body.find("generation_not_found"), std::string::npos);
    EXPECT_EQ(s.replication_frames(0, 1, 5, "").status, 404);
}

TEST(replication, an_open_transaction_postpones_the_checkpoint) {
    temp_dir dir;
    const auto db = dir.file("primary.db");
    service s(options_for(db));
    run(s, "CREATE TABLE t(i INTEGER PRIMARY KEY, b BLOB)");
    auto begun = run(s, "BEGIN");
    const auto baton = baton_of(begun);
    ASSERT_FALSE(baton.empty());
    auto inserted = run(s, "INSERT INTO t VALUES (1, x'00')", baton);
    EXPECT_FALSE(s.checkpoint_now());
    EXPECT_EQ(s.replication_generation(), 1u);
    (void)run(s, "COMMIT", baton_of(inserted));
    EXPECT_TRUE(s.checkpoint_now());
    EXPECT_EQ(s.replication_generation(), 2u);
    EXPECT_FALSE(s.checkpoint_now());  // an empty generation is not ended
    EXPECT_EQ(s.replication_generation(), 2u);
}

TEST(replication, restarts_and_crashes_never_reuse_a_generation) {
    temp_dir dir;
    const auto db = dir.file("primary.db");
    std::string gen1_frames;
    {
        service s(options_for(db));
        run(s, "CREATE TABLE t(i INTEGER PRIMARY KEY, b BLOB)");
        run(s, "INSERT INTO t VALUES (1, x'01')");
        const auto r = s.replication_frames(1, 1, 129, "");
        ASSERT_EQ(r.status, 200);
        gen1_frames = r.body;
    }
    const std::uint64_t n1 = gen1_frames.size() / frame_size;
    std::string gen2_frames;
    {
        service s(options_for(db));
        EXPECT_EQ(s.replication_generation(), 2u);
        // Generation 1 ended with the server: its frames are kept and its end is known.
        const auto again = s.replication_frames(1, 1, 129, "");
        ASSERT_EQ(again.status, 200);
        EXPECT_EQ(again.body, gen1_frames);
        EXPECT_EQ(s.replication_frames(1, n1 + 1, n1 + 129, "").body,
                  R"({"status":"checkpoint_needed","generation":2,"max_frame_no":)" + std::to_string(n1) + "}");
        run(s, "INSERT INTO t VALUES (2, x'02')");
        run(s, "INSERT INTO t VALUES (3, x'03')");
        const auto r = s.replication_frames(2, 1, 129, "");
        ASSERT_EQ(r.status, 200);
        gen2_frames = r.body;

        // A crash now: the files as they are (the WAL still holds generation 2), started elsewhere.
        const auto crashed = dir.file("crashed.db");
        for (const char* suffix : {"", "-wal", "-libsql-generation", "-libsql-wal-1"})
            std::filesystem::copy_file(db + suffix, crashed + suffix);
        service c(options_for(crashed));
        EXPECT_EQ(c.replication_generation(), 3u);
        const auto recovered = c.replication_frames(2, 1, 129, "");
        ASSERT_EQ(recovered.status, 200);
        EXPECT_EQ(recovered.body, gen2_frames);  // what was served is still served, byte for byte
        const auto after = c.replication_frames(2, gen2_frames.size() / frame_size + 1, 200, "");
        EXPECT_EQ(json_number(after.body, "generation"), 3u);
        EXPECT_EQ(json_number(after.body, "max_frame_no"), gen2_frames.size() / frame_size);
        EXPECT_EQ(primary_content(crashed), primary_content(db));
    }
    service s(options_for(db));
    EXPECT_EQ(s.replication_generation(), 3u);
}

TEST(replication, credentials_and_switches) {
    temp_dir dir;
    auto o = options_for(dir.file("primary.db"));
    std::string key(32, '\0');
    randombytes_buf(key.data(), key.size());
    o.jwt_public_key = key;
    service s(o);
    for (const auto& r : {s.replication_info(""), s.replication_export(1, ""), s.replication_frames(1, 1, 2, "Bearer nope")}) {
        EXPECT_EQ(r.status, 401);
        EXPECT_EQ(r.content_type, "application/json");
    }

    service_options mem;
    mem.path = ":memory:";
    service m(mem);
    EXPECT_EQ(m.replication_generation(), 0u);
    EXPECT_EQ(m.replication_info("").status, 404);

    auto off = options_for(dir.file("off.db"));
    off.replication = false;
    service n(off);
    EXPECT_EQ(n.replication_info("").status, 404);
    EXPECT_FALSE(std::filesystem::exists(dir.file("off.db") + "-libsql-generation"));
}

TEST(replication, clients_cannot_checkpoint_or_leave_wal_mode) {
    temp_dir dir;
    service s(options_for(dir.file("primary.db")));
    for (const char* sql : {"PRAGMA wal_checkpoint(TRUNCATE)", "PRAGMA wal_checkpoint", "PRAGMA wal_autocheckpoint=100",
                            "PRAGMA journal_mode=DELETE"}) {
        const auto r = s.pipeline(3, std::string(R"({"requests":[{"type":"execute","stmt":{"sql":")") + sql + R"("}}]})", "");
        EXPECT_EQ(r.status, 200);
        EXPECT_NE(r.body.find("SQLITE_AUTH"), std::string::npos) << sql << ": " << r.body;
    }
    // Reading the journal mode stays allowed, and writes report the replication index.
    const auto mode = run(s, "PRAGMA journal_mode");
    EXPECT_NE(mode.body.find("wal"), std::string::npos);
    run(s, "CREATE TABLE t(x)");
    const auto w = run(s, "INSERT INTO t VALUES (1)");
    const auto frames = (read_bytes(dir.file("primary.db") + "-wal").size() - 32) / frame_size;
    EXPECT_NE(w.body.find("\"replication_index\":\"" + std::to_string(frames) + "\""), std::string::npos) << w.body;
}

TEST(replication, a_replica_following_generations_under_concurrent_writes_and_checkpoints_matches_the_primary) {
    temp_dir dir;
    const auto db = dir.file("primary.db");
    service s(options_for(db));
    run(s, "CREATE TABLE t(i INTEGER PRIMARY KEY, b BLOB)");
    const auto exported = s.replication_export(1, "");
    ASSERT_EQ(exported.status, 200);
    page_replica replica(dir.file("replica.db"), exported.body);

    std::atomic<bool> writing{true};
    std::atomic<int> checkpoints{0};
    std::vector<std::thread> writers;
    for (int w = 0; w < 4; ++w) {
        writers.emplace_back([&, w] {
            for (int i = 0; i < 30; ++i) {
                if (i == 15) {
                    // Half-way, all writers pause until a checkpoint has ended a generation (bounded): on a loaded
                    // machine the writers may otherwise never leave the database quiet while the checkpointer looks.
                    const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(10);
                    while (checkpoints.load() == 0 && std::chrono::steady_clock::now() < until)
                        std::this_thread::sleep_for(std::chrono::milliseconds(5));
                }
                const int id = w * 1000 + i;
                const std::string body = R"x({"requests":[{"type":"execute","stmt":{"sql":"INSERT INTO t VALUES ()x" +
                                         std::to_string(id) + R"x(, randomblob(200))"}}]})x";
                auto r = s.pipeline(3, body, "");
                EXPECT_EQ(r.status, 200);
                EXPECT_EQ(r.body.find("\"type\":\"error\""), std::string::npos) << r.body;
            }
        });
    }
    std::thread checkpointer([&] {
        while (writing.load()) {
            if (s.checkpoint_now()) ++checkpoints;
            std::this_thread::sleep_for(std::chrono::milliseconds(25));
        }
    });

    // The replica follows as the engine does: frames until checkpoint_needed; a greater "generation" there means
    // "continue at frame 1 of the next one", and max_frame_no says the replica had all of the one it asked for.
    std::uint64_t g = 1;
    std::uint64_t next = 1;
    auto follow = [&](bool until_current) {
        for (int guard = 0; guard < 100000; ++guard) {
            const auto r = s.replication_frames(g, next, next + 128, "");
            if (r.status == 200) {
                next += replica.feed(r.body);
                continue;
            }
            ASSERT_EQ(r.status, 400) << r.body;
            EXPECT_EQ(json_number(r.body, "max_frame_no"), next - 1) << "generation " << g;
            EXPECT_FALSE(replica.has_pending());
            if (json_number(r.body, "generation") > g) {
                ++g;
                next = 1;
                continue;
            }
            if (until_current) return;
            std::this_thread::sleep_for(std::chrono::milliseconds(5));
            if (!writing.load()) return;
        }
    };
    std::thread puller([&] { follow(false); });
    for (auto& t : writers) t.join();
    writing.store(false);
    checkpointer.join();
    puller.join();
    follow(true);

    EXPECT_GT(checkpoints.load(), 0);
    EXPECT_EQ(g, s.replication_generation());
    EXPECT_EQ(replica.conn().query_value<std::int64_t>("SELECT count(*) FROM t"), 120);
    std::cout << "     (" << checkpoints.load() << " checkpoints while 4 writers inserted 120 rows)\n";
    EXPECT_EQ(replica.conn().query_value<std::string>("PRAGMA integrity_check"), "ok");
    EXPECT_EQ(content(replica.conn()), primary_content(db));
}
