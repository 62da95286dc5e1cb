// bench_replica: an embedded replica of a `libsql serve` primary, through the public API only.
//
//   bench_replica [--rows N] [--lookups N] [--reps R] [--change N] [--commits N] [--dir DIR]
//
// Files (the primary's, the replica's, the plain local one) go to a fresh directory under DIR (default: the system
// temp directory). Syncing is durable, so L2 and L3 include the disk's fsyncs: --dir /dev/shm shows them without.
//
//   L1  reads on the replica against the same reads on a plain local file holding the same rows (built by the same
//       SQL): W1 point selects by key through a reused statement, W3 a full scan; the sides interleaved, median of
//       R runs; ratio replica / local (target <= 1.05).
//   L2  sync throughput: a change of N rows (default 100000, one INSERT … SELECT transaction) committed on the
//       primary, then one sync() on a replica that was up to date: frames per second, and MB per second counting
//       each frame as a WAL frame (24-byte header + page). R changes, median.
//   L3  commit to visibility: a one-row INSERT committed on the primary through a remote connection; then
//       sync_until(index before + 1) on the replica and a local read of the row. Timed from the commit's return to
//       the row read back locally; median and p90 over N commits (default 50). The commit itself is timed too.
//
// The primary is started here on 127.0.0.1 with a fresh file and stopped at the end. If the build has no replica
// transport yet (libsql::unsupported at open), the program says so and exits 0 with nothing measured.
#include "libsql/libsql.hpp"

#include "support/processes.hpp"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace fs = std::filesystem;
using steady = std::chrono::steady_clock;

namespace {

struct scratch_dir {
    fs::path path;
    explicit scratch_dir(const fs::path& parent) : path(parent / ("bench_replica." + std::to_string(::getpid()))) {
        fs::remove_all(path);
        fs::create_directories(path);
    }
    ~scratch_dir() {
        std::error_code ec;
        fs::remove_all(path, ec);
    }
    scratch_dir(const scratch_dir&) = delete;
    scratch_dir& operator=(const scratch_dir&) = delete;
};

double median(std::vector<double> v) {
    if (v.empty()) return 0;
    std::sort(v.begin(), v.end());
    const std::size_t n = v.size();
    return n % 2 == 1 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2.0;
}

double percentile(std::vector<double> v, double p) {
    if (v.empty()) return 0;
    std::sort(v.begin(), v.end());
    const auto i = static_cast<std::size_t>(p * static_cast<double>(v.size() - 1) + 0.5);
    return v[std::min(i, v.size() - 1)];
}

double seconds_since(steady::time_point t0) { return std::chrono::duration<double>(steady::now() - t0).count(); }

std::size_t parse_count(const char* text, const char* what) {
    char* end = nullptr;
    const unsigned long long v = std::strtoull(text, &end, 10);
    if (end == text || *end != '\0' || v == 0) {
        std::fprintf(stderr, "bench_replica: %s expects a positive integer, got '%s'\n", what, text);
        std::exit(2);
    }
    return static_cast<std::size_t>(v);
}

constexpr const char* schema_sql = "CREATE TABLE bench(id INTEGER PRIMARY KEY, name TEXT NOT NULL, score REAL, data BLOB)";

/// n deterministic rows into `table`, ids from first, in one statement (one transaction, one round trip remotely).
std::string fill_sql(const std::string& table, std::size_t first, std::size_t n) {
    return "WITH RECURSIVE c(x) AS (SELECT " + std::to_string(first) + " UNION ALL SELECT x + 1 FROM c WHERE x < " +
           std::to_string(first + n - 1) + ") INSERT INTO " + table +
           "(id, name, score, data) SELECT x, printf('name-%015d', x), x * 0.5, CAST(printf('%016d', x) AS BLOB) FROM c";
}

/// W1: `lookups` point selects by key through one reused statement, every column read; returns a checksum.
std::int64_t point_selects(libsql::connection& c, std::size_t rows, std::size_t lookups) {
    auto st = c.prepare("SELECT id, name, score, data FROM bench WHERE id = ?");
    std::int64_t sum = 0;
    for (std::size_t i = 0; i < lookups; ++i) {
        const auto id = static_cast<std::int64_t>(1 + (i * 7919) % rows);
        auto r = st.query_row(id);
        sum += r.get<std::int64_t>(0) + static_cast<std::int64_t>(r.get<std::string_view>(1).size()) +
               static_cast<std::int64_t>(r.get<double>(2)) + static_cast<std::int64_t>(r.get<libsql::blob_view>(3).size());
    }
    return sum;
}

/// W3: a full scan, every column read; returns a checksum.
std::int64_t full_scan(libsql::connection& c) {
    auto st = c.prepare("SELECT id, name, score, data FROM bench");
    std::int64_t sum = 0;
    for (auto r : st.query())
        sum += r.get<std::int64_t>(0) + static_cast<std::int64_t>(r.get<std::string_view>(1).size()) +
               static_cast<std::int64_t>(r.get<double>(2)) + static_cast<std::int64_t>(r.get<libsql::blob_view>(3).size());
    return sum;
}

} // namespace

int main(int argc, char** argv) {
    std::size_t rows = 100000, lookups = 200000, reps = 5, change = 100000, commits = 50;
    fs::path parent = fs::temp_directory_path();
    for (int i = 1; i < argc; ++i) {
        const std::string_view arg = argv[i];
        const bool v = i + 1 < argc;
        if (arg == "--rows" && v) rows = parse_count(argv[++i], "--rows");
        else if (arg == "--lookups" && v) lookups = parse_count(argv[++i], "--lookups");
        else if (arg == "--reps" && v) reps = parse_count(argv[++i], "--reps");
        else if (arg == "--change" && v) change = parse_count(argv[++i], "--change");
        else if (arg == "--commits" && v) commits = parse_count(argv[++i], "--commits");
        else if (arg == "--dir" && v) parent = argv[++i];
        else {
            std::fprintf(stderr, "usage: bench_replica [--rows N] [--lookups N] [--reps R] [--change N] [--commits N] [--dir DIR]\n");
            return 2;
        }
    }

    try {
        scratch_dir dir(parent);
        libsql::test::libsql_server server((dir.path / "primary.db").string(), {"--log-level", "error"});
        libsql::database primary(server.url());
        auto pc = primary.connect();
        pc.execute(schema_sql);
        pc.execute(fill_sql("bench", 1, rows));

        libsql::connect_options ro;
        ro.sync_url = server.url();
        std::optional<libsql::database> replica;
        try {
            replica.emplace((dir.path / "replica.db").string(), ro);
        } catch (const libsql::unsupported& e) {
            std::printf("bench_replica: not measured: this build has no replica transport (%s)\n", e.what());
            return 0;
        }
        const auto boot = replica->sync();
        auto rc = replica->connect();
        if (rc.query_value<std::int64_t>("SELECT count(*) FROM bench") != static_cast<std::int64_t>(rows))
            throw std::runtime_error("the replica does not hold the primary's rows after sync()");
        const auto page_size = rc.query_value<std::int64_t>("PRAGMA page_size");

        // The plain local file: the same SQL, so the same B-tree shape.
        libsql::database local((dir.path / "local.db").string());
        auto lc = local.connect();
        // The same journal mode as the replica's file, so that both sides pay the same locking per read.
        const auto journal = rc.query_value<std::string>("PRAGMA journal_mode");
        (void)lc.query_value<std::string>("PRAGMA journal_mode = " + journal);
        lc.execute(schema_sql);
        lc.execute(fill_sql("bench", 1, rows));

        std::printf("bench_replica: files in %s; primary `libsql serve` on %s; %zu rows (replica bootstrapped: %llu frames, index "
                    "%llu; page size %lld; journal mode %s on both sides)\n\n",
                    parent.string().c_str(), server.url().c_str(), rows, static_cast<unsigned long long>(boot.frames_applied),
                    static_cast<unsigned long long>(boot.replication_index), static_cast<long long>(page_size),
                    journal.c_str());

        // --- L1: reads
        struct read_workload {
            const char* id;
            const char* what;
            std::size_t ops;
            std::function<std::int64_t(libsql::connection&)> run;
        };
        const std::vector<read_workload> reads{
            {"W1", "point selects by key, reused statement", lookups,
             [&](libsql::connection& c) { return point_selects(c, rows, lookups); }},
            {"W3", "full scan, every column", rows, [&](libsql::connection& c) { return full_scan(c); }},
        };
        std::printf("L1 reads: median of %zu runs, sides interleaved      local ns/op  replica ns/op   ratio\n", reps);
        for (const auto& w : reads) {
            std::vector<double> t_local, t_replica;
            std::int64_t sum_local = 0, sum_replica = 0;
            (void)w.run(lc);  // warm both page caches
            (void)w.run(rc);
            for (std::size_t r = 0; r < reps; ++r) {
                for (int side = 0; side < 2; ++side) {
                    const bool replica_side = ((side + static_cast<int>(r)) % 2) == 1;
                    const auto t0 = steady::now();
                    const auto sum = w.run(replica_side ? rc : lc);
                    const double ns = seconds_since(t0) * 1e9 / static_cast<double>(w.ops);
                    (replica_side ? t_replica : t_local).push_back(ns);
                    (replica_side ? sum_replica : sum_local) = sum;
                }
            }
            if (sum_local != sum_replica) throw std::runtime_error(std::string(w.id) + ": the two sides read different data");
            const double a = median(t_local), b = median(t_replica);
            std::printf("  %-3s %-44s %12.1f %14.1f %7.3f%s\n", w.id, w.what, a, b, b / a, b / a > 1.05 ? "  > 1.05" : "");
        }

        // --- L2: sync throughput for a change of `change` rows
        std::vector<double> fps, mbps, secs;
        std::uint64_t frames_seen = 0;
        for (std::size_t r = 0; r < reps; ++r) {
            const std::string table = "change" + std::to_string(r);
            pc.execute("CREATE TABLE " + table + "(id INTEGER PRIMARY KEY, name TEXT NOT NULL, score REAL, data BLOB)");
            (void)replica->sync();  // up to date before the change
            pc.execute(fill_sql(table, 1, change));
            const auto t0 = steady::now();
            const auto s = replica->sync();
            const double dt = seconds_since(t0);
            if (rc.query_value<std::int64_t>("SELECT count(*) FROM " + table) != static_cast<std::int64_t>(change))
                throw std::runtime_error("L2: the change is not all on the replica after one sync()");
            frames_seen = s.frames_applied;
            secs.push_back(dt);
            fps.push_back(static_cast<double>(s.frames_applied) / dt);
            mbps.push_back(static_cast<double>(s.frames_applied) * static_cast<double>(24 + page_size) / dt / 1e6);
        }
        std::printf("\nL2 sync of a %zu-row change: %llu frames (last run), median of %zu: %.3f s, %.0f frames/s, "
                    "%.1f MB/s\n",
                    change, static_cast<unsigned long long>(frames_seen), reps, median(secs), median(fps), median(mbps));

        // --- L3: commit on the primary -> visible on the replica through sync_until
        pc.execute("CREATE TABLE lat(v INTEGER NOT NULL)");
        (void)replica->sync();
        auto probe = rc.prepare("SELECT count(*) FROM lat WHERE v = ?");
        std::vector<double> visible_ms, commit_ms;
        int total_rounds = 0;
        for (std::size_t i = 0; i < commits; ++i) {
            const std::uint64_t before = replica->replication_index().value_or(0);
            const auto t0 = steady::now();
            pc.execute("INSERT INTO lat(v) VALUES (?)", static_cast<std::int64_t>(i));
            const auto t1 = steady::now();
            // Only our commit follows `before` on the primary, so reaching before + 1 means it is applied.
            int rounds = 0;
            for (;;) {
                (void)replica->sync_until(before + 1);
                ++rounds;
                if (probe.query_row(static_cast<std::int64_t>(i)).get<std::int64_t>(0) == 1) break;
                if (rounds > 1000) throw std::runtime_error("L3: the commit never became visible on the replica");
            }
            visible_ms.push_back(seconds_since(t1) * 1e3);
            total_rounds += rounds;
            commit_ms.push_back(std::chrono::duration<double, std::milli>(t1 - t0).count());
        }
        // For reference: one sync() with nothing new on the primary (the fixed cost of asking).
        std::vector<double> idle_ms;
        for (std::size_t i = 0; i < commits; ++i) {
            const auto t0 = steady::now();
            const auto r = replica->sync();
            idle_ms.push_back(seconds_since(t0) * 1e3);
            if (r.frames_applied != 0) throw std::runtime_error("L3: an idle sync() applied frames");
        }
        std::printf("\nL3 commit to visibility over %zu commits: commit on the primary median %.3f ms; from its return "
                    "to the row read on the replica (sync_until): median %.3f ms, p90 %.3f ms (%d sync_until calls)\n",
                    commits, median(commit_ms), median(visible_ms), percentile(visible_ms, 0.9), total_rounds);
        std::printf("   an idle sync() (nothing new on the primary): median %.3f ms\n", median(idle_ms));
    } catch (const std::exception& e) {
        std::fprintf(stderr, "bench_replica: %s\n", e.what());
        return 1;
    }
    return 0;
}
