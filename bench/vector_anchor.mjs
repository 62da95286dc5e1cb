// The npm libsql@0.5.29 side of bench_vector: the same generated vectors, the same SQL, timed in libSQL.
// Usage: LIBSQL_NODE_MODULES=... node vector_anchor.mjs ROWS DIMS QUERIES [INDEX_ROWS]  -> one JSON line
import path from "node:path";
import { createRequire } from "node:module";

const require = createRequire(path.join(process.env.LIBSQL_NODE_MODULES, "noop.js"));
const Database = require("libsql");
const [rows, dims, queries, indexArg] = process.argv.slice(2).map(Number);
const indexRows = Math.min(rows, Number.isFinite(indexArg) ? indexArg : rows);
let seed = 12345;
function rnd() { // mulberry32, as bench_vector.cpp
  seed = (seed + 0x6d2b79f5) | 0;
  let t = seed;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}
const text = () => "[" + Array.from({ length: dims }, () => (rnd() * 2 - 1).toFixed(6)).join(",") + "]";
const db = new Database(":memory:");
db.exec("CREATE TABLE v(id INTEGER PRIMARY KEY, emb F32_BLOB(" + dims + "))");
const data = Array.from({ length: rows }, text);
const qs = Array.from({ length: queries }, text);
let t0 = process.hrtime.bigint();
db.exec("BEGIN");
const ins = db.prepare("INSERT INTO v(emb) VALUES (vector32(?))");
for (const d of data) ins.run([d]);
db.exec("COMMIT");
const insertS = Number(process.hrtime.bigint() - t0) / 1e9;
const q = db.prepare("SELECT id FROM v ORDER BY vector_distance_cos(emb, vector32(?)) LIMIT 10").raw();
t0 = process.hrtime.bigint();
const exact = qs.map((s) => q.all([s]).map((r) => r[0]));
const queryS = Number(process.hrtime.bigint() - t0) / 1e9;
const out = { insert_per_s: rows / insertS, queries_per_s: queries / queryS, first: exact[0] ?? null };
if (indexRows > 0) { // as bench_vector.cpp: the first indexRows rows in an indexed table, recall@10 against brute force
  db.exec("CREATE TABLE vi(id INTEGER PRIMARY KEY, emb F32_BLOB(" + dims + "))");
  db.exec("CREATE INDEX vi_idx ON vi(libsql_vector_idx(emb))");
  t0 = process.hrtime.bigint();
  db.exec("BEGIN");
  const insi = db.prepare("INSERT INTO vi(emb) VALUES (vector32(?))");
  for (let i = 0; i < indexRows; i++) insi.run([data[i]]);
  db.exec("COMMIT");
  const indexInsertS = Number(process.hrtime.bigint() - t0) / 1e9;
  const top = db.prepare("SELECT id FROM vector_top_k('vi_idx', vector32(?), 10)").raw();
  t0 = process.hrtime.bigint();
  const found = qs.map((s) => top.all([s]).map((r) => r[0]));
  const indexQueryS = Number(process.hrtime.bigint() - t0) / 1e9;
  const ref = db.prepare("SELECT id FROM v WHERE id <= ? ORDER BY vector_distance_cos(emb, vector32(?)) LIMIT 10").raw();
  let hits = 0, total = 0;
  qs.forEach((s, i) => {
    const truth = ref.all([indexRows, s]).map((r) => r[0]);
    hits += truth.filter((id) => found[i].includes(id)).length;
    total += truth.length;
  });
  Object.assign(out, { index_rows: indexRows, index_insert_per_s: indexRows / indexInsertS,
                       index_queries_per_s: queries / indexQueryS, index_recall_at_10: total ? hits / total : 0 });
}
console.log(JSON.stringify(out));
