// libSQL's SQL dialect against the real libSQL engine (npm libsql@0.5.29): RANDOM ROWID tables and ALTER COLUMN.
// Files npm libsql writes are read and written by `libsql shell` (our engine) and pass integrity_check; files the
// shell writes are read by npm libsql; the same statements leave the same schema text in both; the same bad
// statements fail with the same messages. Deliberate differences are in docs/ENGINE.md and tests/unit/dialect_test.cpp.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { createRequire } from "node:module";
import fs from "node:fs";
import path from "node:path";
import { bin, nodeModules, tempDir } from "./lib.mjs";

const require = createRequire(path.join(nodeModules, "noop.js"));
const Database = require("libsql");
assert.equal(JSON.parse(fs.readFileSync(path.join(nodeModules, "libsql/package.json"), "utf8")).version, "0.5.29");

const dir = tempDir("libsql-dialect-");
let fileNo = 0;
const newFile = (name) => path.join(dir, `${fileNo++}-${name}.db`);

/** Runs `libsql shell --mode json FILE SQL...`; returns { status, stdout, stderr }. */
function shell(file, ...sql) {
  const r = spawnSync(bin, ["shell", "--mode", "json", file, ...sql], { encoding: "utf8", timeout: 30000 });
  if (r.error) throw r.error;
  return r;
}
/** The rows of one SELECT run by the shell (integers that may exceed 2^53 must be selected as text). */
function shellRows(file, sql) {
  const r = shell(file, sql);
  assert.equal(r.status, 0, `shell failed on ${sql}: ${r.stderr}`);
  return r.stdout.trim() === "" ? [] : JSON.parse(r.stdout);
}
function shellOk(file, ...sql) {
  const r = shell(file, ...sql);
  assert.equal(r.status, 0, `shell failed on ${sql.join("; ")}: ${r.stderr}`);
}
function openLibsql(file) {
  const db = new Database(file);
  db.defaultSafeIntegers(true);
  return db;
}
const schemaOf = (db) => db.prepare("SELECT type, name, sql FROM sqlite_schema ORDER BY name").all();
/** The first column of the first row (npm libsql's get() ignores pluck() and adds _metadata). */
function value(db, sql, ...args) {
  const row = db.prepare(sql).get(...args);
  return row[Object.keys(row).find((k) => k !== "_metadata")];
}
const integrityOf = (db) => db.prepare("PRAGMA integrity_check").pluck().all().join("\n");
const big = 2n ** 32n;  // random rowids are drawn from [1, 2^62]: below this once in four billion rows

let passed = 0;
function check(name, f) {
  f();
  passed++;
  console.log(`ok ${name}`);
}

check("a file npm libsql writes is read and written by libsql-cpp, and back", () => {
  const file = newFile("libsql-written");
  const db = openLibsql(file);
  db.exec("PRAGMA journal_mode=WAL");
  db.exec("CREATE TABLE r(a TEXT, n INTEGER) RANDOM ROWID; CREATE INDEX r_n ON r(n)");
  const ins = db.prepare("INSERT INTO r VALUES (?, ?)");
  db.transaction(() => { for (let i = 0; i < 50; i++) ins.run(`v${String(i).padStart(2, "0")}`, i); })();
  db.exec("CREATE TABLE u(id INTEGER PRIMARY KEY, n INTEGER, m TEXT); INSERT INTO u VALUES (1, 10, 'x')");
  db.exec("ALTER TABLE u ALTER COLUMN m TO m TEXT NOT NULL DEFAULT 'none'");
  const theirRowids = db.prepare("SELECT rowid FROM r ORDER BY a").pluck().all().map(String);
  db.close();

  assert.deepEqual(shellRows(file, "PRAGMA integrity_check"), [{ integrity_check: "ok" }]);
  assert.deepEqual(shellRows(file, "SELECT CAST(rowid AS TEXT) AS id FROM r ORDER BY a").map((r) => r.id), theirRowids);
  assert.deepEqual(shellRows(file, "SELECT sql FROM sqlite_schema WHERE name = 'u'"),
                   [{ sql: "CREATE TABLE u(id INTEGER PRIMARY KEY, n INTEGER, m TEXT NOT NULL DEFAULT 'none')" }]);
  shellOk(file, "INSERT INTO r VALUES ('w1', 100), ('w2', 101)", "INSERT INTO u(id, n) VALUES (2, 20)",
          "ALTER TABLE u ALTER COLUMN n TO n INTEGER DEFAULT 7", "INSERT INTO u(id) VALUES (3)");

  const again = openLibsql(file);
  assert.equal(integrityOf(again), "ok");
  const ours = again.prepare("SELECT rowid FROM r WHERE a LIKE 'w%'").pluck().all();
  assert.equal(ours.length, 2);
  for (const id of ours) assert.ok(id > big, `rowid ${id} of a row libsql-cpp inserted is not random`);
  assert.equal(value(again, "SELECT m FROM u WHERE id = 2"), "none");
  assert.equal(value(again, "SELECT n FROM u WHERE id = 3"), 7n);
  assert.equal(value(again, "SELECT sql FROM sqlite_schema WHERE name = 'u'"),
               "CREATE TABLE u(id INTEGER PRIMARY KEY, n INTEGER DEFAULT 7, m TEXT NOT NULL DEFAULT 'none')");
  again.prepare("INSERT INTO r VALUES ('libsql again', 200)").run();
  again.close();
  assert.deepEqual(shellRows(file, "PRAGMA integrity_check"), [{ integrity_check: "ok" }]);
  assert.deepEqual(shellRows(file, "SELECT count(*) AS n FROM r"), [{ n: 53 }]);
});

// Scripts run by both engines on fresh files; the schema text must come out the same.
const scripts = [
  ["CREATE TABLE r(a TEXT) RANDOM ROWID", "CREATE TABLE r2(a) random rowid", "CREATE TABLE r3(a) RANDOM /* c */ ROWID",
   "CREATE TABLE r4(a INTEGER PRIMARY KEY, b) RANDOM ROWID", "CREATE TABLE r5(a PRIMARY KEY) WITHOUT ROWID, RANDOM ROWID",
   "CREATE TABLE r6(a TEXT) STRICT, RANDOM ROWID", "CREATE TABLE c AS SELECT 1 AS random, 2 AS b"],
  ["CREATE TABLE u(id INTEGER PRIMARY KEY, n INTEGER, m TEXT)", "ALTER TABLE u ALTER COLUMN n TO n TEXT DEFAULT 'none'",
   "ALTER TABLE u ALTER COLUMN m TO m INTEGER NOT NULL DEFAULT 0;"],
  ["CREATE TABLE u(\n  id INTEGER PRIMARY KEY,\n  n INTEGER ,\n  m TEXT\n)", "ALTER TABLE u ALTER COLUMN m TO m BLOB",
   "ALTER TABLE u ALTER COLUMN n TO n REAL   ;  "],
  ["CREATE TABLE \"u\"(id INTEGER PRIMARY KEY, \"n\" INTEGER, [o] INTEGER, key TEXT) RANDOM ROWID",
   "ALTER TABLE u ALTER COLUMN \"n\" TO \"n\" TEXT", "ALTER TABLE u ALTER COLUMN [o] TO [o] TEXT COLLATE NOCASE",
   "ALTER TABLE main.u ALTER COLUMN key TO key INTEGER REFERENCES u(id)", "ALTER TABLE u ALTER COLUMN N INTEGER TO n NOT NULL",
   "ALTER TABLE u ALTER COLUMN id TO id INTEGER PRIMARY KEY NOT NULL"],
  ["CREATE TABLE u(id INTEGER PRIMARY KEY, n INTEGER)", "CREATE INDEX u_n ON u(n)",
   "ALTER TABLE u ALTER COLUMN n TO n INTEGER DEFAULT (random()) CHECK (n <> 0)",
   "ALTER TABLE u ALTER COLUMN n TO n TEXT -- a comment\n"],
];

check("the same statements leave the same schema text in both engines", () => {
  for (const script of scripts) {
    const theirs = newFile("libsql-script");
    const db = openLibsql(theirs);
    for (const sql of script) db.exec(sql);
    const expected = schemaOf(db);
    db.close();
    const ours = newFile("cpp-script");
    shellOk(ours, ...script);
    const fromOurs = openLibsql(ours);  // npm libsql reads the file libsql-cpp wrote
    assert.deepEqual(schemaOf(fromOurs), expected, script.join("; "));
    assert.equal(integrityOf(fromOurs), "ok");
    fromOurs.close();
  }
});

check("a RANDOM ROWID file libsql-cpp writes takes rows from npm libsql", () => {
  const file = newFile("cpp-written");
  shellOk(file, "PRAGMA journal_mode=WAL", "CREATE TABLE r(a TEXT UNIQUE) RANDOM ROWID",
          "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 1000) INSERT INTO r SELECT 'c' || x FROM c");
  const db = openLibsql(file);
  assert.equal(integrityOf(db), "ok");
  assert.equal(value(db, "SELECT count(*) FROM r WHERE rowid > ?", big), 1000n);
  db.prepare("INSERT INTO r VALUES ('from libsql')").run();
  db.prepare("INSERT INTO r VALUES ('c1') ON CONFLICT(a) DO UPDATE SET a = 'c1 updated'").run();
  db.close();
  assert.deepEqual(shellRows(file, "SELECT count(*) AS n, count(DISTINCT rowid) AS d FROM r"), [{ n: 1001, d: 1001 }]);
  assert.deepEqual(shellRows(file, "SELECT a FROM r WHERE a LIKE 'c1 %'"), [{ a: "c1 updated" }]);
  assert.deepEqual(shellRows(file, "PRAGMA integrity_check"), [{ integrity_check: "ok" }]);
});

// Statements both engines refuse, after the setup, with the same message.
const setup = ["CREATE TABLE u(id INTEGER PRIMARY KEY, n INTEGER, q INTEGER UNIQUE)", "CREATE VIEW v AS SELECT * FROM u"];
const refused = [
  "CREATE TABLE r(a INTEGER PRIMARY KEY AUTOINCREMENT) RANDOM ROWID",
  "CREATE TABLE r(a) RANDOM foo", "CREATE TABLE r(a) RANDOM \"rowid\"", "CREATE TABLE r(a) RANDOM",
  "CREATE TABLE r(a) RANDOM, STRICT", "CREATE TABLE r(a) RANDOM ROWID, STRICT",
  "ALTER TABLE u ALTER COLUMN n TO x INTEGER", "ALTER TABLE u ALTER COLUMN n TO \"n\" TEXT",
  "ALTER TABLE u ALTER COLUMN nope TO nope INTEGER", "ALTER TABLE nope ALTER COLUMN n TO n INTEGER",
  "ALTER TABLE u ALTER n TO n INTEGER", "ALTER TABLE u ALTER COLUMN n TO", "ALTER TABLE u ALTER COLUMN n TO n TEXT DEFAULT",
  "ALTER TABLE u ALTER COLUMN n(3) TO n TEXT", "ALTER TABLE u ALTER COLUMN n TO n TEXT,",
  "ALTER TABLE u ALTER COLUMN n TO n UNIQUE", "ALTER TABLE u ALTER COLUMN q TO q INTEGER",
  "ALTER TABLE u ALTER COLUMN n TO n AS (id+1)", "ALTER TABLE u ALTER COLUMN id TO id TEXT",
  "ALTER TABLE v ALTER COLUMN n TO n TEXT", "ALTER TABLE sqlite_schema ALTER COLUMN sql TO sql TEXT",
];

check("bad statements fail with libSQL's messages", () => {
  const theirs = openLibsql(":memory:");
  for (const sql of setup) theirs.exec(sql);
  const ours = newFile("cpp-errors");
  shellOk(ours, ...setup);
  for (const sql of refused) {
    let message = null;
    try { theirs.exec(sql); } catch (e) { message = e.message; }
    assert.ok(message, `npm libsql accepted ${sql}`);
    const r = shell(ours, sql);
    assert.equal(r.status, 1, `libsql-cpp accepted ${sql}`);
    assert.ok(r.stderr.startsWith(`Error: ${message} [SQLITE_`), `${sql}\n  libsql:     ${message}\n  libsql-cpp: ${r.stderr}`);
  }
  theirs.close();
});

console.log(`${passed} checks passed`);
