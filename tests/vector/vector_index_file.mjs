// DiskANN vector indexes shared by npm libsql@0.5.29 and libsql-cpp, both ways, on one file:
//   1. libSQL writes t (20 rows), r (1500 x 32, float8 neighbours) and p (partial) with indexes, c (1000 x 32) without.
//   2. vector_index_file (C++) reads them (planner, integrity_check, vector_top_k), writes rows into libSQL's
//      indexes (INSERT, UPDATE, REPLACE, DELETE) and builds c_idx on c itself.
//   3. libSQL checks: integrity, the rows libsql-cpp added are found and the deleted ones are not, recall@10 of
//      libsql-cpp's c_idx against brute force; then libSQL adds and deletes rows in c_idx.
//   4. vector_index_file checks libSQL's changes to its index; 5. libSQL checks integrity once more.
// Usage: node vector_index_file.mjs CHECKER  (LIBSQL_NODE_MODULES: build/npm/node_modules)
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { createRequire } from "node:module";

const require = createRequire(path.join(process.env.LIBSQL_NODE_MODULES, "noop.js"));
const Database = require("libsql");
const checker = process.argv[2];
const dir = fs.mkdtempSync(path.join(os.tmpdir(), "libsql-vector-"));
process.on("exit", () => fs.rmSync(dir, { recursive: true, force: true }));
const file = path.join(dir, "indexed.db");
const rows = 20;

function fail(msg) { console.error("FAIL " + msg); process.exit(1); }
function ok(msg) { console.log("ok   libSQL: " + msg); }
function top(db, idx, q, k) {
  return db.prepare(`SELECT id FROM vector_top_k('${idx}', ?, ?)`).raw().all([q, k]).map((r) => r[0]);
}
function integrity(db) {
  const r = db.prepare("PRAGMA integrity_check").raw().all().map((x) => x[0]).join(";");
  if (r !== "ok") fail("integrity_check in libSQL: " + r);
}
let seed = 7;
const rnd = () => { seed = (seed * 1103515245 + 12345) % 2147483648; return seed / 2147483648; };
const vec = (d) => "[" + Array.from({ length: d }, () => (rnd() * 2 - 1).toFixed(5)).join(",") + "]";
// recall@10 of vector_top_k against brute force over n random queries
function recall(db, table, idx, n) {
  let hits = 0;
  for (let i = 0; i < n; i++) {
    const q = db.prepare("SELECT vector32(?)").raw().get([vec(32)])[0];
    const truth = new Set(db.prepare(`SELECT id FROM ${table} ORDER BY vector_distance_cos(emb, ?) LIMIT 10`).raw().all([q]).map((r) => r[0]));
    for (const id of top(db, idx, q, 10)) if (truth.has(id)) hits++;
  }
  return hits / (10 * n);
}
function run(phase) {
  try {
    process.stdout.write(execFileSync(checker, [file, String(rows), phase], { encoding: "utf8" }));
  } catch (e) {
    process.stdout.write(e.stdout || "");
    fail(`the libsql-cpp checks failed (${phase})`);
  }
}

// 1. libSQL writes
let db = new Database(file);
db.exec("CREATE TABLE t(id INTEGER PRIMARY KEY, emb F32_BLOB(3), note TEXT);" +
        "CREATE INDEX t_idx ON t(libsql_vector_idx(emb, 'metric=cosine'));");
for (let i = 0; i < rows; i++) db.prepare("INSERT INTO t VALUES (?, vector32(?), 'n')").run([i, `[${i},${i + 1},${i + 2}]`]);
if (top(db, "t_idx", "[3,4,5]", rows).length !== rows) fail("libSQL's own index does not answer every row");
db.exec("CREATE TABLE r(id INTEGER PRIMARY KEY, emb F32_BLOB(32));" +
        "CREATE INDEX r_idx ON r(libsql_vector_idx(emb, 'metric=cosine', 'compress_neighbors=float8', 'max_neighbors=24'));" +
        "CREATE TABLE queries(q INTEGER PRIMARY KEY, v BLOB, libsql_ids TEXT);" +
        "CREATE TABLE c(id INTEGER PRIMARY KEY, emb F32_BLOB(32));" +
        "CREATE TABLE p(id INTEGER PRIMARY KEY, emb F32_BLOB(3), k INT);" +
        "CREATE INDEX p_idx ON p(libsql_vector_idx(emb)) WHERE k > 0;" +
        "INSERT INTO p VALUES (1, vector32('[1,0,0]'), 1), (2, vector32('[0,1,0]'), 0);");
db.exec("BEGIN");
for (let i = 1; i <= 1500; i++) db.prepare("INSERT INTO r VALUES (?, vector32(?))").run([i, vec(32)]);
for (let i = 1; i <= 1000; i++) db.prepare("INSERT INTO c VALUES (?, vector32(?))").run([i, vec(32)]);
db.exec("COMMIT");
for (let i = 0; i < 20; i++) {
  const v = db.prepare("SELECT vector32(?)").raw().get([vec(32)])[0];
  db.prepare("INSERT INTO queries VALUES (?, ?, ?)").run([i, v, top(db, "r_idx", v, 10).join(",")]);
}
db.close();

// 2. libsql-cpp reads, writes into libSQL's indexes, builds c_idx
run("first");

// 3. libSQL checks libsql-cpp's writes and index
db = new Database(file);
integrity(db);
if (db.prepare("SELECT count(*) FROM t").raw().get()[0] !== rows) fail("libSQL counts a different number of rows in t");
if (top(db, "t_idx", "[100,-1,0]", 1)[0] !== 1000) fail("libSQL does not find the row libsql-cpp inserted into t_idx");
if (top(db, "t_idx", "[0,50,-1]", 1)[0] !== 3) fail("libSQL does not find the row libsql-cpp replaced in t_idx");
if (top(db, "t_idx", "[0,0,1]", 1)[0] !== 1) fail("libSQL does not find the row libsql-cpp updated in t_idx");
const tAll = top(db, "t_idx", "[1,1,1]", 100);
if (tAll.includes(2) || tAll.length !== rows) fail("t_idx in libSQL after libsql-cpp's writes: " + tAll);
ok(`t_idx answers all ${tAll.length} rows, the inserted, replaced and updated ones first for their vectors`);
const pKeys = db.prepare("SELECT group_concat(index_key) FROM (SELECT index_key FROM p_idx_shadow ORDER BY 1)").raw().get()[0];
if (pKeys !== "1,2,3" || top(db, "p_idx", "[0,0,1]", 1)[0] !== 3) fail("the partial index p_idx after libsql-cpp's writes: " + pKeys);
ok("the partial index p_idx holds the rows its WHERE admits after libsql-cpp's writes");
const rAll = db.prepare("SELECT count(*) FROM r_idx_shadow").raw().get()[0];
if (rAll !== db.prepare("SELECT count(*) FROM r").raw().get()[0]) fail("r_idx_shadow and r differ in size");
let found = 0;
for (const [id, v] of db.prepare("SELECT id, emb FROM r WHERE id > 2000").raw().all()) {
  const got = top(db, "r_idx", v, 10);
  if (got[0] === id) found++;
  if (got.some((x) => x <= 100)) fail("libSQL's r_idx still returns rows libsql-cpp deleted: " + got);
}
if (found < 95) fail(`libSQL finds only ${found} of the 100 rows libsql-cpp added to r_idx`);
const rRecall = recall(db, "r", "r_idx", 20);
if (rRecall < 0.8) fail("recall@10 of r_idx in libSQL after libsql-cpp's writes: " + rRecall);
ok(`r_idx: ${found}/100 rows libsql-cpp added are their own nearest, no deleted row returned, recall@10 ${rRecall}`);
const cRecall = recall(db, "c", "c_idx", 20);
if (cRecall < 0.9) fail("recall@10 in libSQL of the index libsql-cpp built: " + cRecall);
ok(`recall@10 of libsql-cpp's c_idx (1010 x 32) in libSQL: ${cRecall}`);
db.exec("BEGIN");
for (let i = 5001; i <= 5050; i++) db.prepare("INSERT INTO c VALUES (?, vector32(?))").run([i, vec(32)]);
db.exec("DELETE FROM c WHERE id <= 50; COMMIT");
db.close();

// 4. libsql-cpp checks libSQL's writes into its index
run("second");

// 5. libSQL once more
db = new Database(file);
integrity(db);
ok("integrity_check ok at the end");
