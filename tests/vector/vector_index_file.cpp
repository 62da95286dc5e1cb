// Opens a file npm libsql wrote with a DiskANN vector index (tests/vector/vector_index_file.mjs makes it and
// runs this), checks that libsql-cpp reads the table, refuses every write that would have to maintain the index
// with a clear error, and leaves the file as libSQL wrote it (the script then checks it in libSQL again).
// Usage: vector_index_file FILE ROWS. Exit code 0 when every check holds.
#include "libsql/database.hpp"
#include "libsql/error.hpp"
#include "libsql/vector.hpp"

#include <algorithm>
#include <iostream>
#include <string>
#include <vector>

namespace {

int failures = 0;

void check(bool ok, const std::string& what) {
    std::cout << (ok ? "ok   " : "FAIL ") << what << "\n";
    if (!ok) ++failures;
}

/// Runs a write that touches the vector index; it must fail naming libsql_vector_idx.
void refused(libsql::connection& c, const std::string& sql) {
    try {
        c.execute(sql);
        check(false, "refused: " + sql + " (it ran)");
    } catch (const libsql::error& e) {
        check(std::string(e.what()).find("libsql_vector_idx: vector indexes are not supported") != std::string::npos,
              "refused: " + sql + " -> " + std::string(e.what()).substr(0, 90));
    }
}

} // namespace

int main(int argc, char** argv) {
    if (argc != 3) {
        std::cerr << "usage: vector_index_file FILE ROWS\n";
        return 2;
    }
    const int rows = std::stoi(argv[2]);
    libsql::database db(argv[1]);
    libsql::connection c = db.connect();
    // NOT INDEXED: SQLite would count through the index b-tree, which libSQL leaves empty (docs/VECTOR.md)
    auto count = [&] { return c.query_value<int>("SELECT count(*) FROM t NOT INDEXED"); };
    auto shadow = [&] { return c.query_value<int>("SELECT count(*) FROM t_idx_shadow"); };
    check(count() == rows, "the table reads: " + std::to_string(count()) + " rows");
    check(shadow() == rows, "the shadow table reads: " + std::to_string(shadow()) + " nodes");
    std::cout << "note: SELECT count(*) FROM t through the planner gives " << c.query_value<int>("SELECT count(*) FROM t")
              << " (it scans libSQL's empty index b-tree; an engine patch must hide the index from the planner)\n";
    const int nearest = c.query_value<int>("SELECT id FROM t NOT INDEXED ORDER BY vector_distance_cos(emb, ?) LIMIT 1",
                                           libsql::f32_vector{{3, 4, 5}});
    check(nearest == 3, "exact nearest neighbour by vector_distance_cos: id " + std::to_string(nearest));
    // vector_top_k over libSQL's graph: the small one exhaustively, the bigger one against brute force and libSQL
    {
        std::vector<int> top, brute;
        for (auto r : c.query("SELECT id FROM vector_top_k('t_idx', vector32('[3,4,5]'), 5)")) top.push_back(r.get<int>(0));
        for (auto r : c.query("SELECT id FROM t NOT INDEXED ORDER BY vector_distance_cos(emb, vector32('[3,4,5]')), id LIMIT 5"))
            brute.push_back(r.get<int>(0));
        check(top == brute, "vector_top_k('t_idx', [3,4,5], 5) is the exact top 5");
        std::vector<int> joined;
        for (auto r : c.query("SELECT t.id FROM vector_top_k('t_idx', vector32('[3,4,5]'), 5) AS v JOIN t ON t.rowid = v.id"))
            joined.push_back(r.get<int>(0));
        std::sort(joined.begin(), joined.end());
        std::sort(top.begin(), top.end());
        check(joined == top, "vector_top_k joined with its table, libSQL's documented form");
        double ours = 0, theirs = 0;
        int queries = 0;
        for (auto q : c.query("SELECT v, libsql_ids FROM queries ORDER BY q")) {
            const libsql::blob v = q.get<libsql::blob>(0);
            const std::string libsql_ids = "," + q.get<std::string>(1) + ",";
            std::vector<int> truth;
            for (auto r : c.query("SELECT id FROM r NOT INDEXED ORDER BY vector_distance_cos(emb, ?) LIMIT 10", v)) truth.push_back(r.get<int>(0));
            std::vector<int> got;
            for (auto r : c.query("SELECT id FROM vector_top_k('r_idx', ?, 10)", v)) got.push_back(r.get<int>(0));
            for (int id : truth) {
                ours += std::find(got.begin(), got.end(), id) != got.end() ? 1 : 0;
                theirs += libsql_ids.find("," + std::to_string(id) + ",") != std::string::npos ? 1 : 0;
            }
            ++queries;
        }
        ours /= 10.0 * queries;
        theirs /= 10.0 * queries;
        check(queries == 20 && ours >= 0.9 && ours >= theirs - 0.05,
              "recall@10 of vector_top_k over libSQL's 1500-node index: libsql-cpp " + std::to_string(ours) +
                  ", libSQL " + std::to_string(theirs));
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
    refused(c, "INSERT INTO t VALUES (1000, vector32('[1,2,3]'), 'new')");
    refused(c, "REPLACE INTO t VALUES (1, vector32('[1,2,3]'), 'new')");
    refused(c, "UPDATE t SET emb = vector32('[0,0,1]') WHERE id = 1");
    refused(c, "DELETE FROM t WHERE id = 2");
    c.execute("UPDATE t SET note = 'changed' WHERE id = 1"); // does not touch the indexed column: allowed
    check(c.query_value<std::string>("SELECT note FROM t NOT INDEXED WHERE id = 1") == "changed", "a write that leaves emb alone runs");
    check(count() == rows && shadow() == rows, "nothing else changed");
    return failures == 0 ? 0 : 1;
}
