// Opens a file npm libsql wrote with a DiskANN vector index (tests/vector/vector_index_file.mjs makes it and
// runs this), checks that libsql-cpp reads the table, refuses every write that would have to maintain the index
// with a clear error, and leaves the file as libSQL wrote it (the script then checks it in libSQL again).
// Usage: vector_index_file FILE ROWS. Exit code 0 when every check holds.
#include "libsql/database.hpp"
#include "libsql/error.hpp"
#include "libsql/vector.hpp"

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
    refused(c, "INSERT INTO t VALUES (1000, vector32('[1,2,3]'), 'new')");
    refused(c, "REPLACE INTO t VALUES (1, vector32('[1,2,3]'), 'new')");
    refused(c, "UPDATE t SET emb = vector32('[0,0,1]') WHERE id = 1");
    refused(c, "DELETE FROM t WHERE id = 2");
    c.execute("UPDATE t SET note = 'changed' WHERE id = 1"); // does not touch the indexed column: allowed
    check(c.query_value<std::string>("SELECT note FROM t NOT INDEXED WHERE id = 1") == "changed", "a write that leaves emb alone runs");
    check(count() == rows && shadow() == rows, "nothing else changed");
    return failures == 0 ? 0 : 1;
}
