// libSQL's DiskANN vector index maintained by libsql-cpp (engine/patches/0030-vector-index.patch,
// src/local/vector/vector_index.cpp, docs/VECTOR.md): CREATE INDEX, every kind of row change, DROP, the planner and
// integrity_check keeping away from the index, errors. Interop with npm libsql: tests/vector/vector_index_file.*.
#include "support/memory_db.hpp"
#include "support/temp_files.hpp"
#include "libsql/database.hpp"
#include "libsql/error.hpp"
#include "libsql/vector.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <random>
#include <thread>
#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

namespace {

class vector_index : public libsql::test::memory_db {
protected:
    void SetUp() override {
        conn.execute("CREATE TABLE t(id INTEGER PRIMARY KEY, emb F32_BLOB(3), u TEXT UNIQUE)");
        conn.execute("INSERT INTO t VALUES (1, vector32('[1,2,3]'), 'a'), (2, vector32('[3,2,1]'), 'b'), (3, NULL, 'c')");
    }

    std::set<std::int64_t> shadow_keys(const std::string& shadow = "t_idx_shadow") {
        std::set<std::int64_t> out;
        for (auto r : conn.query("SELECT index_key FROM " + shadow)) out.insert(r.get<std::int64_t>(0));
        return out;
    }
    /// Rows with a vector: what the index must hold.
    std::set<std::int64_t> indexed_rows(const std::string& table = "t") {
        std::set<std::int64_t> out;
        for (auto r : conn.query("SELECT rowid FROM " + table + " NOT INDEXED WHERE emb IS NOT NULL")) out.insert(r.get<std::int64_t>(0));
        return out;
    }
    std::vector<std::int64_t> top(const std::string& q, int k, const std::string& idx = "t_idx") {
        std::vector<std::int64_t> out;
        for (auto r : conn.query("SELECT id FROM vector_top_k('" + idx + "', vector32('" + q + "'), " + std::to_string(k) + ")"))
            out.push_back(r.get<std::int64_t>(0));
        return out;
    }
    /// Every edge of every node points to a node that exists (our deletes remove back edges of neighbours; an
    /// edge from a non-neighbour may remain, as in libSQL, so this counts them instead of requiring zero).
    std::string integrity() { return conn.query_value<std::string>("PRAGMA integrity_check"); }
    std::string error_of(const std::string& sql) {
        try {
            conn.execute(sql);
        } catch (const libsql::error& e) {
            return e.what();
        }
        return "(no error)";
    }
};

TEST_F(vector_index, create_writes_libsql_schema_meta_row_and_indexes_existing_rows) {
    conn.execute("CREATE INDEX t_idx ON t(libsql_vector_idx(emb, 'metric=cosine'))");
    std::vector<std::string> schema;
    for (auto r : conn.query("SELECT sql FROM sqlite_schema WHERE sql IS NOT NULL ORDER BY rowid")) schema.push_back(r.get<std::string>(0));
    ASSERT_EQ(schema.size(), 5u);
    EXPECT_EQ(schema[1], "CREATE INDEX t_idx ON t(libsql_vector_idx(emb, 'metric=cosine'))");
    EXPECT_EQ(schema[2], "CREATE TABLE libsql_vector_meta_shadow ( name TEXT PRIMARY KEY, metadata BLOB ) WITHOUT ROWID");
    EXPECT_EQ(schema[3], "CREATE TABLE t_idx_shadow (index_key  INTEGER , data BLOB, PRIMARY KEY (index_key))");
    EXPECT_EQ(schema[4], "CREATE INDEX t_idx_shadow_idx ON t_idx_shadow (index_key)");
    // byte for byte what npm libsql@0.5.29 writes for this statement (observed)
    EXPECT_EQ(conn.query_value<std::string>("SELECT hex(metadata) FROM libsql_vector_meta_shadow WHERE name = 't_idx'"),
              "010300000000000000030100000000000000040300000000000000050100000000000000020100000000000000060001000000000000"
              "07333333333333F33F08460000000000000009C800000000000000");
    EXPECT_EQ(shadow_keys(), (std::set<std::int64_t>{1, 2})); // the NULL row is not indexed, as in libSQL
    // node 1 as libSQL writes it: rowid, one edge, [1,2,3], edge vector [3,2,1], distance 1 - 10/14, neighbour 2
    EXPECT_EQ(conn.query_value<std::string>("SELECT hex(substr(data, 1, 40)) FROM t_idx_shadow WHERE index_key = 1"),
              "010000000000000001000000000000000000803F000000400000404000004040000000400000803F");
    EXPECT_EQ(conn.query_value<std::string>("SELECT hex(substr(data, 125, 16)) FROM t_idx_shadow WHERE index_key = 1"),
              "000000002549923E0200000000000000");
    EXPECT_EQ(conn.query_value<int>("SELECT length(data) FROM t_idx_shadow WHERE index_key = 2"), 256);
}

TEST_F(vector_index, the_planner_count_and_integrity_check_never_use_the_index) {
    conn.execute("CREATE INDEX t_idx ON t(libsql_vector_idx(emb))");
    EXPECT_EQ(conn.query_value<int>("SELECT count(*) FROM t"), 3);
    EXPECT_EQ(conn.query_value<int>("SELECT count(emb) FROM t"), 2);
    EXPECT_EQ(conn.query_value<int>("SELECT count(*) FROM t WHERE libsql_vector_idx(emb) IS NOT NULL"), 2);
    EXPECT_EQ(conn.query_value<int>("SELECT id FROM t WHERE emb = vector32('[3,2,1]')"), 2);
    std::vector<int> ids;
    for (auto r : conn.query("SELECT id FROM t ORDER BY libsql_vector_idx(emb), id")) ids.push_back(r.get<int>(0));
    EXPECT_EQ(ids, (std::vector<int>{3, 2, 1})); // NULL, then the blobs bytewise
    for (const char* q : {"SELECT count(*) FROM t", "SELECT id FROM t ORDER BY libsql_vector_idx(emb)",
                          "SELECT id FROM t WHERE libsql_vector_idx(emb) = x'00'", "SELECT * FROM t WHERE 0"}) {
        for (auto r : conn.query(std::string("EXPLAIN QUERY PLAN ") + q))
            EXPECT_EQ(r.get<std::string>(3).find("t_idx"), std::string::npos) << q << ": " << r.get<std::string>(3);
    }
    EXPECT_EQ(integrity(), "ok");
    EXPECT_EQ(conn.query_value<std::string>("PRAGMA quick_check"), "ok");
    // REINDEX builds the graph again from the rows, as libSQL does (a broken block comes back)
    conn.execute("UPDATE t_idx_shadow SET data = zeroblob(256) WHERE index_key = 1");
    conn.execute("REINDEX t_idx");
    EXPECT_EQ(integrity(), "ok");
    EXPECT_EQ(shadow_keys(), (std::set<std::int64_t>{1, 2}));
    EXPECT_EQ(conn.query_value<std::string>("SELECT hex(substr(data, 1, 8)) FROM t_idx_shadow WHERE index_key = 1"), "0100000000000000");
    conn.execute("REINDEX t");
    EXPECT_EQ(top("[1,2,3]", 2), (std::vector<std::int64_t>{1, 2}));
}

TEST_F(vector_index, every_row_change_reaches_the_index) {
    conn.execute("CREATE INDEX t_idx ON t(libsql_vector_idx(emb))");
    conn.execute("INSERT INTO t VALUES (4, vector32('[0,0,1]'), 'd'), (5, '[0,1,0]', 'e')"); // text is parsed
    EXPECT_EQ(shadow_keys(), indexed_rows());
    EXPECT_EQ(top("[0,0,1]", 1), (std::vector<std::int64_t>{4}));
    EXPECT_EQ(top("[0,1,0]", 1), (std::vector<std::int64_t>{5}));
    conn.execute("UPDATE t SET emb = vector32('[1,0,0]') WHERE id = 4");
    EXPECT_EQ(top("[1,0,0]", 1), (std::vector<std::int64_t>{4}));
    conn.execute("UPDATE t SET emb = vector32('[5,5,6]') WHERE id = 3"); // NULL -> vector
    conn.execute("UPDATE t SET emb = NULL WHERE id = 1");                // vector -> NULL
    EXPECT_EQ(shadow_keys(), indexed_rows());
    conn.execute("UPDATE t SET id = 40 WHERE id = 4"); // a new rowid
    EXPECT_EQ(shadow_keys(), indexed_rows());
    EXPECT_EQ(top("[1,0,0]", 1), (std::vector<std::int64_t>{40}));
    conn.execute("UPDATE t SET u = 'zz' WHERE id = 2"); // leaves the index alone
    conn.execute("REPLACE INTO t VALUES (2, vector32('[-1,-1,-1]'), 'b')");  // rowid conflict
    conn.execute("REPLACE INTO t VALUES (60, vector32('[-1,2,-1]'), 'e')");  // UNIQUE conflict: row 5 goes
    EXPECT_EQ(conn.query_value<int>("SELECT count(*) FROM t WHERE id = 5"), 0);
    EXPECT_EQ(shadow_keys(), indexed_rows());
    EXPECT_EQ(top("[-1,-1,-1]", 1), (std::vector<std::int64_t>{2}));
    conn.execute("INSERT INTO t VALUES (60, vector32('[9,9,9]'), 'q') ON CONFLICT(id) DO UPDATE SET emb = excluded.emb");
    EXPECT_EQ(top("[9,9,9]", 1), (std::vector<std::int64_t>{60}));
    EXPECT_EQ(shadow_keys(), indexed_rows());
    conn.execute("CREATE TABLE src(id INTEGER PRIMARY KEY, emb F32_BLOB(3), u TEXT UNIQUE)");
    conn.execute("INSERT INTO src VALUES (100, vector32('[7,-7,7]'), 'x'), (101, vector32('[-7,7,-7]'), 'y')");
    conn.execute("INSERT INTO t SELECT * FROM src"); // SQLite's transfer optimisation would bypass the index
    EXPECT_EQ(shadow_keys(), indexed_rows());
    EXPECT_EQ(top("[7,-7,7]", 1), (std::vector<std::int64_t>{100}));
    conn.execute("DELETE FROM t WHERE id = 100");
    EXPECT_EQ(shadow_keys(), indexed_rows());
    EXPECT_EQ(integrity(), "ok");
    conn.execute("DELETE FROM t"); // SQLite's truncate optimisation would too
    EXPECT_TRUE(shadow_keys().empty());
    EXPECT_TRUE(top("[1,2,3]", 5).empty());
    conn.execute("INSERT INTO t VALUES (1, vector32('[1,2,3]'), 'a')");
    EXPECT_EQ(top("[1,2,3]", 5), (std::vector<std::int64_t>{1}));
    EXPECT_EQ(integrity(), "ok");
}

TEST_F(vector_index, triggers_and_recursive_triggers_keep_their_meaning) {
    conn.execute("CREATE INDEX t_idx ON t(libsql_vector_idx(emb))");
    conn.execute("CREATE TABLE log(what TEXT)");
    conn.execute("CREATE TRIGGER t_del AFTER DELETE ON t BEGIN INSERT INTO log VALUES ('del ' || old.id); END");
    conn.execute("CREATE TRIGGER t_ins AFTER INSERT ON t BEGIN INSERT INTO t2 VALUES (new.id + 1000, new.emb); END");
    conn.execute("CREATE TABLE t2(id INTEGER PRIMARY KEY, emb F32_BLOB(3))");
    conn.execute("CREATE INDEX t2_idx ON t2(libsql_vector_idx(emb, 'metric=l2'))");
    conn.execute("REPLACE INTO t VALUES (7, vector32('[1,1,2]'), 'a')"); // deletes row 1: no trigger (recursive off)
    EXPECT_EQ(conn.query_value<int>("SELECT count(*) FROM log"), 0);
    EXPECT_EQ(shadow_keys(), indexed_rows());
    EXPECT_EQ(shadow_keys("t2_idx_shadow"), indexed_rows("t2")); // written by a trigger: indexed too
    EXPECT_EQ(top("[1,1,2]", 1, "t2_idx"), (std::vector<std::int64_t>{1007}));
    conn.execute("PRAGMA recursive_triggers = ON");
    conn.execute("REPLACE INTO t VALUES (8, vector32('[2,1,1]'), 'a')");
    EXPECT_EQ(conn.query_value<std::string>("SELECT group_concat(what) FROM log"), "del 7");
    EXPECT_EQ(shadow_keys(), indexed_rows());
    EXPECT_EQ(integrity(), "ok");
}

TEST_F(vector_index, changes_roll_back_with_their_statement_and_transaction) {
    conn.execute("CREATE INDEX t_idx ON t(libsql_vector_idx(emb))");
    const std::string before = conn.query_value<std::string>("SELECT hex(group_concat(data)) FROM t_idx_shadow");
    // the third row has the wrong dimension count: the statement fails, nothing of it stays
    EXPECT_NE(error_of("INSERT INTO t VALUES (10, vector32('[1,1,1]'), 'x'), (11, vector32('[2,2,2]'), 'y'), (12, vector32('[1,2]'), 'z')")
                  .find("vector index(insert): dimensions are different: 2 != 3"),
              std::string::npos);
    conn.execute("BEGIN");
    conn.execute("INSERT INTO t VALUES (20, vector32('[1,1,1]'), 'x')");
    EXPECT_NE(error_of("INSERT INTO t VALUES (21, vector64('[1,1,1]'), 'y')").find("vector type differs from column type: 2 != 1"),
              std::string::npos);
    EXPECT_EQ(shadow_keys(), (std::set<std::int64_t>{1, 2, 20})); // the failed statement only
    conn.execute("SAVEPOINT s");
    conn.execute("DELETE FROM t WHERE id = 1");
    conn.execute("ROLLBACK TO s");
    EXPECT_EQ(shadow_keys(), (std::set<std::int64_t>{1, 2, 20}));
    conn.execute("ROLLBACK");
    EXPECT_EQ(conn.query_value<std::string>("SELECT hex(group_concat(data)) FROM t_idx_shadow"), before);
    conn.execute("BEGIN");
    conn.execute("CREATE INDEX t_idx2 ON t(libsql_vector_idx(emb, 'metric=l2'))");
    conn.execute("ROLLBACK");
    EXPECT_EQ(conn.query_value<int>("SELECT count(*) FROM sqlite_schema WHERE name LIKE 't_idx2%'"), 0);
    EXPECT_EQ(conn.query_value<int>("SELECT count(*) FROM libsql_vector_meta_shadow"), 1);
    EXPECT_EQ(integrity(), "ok");
}

TEST_F(vector_index, drop_index_and_drop_table_remove_shadow_table_and_meta_row) {
    conn.execute("CREATE INDEX t_idx ON t(libsql_vector_idx(emb))");
    conn.execute("CREATE INDEX t_l2 ON t(libsql_vector_idx(emb, 'metric=l2'))");
    conn.execute("DROP INDEX t_idx");
    EXPECT_EQ(conn.query_value<int>("SELECT count(*) FROM sqlite_schema WHERE name LIKE 't_idx%'"), 0);
    EXPECT_EQ(conn.query_value<std::string>("SELECT group_concat(name) FROM libsql_vector_meta_shadow"), "t_l2");
    EXPECT_NE(error_of("SELECT * FROM vector_top_k('t_idx', vector32('[1,2,3]'), 1)").find("vector index"), std::string::npos);
    conn.execute("CREATE INDEX t_idx ON t(libsql_vector_idx(emb))"); // again, from the rows
    EXPECT_EQ(shadow_keys(), indexed_rows());
    conn.execute("DROP TABLE t");
    EXPECT_EQ(conn.query_value<std::string>("SELECT group_concat(name) FROM sqlite_schema"), "libsql_vector_meta_shadow");
    EXPECT_EQ(conn.query_value<int>("SELECT count(*) FROM libsql_vector_meta_shadow"), 0);
    EXPECT_EQ(integrity(), "ok");
}

TEST_F(vector_index, bad_input_fails_with_libsql_messages_and_writes_nothing) {
    const std::pair<const char*, const char*> cases[] = {
        {"CREATE INDEX i ON t(libsql_vector_idx(u))", "vector index: unexpected vector column type: TEXT"},
        {"CREATE INDEX i ON t(libsql_vector_idx(emb, 'metric=foo'))", "vector index: invalid vector index parameter 'metric=foo': invalid parameter"},
        {"CREATE INDEX i ON t(libsql_vector_idx(emb, 'max_neighbors=-3'))",
         "vector index: invalid vector index parameter 'max_neighbors=-3': integer vector index parameter must be positive"},
        {"CREATE INDEX i ON t(libsql_vector_idx(emb, 'search_l=x'))",
         "vector index: invalid vector index parameter 'search_l=x': invalid representation of integer vector index parameter"},
        {"CREATE INDEX i ON t(libsql_vector_idx(emb, 'alpha=x'))",
         "vector index: invalid vector index parameter 'alpha=x': invalid representation of floating point vector index parameter"},
        {"CREATE INDEX i ON t(libsql_vector_idx(emb, 'nope'))", "vector index: invalid vector index parameter 'nope': unexpected parameter format"},
        {"CREATE INDEX i ON t(libsql_vector_idx(emb, 'metric=l2', 'compress_neighbors=float1bit'))",
         "vector index: unable to initialize diskann: 1-bit compression available only for cosine metric"},
        {"CREATE INDEX i ON t(libsql_vector_idx(emb, 5))", "vector index: all arguments after first must be strings"},
        {"CREATE INDEX i ON t(libsql_vector_idx(emb), u)", "vector index: must contain exactly one column wrapped into the libsql_vector_idx function"},
        {"CREATE INDEX i ON t(libsql_vector_idx(emb + 1))", "vector index: libsql_vector_idx first argument must be a column token"},
        {"CREATE INDEX i ON t(libsql_vector_idx())", "libsql_vector_idx must contain at least one argument"},
        {"CREATE INDEX i ON t(libsql_vector_idx(emb, 'max_neighbors=100000000'))", "vector index: unable to initialize diskann"},
        {"SELECT libsql_vector_idx_insert('main', 't_idx', 5, vector32('[1,2,3]'))", "no such function: libsql_vector_idx_insert"},
        {"SELECT libsql_vector_idx_delete('main', 't_idx', 1)", "no such function: libsql_vector_idx_delete"},
        {"SELECT libsql_vector_idx_create('main', 'i', 't', 'emb', 'F32_BLOB(3)')", "no such function: libsql_vector_idx_create"},
    };
    for (const auto& [sql, want] : cases) EXPECT_NE(error_of(sql).find(want), std::string::npos) << sql << " -> " << error_of(sql);
    EXPECT_EQ(conn.query_value<int>("SELECT count(*) FROM sqlite_schema WHERE name <> 't' AND name NOT LIKE 'sqlite_autoindex%'"), 0);
    conn.execute("CREATE TABLE bad(id INTEGER PRIMARY KEY, emb F32_BLOB(0), w FLOAT32(3, 4))");
    EXPECT_NE(error_of("CREATE INDEX i ON bad(libsql_vector_idx(emb))").find("vector column must have non-zero dimension for index"), std::string::npos);
    EXPECT_NE(error_of("CREATE INDEX i ON bad(libsql_vector_idx(w))").find("vector index: non digit symbol in vector column parameter: FLOAT32(3, 4)"),
              std::string::npos);
    conn.execute("CREATE TABLE w(id INTEGER PRIMARY KEY, emb F32_BLOB(3)) WITHOUT ROWID");
    EXPECT_NE(error_of("CREATE INDEX wi ON w(libsql_vector_idx(emb))").find("vector index: unsupported for tables without ROWID"), std::string::npos);
    // rows: wrong dimension, wrong type, not a vector; NULL is fine (not indexed)
    conn.execute("CREATE INDEX t_idx ON t(libsql_vector_idx(emb))");
    EXPECT_NE(error_of("INSERT INTO t VALUES (9, 12, 'i')").find("vector: unexpected value type: got INTEGER, expected TEXT or BLOB"), std::string::npos);
    EXPECT_NE(error_of("INSERT INTO t VALUES (9, x'0102', 'i')").find("vector"), std::string::npos);
    EXPECT_NE(error_of("UPDATE t SET emb = vector32('[1]') WHERE id = 1").find("dimensions are different: 1 != 3"), std::string::npos);
    conn.execute("INSERT INTO t VALUES (9, NULL, 'n')");
    // zero vectors have no direction (the SQL distance is NULL): the graph ranks them last, nothing breaks
    conn.execute("INSERT INTO t VALUES (10, vector32('[0,0,0]'), 'z0'), (11, vector32('[0,0,0]'), 'z1')");
    conn.execute("INSERT INTO t VALUES (12, vector32('[1,2,3.5]'), 'z2')");
    EXPECT_EQ(shadow_keys(), indexed_rows());
    EXPECT_EQ(top("[1,2,3]", 2), (std::vector<std::int64_t>{1, 12}));
    EXPECT_EQ(top("[0,0,0]", 10).size(), 5u);
    conn.execute("DELETE FROM t WHERE id >= 10");
    EXPECT_EQ(conn.query_value<std::string>("SELECT hex(emb) FROM t WHERE id = 1"), "0000803F0000004000004040");
    // the marker as an expression returns its argument, as libSQL's does
    EXPECT_EQ(conn.query_value<std::string>("SELECT libsql_vector_idx('[1,2]', 'x')"), "[1,2]");
    EXPECT_EQ(integrity(), "ok");
}

TEST_F(vector_index, options_are_stored_and_used) {
    conn.execute("CREATE INDEX t_idx ON t(libsql_vector_idx(emb, 'metric=l2', 'max_neighbors=8', 'compress_neighbors=float8', "
                 "'alpha=1.5', 'search_l=50', 'insert_l=20', 'TYPE=diskann'))");
    // libSQL's order: format, type, dims, the options as given, then the defaults it fills in
    EXPECT_EQ(conn.query_value<std::string>("SELECT hex(metadata) FROM libsql_vector_meta_shadow"),
              "010300000000000000030100000000000000040300000000000000"
              "050200000000000000"   // metric l2
              "0A0800000000000000"   // max_neighbors 8
              "0B0400000000000000"   // compress_neighbors float8
              "07000000000000F83F"   // alpha 1.5
              "093200000000000000"   // search_l 50
              "081400000000000000"   // insert_l 20
              "020100000000000000"   // type diskann (given)
              "020100000000000000"   // type diskann (always)
              "060001000000000000"); // block 256 (= max(256, 28 + 8 * 28))
    EXPECT_EQ(top("[1,2,3]", 2), (std::vector<std::int64_t>{1, 2}));
}

TEST_F(vector_index, a_partial_index_holds_the_rows_its_where_admits) {
    conn.execute("ALTER TABLE t ADD COLUMN k INT");
    conn.execute("UPDATE t SET k = id");
    conn.execute("CREATE INDEX t_idx ON t(libsql_vector_idx(emb)) WHERE k >= 2"); // as libSQL: allowed, honoured
    EXPECT_EQ(shadow_keys(), (std::set<std::int64_t>{2}));
    conn.execute("INSERT INTO t VALUES (4, vector32('[1,1,1]'), 'd', 0), (5, vector32('[1,1,2]'), 'e', 9)");
    EXPECT_EQ(shadow_keys(), (std::set<std::int64_t>{2, 5}));
    conn.execute("UPDATE t SET k = 7 WHERE id = 1"); // enters the index: only its WHERE column changed
    conn.execute("UPDATE t SET k = 0 WHERE id = 2"); // leaves it
    EXPECT_EQ(shadow_keys(), (std::set<std::int64_t>{1, 5}));
    EXPECT_EQ(top("[3,2,1]", 5), (std::vector<std::int64_t>{5, 1}));
    EXPECT_EQ(conn.query_value<int>("SELECT count(*) FROM t WHERE k >= 2"), 3); // row 3 has no vector
    conn.execute("CREATE INDEX t_all ON t(libsql_vector_idx(emb))");
    // PRAGMA index_list's "partial" as libSQL shows it: the user's WHERE, not the engine's condition 0
    EXPECT_EQ(conn.query_value<int>("SELECT partial FROM pragma_index_list('t') WHERE name = 't_idx'"), 1);
    EXPECT_EQ(conn.query_value<int>("SELECT partial FROM pragma_index_list('t') WHERE name = 't_all'"), 0);
    EXPECT_EQ(integrity(), "ok");
}

TEST(vector_index_auto_vacuum, drop_is_refused_and_nothing_changes) {
    libsql::database db(":memory:");
    auto conn = db.connect();
    conn.execute("PRAGMA auto_vacuum = FULL");
    conn.execute("CREATE TABLE t(id INTEGER PRIMARY KEY, emb F32_BLOB(2))");
    conn.execute("CREATE INDEX t_idx ON t(libsql_vector_idx(emb))");
    conn.execute("INSERT INTO t VALUES (1, vector32('[1,2]'))");
    for (const char* sql : {"DROP INDEX t_idx", "DROP TABLE t"}) {
        try {
            conn.execute(sql);
            ADD_FAILURE() << sql << ": no error";
        } catch (const libsql::error& e) {
            EXPECT_NE(std::string(e.what()).find("in an auto_vacuum database is not supported"), std::string::npos) << e.what();
        }
    }
    EXPECT_EQ(conn.query_value<int>("SELECT count(*) FROM t_idx_shadow"), 1);
    EXPECT_EQ(conn.query_value<std::string>("PRAGMA integrity_check"), "ok");
}

TEST_F(vector_index, k_larger_than_the_index_and_searches_of_an_empty_index) {
    conn.execute("CREATE TABLE e(id INTEGER PRIMARY KEY, emb F32_BLOB(3))");
    conn.execute("CREATE INDEX e_idx ON e(libsql_vector_idx(emb))");
    EXPECT_TRUE(top("[1,2,3]", 10, "e_idx").empty());
    conn.execute("CREATE INDEX t_idx ON t(libsql_vector_idx(emb))");
    EXPECT_EQ(top("[1,2,3]", 1000000000, "t_idx"), (std::vector<std::int64_t>{1, 2}));
}

TEST_F(vector_index, an_index_of_an_attached_database) {
    const libsql::test::temp_dir dir;
    conn.execute("ATTACH ? AS aux", dir.file("aux.db"));
    conn.execute("CREATE TABLE aux.a(id INTEGER PRIMARY KEY, emb F32_BLOB(2))");
    conn.execute("INSERT INTO aux.a VALUES (1, vector32('[1,0]')), (2, vector32('[0,1]'))");
    conn.execute("CREATE INDEX aux.a_idx ON a(libsql_vector_idx(emb))");
    conn.execute("INSERT INTO aux.a VALUES (3, vector32('[1,1]'))");
    conn.execute("DELETE FROM aux.a WHERE id = 1");
    EXPECT_EQ(shadow_keys("aux.a_idx_shadow"), (std::set<std::int64_t>{2, 3}));
    EXPECT_EQ(conn.query_value<int>("SELECT count(*) FROM main.sqlite_schema WHERE name LIKE 'a_idx%'"), 0);
    EXPECT_EQ(conn.query_value<int>("SELECT id FROM vector_top_k('aux.a_idx', vector32('[1,1.1]'), 1)"), 3);
    conn.execute("DROP INDEX aux.a_idx");
    EXPECT_EQ(conn.query_value<std::string>("SELECT group_concat(name) FROM aux.sqlite_schema"), "a,libsql_vector_meta_shadow");
    EXPECT_EQ(conn.query_value<int>("SELECT count(*) FROM aux.libsql_vector_meta_shadow"), 0);
}

TEST_F(vector_index, vacuum_keeps_the_index_whole) {
    conn.execute("CREATE INDEX t_idx ON t(libsql_vector_idx(emb))");
    conn.execute("DELETE FROM t WHERE id = 2");
    conn.execute("VACUUM");
    EXPECT_EQ(shadow_keys(), indexed_rows());
    EXPECT_EQ(integrity(), "ok");
    conn.execute("INSERT INTO t VALUES (2, vector32('[3,2,1]'), 'b')");
    EXPECT_EQ(top("[3,2,1]", 1), (std::vector<std::int64_t>{2}));
}

TEST_F(vector_index, recall_at_10_on_1000_random_vectors) {
    conn.execute("CREATE TABLE r(id INTEGER PRIMARY KEY, emb F32_BLOB(32))");
    std::uint64_t seed = 42;
    auto rnd = [&] {
        seed = seed * 6364136223846793005ull + 1442695040888963407ull;
        return static_cast<float>((seed >> 33) % 20001) / 10000.0f - 1.0f;
    };
    auto vec = [&] {
        std::vector<float> v(32);
        for (float& x : v) x = rnd();
        return v;
    };
    conn.execute("BEGIN");
    conn.execute("CREATE INDEX r_idx ON r(libsql_vector_idx(emb))"); // empty: every row goes through insert
    for (int i = 1; i <= 1000; ++i) conn.execute("INSERT INTO r VALUES (?, ?)", i, libsql::f32_vector{vec()});
    conn.execute("COMMIT");
    for (int i = 1; i <= 1000; i += 10) conn.execute("DELETE FROM r WHERE id = ?", i); // and some deletes
    double hits = 0;
    for (int q = 0; q < 20; ++q) {
        const libsql::f32_vector query{vec()};
        std::set<std::int64_t> truth;
        for (auto r : conn.query("SELECT id FROM r ORDER BY vector_distance_cos(emb, ?) LIMIT 10", query)) truth.insert(r.get<std::int64_t>(0));
        for (auto r : conn.query("SELECT id FROM vector_top_k('r_idx', ?, 10)", query)) hits += truth.count(r.get<std::int64_t>(0));
    }
    EXPECT_GE(hits / 200.0, 0.9);
    EXPECT_EQ(shadow_keys("r_idx_shadow"), indexed_rows("r"));
    EXPECT_EQ(integrity(), "ok");
}

TEST(vector_index_crash, a_writer_killed_at_random_moments_leaves_rows_and_index_in_step) {
    const libsql::test::temp_dir dir;
    const std::string path = dir.file("killed.db");
    {
        libsql::database db(path);
        auto c = db.connect();
        c.execute("PRAGMA journal_mode = WAL");
        c.execute("CREATE TABLE r(id INTEGER PRIMARY KEY, emb F32_BLOB(16))");
        c.execute("CREATE INDEX r_idx ON r(libsql_vector_idx(emb, 'compress_neighbors=float8'))");
    }
    std::mt19937 rng(std::random_device{}());
    std::size_t last_rows = 0;
    for (int round = 0; round < 8; ++round) {
        const unsigned seed = rng();
        const pid_t pid = fork();
        ASSERT_GE(pid, 0);
        if (pid == 0) { // the writer: inserts, updates and deletes, one statement at a time, until killed
            try {
                libsql::database db(path);
                auto c = db.connect();
                std::mt19937 r(seed);
                std::uniform_real_distribution<float> u(-1, 1);
                for (;;) {
                    std::vector<float> v(16);
                    for (float& x : v) x = u(r);
                    const int id = static_cast<int>(r() % 400);
                    if (r() % 4 == 0) c.execute("DELETE FROM r WHERE id = ?", id);
                    else c.execute("REPLACE INTO r VALUES (?, ?)", id, libsql::f32_vector{std::move(v)});
                }
            } catch (...) {
            }
            _exit(1);
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(50 + static_cast<int>(rng() % 200)));
        kill(pid, SIGKILL);
        int status = 0;
        waitpid(pid, &status, 0);
        ASSERT_TRUE(WIFSIGNALED(status)) << "round " << round << ": the writer stopped by itself";
        libsql::database db(path);
        auto c = db.connect();
        ASSERT_EQ(c.query_value<std::string>("PRAGMA integrity_check"), "ok") << "round " << round;
        std::set<std::int64_t> nodes, rows;
        for (auto row : c.query("SELECT index_key FROM r_idx_shadow")) nodes.insert(row.get<std::int64_t>(0));
        for (auto row : c.query("SELECT id FROM r")) rows.insert(row.get<std::int64_t>(0));
        ASSERT_EQ(nodes, rows) << "round " << round;
        last_rows = rows.size();
        int self = 0, n = 0;
        for (auto row : c.query("SELECT id, emb FROM r ORDER BY random() LIMIT 20")) {
            ++n;
            self += c.query_value<std::int64_t>("SELECT id FROM vector_top_k('r_idx', ?, 1)", row.get<libsql::blob>(1)) ==
                    row.get<std::int64_t>(0);
        }
        EXPECT_GE(self, n - 1) << "round " << round << ": rows that are not their own nearest";
    }
    EXPECT_GT(last_rows, 50u); // the writer did write
    RecordProperty("rows_at_end", static_cast<int>(last_rows));
}

} // namespace
