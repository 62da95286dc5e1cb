// npm libsql@0.5.29 writes a table with a DiskANN vector index; vector_index_file (C++) opens it with
// libsql-cpp and tries every write; then libSQL opens the file again: integrity, row count and vector_top_k must
// be what they were. Usage: node vector_index_file.mjs CHECKER  (LIBSQL_NODE_MODULES: build/npm/node_modules)
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
function top(db) {
  return db.prepare("SELECT t.id FROM vector_top_k('t_idx', vector32('[3,4,5]'), ?) AS v JOIN t ON t.rowid = v.id")
    .raw().all([rows]).map((r) => r[0]);
}

let db = new Database(file);
db.exec("CREATE TABLE t(id INTEGER PRIMARY KEY, emb F32_BLOB(3), note TEXT);" +
        "CREATE INDEX t_idx ON t(libsql_vector_idx(emb, 'metric=cosine'));");
for (let i = 0; i < rows; i++) db.prepare("INSERT INTO t VALUES (?, vector32(?), 'n')").run([i, `[${i},${i + 1},${i + 2}]`]);
const before = top(db);
if (before.length !== rows) fail(`libSQL's own index answers ${before.length} of ${rows}`);
// A bigger graph for the search: random vectors, libSQL's own answers stored beside them for the checker.
let seed = 7;
const rnd = () => { seed = (seed * 1103515245 + 12345) % 2147483648; return seed / 2147483648; };
const vec = (d) => "[" + Array.from({ length: d }, () => (rnd() * 2 - 1).toFixed(5)).join(",") + "]";
db.exec("CREATE TABLE r(id INTEGER PRIMARY KEY, emb F32_BLOB(32));" +
        "CREATE INDEX r_idx ON r(libsql_vector_idx(emb, 'metric=cosine', 'compress_neighbors=float8', 'max_neighbors=24'));" +
        "CREATE TABLE queries(q INTEGER PRIMARY KEY, v BLOB, libsql_ids TEXT);");
db.exec("BEGIN");
for (let i = 1; i <= 1500; i++) db.prepare("INSERT INTO r VALUES (?, vector32(?))").run([i, vec(32)]);
db.exec("COMMIT");
for (let i = 0; i < 20; i++) {
  const v = db.prepare("SELECT vector32(?)").raw().get([vec(32)])[0];
  const ids = db.prepare("SELECT id FROM vector_top_k('r_idx', ?, 10)").raw().all([v]).map((r) => r[0]);
  db.prepare("INSERT INTO queries VALUES (?, ?, ?)").run([i, v, ids.join(",")]);
}
db.close();

try {
  process.stdout.write(execFileSync(checker, [file, String(rows)], { encoding: "utf8" }));
} catch (e) {
  process.stdout.write(e.stdout || "");
  fail("the libsql-cpp checks failed");
}

db = new Database(file);
const integrity = db.prepare("PRAGMA integrity_check").raw().all().map((r) => r[0]).join(";");
if (integrity !== "ok") fail("integrity_check in libSQL: " + integrity);
const count = db.prepare("SELECT count(*) FROM t").raw().get()[0];
if (count !== rows) fail(`libSQL counts ${count} rows`);
const after = top(db);
if (JSON.stringify([...after].sort()) !== JSON.stringify([...before].sort())) fail("vector_top_k changed: " + after);
if (db.prepare("SELECT note FROM t WHERE id = 1").raw().get()[0] !== "changed") fail("the allowed write is not there");
console.log(`ok   libSQL afterwards: integrity ok, ${count} rows, vector_top_k answers all ${after.length}`);
