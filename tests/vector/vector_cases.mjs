// Generates vector-function cases and evaluates them in npm libsql@0.5.29 (the real libSQL engine), so that
// vector_compat (tests/vector/vector_compat.cpp) can run the same SQL on libsql-cpp and compare byte for byte.
// Usage: node vector_cases.mjs OUT_FILE   (LIBSQL_NODE_MODULES: build/npm/node_modules)
// One case per line, tab-separated: SQL (hex), its arguments, "=>", the result. Tokens: t:<hex> text,
// b:<hex> blob, n null, r:<16 hex digits> the double's bits, e:<code>:<hex> an error (code and message).
import fs from "node:fs";
import path from "node:path";
import { createRequire } from "node:module";

const modules = process.env.LIBSQL_NODE_MODULES;
const out = process.argv[2];
if (!modules || !out) {
  console.error("usage: LIBSQL_NODE_MODULES=... node vector_cases.mjs OUT_FILE");
  process.exit(2);
}
const require = createRequire(path.join(modules, "noop.js"));
const Database = require("libsql");
const pkg = JSON.parse(fs.readFileSync(path.join(modules, "libsql/package.json"), "utf8"));
if (pkg.version !== "0.5.29") {
  console.error(`expected npm libsql 0.5.29, found ${pkg.version}`);
  process.exit(2);
}
const db = new Database(":memory:");

// Deterministic: mulberry32.
let seed = 0x5eed1234;
function rnd() {
  seed = (seed + 0x6d2b79f5) | 0;
  let t = seed;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}
const rint = (n) => Math.floor(rnd() * n);
const hex = (s) => Buffer.from(s, "utf8").toString("hex");
const f32bits = new DataView(new ArrayBuffer(4));
function f32FromBits(u) { f32bits.setUint32(0, u >>> 0, true); return f32bits.getFloat32(0, true); }
function realToken(x) {
  const dv = new DataView(new ArrayBuffer(8));
  dv.setFloat64(0, x, false);
  return "r:" + dv.getBigUint64(0, false).toString(16).padStart(16, "0");
}

const lines = [];
function run(sql, args = []) {
  if (process.env.VDEBUG) console.error(sql, args.map(token).join(" ").slice(0, 200));
  try {
    // a fresh statement each time: in libsql-js 0.5.29 a statement that failed keeps failing
    const st = db.prepare(sql).raw();
    const v = st.get(args)[0]; // an array: a lone Buffer would be taken for named parameters
    // copy: the engine's buffer may not outlive the next step
    return { value: Buffer.isBuffer(v) ? Buffer.from(v) : v };
  } catch (e) {
    return { error: e };
  }
}
function token(v) {
  if (v === null || v === undefined) return "n";
  if (Buffer.isBuffer(v)) return "b:" + v.toString("hex");
  if (typeof v === "string") return "t:" + hex(v);
  if (typeof v === "number") return realToken(v);
  if (typeof v === "bigint") return "i:" + v.toString();
  throw new Error("unexpected result " + typeof v);
}
/** Records one case; returns the value libSQL produced (or undefined on error). */
function record(sql, args = []) {
  const r = run(sql, args);
  const argTokens = args.map(token);
  const res = r.error ? `e:${r.error.code}:${hex(r.error.message)}` : token(r.value);
  lines.push([hex(sql), ...argTokens, "=>", res].join("\t"));
  return r.error ? undefined : r.value;
}

const constructors = ["vector", "vector32", "vector64", "vector16", "vectorb16", "vector8", "vector1bit"];
const unary = [...constructors, "vector_extract"];
const unaryAll = (arg) => { const out = {}; for (const f of unary) out[f] = record(`SELECT ${f}(?)`, [arg]); return out; };

// --- numbers as text: edge values and random ones
const edge = ["0", "-0", "1", "-1", "0.1", "1.5", "-2.25", "1e30", "3.4028234e38", "3.4028236e38", "1e39", "1e308",
  "1.7976931348623157e308", "1e309", "-1e400", "1e-38", "1.17549435e-38", "1e-40", "1.4e-45", "1e-46", "1e-310",
  "4.9e-324", "2.5e-324", "1e-400", "123456789", "16777217", "9007199254740993", "0.30000000000000004",
  "12345678901234567890123", "0.000000000000000000000000000001", "1e10000", "1e-10000", "+5", ".5", "5.", "5e+2",
  "5E-2", "65504", "65505", "65519", "65520", "6.1e-5", "6e-8", "5.96e-8", "2.98e-8", "3e-8", "1e-8", "-65536",
  "3.3895314e38", "1.00390625", "1.0078125", "0.999", "255", "256", "-0.0", "00012", "1.000000000000000000001"];
for (const x of edge) unaryAll(`[${x}]`);
for (let i = 0; i + 4 <= edge.length; i += 4) unaryAll(`[${edge.slice(i, i + 4).join(",")}]`);

const texts = ["[]", "  [ ]  ", "[1]", "[1,2,3]", " [1 , 2 , 3] ", "\t[\n1,\r2\v]\f", "[1 2]", "[1,2,3,4,5,6,7,8,9]",
  "[5,5,5]", "[0,0,0]", "[-1,0,1]", "[1,-1,1,-1,1,-1,1,-1,1]",
  // bad input
  "", " ", "1,2]", "[1,2", "[1,2]]", "[1,2] x", "[[1]]", "[1,,2]", "[,1]", "[1,]", "[nan]", "[inf]", "[-inf]",
  "[NaN]", "[1e]", "[1e+]", "[.]", "[+]", "[-]", "[--1]", "[1..2]", "[1.2.3]", "[0x10]", "[1,a]", "[é]", "[1;2]",
  "[1e5x]", "{1,2}", "(1,2)", "[\"1\"]", "[1]\u0000[2]", "[1" + "0".repeat(1100) + "]", "[" + "1".repeat(1024) + "]",
  "[" + "1".repeat(1025) + "]", "[" + "1".repeat(1026) + "]", "[0." + "1".repeat(400) + "]"];
for (const t of texts) unaryAll(t);

// random components printed in several precisions
for (let i = 0; i < 300; i++) {
  const dims = 1 + rint(i < 250 ? 12 : 200);
  const kind = rint(4);
  const vals = [];
  for (let d = 0; d < dims; d++) {
    let x = (rnd() * 2 - 1) * Math.pow(10, rint(kind === 3 ? 80 : 8) - (kind === 3 ? 40 : 4));
    if (kind === 0) vals.push(x.toPrecision(17));
    else if (kind === 1) vals.push(x.toPrecision(9));
    else if (kind === 2) vals.push(String(Math.round(x * 1000) / 1000));
    else vals.push(x.toExponential(rint(20)));
  }
  const v = unaryAll(`[${vals.join(rnd() < 0.5 ? "," : ", ")}]`);
  // the blobs libSQL made, fed back to every function: the conversion matrix
  if (i % 3 === 0) for (const f of constructors) if (v[f] !== undefined) unaryAll(v[f]);
}

// float32 bit patterns (normals, subnormals, NaN, inf) through every conversion, via blobs
for (let i = 0; i < 200; i++) {
  const dims = 1 + rint(40);
  const b = Buffer.alloc(dims * 4);
  for (let d = 0; d < dims; d++) {
    const pick = rint(6);
    let u;
    if (pick === 0) u = rint(0x800000) | (rint(2) << 31);                        // subnormal
    else if (pick === 1) u = ((0x66 + rint(0x14)) << 23) | rint(0x800000);       // around half's subnormals
    else if (pick === 2) u = 0x7f800000 | (rint(3) === 0 ? 0 : 1 + rint(0x7fffff)); // inf / NaN
    else if (pick === 3) u = ((0x8e + rint(3)) << 23) | rint(0x800000);          // around half's max
    else u = rint(0x100000000);
    b.writeUInt32LE((u | (pick < 4 && rnd() < 0.5 ? 0x80000000 : 0)) >>> 0, d * 4);
  }
  unaryAll(b);
}
// every half and bfloat16 bit pattern, 64 to a vector, decoded
for (const type of [5, 6]) {
  for (let start = 0; start < 65536; start += 64) {
    const b = Buffer.alloc(64 * 2 + 1);
    for (let k = 0; k < 64; k++) b.writeUInt16LE(start + k, 2 * k);
    b[128] = type;
    record("SELECT vector_extract(?)", [b]);
    if (start % 1024 === 0) for (const f of constructors) record(`SELECT ${f}(?)`, [b]);
  }
}

// --- crafted blobs: every type byte, lengths around the rules, random payloads
const blobs = [Buffer.alloc(0), Buffer.from([0]), Buffer.from([0, 0]), Buffer.from([1]), Buffer.from([2]), Buffer.from([3]),
  Buffer.from([4]), Buffer.from([5]), Buffer.from([6]), Buffer.from([7]), Buffer.from([255]), Buffer.from([0, 0, 1]),
  Buffer.from([0, 0, 0, 0, 1]), Buffer.from([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2]), Buffer.from([0, 0, 0, 2]),
  Buffer.from([0, 0, 3]), Buffer.from([0, 8, 3]), Buffer.from([0xff, 0, 3]), Buffer.from([0xff, 7, 3]), Buffer.from([0x0f, 0, 0, 3]),
  Buffer.from([0, 0xff, 3]), Buffer.from([0, 16, 3]), Buffer.from([0, 17, 3]), Buffer.from([0, 20, 3]), Buffer.from([0, 24, 3]),
  Buffer.from([0, 0, 4]), Buffer.from([0, 0, 0, 0, 4]), Buffer.from(Array(11).fill(0).concat([4])).subarray(0, 11),
  Buffer.from([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 4]), Buffer.from([1, 2, 3, 0, 0, 0, 0x80, 0x3f, 0, 0, 0, 0, 0, 1, 4]),
  Buffer.from([1, 2, 3, 0, 0, 0, 0x80, 0x3f, 0, 0, 0, 0, 0, 5, 4]), Buffer.from([1, 2, 3, 0, 0, 0, 0x80, 0x3f, 0, 0, 0, 0, 0, 0, 4]),
  Buffer.from([0, 0, 5]), Buffer.from([0, 0x7c, 0, 0xfc, 0, 0x7e, 5]), Buffer.from([0x80, 0x7f, 6]), Buffer.from([1, 0x80, 0x7f, 6])];
for (const b of blobs) unaryAll(b);
for (let i = 0; i < 400; i++) {
  const len = rint(i < 300 ? 24 : 300);
  const b = Buffer.alloc(len);
  for (let k = 0; k < len; k++) b[k] = rint(256);
  if (len % 2 === 1 && rnd() < 0.8) b[len - 1] = 1 + rint(6);
  if (len >= 3 && b[len - 1] === 3 && rnd() < 0.7) b[len - 2] = rint(24);
  if (len >= 3 && b[len - 1] === 4 && rnd() < 0.7) b[len - 2] = rint(4);
  unaryAll(b);
}

// --- the dimension limit
const big = (n, x) => "[" + Array(n).fill(x).join(",") + "]";
for (const f of ["vector32", "vector64", "vector1bit", "vector8", "vector16"]) {
  record(`SELECT CAST(length(${f}(?)) AS TEXT)`, [big(65536, "1")]);
  record(`SELECT ${f}(?)`, [big(65537, "1")]);
}
record("SELECT vector_extract(?)", [big(65536, "0.5")]);
record("SELECT vector32(?)", [Buffer.alloc(65536 * 4)]);
record("SELECT vector32(?)", [Buffer.alloc(65537 * 4)]);
record("SELECT vector32(?)", [Buffer.concat([Buffer.alloc(65537 * 8), Buffer.from([2])])]);
record("SELECT vector32(?)", [Buffer.concat([Buffer.alloc(65536 * 8), Buffer.from([2])])]);
record("SELECT vector_distance_cos(?, ?)", [big(65536, "1"), big(65536, "2")]);

// --- non-vector arguments
for (const lit of ["NULL", "1", "1.5", "x''", "''", "-0.0"]) {
  for (const f of unary) record(`SELECT ${f}(${lit})`);
  for (const f of ["vector_distance_cos", "vector_distance_l2"]) {
    record(`SELECT ${f}(${lit}, '[1]')`);
    record(`SELECT ${f}('[1]', ${lit})`);
  }
}
for (const f of unary) { record(`SELECT ${f}()`); record(`SELECT ${f}('[1]', '[1]')`); }
record("SELECT vector_distance_cos('[1]')");

// --- distances: every type, random and edge vectors, mismatches
const distVecs = ["[1,2]", "[3,4]", "[0,0]", "[1,0]", "[0,1]", "[-1,-2]", "[1e30,1e30]", "[1e-30,1e-30]", "[3e38,3e38]",
  "[1e20,1]", "[5,5]", "[]", "[1,2,3]", "[0.5,0.25,-0.125]"];
for (const ctor of constructors) {
  const blobsOf = distVecs.map((t) => run(`SELECT ${ctor}(?)`, [t]).value);
  for (let a = 0; a < distVecs.length; a++) {
    for (let b = 0; b < distVecs.length; b++) {
      if (blobsOf[a] === undefined || blobsOf[b] === undefined) continue;
      for (const f of ["vector_distance_cos", "vector_distance_l2"]) record(`SELECT ${f}(?, ?)`, [blobsOf[a], blobsOf[b]]);
    }
  }
}
for (let i = 0; i < 300; i++) {
  const dims = 1 + rint(i < 200 ? 20 : 300);
  const mk = () => "[" + Array.from({ length: dims }, () => ((rnd() * 2 - 1) * Math.pow(10, rint(6) - 3)).toPrecision(9)).join(",") + "]";
  const ta = mk(), tb = mk();
  for (const ctor of constructors) {
    const a = run(`SELECT ${ctor}(?)`, [ta]).value, b = run(`SELECT ${ctor}(?)`, [tb]).value;
    for (const f of ["vector_distance_cos", "vector_distance_l2"]) {
      record(`SELECT ${f}(?, ?)`, [a, b]);
      if (i % 10 === 0) record(`SELECT ${f}(?, ?)`, [a, a]);
    }
  }
  for (const f of ["vector_distance_cos", "vector_distance_l2"]) record(`SELECT ${f}(?, ?)`, [ta, tb]);
}
const mixes = [["[1,2]", "[1,2,3]"], ["[1,2]", "[1, 2,]"], ["[]", "[]"], ["[1,2]", "[1,x]"], ["[1,x]", "[1,2]"], ["[1", "[1]"],
  ["[1,2]", "vector64('[1,2]')"], ["vector16('[1,2]')", "vectorb16('[1,2]')"], ["vector8('[1,2]')", "vector8('[1,2,3]')"],
  ["vector1bit('[1,2]')", "vector1bit('[1,-2]')"], ["x'00'", "'[1]'"], ["'[1]'", "x'00000004'"]];
for (const [a, b] of mixes) {
  const q = (s) => (s.startsWith("vector") || s.startsWith("x'") || s.startsWith("'") ? s : `'${s}'`);
  for (const f of ["vector_distance_cos", "vector_distance_l2"]) record(`SELECT ${f}(${q(a)}, ${q(b)})`);
}

fs.writeFileSync(out, lines.join("\n") + "\n");
console.log(`${lines.length} cases from npm libsql ${pkg.version}`);
