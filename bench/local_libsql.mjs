// The npm libsql@0.5.29 anchor of bench_local's encryption figures: W1-W4 of bench/bench_local.cpp through the real
// libSQL engine, on plain files and on files opened with `encryptionKey` (libSQL's aes256cbc), in one run.
//
//   LIBSQL_NODE_MODULES=build/npm/node_modules node bench/local_libsql.mjs [--scale S] [--reps N] [--key K]
//
// The data are bench_local's (same generator: splitmix64 names, scores and 16-byte blobs; the same lookup keys), the
// files are WAL, and each workload's median of N interleaved runs per side (plain, encrypted) is printed. W1 reads
// every column of one row with a reused statement (`stmt.raw().get(id)`), W2 inserts every row in one transaction
// with a reused statement, W3 scans every column (`stmt.raw().iterate()`), W4 opens, selects 1 and closes.
// Each run checks what it read (row count and sums), so that a broken run cannot pass for a fast one.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { createRequire } from "node:module";

const modules = process.env.LIBSQL_NODE_MODULES;
if (!modules) throw new Error("LIBSQL_NODE_MODULES is not set (scripts/bench sets it to build/npm/node_modules)");
const require = createRequire(path.join(path.resolve(modules), "noop.js"));
const Database = require("libsql");

let scale = 1, reps = 7, key = "bench-key";
for (let i = 2; i < process.argv.length; i += 2) {
  const [a, v] = [process.argv[i], process.argv[i + 1]];
  if (a === "--scale") scale = Number(v);
  else if (a === "--reps") reps = Math.max(1, Number(v));
  else if (a === "--key") key = v;
  else throw new Error(`local_libsql.mjs: unknown argument '${a}'`);
}
const rows = Math.max(1, Math.round(100000 * scale));
const lookups = Math.max(1, Math.round(200000 * scale));
const opens = Math.max(1, Math.round(1000 * scale));

// splitmix64, as bench_local.cpp.
const M = (1n << 64n) - 1n;
function splitmix(x) {
  x = (x + 0x9e3779b97f4a7c15n) & M;
  x = ((x ^ (x >> 30n)) * 0xbf58476d1ce4e5b9n) & M;
  x = ((x ^ (x >> 27n)) * 0x94d049bb133111ebn) & M;
  return x ^ (x >> 31n);
}
const names = [], scores = [], blobs = [];
for (let i = 0; i < rows; ++i) {
  const h = splitmix(BigInt(i));
  names.push(`user-${String(i + 1).padStart(8, "0")}-${Number(h & 0xffffffn).toString(16).padStart(6, "0")}`);
  scores.push(Number(h % 1000000n) / 100);
  const b = Buffer.alloc(16);
  b.writeBigUInt64LE(h, 0);
  b.writeBigUInt64LE(splitmix(h), 8);
  blobs.push(b);
}
const keys = [];
let s = 12345n;
for (let i = 0; i < lookups; ++i) {
  s = splitmix(s);
  keys.push(Number(s % BigInt(rows)) + 1);
}

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "libsql-bench-npm-"));
const options = (enc) => (enc ? { encryptionKey: key } : {});
const remove = (file) => { for (const x of ["", "-wal", "-shm", "-journal"]) fs.rmSync(file + x, { force: true }); };

function fill(file, enc) {
  remove(file);
  const db = new Database(file, options(enc));
  db.exec("PRAGMA journal_mode = WAL");
  db.exec("CREATE TABLE bench(id INTEGER PRIMARY KEY, name TEXT NOT NULL, score REAL NOT NULL, data BLOB NOT NULL)");
  const t0 = process.hrtime.bigint();
  db.exec("BEGIN");
  const ins = db.prepare("INSERT INTO bench(id, name, score, data) VALUES (?, ?, ?, ?)");
  let n = 0;
  for (let i = 0; i < rows; ++i) n += ins.run(i + 1, names[i], scores[i], blobs[i]).changes;
  db.exec("COMMIT");
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  db.close();
  if (n !== rows) throw new Error(`W2: ${n} rows inserted, expected ${rows}`);
  const header = Buffer.alloc(16);
  const fd = fs.openSync(file, "r");
  fs.readSync(fd, header, 0, 16, 0);
  fs.closeSync(fd);
  if ((header.toString("latin1") === "SQLite format 3\0") === enc) throw new Error(`${file}: encrypted is not ${enc}`);
  return ms;
}

const timed = (f) => { const t0 = process.hrtime.bigint(); const check = f(); return [Number(process.hrtime.bigint() - t0) / 1e6, check]; };
const read = { false: path.join(dir, "read.db"), true: path.join(dir, "read-encrypted.db") };
fill(read[false], false);
fill(read[true], true);

let fresh = 0;
const workloads = {
  W1(enc) {
    const db = new Database(read[enc], options(enc));
    const st = db.prepare("SELECT id, name, score, data FROM bench WHERE id = ?").raw();
    const [ms, sum] = timed(() => {
      let acc = 0;
      for (const id of keys) { const r = st.get(id); acc += r[0] + r[1].length + r[3].length; }
      return acc;
    });
    db.close();
    return [ms, sum];
  },
  W2(enc) { const ms = fill(path.join(dir, `insert-${fresh++}.db`), enc); return [ms, rows]; },
  W3(enc) {
    const db = new Database(read[enc], options(enc));
    const st = db.prepare("SELECT id, name, score, data FROM bench").raw();
    const [ms, sum] = timed(() => {
      let acc = 0, n = 0;
      for (const r of st.iterate()) { acc += r[0] + r[1].length + r[3].length; ++n; }
      if (n !== rows) throw new Error(`W3: ${n} rows, expected ${rows}`);
      return acc;
    });
    db.close();
    return [ms, sum];
  },
  W4(enc) {
    return timed(() => {
      let acc = 0;
      for (let i = 0; i < opens; ++i) {
        const db = new Database(read[enc], options(enc));
        acc += db.prepare("select 1").raw().get()[0];
        db.close();
      }
      return acc;
    });
  },
};

const median = (v) => { const a = [...v].sort((x, y) => x - y); const m = a.length >> 1; return a.length % 2 ? a[m] : (a[m - 1] + a[m]) / 2; };
const ops = { W1: lookups, W2: rows, W3: rows, W4: opens };
console.log(`npm libsql@0.5.29 (Node ${process.version}), wall time, median of ${reps} interleaved runs per side ` +
            `(${rows} rows, ${lookups} lookups, ${opens} opens; WAL; encrypted: encryptionKey, aes256cbc)\n`);
console.log(`${"id".padEnd(4)} ${"plain ms".padStart(10)} ${"enc ms".padStart(10)} ${"enc/plain".padStart(10)} ` +
            `${"plain ns/op".padStart(12)} ${"enc ns/op".padStart(12)}`);
try {
  for (const [id, f] of Object.entries(workloads)) {
    const t = { false: [], true: [] }, check = {};
    for (let rep = 0; rep < reps; ++rep) {
      for (const enc of rep % 2 ? [true, false] : [false, true]) {
        const [ms, c] = f(enc);
        t[enc].push(ms);
        check[enc] = c;
      }
    }
    if (check[false] !== check[true]) throw new Error(`${id}: plain and encrypted runs read different data`);
    const p = median(t[false]), e = median(t[true]);
    for (const x of fs.readdirSync(dir)) if (x.startsWith("insert-")) fs.rmSync(path.join(dir, x), { force: true });
    console.log(`${id.padEnd(4)} ${p.toFixed(2).padStart(10)} ${e.toFixed(2).padStart(10)} ${(e / p).toFixed(3).padStart(10)} ` +
                `${(p * 1e6 / ops[id]).toFixed(1).padStart(12)} ${(e * 1e6 / ops[id]).toFixed(1).padStart(12)}`);
  }
} finally {
  fs.rmSync(dir, { recursive: true, force: true });
}
