// @libsql/client@0.18.0, unchanged, against `libsql serve`.
// Usage: node client_test.mjs http|ws [auth]   (auth: the server checks Ed25519 JWTs and the client sends one)
import assert from "node:assert/strict";
import path from "node:path";
import { loadClient, makeKeys, runChecks, signJwt, startServer, tempDir } from "./lib.mjs";

const transport = process.argv[2] ?? "http";
const withAuth = process.argv[3] === "auth";
const { createClient } = await loadClient();

const dir = tempDir();
const args = [];
let authToken;
if (withAuth) {
  const keys = makeKeys(dir);
  args.push("--auth-jwt-key-file", keys.keyFile);
  authToken = signJwt(keys.privateKey, { exp: Math.floor(Date.now() / 1000) + 3600 });
}
const server = await startServer(path.join(dir, "sub", "test.db"), args);
const url = transport === "ws" ? server.wsUrl : server.httpUrl;
const open = (opts = {}) => createClient({ url, authToken, ...opts });
const client = open();
const name = `client ${transport}${withAuth ? " auth" : ""}`;

const count = async (c, table) => Number((await c.execute(`SELECT count(*) AS n FROM ${table}`)).rows[0].n);
const rejects = async (promise, re) => {
  try {
    await promise;
  } catch (e) {
    if (re) assert.match(String(e.code ?? "") + " " + e.message, re);
    return e;
  }
  assert.fail("expected a rejection");
};

const checks = [
  ["execute: create, insert, select", async () => {
    await client.execute("CREATE TABLE t(id INTEGER PRIMARY KEY, x TEXT)");
    const ins = await client.execute({ sql: "INSERT INTO t(x) VALUES (?)", args: ["one"] });
    assert.equal(ins.rowsAffected, 1);
    assert.equal(ins.lastInsertRowid, 1n);
    const rs = await client.execute("SELECT id, x FROM t");
    assert.deepEqual(rs.columns, ["id", "x"]);
    assert.equal(rs.rows.length, 1);
    assert.equal(rs.rows[0].id, 1);
    assert.equal(rs.rows[0].x, "one");
    assert.equal(rs.rows[0][1], "one");
  }],
  ["every value type round-trips (intMode bigint)", async () => {
    const c = open({ intMode: "bigint" });
    try {
      await c.execute("CREATE TABLE v(i INTEGER, big INTEGER, neg INTEGER, f REAL, s TEXT, b BLOB, e BLOB, ab BLOB, n)");
      const big = 9007199254740993n;  // 2^53 + 1: not a double
      const text = "héllo wörld 🌍 中文 \u0000 end";
      const blob = new Uint8Array([0, 1, 2, 127, 128, 254, 255]);
      const ab = new Uint8Array([9, 8, 7]).buffer;
      await c.execute({
        sql: "INSERT INTO v VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        args: [42n, big, -9223372036854775808n, 3.141592653589793, text, blob, new Uint8Array(0), ab, null],
      });
      const rs = await c.execute("SELECT *, typeof(i) AS ti, typeof(f) AS tf, typeof(b) AS tb, typeof(e) AS te, typeof(n) AS tn FROM v");
      const r = rs.rows[0];
      assert.equal(r.i, 42n);
      assert.equal(r.big, big);
      assert.equal(r.neg, -9223372036854775808n);
      assert.equal(r.f, 3.141592653589793);
      assert.equal(r.s, text);
      assert.deepEqual(new Uint8Array(r.b), blob);
      assert.equal(r.e.byteLength, 0);
      assert.deepEqual(new Uint8Array(r.ab), new Uint8Array([9, 8, 7]));
      assert.equal(r.n, null);
      assert.deepEqual([r.ti, r.tf, r.tb, r.te, r.tn], ["integer", "real", "blob", "blob", "null"]);
      const m = (await c.execute("SELECT 9223372036854775807 AS mx, 1.5 AS h, 1e300 AS g, -0.25 AS q, x'00ff' AS bx")).rows[0];
      assert.equal(m.mx, 9223372036854775807n);
      assert.equal(m.h, 1.5);
      assert.equal(m.g, 1e300);
      assert.equal(m.q, -0.25);
      assert.deepEqual(new Uint8Array(m.bx), new Uint8Array([0, 255]));
      // A float argument that happens to be whole stays a float on the wire and in SQLite.
      assert.equal((await c.execute({ sql: "SELECT typeof(?) AS t", args: [2.0] })).rows[0].t, "real");
    } finally {
      c.close();
    }
  }],
  ["batch write", async () => {
    const rs = await client.batch([
      "CREATE TABLE bw(x)",
      { sql: "INSERT INTO bw VALUES (?)", args: [1] },
      { sql: "INSERT INTO bw VALUES (?)", args: [2] },
      "SELECT count(*) AS n FROM bw",
    ], "write");
    assert.equal(rs.length, 4);
    assert.equal(rs[1].rowsAffected, 1);
    assert.equal(Number(rs[3].rows[0].n), 2);
  }],
  ["batch read", async () => {
    const rs = await client.batch(["SELECT count(*) AS n FROM bw", "SELECT sum(x) AS s FROM bw"], "read");
    assert.equal(Number(rs[0].rows[0].n), 2);
    assert.equal(Number(rs[1].rows[0].s), 3);
    // BEGIN TRANSACTION READONLY refuses writes, and nothing is left behind.
    await rejects(client.batch(["INSERT INTO bw VALUES (100)"], "read"));
    assert.equal(await count(client, "bw"), 2);
  }],
  ["batch deferred", async () => {
    const rs = await client.batch([{ sql: "INSERT INTO bw VALUES (?)", args: [3] }, "SELECT max(x) AS m FROM bw"], "deferred");
    assert.equal(Number(rs[1].rows[0].m), 3);
  }],
  ["a failing batch leaves no trace", async () => {
    const before = await count(client, "bw");
    await rejects(client.batch([
      { sql: "INSERT INTO bw VALUES (?)", args: [1000] },
      "INSERT INTO no_such_table VALUES (1)",
      { sql: "INSERT INTO bw VALUES (?)", args: [1001] },
    ], "write"), /SQLITE_ERROR|no such table/);
    assert.equal(await count(client, "bw"), before);
  }],
  ["interactive transaction committed", async () => {
    const tx = await client.transaction("write");
    await tx.execute("CREATE TABLE tx(x)");
    await tx.execute({ sql: "INSERT INTO tx VALUES (?)", args: ["a"] });
    const inside = await tx.execute("SELECT count(*) AS n FROM tx");
    assert.equal(Number(inside.rows[0].n), 1);
    await tx.batch(["INSERT INTO tx VALUES ('b')", "INSERT INTO tx VALUES ('c')"]);
    await tx.commit();
    assert.equal(await count(client, "tx"), 3);
  }],
  ["interactive transaction rolled back", async () => {
    const tx = await client.transaction("write");
    await tx.execute("INSERT INTO tx VALUES ('rolled back')");
    await tx.rollback();
    assert.equal(await count(client, "tx"), 3);
  }],
  ["read transaction refuses writes", async () => {
    const tx = await client.transaction("read");
    try {
      assert.equal(Number((await tx.execute("SELECT count(*) AS n FROM tx")).rows[0].n), 3);
      await rejects(tx.execute("INSERT INTO tx VALUES ('no')"));
    } finally {
      tx.close();
    }
    assert.equal(await count(client, "tx"), 3);
  }],
  ["executeMultiple", async () => {
    await client.executeMultiple(`
      CREATE TABLE m(a);
      INSERT INTO m VALUES (1);
      INSERT INTO m VALUES ('two');
      -- a comment
      INSERT INTO m VALUES (3);
    `);
    assert.equal(await count(client, "m"), 3);
  }],
  ["migrate", async () => {
    const rs = await client.migrate([
      "CREATE TABLE parent(id INTEGER PRIMARY KEY)",
      "CREATE TABLE child(id INTEGER PRIMARY KEY, p INTEGER REFERENCES parent(id))",
      "INSERT INTO parent VALUES (1)",
      "INSERT INTO child VALUES (1, 1)",
    ]);
    assert.ok(Array.isArray(rs));
    assert.equal(await count(client, "child"), 1);
  }],
  ["named arguments, with and without prefix", async () => {
    const r1 = (await client.execute({ sql: "SELECT :a AS a, @b AS b, $c AS c", args: { a: 1, b: "x", c: null } })).rows[0];
    assert.deepEqual([r1.a, r1.b, r1.c], [1, "x", null]);
    const r2 = (await client.execute({ sql: "SELECT :a AS a, @b AS b", args: { ":a": 2.5, "@b": "y" } })).rows[0];
    assert.deepEqual([r2.a, r2.b], [2.5, "y"]);
    const r3 = (await client.execute({ sql: "SELECT ?2 AS two, ?1 AS one", args: ["first", "second"] })).rows[0];
    assert.deepEqual([r3.one, r3.two], ["first", "second"]);
  }],
  ["constraint violation surfaces as SQLITE_CONSTRAINT", async () => {
    await client.execute("CREATE TABLE u(x UNIQUE NOT NULL)");
    await client.execute("INSERT INTO u VALUES (1)");
    const e = await rejects(client.execute("INSERT INTO u VALUES (1)"));
    console.log(`     (LibsqlError code=${e.code} rawCode=${e.rawCode} extendedCode=${e.extendedCode}: ${e.message})`);
    assert.match(e.code, /^SQLITE_CONSTRAINT/);
    const e2 = await rejects(client.execute("INSERT INTO u VALUES (NULL)"));
    assert.match(e2.code, /^SQLITE_CONSTRAINT/);
    const e3 = await rejects(client.execute("SELEC nonsense"));
    assert.ok(e3.code, "a parse error carries a code");
  }],
  ["8 clients at once, each inserting", async () => {
    await client.execute("CREATE TABLE conc(client INTEGER, i INTEGER)");
    const clients = Array.from({ length: 8 }, () => open());
    try {
      await Promise.all(clients.map(async (c, k) => {
        for (let i = 0; i < 25; i++) await c.execute({ sql: "INSERT INTO conc VALUES (?, ?)", args: [k, i] });
        await c.batch(Array.from({ length: 5 }, (_, i) => ({ sql: "INSERT INTO conc VALUES (?, ?)", args: [k, 100 + i] })), "write");
      }));
    } finally {
      for (const c of clients) c.close();
    }
    assert.equal(await count(client, "conc"), 8 * 30);
  }],
  ["4 clients running write transactions at once", async () => {
    await client.execute("CREATE TABLE conc_tx(client INTEGER, i INTEGER)");
    const clients = Array.from({ length: 4 }, () => open());
    try {
      await Promise.all(clients.map(async (c, k) => {
        for (let i = 0; i < 5; i++) {
          const tx = await c.transaction("write");
          await tx.execute({ sql: "INSERT INTO conc_tx VALUES (?, ?)", args: [k, i] });
          await tx.execute({ sql: "INSERT INTO conc_tx VALUES (?, ?)", args: [k, -i] });
          await tx.commit();
        }
      }));
    } finally {
      for (const c of clients) c.close();
    }
    assert.equal(await count(client, "conc_tx"), 4 * 5 * 2);
  }],
];

await runChecks(name, checks, async () => {
  client.close();
  const { code, signal } = await server.stop("SIGTERM");
  assert.equal(code, 0, `server exit on SIGTERM: ${code ?? signal}\n${server.stderr()}`);
});
