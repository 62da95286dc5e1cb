// The libsql-cpp side of tests/vector/vector_index_file.mjs (which runs this twice on a file npm libsql wrote).
//   first:  reads libSQL's indexes (the planner and integrity_check keep away from them, vector_top_k answers),
//           writes rows into them (INSERT, UPDATE, REPLACE, DELETE), builds c_idx over c.
//   second: checks the rows libSQL then added to and deleted from c_idx.
// Usage: vector_index_file FILE ROWS first|second. Exit code 0 when every check holds.
#include "libsql/database.hpp"
#include "libsql/error.hpp"
#include "libsql/vector.hpp"

#include <algorithm>
#include <cstdint>
#include <iostream>
#include <set>
#include <string>
#include <vector>

namespace {

int failures = 0;

void check(bool ok, const std::string& what) {
    std::cout << (ok ? "ok   " : "FAIL ") << what << "\n";
    if (!ok) ++failures;
}

std::vector<std::int64_t> ids(libsql::connection& c, const std::string& sql, const libsql::blob& v) {
    std::vector<std::int64_t> out;
    for (auto r : c.query(sql, v)) out.push_back(r.get<std::int64_t>(0));
    return out;
}

/// recall@10 of vector_top_k(idx) against brute force for the query vectors of `queries` (blobs).
double recall(libsql::connection& c, const std::string& table, const std::string& idx, const std::vector<libsql::blob>& queries) {
    double hits = 0;
    for (const auto& q : queries) {
        const auto truth = ids(c, "SELECT id FROM " + table + " ORDER BY vector_distance_cos(emb, ?) LIMIT 10", q);
        for (std::int64_t id : ids(c, "SELECT id FROM vector_top_k('" + idx + "', ?, 10)", q))
            hits += std::find(truth.begin(), truth.end(), id) != truth.end() ? 1 : 0;
    }
    return hits / (10.0 * static_cast<double>(queries.size()));
}

std::uint64_t seed = 12345;
libsql::f32_vector random_vector() {
    std::vector<float> v(32);
    for (float& x : v) {
        seed = seed * 6364136223846793005ull + 1442695040888963407ull;
        x = static_cast<float>((seed >> 33) % 20001) / 10000.0f - 1.0f;
    }
    return libsql::f32_vector{std::move(v)};
}

std::vector<libsql::blob> random_queries(libsql::connection& c, int n) {
    std::vector<libsql::blob> out;
    for (int i = 0; i < n; ++i) out.push_back(c.query_value<libsql::blob>("SELECT ?", random_vector()));
    return out;
}

std::string integrity(libsql::connection& c) { return c.query_value<std::string>("PRAGMA integrity_check"); }

/// Rows with a node in the index, against rows with a vector.
bool index_matches_table(libsql::connection& c, const std::string& table, const std::string& idx) {
    std::set<std::int64_t> a, b;
    for (auto r : c.query("SELECT index_key FROM " + idx + "_shadow")) a.insert(r.get<std::int64_t>(0));
    for (auto r : c.query("SELECT id FROM " + table + " WHERE emb IS NOT NULL")) b.insert(r.get<std::int64_t>(0));
    return a == b;
}

void first(libsql::connection& c, int rows) {
    // reads: through the planner now (it must never pick the empty index b-tree)
    check(c.query_value<int>("SELECT count(*) FROM t") == rows, "SELECT count(*) FROM t through the planner: " +
                                                                   std::to_string(c.query_value<int>("SELECT count(*) FROM t")));
    check(c.query_value<int>("SELECT count(*) FROM t WHERE emb IS NOT NULL AND id >= 10") == rows - 10, "WHERE over t");
    std::string plans;
    for (auto r : c.query("EXPLAIN QUERY PLAN SELECT id FROM t ORDER BY libsql_vector_idx(emb)")) plans += r.get<std::string>(3) + ";";
    for (auto r : c.query("EXPLAIN QUERY PLAN SELECT count(*) FROM r")) plans += r.get<std::string>(3) + ";";
    check(plans.find("_idx") == std::string::npos, "no query plan uses a vector index: " + plans);
    check(integrity(c) == "ok", "PRAGMA integrity_check: " + integrity(c));
    check(c.query_value<std::string>("PRAGMA quick_check") == "ok", "PRAGMA quick_check");
    const int nearest = c.query_value<int>("SELECT id FROM t ORDER BY vector_distance_cos(emb, ?) LIMIT 1", libsql::f32_vector{{3, 4, 5}});
    check(nearest == 3, "exact nearest neighbour by vector_distance_cos: id " + std::to_string(nearest));
    {
        std::vector<int> top, brute;
        for (auto r : c.query("SELECT id FROM vector_top_k('t_idx', vector32('[3,4,5]'), 5)")) top.push_back(r.get<int>(0));
        for (auto r : c.query("SELECT id FROM t ORDER BY vector_distance_cos(emb, vector32('[3,4,5]')), id LIMIT 5")) brute.push_back(r.get<int>(0));
        check(top == brute, "vector_top_k('t_idx', [3,4,5], 5) is the exact top 5");
        double ours = 0, theirs = 0;
        int queries = 0;
        for (auto q : c.query("SELECT v, libsql_ids FROM queries ORDER BY q")) {
            const libsql::blob v = q.get<libsql::blob>(0);
            const std::string libsql_ids = "," + q.get<std::string>(1) + ",";
            const auto truth = ids(c, "SELECT id FROM r ORDER BY vector_distance_cos(emb, ?) LIMIT 10", v);
            const auto got = ids(c, "SELECT id FROM vector_top_k('r_idx', ?, 10)", v);
            for (std::int64_t id : truth) {
                ours += std::find(got.begin(), got.end(), id) != got.end() ? 1 : 0;
                theirs += libsql_ids.find("," + std::to_string(id) + ",") != std::string::npos ? 1 : 0;
            }
            ++queries;
        }
        ours /= 10.0 * queries;
        theirs /= 10.0 * queries;
        check(queries == 20 && ours >= 0.9 && ours >= theirs - 0.05,
              "recall@10 of vector_top_k over libSQL's 1500-node index: libsql-cpp " + std::to_string(ours) + ", libSQL " + std::to_string(theirs));
        for (const char* bad : {"SELECT id FROM vector_top_k('nope', vector32('[1,2,3]'), 1)",
                                "SELECT id FROM vector_top_k('t_idx', vector32('[1,2]'), 1)",
                                "SELECT id FROM vector_top_k('t_idx', vector32('[1,2,3]'), 0)"}) {
            try {
                (void)c.query_value<int>(bad);
                check(false, std::string("error for ") + bad);
            } catch (const libsql::error& e) {
                check(true, std::string("error for ") + bad + " -> " + std::string(e.what()).substr(0, 80));
            }
        }
    }
    // writes into libSQL's t_idx: each kind of row change
    c.execute("INSERT INTO t VALUES (1000, vector32('[100,-1,0]'), 'new')");
    c.execute("REPLACE INTO t VALUES (3, vector32('[0,50,-1]'), 'replaced')");
    c.execute("UPDATE t SET emb = vector32('[0,0,1]') WHERE id = 1");
    c.execute("DELETE FROM t WHERE id = 2");
    c.execute("UPDATE t SET note = 'changed' WHERE id = 4");
    check(c.query_value<int>("SELECT id FROM vector_top_k('t_idx', vector32('[100,-1,0]'), 1)") == 1000, "the inserted row is found");
    check(c.query_value<int>("SELECT id FROM vector_top_k('t_idx', vector32('[0,0,1]'), 1)") == 1, "the updated row is found");
    check(index_matches_table(c, "t", "t_idx"), "t_idx has a node for every row of t, and no other");
    // into libSQL's partial p_idx (WHERE k > 0): only the rows it admits
    c.execute("INSERT INTO p VALUES (3, vector32('[0,0,1]'), 1), (4, vector32('[1,1,0]'), 0)");
    c.execute("UPDATE p SET k = 1 WHERE id = 2");
    check(c.query_value<std::string>("SELECT group_concat(index_key) FROM (SELECT index_key FROM p_idx_shadow ORDER BY 1)") == "1,2,3",
          "the partial index p_idx holds the rows its WHERE admits");
    // into libSQL's r_idx (float8 neighbours): 100 rows added, 100 deleted, in one transaction
    {
        auto tx = c.transaction();
        for (int i = 2001; i <= 2100; ++i) c.execute("INSERT INTO r VALUES (?, ?)", i, random_vector());
        c.execute("DELETE FROM r WHERE id <= 100");
        tx.commit();
    }
    check(index_matches_table(c, "r", "r_idx"), "r_idx matches r after 100 inserts and 100 deletes");
    int self = 0;
    for (auto row : c.query("SELECT id, emb FROM r WHERE id > 2000")) {
        const auto got = ids(c, "SELECT id FROM vector_top_k('r_idx', ?, 1)", row.get<libsql::blob>(1));
        self += !got.empty() && got[0] == row.get<std::int64_t>(0) ? 1 : 0;
    }
    check(self >= 95, "rows added to libSQL's r_idx are their own nearest: " + std::to_string(self) + "/100");
    const auto rq = random_queries(c, 20);
    const double r_recall = recall(c, "r", "r_idx", rq);
    check(r_recall >= 0.85, "recall@10 of r_idx after the changes: " + std::to_string(r_recall));
    // an index of our own over libSQL's rows, then 10 more rows
    c.execute("CREATE INDEX c_idx ON c(libsql_vector_idx(emb))");
    for (int i = 1001; i <= 1010; ++i) c.execute("INSERT INTO c VALUES (?, ?)", i, random_vector());
    check(index_matches_table(c, "c", "c_idx"), "c_idx (built by libsql-cpp) matches c");
    const double c_recall = recall(c, "c", "c_idx", random_queries(c, 20));
    check(c_recall >= 0.9, "recall@10 of libsql-cpp's c_idx: " + std::to_string(c_recall));
    check(integrity(c) == "ok", "PRAGMA integrity_check after the writes");
}

void second(libsql::connection& c) {
    check(integrity(c) == "ok", "PRAGMA integrity_check after libSQL's writes");
    check(index_matches_table(c, "c", "c_idx"), "c_idx matches c after libSQL's 50 inserts and 50 deletes");
    int self = 0;
    for (auto row : c.query("SELECT id, emb FROM c WHERE id > 5000")) {
        const auto got = ids(c, "SELECT id FROM vector_top_k('c_idx', ?, 10)", row.get<libsql::blob>(1));
        self += !got.empty() && got[0] == row.get<std::int64_t>(0) ? 1 : 0;
        for (std::int64_t id : got)
            if (id <= 50) check(false, "a row libSQL deleted is returned: " + std::to_string(id));
    }
    check(self >= 48, "rows libSQL added to c_idx are their own nearest: " + std::to_string(self) + "/50");
    const double c_recall = recall(c, "c", "c_idx", random_queries(c, 20));
    check(c_recall >= 0.9, "recall@10 of c_idx after libSQL's changes: " + std::to_string(c_recall));
    c.execute("DELETE FROM c WHERE id > 5040");
    check(index_matches_table(c, "c", "c_idx"), "and after libsql-cpp deletes some of them");
}

} // namespace

int main(int argc, char** argv) {
    if (argc != 4) {
        std::cerr << "usage: vector_index_file FILE ROWS first|second\n";
        return 2;
    }
    try {
        libsql::database db(argv[1]);
        libsql::connection c = db.connect();
        if (std::string(argv[3]) == "first") first(c, std::stoi(argv[2]));
        else second(c);
    } catch (const std::exception& e) {
        check(false, std::string("exception: ") + e.what());
    }
    return failures == 0 ? 0 : 1;
}
