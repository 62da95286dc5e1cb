// Memory: a rows cursor streams. Scanning a table far larger than the page cache keeps the process's peak
// resident memory flat: one row at a time is held, never the result.
#include "libsql/rows.hpp"

#include "support/temp_files.hpp"
#include "libsql/connection.hpp"
#include "libsql/database.hpp"

#include <gtest/gtest.h>

#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <string_view>

namespace {

using libsql::test::temp_db_file;
using libsql::test::temp_dir;

/// A field of /proc/self/status in KiB ("VmRSS", "VmHWM"); nullopt where there is no procfs.
std::optional<std::int64_t> proc_status_kib(std::string_view field) {
    std::ifstream in("/proc/self/status");
    std::string line;
    while (std::getline(in, line)) {
        if (line.size() > field.size() && line.compare(0, field.size(), field) == 0 && line[field.size()] == ':')
            return std::stoll(line.substr(field.size() + 1));
    }
    return std::nullopt;
}

/// The peak resident set size so far, in KiB.
std::int64_t peak_rss_kib() {
    if (auto v = proc_status_kib("VmHWM")) return *v;
    rusage u{};
    ::getrusage(RUSAGE_SELF, &u);
    return u.ru_maxrss;  // KiB on Linux
}

/// Resets the peak to the current RSS (Linux >= 4.0: "5" > /proc/self/clear_refs). Earlier tests in this process
/// (a 100 MB blob, say) would otherwise leave a peak so high that nothing this test does could move it.
bool reset_peak_rss() {
    std::ofstream out("/proc/self/clear_refs");
    if (!out) return false;
    out << "5";
    out.flush();
    return static_cast<bool>(out);
}

constexpr std::int64_t row_count = 1'000'000;
constexpr std::int64_t text_size = 100;

} // namespace

TEST(Memory, ScanningAMillionRowsKeepsPeakRssFlat) {
    const auto t0 = std::chrono::steady_clock::now();
    temp_db_file file;
    libsql::database db(file.path());
    {
        // Built by one statement inside the engine: no row passes through this process.
        auto setup = db.connect();
        setup.execute_batch("PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF;"
                            "CREATE TABLE t(id INTEGER PRIMARY KEY, payload TEXT NOT NULL)");
        setup.execute("WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < ?) "
                      "INSERT INTO t(id, payload) SELECT x, printf('%0*d', ?, x) FROM c",
                      row_count, text_size);
    }
    const auto t1 = std::chrono::steady_clock::now();
    const auto file_size = static_cast<std::int64_t>(std::filesystem::file_size(file.path()));
    constexpr std::int64_t data_size = row_count * (text_size + 8);
    ASSERT_GE(file_size, data_size) << "the table is smaller than planned";

    auto conn = db.connect();
    // The page cache is part of this process too: keep it at 2 MB so the measurement sees the cursor alone.
    conn.execute("PRAGMA cache_size = -2000");
    conn.execute("PRAGMA mmap_size = 0");  // mapped file pages would count as resident
    EXPECT_EQ(conn.query_value<std::int64_t>("PRAGMA cache_size"), -2000);

    auto rs = conn.query("SELECT id, payload FROM t");
    const bool peak_was_reset = reset_peak_rss();
    const auto rss_before = proc_status_kib("VmRSS").value_or(0);
    const auto peak_before = peak_rss_kib();
    std::int64_t sampled_max = rss_before;

    std::int64_t rows_seen = 0;
    std::int64_t id_sum = 0;
    std::int64_t text_bytes = 0;
    bool payload_ok = true;
    for (auto r : rs) {
        const auto id = r.get<std::int64_t>(0);
        const auto payload = r.get<std::string_view>(1);
        id_sum += id;
        text_bytes += static_cast<std::int64_t>(payload.size());
        if (payload.size() != static_cast<std::size_t>(text_size) || payload.back() != static_cast<char>('0' + id % 10))
            payload_ok = false;
        if (++rows_seen % 50'000 == 0) sampled_max = std::max(sampled_max, proc_status_kib("VmRSS").value_or(0));
    }
    const auto peak_after = peak_rss_kib();
    const auto t2 = std::chrono::steady_clock::now();

    EXPECT_EQ(rows_seen, row_count);
    EXPECT_EQ(id_sum, row_count * (row_count + 1) / 2);
    EXPECT_EQ(text_bytes, row_count * text_size);
    EXPECT_TRUE(payload_ok);

    // Growth of the peak across the scan, in KiB. Without a reset the peak before may be an earlier test's; the
    // samples taken during the scan still bound what the scan itself held.
    const std::int64_t peak_growth = peak_was_reset ? peak_after - rss_before : peak_after - peak_before;
    const std::int64_t sampled_growth = sampled_max - rss_before;
    const std::int64_t growth = std::max(peak_growth, sampled_growth);
    const std::int64_t data_kib = (text_bytes + rows_seen * 8) / 1024;
    std::printf("[ memory: %lld rows, %lld MiB of data (file %lld MiB); RSS before %lld KiB, peak growth %lld KiB "
                "(%s), sampled growth %lld KiB; setup %.1f s, scan %.1f s ]\n",
                static_cast<long long>(rows_seen), static_cast<long long>(data_kib / 1024),
                static_cast<long long>(file_size >> 20), static_cast<long long>(rss_before),
                static_cast<long long>(peak_growth), peak_was_reset ? "peak reset" : "peak not resettable",
                static_cast<long long>(sampled_growth), std::chrono::duration<double>(t1 - t0).count(),
                std::chrono::duration<double>(t2 - t1).count());
    EXPECT_LT(growth, data_kib / 10) << "peak RSS grew by " << growth << " KiB while scanning " << data_kib << " KiB";
    EXPECT_LT(growth, 10 * 1024) << "peak RSS grew by " << growth << " KiB";
}

// Abandoning a cursor half-way releases what it held: the next scan over the same statement starts afresh, and a
// writer is not blocked by a read lock left behind.
TEST(Memory, AbandonedCursorReleasesItsStatement) {
    temp_db_file file;
    libsql::database db(file.path());
    auto conn = db.connect();
    conn.execute("CREATE TABLE t(x INTEGER)");
    conn.execute("WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 10000) "
                 "INSERT INTO t SELECT x FROM c");
    auto st = conn.prepare("SELECT x FROM t ORDER BY x");
    for (int round = 0; round < 1000; ++round) {
        auto rs = st.query();
        ASSERT_TRUE(rs.next());
        ASSERT_EQ(rs.current().get<int>(0), 1);
        ASSERT_TRUE(rs.next());
    }  // each cursor resets its statement as it goes
    auto writer = db.connect();
    writer.busy_timeout(std::chrono::milliseconds(0));
    {
        auto rs = st.query();
        ASSERT_TRUE(rs.next());
    }
    writer.execute("INSERT INTO t VALUES (0)");  // would be SQLITE_BUSY if a read lock were still held
    EXPECT_EQ(conn.query_value<int>("SELECT count(*) FROM t"), 10001);
}
