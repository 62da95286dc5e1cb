// bench_vector: libSQL's vector functions and its DiskANN index, libsql-cpp against npm libsql@0.5.29 (the anchor,
// same run, same data):
//   brute force: inserting vectors through vector32(text) in one transaction, then exact top-10 by
//                vector_distance_cos over the whole table;
//   index:       the same rows inserted (one transaction) into a table with a libsql_vector_idx index (default
//                parameters, cosine), then vector_top_k(index, q, 10) for the same queries; recall@10 against the
//                brute-force answers.
// Usage: bench_vector [ROWS [DIMS [QUERIES [INDEX_ROWS]]]]   (defaults 20000 128 50 ROWS; INDEX_ROWS 0: no index)
#include "libsql/database.hpp"
#include "libsql/transaction.hpp"

#include <algorithm>
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
    const int index_rows = std::min(rows, argc > 4 ? std::stoi(argv[4]) : rows);
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
    std::vector<std::vector<int>> exact;
    t0 = std::chrono::steady_clock::now();
    for (const auto& s : qs) {
        std::vector<int> ids;
        for (auto r : q.query(s)) ids.push_back(r.get<int>(0));
        exact.push_back(std::move(ids));
    }
    const double query_s = seconds_since(t0);
    const std::vector<int> first = exact.empty() ? std::vector<int>{} : exact.front();

    // The index: the first index_rows rows, with brute force over the same rows as the reference.
    double index_insert_s = 0, index_query_s = 0, recall = 0;
    if (index_rows > 0) {
        conn.execute("CREATE TABLE vi(id INTEGER PRIMARY KEY, emb F32_BLOB(" + std::to_string(dims) + "))");
        conn.execute("CREATE INDEX vi_idx ON vi(libsql_vector_idx(emb))");
        t0 = std::chrono::steady_clock::now();
        {
            auto tx = conn.transaction();
            auto ins = conn.prepare("INSERT INTO vi(emb) VALUES (vector32(?))");
            for (int i = 0; i < index_rows; ++i) ins.execute(data[static_cast<std::size_t>(i)]);
            tx.commit();
        }
        index_insert_s = seconds_since(t0);
        auto ref = conn.prepare("SELECT id FROM v WHERE id <= ? ORDER BY vector_distance_cos(emb, vector32(?)) LIMIT 10");
        auto top = conn.prepare("SELECT id FROM vector_top_k('vi_idx', vector32(?), 10)");
        std::vector<std::vector<int>> found;
        t0 = std::chrono::steady_clock::now();
        for (const auto& s : qs) {
            std::vector<int> ids;
            for (auto r : top.query(s)) ids.push_back(r.get<int>(0));
            found.push_back(std::move(ids));
        }
        index_query_s = seconds_since(t0);
        std::size_t hits = 0, total = 0;
        for (std::size_t i = 0; i < qs.size(); ++i) {
            std::vector<int> truth;
            for (auto r : ref.query(index_rows, qs[i])) truth.push_back(r.get<int>(0));
            for (const int id : truth) hits += std::find(found[i].begin(), found[i].end(), id) != found[i].end() ? 1u : 0u;
            total += truth.size();
        }
        recall = total == 0 ? 0 : static_cast<double>(hits) / static_cast<double>(total);
    }

    std::string anchor = "(node or build/npm missing)";
    const std::string cmd = "LIBSQL_NODE_MODULES='" LIBSQL_NPM_DIR "/node_modules' node '" LIBSQL_BENCH_DIR
                            "/vector_anchor.mjs' " + std::to_string(rows) + " " + std::to_string(dims) + " " +
                            std::to_string(queries) + " " + std::to_string(index_rows);
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
    if (index_rows > 0)
        std::printf("libsql-cpp index (%d rows): %.0f inserts/s, %.2f vector_top_k queries/s, recall@10 %.3f\n", index_rows,
                    index_rows / index_insert_s, queries / index_query_s, recall);
    std::printf("npm libsql:  %s", anchor.c_str());
    return 0;
}
