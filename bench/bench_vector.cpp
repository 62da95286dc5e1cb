// bench_vector: libSQL's vector functions, libsql-cpp against npm libsql@0.5.29 (the anchor, same run, same data):
// inserting vectors through vector32(text) in one transaction, and exact (brute-force) top-10 by
// vector_distance_cos over the whole table. No index: the DiskANN index is not implemented (docs/VECTOR.md).
// Usage: bench_vector [ROWS [DIMS [QUERIES]]]   (defaults 20000 128 50)
#include "libsql/database.hpp"
#include "libsql/transaction.hpp"

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

namespace {

std::uint32_t seed = 12345;
double rnd() { // mulberry32, as vector_anchor.mjs
    seed += 0x6d2b79f5u;
    std::uint32_t t = seed;
    t = (t ^ (t >> 15)) * (t | 1u);
    t ^= t + (t ^ (t >> 7)) * (t | 61u);
    return static_cast<double>(t ^ (t >> 14)) / 4294967296.0;
}

std::string vector_text(int dims) {
    std::string s = "[";
    char buf[32];
    for (int i = 0; i < dims; ++i) {
        std::snprintf(buf, sizeof buf, "%.6f", rnd() * 2 - 1);
        if (i) s.push_back(',');
        s += buf;
    }
    return s + "]";
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

} // namespace

int main(int argc, char** argv) {
    const int rows = argc > 1 ? std::stoi(argv[1]) : 20000;
    const int dims = argc > 2 ? std::stoi(argv[2]) : 128;
    const int queries = argc > 3 ? std::stoi(argv[3]) : 50;
    std::vector<std::string> data, qs;
    for (int i = 0; i < rows; ++i) data.push_back(vector_text(dims));
    for (int i = 0; i < queries; ++i) qs.push_back(vector_text(dims));

    libsql::database db(":memory:");
    auto conn = db.connect();
    conn.execute("CREATE TABLE v(id INTEGER PRIMARY KEY, emb F32_BLOB(" + std::to_string(dims) + "))");
    auto t0 = std::chrono::steady_clock::now();
    {
        auto tx = conn.transaction();
        auto ins = conn.prepare("INSERT INTO v(emb) VALUES (vector32(?))");
        for (const auto& d : data) ins.execute(d);
        tx.commit();
    }
    const double insert_s = seconds_since(t0);
    auto q = conn.prepare("SELECT id FROM v ORDER BY vector_distance_cos(emb, vector32(?)) LIMIT 10");
    std::vector<int> first;
    t0 = std::chrono::steady_clock::now();
    for (const auto& s : qs) {
        std::vector<int> ids;
        for (auto r : q.query(s)) ids.push_back(r.get<int>(0));
        if (first.empty()) first = ids;
    }
    const double query_s = seconds_since(t0);

    std::string anchor = "(node or build/npm missing)";
    const std::string cmd = "LIBSQL_NODE_MODULES='" LIBSQL_NPM_DIR "/node_modules' node '" LIBSQL_BENCH_DIR
                            "/vector_anchor.mjs' " + std::to_string(rows) + " " + std::to_string(dims) + " " +
                            std::to_string(queries);
    if (FILE* p = popen(cmd.c_str(), "r")) {
        char buf[4096];
        anchor.clear();
        while (std::fgets(buf, sizeof buf, p)) anchor += buf;
        pclose(p);
    }
    std::string mine = "[";
    for (std::size_t i = 0; i < first.size(); ++i) mine += (i ? "," : "") + std::to_string(first[i]);
    mine += "]";
    std::printf("bench_vector: %d vectors x %d dims (float32, cosine), %d brute-force top-10 queries\n", rows, dims, queries);
    std::printf("libsql-cpp:  %.0f inserts/s, %.2f queries/s, first query ids %s\n", rows / insert_s, queries / query_s, mine.c_str());
    std::printf("npm libsql:  %s", anchor.c_str());
    return 0;
}
