// bench_soci: the same SOCI program on SOCI's own sqlite3 backend (Debian's libsoci-sqlite3, system SQLite) and on
// the libsql backend over a local file, in one run. Workloads, each on a fresh file per side and run:
//   P  point select: a prepared "select name from t where id = :id" (use + into), executed for random ids
//   I  insert in a transaction: a prepared insert executed N times between begin and commit
//   S  scan: every row of the table through rowset<row>, reading an int and a string
// Both files use journal_mode=WAL and synchronous=NORMAL. Prints the median of --reps interleaved runs per side and
// the ratio libsql / sqlite3 (goal: <= 1.0).
//
//   bench_soci [--rows N] [--lookups N] [--inserts N] [--reps N]
#include <libsql/soci.hpp>

#include <soci/soci.h>
#include <soci/sqlite3/soci-sqlite3.h>
#include <soci/version.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <iostream>
#include <random>
#include <string>
#include <vector>

#include <unistd.h>

namespace {

struct config {
    int rows = 100'000;
    int lookups = 100'000;
    int inserts = 100'000;
    int reps = 5;
};

struct side {
    const char* name;
    const soci::backend_factory* factory;
    std::string (*connect)(const std::string& path);
};

std::string fresh_file(const std::filesystem::path& dir, const char* side, const char* what, int rep) {
    const auto p = dir / (std::string(side) + "-" + what + "-" + std::to_string(rep) + ".db");
    for (const char* suffix : {"", "-wal", "-shm", "-journal"}) std::filesystem::remove(p.string() + suffix);
    return p.string();
}

void prepare_session(soci::session& sql) {
    std::string mode;
    sql << "pragma journal_mode=wal", soci::into(mode);
    sql << "pragma synchronous=normal";
}

void fill(soci::session& sql, int rows) {
    sql << "create table t(id integer primary key, name text not null, score real)";
    soci::transaction tr(sql);
    int id = 0;
    std::string name;
    double score = 0;
    soci::statement st = (sql.prepare << "insert into t(id, name, score) values(:id, :name, :score)", soci::use(id),
                          soci::use(name), soci::use(score));
    for (int i = 1; i <= rows; ++i) {
        id = i;
        name = "name-" + std::to_string(i);
        score = i * 0.5;
        st.execute(true);
    }
    tr.commit();
}

using clock_type = std::chrono::steady_clock;

double point_select(const side& s, const std::string& path, const config& c) {
    soci::session sql(*s.factory, s.connect(path));
    prepare_session(sql);
    fill(sql, c.rows);
    std::mt19937 rng(42);
    std::uniform_int_distribution<int> pick(1, c.rows);
    int id = 0;
    std::string name;
    soci::statement st = (sql.prepare << "select name from t where id = :id", soci::use(id), soci::into(name));
    std::size_t total = 0;
    const auto t0 = clock_type::now();
    for (int i = 0; i < c.lookups; ++i) {
        id = pick(rng);
        st.execute(true);
        total += name.size();
    }
    const auto t1 = clock_type::now();
    if (total == 0) std::abort();
    return std::chrono::duration<double, std::milli>(t1 - t0).count();
}

double insert_transaction(const side& s, const std::string& path, const config& c) {
    soci::session sql(*s.factory, s.connect(path));
    prepare_session(sql);
    sql << "create table t(id integer primary key, name text not null, score real)";
    int id = 0;
    std::string name;
    double score = 0;
    const auto t0 = clock_type::now();
    {
        soci::transaction tr(sql);
        soci::statement st = (sql.prepare << "insert into t(id, name, score) values(:id, :name, :score)",
                              soci::use(id), soci::use(name), soci::use(score));
        for (int i = 1; i <= c.inserts; ++i) {
            id = i;
            name = "name-" + std::to_string(i);
            score = i * 0.5;
            st.execute(true);
        }
        tr.commit();
    }
    const auto t1 = clock_type::now();
    int n = 0;
    sql << "select count(*) from t", soci::into(n);
    if (n != c.inserts) std::abort();
    return std::chrono::duration<double, std::milli>(t1 - t0).count();
}

double scan(const side& s, const std::string& path, const config& c) {
    soci::session sql(*s.factory, s.connect(path));
    prepare_session(sql);
    fill(sql, c.rows);
    const auto t0 = clock_type::now();
    std::size_t total = 0;
    long long ids = 0;
    soci::rowset<soci::row> rs = (sql.prepare << "select id, name from t");
    for (const soci::row& r : rs) {
        ids += r.get<int>(0);
        total += r.get<std::string>(1).size();
    }
    const auto t1 = clock_type::now();
    if (ids != static_cast<long long>(c.rows) * (c.rows + 1) / 2 || total == 0) std::abort();
    return std::chrono::duration<double, std::milli>(t1 - t0).count();
}

double median(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
}

} // namespace

int main(int argc, char** argv) {
    config c;
    for (int i = 1; i + 1 < argc; i += 2) {
        const std::string a = argv[i];
        const int v = std::atoi(argv[i + 1]);
        if (a == "--rows") c.rows = v;
        else if (a == "--lookups") c.lookups = v;
        else if (a == "--inserts") c.inserts = v;
        else if (a == "--reps") c.reps = v;
        else {
            std::cerr << "bench_soci: unknown argument " << a << "\n";
            return 2;
        }
    }
    std::string tmpl = (std::filesystem::temp_directory_path() / "libsql-bench-soci-XXXXXX").string();
    if (!::mkdtemp(tmpl.data())) return 2;
    const std::filesystem::path dir = tmpl;

    const side sides[] = {
        {"sqlite3", soci::factory_sqlite3(), [](const std::string& p) { return "db=" + p; }},
        {"libsql", soci::factory_libsql(), [](const std::string& p) { return p; }},
    };
    struct workload {
        const char* key;
        const char* what;
        double (*run)(const side&, const std::string&, const config&);
        int ops;
    };
    const workload workloads[] = {
        {"P", "point select (prepared, use + into)", point_select, c.lookups},
        {"I", "insert in one transaction (prepared)", insert_transaction, c.inserts},
        {"S", "scan through rowset<row>", scan, c.rows},
    };

    std::string lite_version;
    {
        soci::session lite(*soci::factory_sqlite3(), "db=:memory:");
        lite << "select sqlite_version()", soci::into(lite_version);
    }
    std::string ours_version;
    {
        soci::session ours(*soci::factory_libsql(), ":memory:");
        ours << "select sqlite_version()", soci::into(ours_version);
    }
    std::printf("bench_soci: SOCI %s; sqlite3 backend on SQLite %s, libsql backend on SQLite %s; %d rows, %d lookups, "
                "%d inserts, median of %d runs\n",
                SOCI_LIB_VERSION, lite_version.c_str(), ours_version.c_str(), c.rows, c.lookups, c.inserts, c.reps);
    std::printf("%-2s %-40s %12s %12s %8s\n", "", "workload", "sqlite3 ms", "libsql ms", "ratio");
    for (const workload& w : workloads) {
        std::vector<double> times[2];
        for (int rep = 0; rep < c.reps; ++rep) {
            for (int k = 0; k < 2; ++k) {  // interleaved, so drift in the machine's load hits both sides alike
                const side& s = sides[(rep + k) % 2];
                const int idx = (rep + k) % 2;
                times[idx].push_back(w.run(s, fresh_file(dir, s.name, w.key, rep), c));
            }
        }
        const double lite = median(times[0]);
        const double ours = median(times[1]);
        std::printf("%-2s %-40s %12.1f %12.1f %7.2fx\n", w.key, w.what, lite, ours, ours / lite);
    }
    std::filesystem::remove_all(dir);
    return 0;
}
