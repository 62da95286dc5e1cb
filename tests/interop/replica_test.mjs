// The official libsql engine (@libsql/client@0.18.0 with a file: URL and syncUrl, i.e. the native `libsql` module)
// as an embedded replica of `libsql serve`: GET /info answers 200, so the engine speaks the legacy Turso sync
// (GET /export, GET /sync) and sends its writes to /v3/pipeline. Arguments: "auth" runs everything with a JWT.
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { loadClient, makeKeys, runChecks, signJwt, startServer, tempDir } from "./lib.mjs";

const withAuth = process.argv.includes("auth");
const { createClient } = await loadClient();
const dir = tempDir("libsql-replica-");
const dbPath = path.join(dir, "primary.db");
const keys = withAuth ? makeKeys(dir) : null;
const authToken = withAuth ? signJwt(keys.privateKey) : undefined;
// A tiny threshold, so that the generation changes during the test.
const serverArgs = ["--checkpoint-frames", "12", ...(withAuth ? ["--auth-jwt-key-file", keys.keyFile] : [])];
let server = await startServer(dbPath, serverArgs);
let primary = createClient({ url: server.httpUrl, authToken });
const replicas = [];

function openReplica(name) {
  const r = createClient({ url: "file:" + path.join(dir, name), syncUrl: server.httpUrl, authToken });
  replicas.push(r);
  return r;
}

async function generation() {
  const res = await fetch(server.httpUrl + "/info", { headers: authToken ? { authorization: `Bearer ${authToken}` } : {} });
  assert.equal(res.status, 200);
  const body = await res.json();
  assert.ok(Number.isInteger(body.current_generation) && body.current_generation >= 1, JSON.stringify(body));
  return body.current_generation;
}

/** What a database holds: its tables and every row, as one string. */
async function snapshot(client) {
  const tables = (await client.execute("SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY name")).rows.map((r) => r.name);
  let out = tables.join(",");
  for (const t of tables) {
    const rows = (await client.execute(`SELECT * FROM "${t}" ORDER BY rowid`)).rows;
    out += `|${t}:` + rows.map((r) => JSON.stringify(Object.values(r))).join(";");
  }
  return out;
}

async function waitFor(what, predicate, ms = 10_000) {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    if (await predicate()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}`);
}

await primary.execute("CREATE TABLE kv(k INTEGER PRIMARY KEY, v TEXT)");
await primary.batch([1, 2, 3].map((k) => ({ sql: "INSERT INTO kv VALUES (?, ?)", args: [k, `primary-${k}`] })), "write");
const replica = openReplica("replica.db");

const checks = [
  ["bootstraps from /export and reads what the primary has", async () => {
    await replica.sync();
    const rows = (await replica.execute("SELECT k, v FROM kv ORDER BY k")).rows;
    assert.deepEqual(rows.map((r) => [r.k, r.v]), [[1, "primary-1"], [2, "primary-2"], [3, "primary-3"]]);
    // The legacy sync's metadata, not the gRPC replication's.
    assert.ok(fs.existsSync(path.join(dir, "replica.db-info")), "replica.db-info missing");
    assert.ok(!fs.existsSync(path.join(dir, "replica.db-client_wal_index")));
    const info = JSON.parse(fs.readFileSync(path.join(dir, "replica.db-info"), "utf8"));
    assert.equal(info.generation, await generation());
  }],
  ["picks up new rows and a new table on sync", async () => {
    await primary.execute({ sql: "INSERT INTO kv VALUES (?, ?)", args: [4, "primary-4"] });
    await primary.execute("CREATE TABLE notes(id INTEGER PRIMARY KEY, body TEXT)");
    await primary.execute({ sql: "INSERT INTO notes(body) VALUES (?)", args: ["hello"] });
    assert.equal((await replica.execute("SELECT count(*) AS n FROM kv")).rows[0].n, 3, "read locally before sync");
    await replica.sync();
    assert.equal((await replica.execute("SELECT v FROM kv WHERE k = 4")).rows[0].v, "primary-4");
    assert.equal((await replica.execute("SELECT body FROM notes")).rows[0].body, "hello");
    assert.equal(await snapshot(replica), await snapshot(primary));
  }],
  ["its writes reach the primary and come back", async () => {
    const r = await replica.execute({ sql: "INSERT INTO kv VALUES (?, ?)", args: [100, "from-replica"] });
    assert.equal(r.rowsAffected, 1);
    assert.equal((await primary.execute("SELECT v FROM kv WHERE k = 100")).rows[0]?.v, "from-replica");
    await replica.sync();
    assert.equal((await replica.execute("SELECT v FROM kv WHERE k = 100")).rows[0]?.v, "from-replica");
    await replica.batch([
      { sql: "INSERT INTO notes(body) VALUES (?)", args: ["batch-1"] },
      { sql: "INSERT INTO notes(body) VALUES (?)", args: ["batch-2"] },
    ], "write");
    await replica.sync();
    assert.equal((await replica.execute("SELECT count(*) AS n FROM notes")).rows[0].n, 3);
    assert.equal(await snapshot(replica), await snapshot(primary));
  }],
  ["follows a checkpoint (new generation) even when it was behind", async () => {
    const before = await generation();
    // Frames the replica has not pulled yet, then enough more to pass --checkpoint-frames.
    for (let i = 0; i < 20; i++) {
      await primary.execute({ sql: "INSERT INTO kv VALUES (?, ?)", args: [1000 + i, "x".repeat(3000)] });
    }
    await waitFor("a new generation", async () => (await generation()) > before);
    await primary.execute({ sql: "INSERT INTO kv VALUES (?, ?)", args: [2000, "after-checkpoint"] });
    await primary.execute("CREATE TABLE later(x)");
    const behind = JSON.parse(fs.readFileSync(path.join(dir, "replica.db-info"), "utf8"));
    assert.ok(behind.generation < await generation(), "the replica should still be in an older generation");
    await replica.sync();
    assert.equal((await replica.execute("SELECT v FROM kv WHERE k = 2000")).rows[0]?.v, "after-checkpoint");
    assert.equal(await snapshot(replica), await snapshot(primary));
    const info = JSON.parse(fs.readFileSync(path.join(dir, "replica.db-info"), "utf8"));
    assert.equal(info.generation, await generation());
    assert.equal((await replica.execute("PRAGMA integrity_check")).rows[0].integrity_check, "ok");
  }],
  ["a new replica bootstraps in a later generation", async () => {
    assert.ok((await generation()) >= 2);
    const fresh = openReplica("fresh.db");
    await fresh.sync();
    assert.equal(await snapshot(fresh), await snapshot(primary));
  }],
  ["survives a server restart (the generation moves on)", async () => {
    const before = await generation();
    await primary.execute({ sql: "INSERT INTO kv VALUES (?, ?)", args: [3000, "before-restart"] });
    primary.close();
    const stopped = await server.stop("SIGTERM");
    assert.equal(stopped.code, 0, server.stderr());
    server = await startServer(dbPath, serverArgs);
    primary = createClient({ url: server.httpUrl, authToken });
    assert.ok((await generation()) > before);
    await primary.execute({ sql: "INSERT INTO kv VALUES (?, ?)", args: [3001, "after-restart"] });
    // The same replica file, reopened against the restarted server.
    const again = openReplica("replica.db");
    await again.sync();
    assert.equal((await again.execute("SELECT v FROM kv WHERE k = 3000")).rows[0]?.v, "before-restart");
    assert.equal((await again.execute("SELECT v FROM kv WHERE k = 3001")).rows[0]?.v, "after-restart");
    assert.equal(await snapshot(again), await snapshot(primary));
  }],
];

if (withAuth) {
  checks.push(["without a valid token the replica cannot bootstrap (401)", async () => {
    const res = await fetch(server.httpUrl + "/info");
    assert.equal(res.status, 401);
    // The engine probes /info when the client is created and reports the 401 as "Unauthorized".
    await assert.rejects(async () => {
      const bad = createClient({ url: "file:" + path.join(dir, "denied.db"), syncUrl: server.httpUrl, authToken: "garbage" });
      try { await bad.sync(); } finally { bad.close(); }
    }, /Unauthorized/);
    assert.ok(!fs.existsSync(path.join(dir, "denied.db-info")));
  }]);
}

await runChecks(withAuth ? "replica_auth" : "replica", checks, async () => {
  for (const r of replicas) r.close();
  primary.close();
  await server.stop();
});
