// bench_local: the raw SQLite C API against libsql-cpp, on the same data and the same compiled engine.
//
//   bench_local [--scale S] [--reps N] all             every workload, both sides interleaved: a table of medians
//   bench_local [--scale S] <workload> <raw|libsql>     one workload, one side, once (what scripts/bench runs under
//                                                       callgrind; only the measured section is instrumented)
//   --journal wal|delete                                the journal mode of the databases (default wal)
//   --hot                                               W1-W3 in a warm 64 MB cache, W1/W3 in one read transaction
//   --key K                                             encrypted files (libSQL's cipher, AES-256-CBC, key K): with
//                                                       `all`, each workload runs on plain and on encrypted files
//                                                       in one table; with <workload> <side>, on an encrypted file
//   bench_local [--scale S] list                        the workloads: id, description, operations
//   bench_local [--scale S] sizes                       the sizes at this scale
//
// Workloads (sizes at scale 1):
//   W1   point select by primary key, reused statement: 200k lookups in a 100k-row table, every column read.
//        libsql side: st.query_row(id) (an owned row).
//   W1c  the same, libsql side: for (auto r : st.query(id)) (a cursor over the statement's own row; the loop steps
//        twice, the second time to learn there is no other row).
//   W1n  the same, libsql side: auto rs = st.query(id); rs.next(); rs.current() (a cursor, stepped once like raw).
//   W2   100k inserts in one transaction with a reused statement (BEGIN, prepare, inserts, COMMIT, finalize).
//   W3   a full scan of the 100k rows reading every column (statement prepared beforehand).
//   W4   1000 × (open a connection, select 1, close). libsql side: db.connect() on a database made beforehand.
//   W4d  the same, libsql side: a libsql::database made each time too (which opens and closes a probe first).
//
// Both sides open with SQLITE_OPEN_READWRITE|CREATE|URI|FULLMUTEX, read the same file, and keep SQLite's defaults
// (synchronous=FULL, 2 MB page cache) except the journal mode, WAL unless --journal delete (the mode most
// applications use). Each lookup of W1 is then its own read transaction, as in an application, and its time is
// mostly the engine's system calls (file locks, reads of pages the 2 MB cache does not hold).
// --hot removes those, to expose the wrapper's own cost: W1-W3 run with a 64 MB page cache, and W1 and W3 inside one
// read transaction opened and warmed (a full scan) before the measured section, on both sides alike.
// --key K: the files are encrypted (SQLite3MultipleCiphers, aes256cbc, as libSQL's encryptionKey writes them). The raw
// side sets the cipher and key with sqlite3mc_config and sqlite3_key right after sqlite3_open_v2; the libsql side
// passes connect_options::encryption_key. bench/local_libsql.mjs runs W1-W4 through npm libsql@0.5.29 (with and
// without encryptionKey) for the anchor; scripts/bench prints both. Each run prints a checksum of everything it read;
// `all` checks that the two sides agree.
#include "libsql/libsql.hpp"

#include <sqlite3.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <functional>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include <unistd.h>

#if defined(LIBSQL_BENCH_CALLGRIND) && __has_include(<valgrind/callgrind.h>)
#include <valgrind/callgrind.h>
// scripts/bench runs with --instr-atstart=no --collect-atstart=no: only what lies between these marks counts.
#define BENCH_MEASURE_BEGIN() do { CALLGRIND_START_INSTRUMENTATION; CALLGRIND_TOGGLE_COLLECT; } while (0)
#define BENCH_MEASURE_END() do { CALLGRIND_TOGGLE_COLLECT; CALLGRIND_STOP_INSTRUMENTATION; } while (0)
#else
#define BENCH_MEASURE_BEGIN() do {} while (0)
#define BENCH_MEASURE_END() do {} while (0)
#endif

namespace fs = std::filesystem;

namespace {

constexpr int open_flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_URI | SQLITE_OPEN_FULLMUTEX;
constexpr const char* create_sql = "CREATE TABLE bench(id INTEGER PRIMARY KEY, name TEXT NOT NULL, score REAL NOT NULL, data BLOB NOT NULL)";
constexpr const char* insert_sql = "INSERT INTO bench(id, name, score, data) VALUES (?, ?, ?, ?)";
constexpr const char* lookup_sql = "SELECT id, name, score, data FROM bench WHERE id = ?";
constexpr const char* scan_sql = "SELECT id, name, score, data FROM bench";
constexpr std::size_t blob_size = 16;

// ---------------------------------------------------------------------------------------------------------------
// The data: deterministic, identical for both sides.

std::uint64_t splitmix(std::uint64_t x) {
    x += 0x9e3779b97f4a7c15ull;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

struct dataset {
    int rows = 0;
    int lookups = 0;
    int opens = 0;
    std::vector<std::string> names;   // "user-00000042-a1b2c3": 20 characters
    std::vector<double> scores;
    std::vector<std::byte> blobs;     // blob_size bytes per row
    std::vector<std::int64_t> keys;   // the ids W1 looks up, uniformly random

    [[nodiscard]] std::span<const std::byte> blob(std::size_t i) const { return {blobs.data() + i * blob_size, blob_size}; }

    explicit dataset(double scale) {
        rows = std::max(1, static_cast<int>(std::lround(100'000 * scale)));
        lookups = std::max(1, static_cast<int>(std::lround(200'000 * scale)));
        opens = std::max(1, static_cast<int>(std::lround(1'000 * scale)));
        const auto n = static_cast<std::size_t>(rows);
        names.reserve(n);
        scores.reserve(n);
        blobs.resize(n * blob_size);
        for (std::size_t i = 0; i < n; ++i) {
            const std::uint64_t h = splitmix(i);
            char buf[32];
            std::snprintf(buf, sizeof buf, "user-%08zu-%06x", i + 1, static_cast<unsigned>(h & 0xffffff));
            names.emplace_back(buf);
            scores.push_back(static_cast<double>(h % 1'000'000) / 100.0);
            const std::uint64_t h2 = splitmix(h);
            std::memcpy(blobs.data() + i * blob_size, &h, 8);
            std::memcpy(blobs.data() + i * blob_size + 8, &h2, 8);
        }
        keys.reserve(static_cast<std::size_t>(lookups));
        std::uint64_t s = 12345;
        for (int i = 0; i < lookups; ++i) {
            s = splitmix(s);
            keys.push_back(static_cast<std::int64_t>(s % n) + 1);
        }
    }
};

/// What both sides fold every row they read into, so that nothing is optimised away and the sides can be compared.
inline std::uint64_t fold(std::uint64_t acc, std::int64_t id, std::string_view name, double score, const void* data,
                          std::size_t data_size) {
    const auto* b = static_cast<const unsigned char*>(data);
    acc = acc * 31 + static_cast<std::uint64_t>(id);
    acc += name.size() + static_cast<unsigned char>(name.front()) + static_cast<unsigned char>(name.back());
    acc += static_cast<std::uint64_t>(score * 100.0);
    acc += data_size + b[0] + b[data_size - 1];
    return acc;
}

/// The libsql-cpp side's read of one row: every column, typed, the same work the raw side does.
template <class Row> std::uint64_t fold_row(std::uint64_t acc, const Row& r) {
    const auto data = r.template get<libsql::blob_view>(3);
    return fold(acc, r.template get<std::int64_t>(0), r.template get<std::string_view>(1), r.template get<double>(2),
                data.data(), data.size());
}

// ---------------------------------------------------------------------------------------------------------------
// Raw C API helpers (setup, checks and the raw side).

[[noreturn]] void raw_fail(sqlite3* db, const char* what) {
    throw std::runtime_error(std::string(what) + ": " + (db ? sqlite3_errmsg(db) : "(no connection)"));
}

/// Opens a file; with a key, applies libSQL's cipher and the key before anything reads the file.
sqlite3* raw_open(const std::string& path, const std::string& key = {}) {
    sqlite3* db = nullptr;
    if (sqlite3_open_v2(path.c_str(), &db, open_flags, nullptr) != SQLITE_OK) {
        std::string msg = db ? sqlite3_errmsg(db) : "out of memory";
        sqlite3_close_v2(db);
        throw std::runtime_error("open " + path + ": " + msg);
    }
    if (!key.empty()) {
        const int cipher = sqlite3mc_cipher_index("aes256cbc");
        if (cipher <= 0 || sqlite3mc_config(db, "cipher", cipher) != cipher ||
            sqlite3_key(db, key.data(), static_cast<int>(key.size())) != SQLITE_OK) {
            sqlite3_close_v2(db);
            throw std::runtime_error("open " + path + ": cannot set the encryption key");
        }
    }
    return db;
}

void raw_exec(sqlite3* db, const char* sql) {
    if (sqlite3_exec(db, sql, nullptr, nullptr, nullptr) != SQLITE_OK) raw_fail(db, sql);
}

sqlite3_stmt* raw_prepare(sqlite3* db, const char* sql) {
    sqlite3_stmt* st = nullptr;
    if (sqlite3_prepare_v2(db, sql, -1, &st, nullptr) != SQLITE_OK) raw_fail(db, sql);
    return st;
}

/// Creates a database file with the table, empty or filled with the data set (raw API: the file is the same
/// whichever side reads it).
void make_database(const std::string& path, const dataset* fill, const std::string& journal_mode,
                   const std::string& key) {
    for (const char* suffix : {"", "-journal", "-wal", "-shm"}) fs::remove(path + suffix);
    sqlite3* db = raw_open(path, key);
    // Persistent in the file: both sides run in this mode.
    raw_exec(db, ("PRAGMA journal_mode = " + journal_mode).c_str());
    raw_exec(db, create_sql);
    if (fill) {
        raw_exec(db, "BEGIN");
        sqlite3_stmt* st = raw_prepare(db, insert_sql);
        for (int i = 0; i < fill->rows; ++i) {
            const auto k = static_cast<std::size_t>(i);
            sqlite3_bind_int64(st, 1, i + 1);
            sqlite3_bind_text(st, 2, fill->names[k].data(), static_cast<int>(fill->names[k].size()), SQLITE_STATIC);
            sqlite3_bind_double(st, 3, fill->scores[k]);
            sqlite3_bind_blob(st, 4, fill->blob(k).data(), static_cast<int>(blob_size), SQLITE_STATIC);
            if (sqlite3_step(st) != SQLITE_DONE) raw_fail(db, "insert");
            sqlite3_reset(st);
        }
        sqlite3_finalize(st);
        raw_exec(db, "COMMIT");
    }
    sqlite3_close_v2(db);  // the last connection: its WAL is checkpointed into the file
    // An encrypted file must not start with SQLite's plain header: the encrypted figures are of encrypted pages.
    char header[16] = {};
    if (std::FILE* f = std::fopen(path.c_str(), "rb")) {
        const std::size_t n = std::fread(header, 1, sizeof header, f);
        std::fclose(f);
        if (n == sizeof header && key.empty() != (std::memcmp(header, "SQLite format 3", 16) == 0))
            throw std::runtime_error(path + (key.empty() ? ": not a plain SQLite file" : ": written unencrypted despite --key"));
    }
}

/// After W2: the table must hold exactly the data set.
void verify_filled(const std::string& path, const dataset& d, const std::string& key) {
    sqlite3* db = raw_open(path, key);
    sqlite3_stmt* st = raw_prepare(db, "SELECT count(*), sum(id), sum(length(name)), sum(length(data)) FROM bench");
    if (sqlite3_step(st) != SQLITE_ROW) raw_fail(db, "verify");
    const std::int64_t n = d.rows;
    const bool ok = sqlite3_column_int64(st, 0) == n && sqlite3_column_int64(st, 1) == n * (n + 1) / 2 &&
                    sqlite3_column_int64(st, 2) == 20 * n && sqlite3_column_int64(st, 3) == static_cast<std::int64_t>(blob_size) * n;
    sqlite3_finalize(st);
    sqlite3_close_v2(db);
    if (!ok) throw std::runtime_error("W2: the table does not hold the data set after the inserts");
}

// ---------------------------------------------------------------------------------------------------------------
// The measured sections. Each is a separate non-inlined function so that profiles attribute cleanly.

// W1: point select by primary key, reused statement.
[[gnu::noinline]] std::uint64_t w1_raw(sqlite3* db, sqlite3_stmt* st, const std::vector<std::int64_t>& keys) {
    std::uint64_t acc = 0;
    for (const std::int64_t id : keys) {
        if (sqlite3_bind_int64(st, 1, id) != SQLITE_OK) raw_fail(db, "bind");
        if (sqlite3_step(st) != SQLITE_ROW) raw_fail(db, "lookup");
        const std::int64_t rid = sqlite3_column_int64(st, 0);
        const auto* name = reinterpret_cast<const char*>(sqlite3_column_text(st, 1));
        const auto name_size = static_cast<std::size_t>(sqlite3_column_bytes(st, 1));
        const double score = sqlite3_column_double(st, 2);
        const void* data = sqlite3_column_blob(st, 3);
        const auto data_size = static_cast<std::size_t>(sqlite3_column_bytes(st, 3));
        acc = fold(acc, rid, std::string_view(name, name_size), score, data, data_size);
        sqlite3_reset(st);
    }
    return acc;
}

[[gnu::noinline]] std::uint64_t w1_libsql(libsql::statement& st, const std::vector<std::int64_t>& keys) {
    std::uint64_t acc = 0;
    for (const std::int64_t id : keys) {
        const libsql::row r = st.query_row(id);
        acc = fold_row(acc, r);
    }
    return acc;
}

[[gnu::noinline]] std::uint64_t w1c_libsql(libsql::statement& st, const std::vector<std::int64_t>& keys) {
    std::uint64_t acc = 0;
    for (const std::int64_t id : keys) {
        for (const libsql::row_view r : st.query(id)) {
            acc = fold_row(acc, r);
        }
    }
    return acc;
}

[[gnu::noinline]] std::uint64_t w1n_libsql(libsql::statement& st, const std::vector<std::int64_t>& keys) {
    std::uint64_t acc = 0;
    for (const std::int64_t id : keys) {
        auto rs = st.query(id);
        if (!rs.next()) throw std::runtime_error("lookup: no row");
        const libsql::row_view r = rs.current();
        acc = fold_row(acc, r);
    }
    return acc;
}

// W2: inserts in one transaction, reused statement. Returns the rows inserted.
[[gnu::noinline]] std::uint64_t w2_raw(sqlite3* db, const dataset& d) {
    raw_exec(db, "BEGIN");
    sqlite3_stmt* st = raw_prepare(db, insert_sql);
    std::uint64_t n = 0;
    for (int i = 0; i < d.rows; ++i) {
        const auto k = static_cast<std::size_t>(i);
        const std::string& name = d.names[k];
        const auto data = d.blob(k);
        if (sqlite3_bind_int64(st, 1, i + 1) != SQLITE_OK ||
            sqlite3_bind_text(st, 2, name.data(), static_cast<int>(name.size()), SQLITE_STATIC) != SQLITE_OK ||
            sqlite3_bind_double(st, 3, d.scores[k]) != SQLITE_OK ||
            sqlite3_bind_blob(st, 4, data.data(), static_cast<int>(data.size()), SQLITE_STATIC) != SQLITE_OK)
            raw_fail(db, "bind");
        if (sqlite3_step(st) != SQLITE_DONE) raw_fail(db, "insert");
        n += static_cast<std::uint64_t>(sqlite3_changes64(db));
        sqlite3_reset(st);
    }
    sqlite3_finalize(st);
    raw_exec(db, "COMMIT");
    return n;
}

[[gnu::noinline]] std::uint64_t w2_libsql(libsql::connection& conn, const dataset& d) {
    auto tx = conn.transaction();
    auto st = conn.prepare(insert_sql);
    std::uint64_t n = 0;
    for (int i = 0; i < d.rows; ++i) {
        const auto k = static_cast<std::size_t>(i);
        n += static_cast<std::uint64_t>(st.execute(std::int64_t{i + 1}, d.names[k], d.scores[k], d.blob(k)));
    }
    tx.commit();
    return n;
}

// W3: full scan, every column.
[[gnu::noinline]] std::uint64_t w3_raw(sqlite3* db, sqlite3_stmt* st) {
    std::uint64_t acc = 0;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        const std::int64_t id = sqlite3_column_int64(st, 0);
        const auto* name = reinterpret_cast<const char*>(sqlite3_column_text(st, 1));
        const auto name_size = static_cast<std::size_t>(sqlite3_column_bytes(st, 1));
        const double score = sqlite3_column_double(st, 2);
        const void* data = sqlite3_column_blob(st, 3);
        const auto data_size = static_cast<std::size_t>(sqlite3_column_bytes(st, 3));
        acc = fold(acc, id, std::string_view(name, name_size), score, data, data_size);
    }
    if (rc != SQLITE_DONE) raw_fail(db, "scan");
    sqlite3_reset(st);
    return acc;
}

[[gnu::noinline]] std::uint64_t w3_libsql(libsql::statement& st) {
    std::uint64_t acc = 0;
    for (const libsql::row_view r : st.query()) {
        acc = fold_row(acc, r);
    }
    return acc;
}

// W4: open, select 1, close.
[[gnu::noinline]] std::uint64_t w4_raw(const std::string& path, const std::string& key, int opens) {
    std::uint64_t acc = 0;
    for (int i = 0; i < opens; ++i) {
        sqlite3* db = raw_open(path, key);
        sqlite3_stmt* st = raw_prepare(db, "select 1");
        if (sqlite3_step(st) != SQLITE_ROW) raw_fail(db, "select 1");
        acc += static_cast<std::uint64_t>(sqlite3_column_int64(st, 0));
        sqlite3_finalize(st);
        sqlite3_close_v2(db);
    }
    return acc;
}

[[gnu::noinline]] std::uint64_t w4_libsql(const libsql::database& db, int opens) {
    std::uint64_t acc = 0;
    for (int i = 0; i < opens; ++i) {
        auto conn = db.connect();
        acc += static_cast<std::uint64_t>(conn.query_value<std::int64_t>("select 1"));
    }
    return acc;
}

[[gnu::noinline]] std::uint64_t w4d_libsql(const std::string& path, const libsql::connect_options& o, int opens) {
    std::uint64_t acc = 0;
    for (int i = 0; i < opens; ++i) {
        const libsql::database db(path, o);
        auto conn = db.connect();
        acc += static_cast<std::uint64_t>(conn.query_value<std::int64_t>("select 1"));
    }
    return acc;
}

// ---------------------------------------------------------------------------------------------------------------
// Running: setup, the measured section between the marks, teardown.

struct result {
    double ms = 0;
    std::uint64_t checksum = 0;
};

template <class F> result measure(F&& section) {
    BENCH_MEASURE_BEGIN();
    const auto t0 = std::chrono::steady_clock::now();
    const std::uint64_t sum = section();
    const auto t1 = std::chrono::steady_clock::now();
    BENCH_MEASURE_END();
    return {std::chrono::duration<double, std::milli>(t1 - t0).count(), sum};
}

enum class side { raw, libsql };

struct environment {
    const dataset& d;
    fs::path dir;
    std::string read_db;   // filled once; W1, W3 and W4 read it
    std::string journal_mode;
    bool hot = false;
    std::string key;       // --key: the files are encrypted with it
    std::string prefix;    // of W2's file names (plain and encrypted environments share the directory)
    int fresh = 0;         // numbers W2's databases

    [[nodiscard]] libsql::connect_options options() const {
        libsql::connect_options o;
        o.encryption_key = key;  // the default cipher is libSQL's, aes256cbc: the raw side's
        return o;
    }
};

constexpr const char* hot_cache_sql = "PRAGMA cache_size = -65536";
constexpr const char* warm_sql = "SELECT sum(length(name)), sum(length(data)) FROM bench";

/// --hot, raw side: a big cache and, for reads, a read transaction warmed by a full scan.
void raw_hot(sqlite3* db, bool read) {
    raw_exec(db, hot_cache_sql);
    if (read) {
        raw_exec(db, "BEGIN");
        raw_exec(db, warm_sql);
    }
}
/// --hot, libsql side: the same through the library (the transaction is the caller's to keep open).
std::optional<libsql::transaction> libsql_hot(libsql::connection& conn, bool read) {
    conn.execute(hot_cache_sql);
    if (!read) return std::nullopt;
    std::optional<libsql::transaction> tx(conn.transaction());
    (void)conn.query(warm_sql).skip_all();
    return tx;
}

result run(environment& env, std::string_view workload, side s) {
    const dataset& d = env.d;
    if (workload == "W1" || workload == "W1c" || workload == "W1n") {
        if (s == side::raw) {
            sqlite3* db = raw_open(env.read_db, env.key);
            if (env.hot) raw_hot(db, true);
            sqlite3_stmt* st = raw_prepare(db, lookup_sql);
            const result r = measure([&] { return w1_raw(db, st, d.keys); });
            sqlite3_finalize(st);
            if (env.hot) raw_exec(db, "COMMIT");
            sqlite3_close_v2(db);
            return r;
        }
        const libsql::database db(env.read_db, env.options());
        auto conn = db.connect();
        auto tx = env.hot ? libsql_hot(conn, true) : std::nullopt;
        auto st = conn.prepare(lookup_sql);
        if (workload == "W1") return measure([&] { return w1_libsql(st, d.keys); });
        if (workload == "W1c") return measure([&] { return w1c_libsql(st, d.keys); });
        return measure([&] { return w1n_libsql(st, d.keys); });
    }
    if (workload == "W2") {
        const std::string path = (env.dir / (env.prefix + "insert-" + std::to_string(env.fresh++) + ".db")).string();
        make_database(path, nullptr, env.journal_mode, env.key);
        result r;
        if (s == side::raw) {
            sqlite3* db = raw_open(path, env.key);
            if (env.hot) raw_hot(db, false);
            r = measure([&] { return w2_raw(db, d); });
            sqlite3_close_v2(db);
        } else {
            const libsql::database db(path, env.options());
            auto conn = db.connect();
            if (env.hot) libsql_hot(conn, false);
            r = measure([&] { return w2_libsql(conn, d); });
        }
        verify_filled(path, d, env.key);
        for (const char* suffix : {"", "-journal", "-wal", "-shm"}) fs::remove(path + suffix);
        return r;
    }
    if (workload == "W3") {
        if (s == side::raw) {
            sqlite3* db = raw_open(env.read_db, env.key);
            if (env.hot) raw_hot(db, true);
            sqlite3_stmt* st = raw_prepare(db, scan_sql);
            const result r = measure([&] { return w3_raw(db, st); });
            sqlite3_finalize(st);
            if (env.hot) raw_exec(db, "COMMIT");
            sqlite3_close_v2(db);
            return r;
        }
        const libsql::database db(env.read_db, env.options());
        auto conn = db.connect();
        auto tx = env.hot ? libsql_hot(conn, true) : std::nullopt;
        auto st = conn.prepare(scan_sql);
        return measure([&] { return w3_libsql(st); });
    }
    if (workload == "W4" || workload == "W4d") {
        if (s == side::raw) return measure([&] { return w4_raw(env.read_db, env.key, d.opens); });
        if (workload == "W4d") return measure([&] { return w4d_libsql(env.read_db, env.options(), d.opens); });
        const libsql::database db(env.read_db, env.options());
        return measure([&] { return w4_libsql(db, d.opens); });
    }
    throw std::runtime_error("unknown workload '" + std::string(workload) + "' (try: bench_local list)");
}

struct workload_info {
    const char* id;
    const char* what;
    bool target;  // the ≤ 1.10 target applies
};
constexpr std::array<workload_info, 7> workloads{{
    {"W1", "point select by PK, reused stmt (query_row)", true},
    {"W1c", "point select by PK, reused stmt (for over query)", true},
    {"W1n", "point select by PK, reused stmt (query + next)", true},
    {"W2", "inserts in one transaction, reused stmt", true},
    {"W3", "full scan, every column", true},
    {"W4", "open, select 1, close (db.connect())", false},
    {"W4d", "open, select 1, close (database + connect)", false},
}};

/// What a workload's ns/op and Ir/op divide by.
int operations(const dataset& d, std::string_view id) {
    return id.starts_with("W1") ? d.lookups : id.starts_with("W4") ? d.opens : d.rows;
}

double median(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    const std::size_t m = v.size() / 2;
    return v.size() % 2 ? v[m] : (v[m - 1] + v[m]) / 2;
}

std::string sizes(const dataset& d, double scale) {
    char buf[160];
    std::snprintf(buf, sizeof buf, "scale %g: %d rows, %d lookups, %d inserts, %d opens", scale, d.rows, d.lookups, d.rows, d.opens);
    return buf;
}

/// One workload's runs on one side of one environment: the times and the last checksum.
struct series {
    std::vector<double> ms;
    std::uint64_t checksum = 0;
};

bool same_checksums(const char* id, const series& raw, const series& lib, const char* what) {
    if (raw.checksum == lib.checksum) return true;
    std::printf("%-4s checksum mismatch%s: raw %llx, libsql %llx\n", id, what, static_cast<unsigned long long>(raw.checksum),
                static_cast<unsigned long long>(lib.checksum));
    return false;
}

/// The table of medians. With `enc` (--key), each workload also runs on the encrypted files, the four sides
/// interleaved, and the table gains the encrypted figures and what encryption costs each side.
int run_all(environment& env, environment* enc, double scale, int reps) {
    std::string journal = env.journal_mode == "wal" ? "WAL journal" : env.journal_mode + " journal";
    if (env.hot) journal += "; --hot: 64 MB cache, W1/W3 in one warmed read transaction";
    std::printf("libsql-cpp / raw SQLite C API, wall time, median of %d interleaved runs per side (%s)\n", reps,
                sizes(env.d, scale).c_str());
    std::printf("SQLite %s, both sides linked to the same libsql_sqlite3; %s, otherwise SQLite's defaults\n", sqlite3_libversion(),
                journal.c_str());
    if (enc) std::printf("encrypted: the same workloads on files encrypted with aes256cbc (libSQL's encryptionKey cipher)\n");
    std::printf("\n%-4s %-48s %10s %10s %8s %10s %10s", "id", "workload", "raw ms", "libsql ms", "ratio", "raw ns/op", "lib ns/op");
    if (enc) std::printf(" %11s %11s %8s %9s %9s", "raw enc ms", "lib enc ms", "ratio", "enc/raw", "enc/lib");
    std::printf("\n");
    bool all_ok = true;
    for (const auto& w : workloads) {
        series raw, lib, raw_enc, lib_enc;
        struct slot {
            environment* e;
            side s;
            series* out;
        };
        std::vector<slot> slots{{&env, side::raw, &raw}, {&env, side::libsql, &lib}};
        if (enc) {
            slots.push_back({enc, side::raw, &raw_enc});
            slots.push_back({enc, side::libsql, &lib_enc});
        }
        for (int rep = 0; rep < reps; ++rep) {
            // Rotate which side goes first, so that none always runs on the warmer machine.
            for (std::size_t k = 0; k < slots.size(); ++k) {
                const slot& sl = slots[(static_cast<std::size_t>(rep) + k) % slots.size()];
                const result r = run(*sl.e, w.id, sl.s);
                sl.out->ms.push_back(r.ms);
                sl.out->checksum = r.checksum;
            }
        }
        bool ok = same_checksums(w.id, raw, lib, "");
        if (enc) ok = same_checksums(w.id, raw, raw_enc, " (plain, encrypted)") && same_checksums(w.id, raw_enc, lib_enc, " (encrypted)") && ok;
        if (!ok) {
            all_ok = false;
            continue;
        }
        const double r = median(raw.ms), l = median(lib.ms);
        const double ops = operations(env.d, w.id);
        bool over = w.target && l / r > 1.10;
        std::printf("%-4s %-48s %10.2f %10.2f %8.3f %10.1f %10.1f", w.id, w.what, r, l, l / r, r * 1e6 / ops, l * 1e6 / ops);
        if (enc) {
            const double re = median(raw_enc.ms), le = median(lib_enc.ms);
            over = over || (w.target && le / re > 1.10);
            std::printf(" %11.2f %11.2f %8.3f %9.3f %9.3f", re, le, le / re, re / r, le / l);
        }
        std::printf("%s\n", over ? "  > 1.10" : "");
        std::fflush(stdout);
    }
    std::printf("\nratio = libsql ms / raw ms (target: at most 1.10 on W1-W3). ns/op: per lookup, insert, row or open.\n");
    if (enc) std::printf("enc/raw, enc/lib = encrypted ms / plain ms on the raw and on the libsql side: what encryption costs.\n");
    return all_ok ? 0 : 1;
}

/// A temporary directory, removed at the end.
struct temp_dir {
    fs::path path;
    temp_dir() {
        std::string tmpl = (fs::temp_directory_path() / "libsql-bench-XXXXXX").string();
        if (!mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp failed");
        path = tmpl;
    }
    ~temp_dir() {
        std::error_code ec;
        fs::remove_all(path, ec);
    }
    temp_dir(const temp_dir&) = delete;
    temp_dir& operator=(const temp_dir&) = delete;
};

int usage() {
    std::fprintf(stderr,
                 "usage: bench_local [--scale S] [--reps N] [--journal wal|delete] [--hot] [--key K] all\n"
                 "       bench_local [--scale S] [--journal wal|delete] [--hot] [--key K] <workload> <raw|libsql>\n"
                 "       bench_local [--scale S] list | sizes\n");
    return 2;
}

} // namespace

int main(int argc, char** argv) {
    double scale = 1.0;
    int reps = 7;
    std::string journal_mode = "wal";
    bool hot = false;
    std::string key;
    std::vector<std::string_view> args;
    for (int i = 1; i < argc; ++i) {
        const std::string_view a = argv[i];
        if ((a == "--scale" || a == "--reps" || a == "--journal" || a == "--key") && i + 1 < argc) {
            if (a == "--scale") scale = std::atof(argv[i + 1]);
            else if (a == "--reps") reps = std::max(1, std::atoi(argv[i + 1]));
            else if (a == "--key") key = argv[i + 1];
            else journal_mode = argv[i + 1];
            ++i;
        } else if (a == "--hot") {
            hot = true;
        } else {
            args.push_back(a);
        }
    }
    if (args.empty() || scale <= 0 || (journal_mode != "wal" && journal_mode != "delete")) return usage();
    if (args[0] == "list" || args[0] == "sizes") {
        const dataset d(scale);
        if (args[0] == "sizes") {
            std::printf("%s, %s journal%s%s\n", sizes(d, scale).c_str(), journal_mode.c_str(), hot ? ", --hot" : "",
                        key.empty() ? "" : ", encrypted");
            return 0;
        }
        // id, description, operations (lookups, inserts, rows or opens)
        for (const auto& w : workloads) std::printf("%s\t%s\t%d\n", w.id, w.what, operations(d, w.id));
        return 0;
    }
    if (args[0] != "all" && std::none_of(workloads.begin(), workloads.end(), [&](const workload_info& w) { return args[0] == w.id; })) {
        std::fprintf(stderr, "bench_local: unknown workload '%s' (try: bench_local list)\n", std::string(args[0]).c_str());
        return 2;
    }
    try {
        const dataset d(scale);
        const temp_dir dir;
        const bool all = args[0] == "all" && args.size() == 1;
        if (!all && (args.size() != 2 || (args[1] != "raw" && args[1] != "libsql"))) return usage();
        // The plain files (for `all`, or without --key) and the encrypted ones (with --key).
        environment env{d, dir.path, (dir.path / "read.db").string(), journal_mode, hot, {}, "plain-"};
        environment enc{d, dir.path, (dir.path / "read-encrypted.db").string(), journal_mode, hot, key, "encrypted-"};
        if (all || key.empty()) make_database(env.read_db, &d, journal_mode, {});
        if (!key.empty()) make_database(enc.read_db, &d, journal_mode, key);
        if (all) return run_all(env, key.empty() ? nullptr : &enc, scale, reps);
        const side s = args[1] == "raw" ? side::raw : side::libsql;
        const result r = run(key.empty() ? env : enc, args[0], s);
        std::printf("%s %s: %.2f ms, checksum %llx (%s)\n", std::string(args[0]).c_str(), std::string(args[1]).c_str(), r.ms,
                    static_cast<unsigned long long>(r.checksum),
                    (sizes(d, scale) + ", " + journal_mode + " journal" + (hot ? ", --hot" : "") +
                     (key.empty() ? "" : ", encrypted")).c_str());
        return 0;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "bench_local: %s\n", e.what());
        return 1;
    }
}
