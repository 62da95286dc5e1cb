// Cases from the official clients' own jest suites (hrana-client-ts src/__tests__/client.ts, libsql-client-ts
// packages/libsql-client/src/__tests__/client.test.ts), run the way those suites run them, against `libsql serve`:
// each one failed before the fix named in its label (issue 12).
// Usage: node suite_cases_test.mjs http|ws [json|protobuf]
//   http json:     @libsql/hrana-client speaks Hrana 3 over /v3 (the suite's own patch of checkEndpoints)
//   http protobuf: @libsql/hrana-client speaks Hrana 3 over /v3-protobuf (what it probes by default)
//   ws json|protobuf: subprotocol hrana3 or hrana3-protobuf
import assert from "node:assert/strict";
import path from "node:path";
import { loadClient, nodeModules, runChecks, startServer, tempDir } from "./lib.mjs";

const transport = process.argv[2] ?? "http";
const encoding = process.argv[3] ?? "json";
const hranaDir = path.join(nodeModules, "@libsql/hrana-client/lib-esm");
const hrana = await import(path.join(hranaDir, "index.js"));
const { checkEndpoints } = await import(path.join(hranaDir, "http/client.js"));
const { subprotocolsV3 } = await import(path.join(hranaDir, "ws/client.js"));
const { createClient } = await loadClient();

if (transport === "http" && encoding === "json") {
  // As the hrana-client suite does: Hrana 3 over HTTP with JSON instead of protobuf.
  checkEndpoints.splice(0, checkEndpoints.length, {
    versionPath: "v3", pipelinePath: "v3/pipeline", cursorPath: "v3/cursor", version: 3, encoding: "json",
  });
}

// Over WebSocket hrana-client offers hrana3-protobuf first, and the server (as sqld) prefers it: for JSON, offer
// hrana3 and below only.
if (transport === "ws" && encoding === "json") subprotocolsV3.delete("hrana3-protobuf");

// What went over the wire, to check that the encoding under test was the one used: request paths (HTTP) and
// text/binary frames (WebSocket), recorded below hrana-client.
const seen = { paths: new Set(), text: 0, binary: 0 };
const realFetch = globalThis.fetch;
globalThis.fetch = (input, init) => {
  seen.paths.add(new URL(typeof input === "string" ? input : input.url).pathname);
  return realFetch(input, init);
};
const { default: WebSocket } = await import(path.join(nodeModules, "ws/index.js"));
const realSend = WebSocket.prototype.send;
WebSocket.prototype.send = function (data, ...rest) {
  if (typeof data === "string") seen.text++; else seen.binary++;
  return realSend.call(this, data, ...rest);
};

const dir = tempDir();
const server = await startServer(path.join(dir, "suite.db"));
const url = transport === "ws" ? server.wsUrl : server.httpUrl;
const name = `suite cases ${transport} ${encoding}`;

async function openHrana() {
  if (transport === "ws") return hrana.openWs(url, undefined, 3);
  return hrana.openHttp(url, undefined, undefined, undefined, 3);
}

async function withHrana(f) {
  seen.paths.clear();
  seen.text = 0;
  seen.binary = 0;
  const c = await openHrana();
  try {
    await c.getVersion();
    await f(c);
  } finally {
    c.close();
  }
  checkWire();
}

/** The encoding under test was the one hrana-client used. */
function checkWire() {
  if (transport === "http") {
    const want = encoding === "protobuf" ? "/v3-protobuf/pipeline" : "/v3/pipeline";
    assert.ok(seen.paths.has(want), `no request to ${want}: ${[...seen.paths].join(", ")}`);
    if (seen.paths.has("/v3/cursor") || seen.paths.has("/v3-protobuf/cursor"))
      assert.ok(seen.paths.has(encoding === "protobuf" ? "/v3-protobuf/cursor" : "/v3/cursor"));
    for (const other of ["/v2/pipeline", encoding === "protobuf" ? "/v3/pipeline" : "/v3-protobuf/pipeline"])
      assert.ok(!seen.paths.has(other), `unexpected request to ${other}`);
  } else if (encoding === "protobuf") {
    assert.ok(seen.binary > 0 && seen.text === 0, `text frames ${seen.text}, binary frames ${seen.binary}`);
  } else {
    assert.ok(seen.text > 0 && seen.binary === 0, `text frames ${seen.text}, binary frames ${seen.binary}`);
  }
}

const withClient = async (f) => {
  const c = createClient({ url });
  try {
    await f(c);
  } finally {
    c.close();
  }
};

const checks = [
  ["hrana-client speaks Hrana 3 with the expected encoding, a cursor too", () => withHrana(async (c) => {
    assert.equal(await c.getVersion(), 3);
    const s = c.openStream();
    assert.equal((await s.queryValue("SELECT 1")).value, 1);
    // A cursor (Hrana 3): the batch runs through v3[-protobuf]/cursor or open_cursor.
    const b = s.batch(true);
    const one = b.step().queryValue("SELECT 41 + 1");
    const rows = b.step().query("SELECT 'x' AS a UNION ALL SELECT 'y'");
    await b.execute();
    assert.equal((await one).value, 42);
    assert.deepEqual((await rows).rows.map((r) => r.a), ["x", "y"]);
    s.close();
    if (transport === "http") assert.ok(seen.paths.has(encoding === "protobuf" ? "/v3-protobuf/cursor" : "/v3/cursor"));
  })],

  // (a) stale schema on pooled connections. The suite's earlier tests leave a one-column t that many streams read
  // (each on its own server connection); then "concurrent operations are correctly ordered" drops and recreates t
  // with two columns on one stream and inserts two values on ten new streams. Before the fix, the new streams' pooled
  // connections still had the old schema: "table t has 1 columns but 2 values were supplied".
  ["(a) concurrent operations are correctly ordered, after another stream's DROP/CREATE", () => withHrana(async (c) => {
    {
      const s = c.openStream();
      await s.run("DROP TABLE IF EXISTS t");
      await s.run("CREATE TABLE t (number)");
      await s.run("INSERT INTO t VALUES (1)");
      s.close();
      await Promise.all(Array.from({ length: 12 }, async () => {
        const x = c.openStream();
        assert.equal((await x.queryValue("SELECT SUM(number) FROM t")).value, 1);
        x.close();
      }));
    }
    // The suite's test, unchanged in substance.
    const s = c.openStream();
    await s.run("DROP TABLE IF EXISTS t");
    await s.run("CREATE TABLE t (stream, value)");
    async function stream(streamId) {
      const x = c.openStream();
      let value = "s" + streamId;
      await x.run(["INSERT INTO t VALUES (?, ?)", [streamId, value]]);
      const promises = [];
      const expected = [];
      for (let i = 0; i < 10; ++i) {
        promises.push(x.queryValue(["UPDATE t SET value = value || ? WHERE stream = ? RETURNING value", ["_" + i, streamId]]));
        value = value + "_" + i;
        expected.push(value);
      }
      for (let i = 0; i < promises.length; ++i) assert.equal((await promises[i]).value, expected[i]);
      x.close();
    }
    await Promise.all(Array.from({ length: 10 }, (_, i) => stream(i)));
    s.close();
  })],
  ["(a) a new stream sees another stream's new columns in SELECT * and describe", () => withHrana(async (c) => {
    const s = c.openStream();
    await s.run("DROP TABLE IF EXISTS w");
    await s.run("CREATE TABLE w (a)");
    await Promise.all(Array.from({ length: 8 }, async () => {
      const x = c.openStream();
      await x.query("SELECT * FROM w");
      x.close();
    }));
    await s.run("ALTER TABLE w ADD COLUMN b");
    await s.run("INSERT INTO w VALUES (1, 2)");
    const results = await Promise.all(Array.from({ length: 8 }, async () => {
      const x = c.openStream();
      const rows = await x.query("SELECT * FROM w");
      const d = await x.describe("SELECT * FROM w");
      x.close();
      return [rows.columnNames, d.columns.map((col) => col.name)];
    }));
    for (const [cols, described] of results) {
      assert.deepEqual(cols, ["a", "b"]);
      assert.deepEqual(described, ["a", "b"]);
    }
    s.close();
  })],
  ["(a) @libsql/client: clients of the suite's shape after DROP/CREATE on another client", async () => {
    const clients = Array.from({ length: 8 }, () => createClient({ url }));
    try {
      await clients[0].batch(["DROP TABLE IF EXISTS u", "CREATE TABLE u (a)", "INSERT INTO u VALUES (1)"], "write");
      await Promise.all(clients.map((c) => c.execute("SELECT * FROM u")));
      await clients[0].batch(["DROP TABLE IF EXISTS u", "CREATE TABLE u (a, b)"], "write");
      await Promise.all(clients.map((c, i) => c.execute({ sql: "INSERT INTO u VALUES (?, ?)", args: [i, i] })));
      assert.equal(Number((await clients[0].execute("SELECT count(*) FROM u")).rows[0][0]), clients.length);
    } finally {
      for (const c of clients) c.close();
    }
  }],

  // (b) last_insert_rowid: only what the statement itself produced (as sqld: INSERTs report it, others do not).
  ["(b) lastInsertRowid with INSERT, and none on a SELECT of a new stream", () => withClient(async (c) => {
    await c.batch(["DROP TABLE IF EXISTS r", "CREATE TABLE r (a)", "INSERT INTO r VALUES ('one'), ('two')"], "write");
    const ins = await c.execute("INSERT INTO r VALUES ('three')");
    assert.equal(ins.lastInsertRowid, 3n);
    const sel = await c.execute({ sql: "SELECT a FROM r WHERE ROWID = ?", args: [ins.lastInsertRowid] });
    assert.deepEqual(Array.from(sel.rows[0]), ["three"]);
    // libsql-client-ts "ResultSet.toJSON() simple result set": null (or "0"), never another stream's rowid.
    const json = (await c.execute("SELECT 1 AS a")).toJSON();
    assert.equal(json.lastInsertRowid, null);
    assert.equal(JSON.stringify((await c.execute("SELECT 1 AS a")).toJSON()),
      '{"columns":["a"],"columnTypes":[""],"rows":[[1]],"rowsAffected":0,"lastInsertRowid":null}');
    assert.equal((await c.execute("UPDATE r SET a = a")).lastInsertRowid, undefined);
  })],
  ["(b) an INSERT that inserts nothing does not report another stream's rowid", () => withHrana(async (c) => {
    const s = c.openStream();
    await s.run("DROP TABLE IF EXISTS q");
    await s.run("CREATE TABLE q (id INTEGER PRIMARY KEY, v UNIQUE)");
    assert.equal((await s.run("INSERT INTO q VALUES (777, 'x')")).lastInsertRowid, 777n);
    s.close();
    // New streams, likely on the connection that ran the INSERT above.
    for (let i = 0; i < 4; ++i) {
      const x = c.openStream();
      const sel = await x.run("SELECT 1");
      assert.equal(sel.lastInsertRowid, undefined);
      const ignored = await x.run("INSERT OR IGNORE INTO q VALUES (777, 'x')");
      assert.equal(ignored.affectedRowCount, 0);
      assert.notEqual(ignored.lastInsertRowid, 777n);
      x.close();
    }
  })],

  // (c) stored SQL: sqld keeps up to 150 texts per WebSocket session and 50 per HTTP stream. @libsql/client caches
  // up to 100 texts over WebSocket, so before the fix the 51st distinct statement failed (SQL_STORE_TOO_MANY).
  ["(c) @libsql/client: 130 distinct statements, then a batch of 1000 different ones", () => withClient(async (c) => {
    for (let i = 0; i < 130; ++i) {
      assert.equal(Number((await c.execute(`SELECT ${i} AS n`)).rows[0].n), i);
    }
    const stmts = Array.from({ length: 1000 }, (_, i) => `SELECT ${i}`);
    const rss = await c.batch(stmts, "read");
    for (let i = 0; i < stmts.length; ++i) assert.equal(Number(rss[i].rows[0][0]), i);
  })],
  ["(c) hrana-client: the stored SQL limit per session (ws: 150) or per stream (http: 50)", () => withHrana(async (c) => {
    const limit = transport === "ws" ? 150 : 50;
    const owner = transport === "ws" ? c : c.openStream();
    const stream = transport === "ws" ? c.openStream() : owner;
    const sqls = [];
    for (let i = 0; i < limit; ++i) sqls.push(owner.storeSql(`SELECT ${i}`));
    assert.equal((await stream.queryValue(sqls[limit - 1])).value, limit - 1);
    const extra = owner.storeSql("SELECT 'one too many'");
    await assert.rejects(stream.queryValue(extra), (e) => {
      // The store_sql itself fails; hrana-client then reports the statement that used it (SQL_NOT_FOUND).
      assert.match(String(e.code ?? "") + " " + e.message, /SQL_STORE_TOO_MANY|cannot store more|SQL_NOT_FOUND/);
      return true;
    });
  })],
];

await runChecks(name, checks, () => server.stop());
