// The npm libsql@0.5.29 side of bench_vector: the same generated vectors, the same SQL, timed in libSQL.
// Usage: LIBSQL_NODE_MODULES=... node vector_anchor.mjs ROWS DIMS QUERIES  -> one JSON line
import path from "node:path";
import { createRequire } from "node:module";

const require = createRequire(path.join(process.env.LIBSQL_NODE_MODULES, "noop.js"));
const Database = require("libsql");
const [rows, dims, queries] = process.argv.slice(2).map(Number);
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
let first = null;
for (const s of qs) { const ids = q.all([s]).map((r) => r[0]); if (first === null) first = ids; }
const queryS = Number(process.hrtime.bigint() - t0) / 1e9;
console.log(JSON.stringify({ insert_per_s: rows / insertS, queries_per_s: queries / queryS, first }));
