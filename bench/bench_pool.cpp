// bench_pool: the cost of libsql::pool (include/libsql/pool.hpp) on a local WAL file.
//
//   bench_pool [--ops N] [--reps R]      prints a table: nanoseconds per operation, median of R runs (default 7)
//
// Workloads (N operations each, default 200000):
//   P1  check-out plus check-in, 1 thread, pool of 4: { auto l = pool.checkout(); } (health_check::passive).
//   P2  the same with 8 threads sharing a pool of 4 (N spread over the threads): wall time / N, so a figure
//       below P1 would mean the threads overlap; above it, what waiting in the fair queue costs.
//   P3  one lease held, a one-row SELECT by primary key through lease.cached(sql) (prepared once).
//   P4  the same, through connection.prepare(sql) each time (prepared, run, finalized per lookup).
// The table holds 10000 rows; lookups cycle through every id.
#include "libsql/libsql.hpp"

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <functional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <unistd.h>

namespace fs = std::filesystem;

namespace {

constexpr const char* lookup_sql = "SELECT id, name FROM bench WHERE id = ?";
constexpr std::int64_t row_count = 10000;

struct scratch_dir {
    fs::path path;
    scratch_dir() : path(fs::temp_directory_path() / ("bench_pool." + std::to_string(::getpid()))) {
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

/// Nanoseconds per operation of one run.
double time_run(std::size_t ops, const std::function<void()>& run) {
    const auto start = std::chrono::steady_clock::now();
    run();
    const auto stop = std::chrono::steady_clock::now();
    const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(stop - start).count();
    return static_cast<double>(ns) / static_cast<double>(ops);
}

double median(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    const std::size_t n = v.size();
    return n % 2 == 1 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2.0;
}

std::size_t parse_count(const char* text, const char* what) {
    char* end = nullptr;
    const unsigned long long v = std::strtoull(text, &end, 10);
    if (end == text || *end != '\0' || v == 0) {
        std::fprintf(stderr, "bench_pool: %s expects a positive integer, got '%s'\n", what, text);
        std::exit(2);
    }
    return static_cast<std::size_t>(v);
}

void make_data(const fs::path& file) {
    libsql::database db(file.string());
    auto conn = db.connect();
    conn.execute_batch("PRAGMA journal_mode=WAL; CREATE TABLE bench(id INTEGER PRIMARY KEY, name TEXT NOT NULL)");
    auto tx = conn.transaction();
    auto ins = conn.prepare("INSERT INTO bench(id, name) VALUES (?, ?)");
    for (std::int64_t id = 1; id <= row_count; ++id) ins.execute(id, "name " + std::to_string(id));
    tx.commit();
}

} // namespace

int main(int argc, char** argv) {
    std::size_t ops = 200000;
    std::size_t reps = 7;
    for (int i = 1; i < argc; ++i) {
        const std::string_view arg = argv[i];
        if (arg == "--ops" && i + 1 < argc) ops = parse_count(argv[++i], "--ops");
        else if (arg == "--reps" && i + 1 < argc) reps = parse_count(argv[++i], "--reps");
        else {
            std::fprintf(stderr, "usage: bench_pool [--ops N] [--reps R]\n");
            return 2;
        }
    }
    try {
        scratch_dir dir;
        const fs::path file = dir.path / "pool.db";
        make_data(file);

        libsql::pool_options options;
        options.min_size = 4;
        options.max_size = 4;
        libsql::pool pool(libsql::database(file.string()), options);
        constexpr std::size_t threads = 8;
        std::int64_t checksum = 0;

        struct workload {
            const char* id;
            const char* what;
            std::function<void()> run;
        };
        const std::vector<workload> workloads = {
            {"P1", "check-out + check-in, 1 thread, pool of 4",
             [&] {
                 for (std::size_t i = 0; i < ops; ++i) {
                     auto l = pool.checkout();
                 }
             }},
            {"P2", "check-out + check-in, 8 threads, pool of 4",
             [&] {
                 std::vector<std::thread> ts;
                 for (std::size_t t = 0; t < threads; ++t) {
                     const std::size_t share = ops / threads + (t < ops % threads ? 1 : 0);
                     ts.emplace_back([&pool, share] {
                         for (std::size_t i = 0; i < share; ++i) {
                             auto l = pool.checkout();
                         }
                     });
                 }
                 for (auto& t : ts) t.join();
             }},
            {"P3", "SELECT by primary key, lease.cached(sql)",
             [&] {
                 auto l = pool.checkout();
                 for (std::size_t i = 0; i < ops; ++i) {
                     const auto id = static_cast<std::int64_t>(i) % row_count + 1;
                     auto st = l.cached(lookup_sql);
                     checksum += st.query_row(id).get<std::int64_t>(0);
                 }
             }},
            {"P4", "SELECT by primary key, connection.prepare(sql)",
             [&] {
                 auto l = pool.checkout();
                 for (std::size_t i = 0; i < ops; ++i) {
                     const auto id = static_cast<std::int64_t>(i) % row_count + 1;
                     auto st = l->prepare(lookup_sql);
                     checksum += st.query_row(id).get<std::int64_t>(0);
                 }
             }},
        };

        std::vector<std::vector<double>> samples(workloads.size());
        for (auto& w : workloads) w.run();  // warm-up: page cache, statement caches, threads
        for (std::size_t r = 0; r < reps; ++r) {
            for (std::size_t k = 0; k < workloads.size(); ++k) samples[k].push_back(time_run(ops, workloads[k].run));
        }

        std::printf("pool benchmark: %zu ops per run, median of %zu runs, local WAL file, %lld rows\n", ops, reps,
                    static_cast<long long>(row_count));
        std::printf("%-4s %-48s %10s %10s %10s\n", "id", "workload", "ns/op", "min", "max");
        for (std::size_t k = 0; k < workloads.size(); ++k) {
            const auto [lo, hi] = std::minmax_element(samples[k].begin(), samples[k].end());
            std::printf("%-4s %-48s %10.1f %10.1f %10.1f\n", workloads[k].id, workloads[k].what, median(samples[k]), *lo,
                        *hi);
        }
        const double cached = median(samples[2]);
        const double uncached = median(samples[3]);
        std::printf("uncached / cached: %.2fx\n", uncached / cached);
        const auto stats = pool.stats();
        std::printf("pool: %llu check-outs, %llu time-outs, cache %llu hits / %llu misses (checksum %lld)\n",
                    static_cast<unsigned long long>(stats.checkouts), static_cast<unsigned long long>(stats.timeouts),
                    static_cast<unsigned long long>(stats.cache_hits),
                    static_cast<unsigned long long>(stats.cache_misses), static_cast<long long>(checksum));
        return 0;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "bench_pool: %s\n", e.what());
        return 1;
    }
}
