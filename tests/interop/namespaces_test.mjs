// Namespaces (--enable-namespaces, --admin-listen-addr): @libsql/client@0.18.0 targets a namespace by the URL's
// host, http://ns1.localhost:PORT and ws://ns1.localhost:PORT, as with sqld. This machine's resolver does not know
// *.localhost (RFC 6761 says it is the loopback; curl and browsers resolve it so themselves, Node does not), so this
// process maps *.localhost to localhost in dns.lookup, below the client: the client still sends
// Host: ns1.localhost:PORT, which is what chooses the namespace.
import assert from "node:assert/strict";
import dns from "node:dns";
import path from "node:path";
import { loadClient, makeKeys, runChecks, signJwt, startServer, tempDir } from "./lib.mjs";

const lookup = dns.lookup;
dns.lookup = (host, options, callback) => {
  if (typeof options === "function") { callback = options; options = {}; }
  return lookup.call(dns, /\.localhost$/i.test(host) ? "localhost" : host, options, callback);
};

const { createClient } = await loadClient();
const dir = tempDir("libsql-ns-");
const server = await startServer(path.join(dir, "srv"), [
  "--enable-namespaces", "--admin-listen-addr", "127.0.0.1:0",
]);
// The admin line follows the first one.
const adminPort = await (async () => {
  for (let i = 0; i < 100; i++) {
    const m = /admin listening on http:\/\/[^\s]+:(\d+)\n/.exec(server.stdout());
    if (m) return Number(m[1]);
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`no admin line in ${JSON.stringify(server.stdout())}`);
})();
const admin = (method, p) => fetch(`http://127.0.0.1:${adminPort}${p}`, {
  method, headers: { "content-type": "application/json" }, body: method === "POST" ? "{}" : undefined,
});
const url = (ns, scheme) => `${scheme}://${ns}.localhost:${server.port}`;

const clients = [];
const open = (u) => { const c = createClient({ url: u }); clients.push(c); return c; };

// A second server with JWT auth, for sqld's namespace-scoped tokens ("id" and "p" claims).
const keys = makeKeys(dir);
const authed = await startServer(path.join(dir, "srv-auth"), [
  "--enable-namespaces", "--admin-listen-addr", "127.0.0.1:0", "--auth-jwt-key-file", keys.keyFile,
]);
const authedAdmin = await (async () => {
  for (let i = 0; i < 100; i++) {
    const m = /admin listening on http:\/\/[^\s]+:(\d+)\n/.exec(authed.stdout());
    if (m) return Number(m[1]);
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error("no admin line");
})();
const authedUrl = (ns, scheme) => `${scheme}://${ns}.localhost:${authed.port}`;
const anyNs = signJwt(keys.privateKey, {});
const onlyA = signJwt(keys.privateKey, { id: "a" });
const scoped = signJwt(keys.privateKey, { p: { rw: { ns: ["a"] }, ro: { ns: ["b"] } } });
const openAs = (u, authToken) => { const c = createClient({ url: u, authToken }); clients.push(c); return c; };

await runChecks("namespaces", [
  ["JWTs scoped to namespaces: legacy tokens, \"id\" and \"p\" (sqld's claims)", async () => {
    for (const ns of ["a", "b"]) {
      const r = await fetch(`http://127.0.0.1:${authedAdmin}/v1/namespaces/${ns}/create`, { method: "POST", body: "{}" });
      assert.equal(r.status, 200);
    }
    for (const scheme of ["http", "ws"]) {
      // A token without scope claims: every namespace, as before namespaces.
      await openAs(authedUrl("b", scheme), anyNs).execute(`CREATE TABLE IF NOT EXISTS t_${scheme}(x)`);
      await openAs(authedUrl("b", scheme), anyNs).execute(`INSERT INTO t_${scheme} VALUES (1)`);
      // "id": that namespace only.
      await openAs(authedUrl("a", scheme), onlyA).execute("SELECT 1");
      await assert.rejects(openAs(authedUrl("b", scheme), onlyA).execute("SELECT 1"));
      // "p": rw on a, ro on b, nothing on default.
      await openAs(authedUrl("a", scheme), scoped).execute(`CREATE TABLE IF NOT EXISTS t_${scheme}(x)`);
      const rows = await openAs(authedUrl("b", scheme), scoped).execute(`SELECT count(*) AS n FROM t_${scheme}`);
      assert.equal(Number(rows.rows[0].n), 1);
      await assert.rejects(openAs(authedUrl("b", scheme), scoped).execute(`INSERT INTO t_${scheme} VALUES (2)`),
        (e) => /SQLITE_AUTH|read-only/i.test(`${e.code} ${e.message}`));
      await assert.rejects(openAs(authed.httpUrl, scoped).execute("SELECT 1"));
    }
  }],
  ["ATTACH of a namespace only where the token may read it", async () => {
    const rs = await openAs(authedUrl("a", "http"), scoped).batch(["ATTACH 'b' AS bb", "SELECT count(*) AS n FROM bb.t_http"], "write");
    assert.equal(Number(rs[1].rows[0].n), 1);
    await assert.rejects(openAs(authedUrl("a", "http"), onlyA).batch(["ATTACH 'b' AS bb", "SELECT 1"], "write"),
      (e) => { console.log(`     (${String(e.message).slice(0, 140)})`); return /may not read/.test(String(e.message)); });
  }],
  ["admin: create ns1 and ns2 (200), again (400 already exists), a bad name (400)", async () => {
    assert.equal((await admin("POST", "/v1/namespaces/ns1/create")).status, 200);
    assert.equal((await admin("POST", "/v1/namespaces/ns2/create")).status, 200);
    const again = await admin("POST", "/v1/namespaces/ns1/create");
    assert.equal(again.status, 400);
    assert.match((await again.json()).error, /already exists/);
    assert.equal((await admin("POST", "/v1/namespaces/..%2F..%2Fx/create")).status, 400);
  }],
  ["http://ns1.localhost and ws://ns2.localhost are separate databases", async () => {
    const one = open(url("ns1", "http"));
    const two = open(url("ns2", "ws"));
    await one.execute("CREATE TABLE t(x)");
    await one.batch([{ sql: "INSERT INTO t VALUES (?)", args: ["one"] }], "write");
    await two.execute("CREATE TABLE t(x)");
    const tx = await two.transaction("write");
    await tx.execute("INSERT INTO t VALUES ('two')");
    await tx.commit();
    assert.deepEqual((await one.execute("SELECT x FROM t")).rows.map((r) => r.x), ["one"]);
    assert.deepEqual((await two.execute("SELECT x FROM t")).rows.map((r) => r.x), ["two"]);
    // The same namespace over the other transport.
    assert.deepEqual((await open(url("ns1", "ws")).execute("SELECT x FROM t")).rows.map((r) => r.x), ["one"]);
    // 127.0.0.1 (no namespace label): the default namespace, which has no table t.
    const d = open(server.httpUrl);
    assert.equal(Number((await d.execute("SELECT count(*) AS n FROM sqlite_schema WHERE name = 't'")).rows[0].n), 0);
  }],
  ["an unknown namespace fails with HTTP 404", async () => {
    await assert.rejects(open(url("nope", "http")).execute("SELECT 1"), (e) => {
      console.log(`     (${String(e.message).slice(0, 140)})`);
      return /doesn't exist|404/.test(String(e.message));
    });
    await assert.rejects(open(url("nope", "ws")).execute("SELECT 1"));
  }],
  ["ATTACH of another namespace reads it", async () => {
    const c = open(url("ns2", "http"));
    const rs = await c.batch(["ATTACH DATABASE 'ns1' AS other", "SELECT x FROM other.t"], "write");
    assert.deepEqual(rs[1].rows.map((r) => r.x), ["one"]);
  }],
  ["delete ns1: later requests fail, ns2 is untouched", async () => {
    assert.equal((await admin("DELETE", "/v1/namespaces/ns1")).status, 200);
    await assert.rejects(open(url("ns1", "http")).execute("SELECT 1"));
    assert.deepEqual((await open(url("ns2", "http")).execute("SELECT x FROM t")).rows.map((r) => r.x), ["two"]);
    assert.equal((await admin("DELETE", "/v1/namespaces/ns1")).status, 404);
  }],
], async () => {
  for (const c of clients) c.close();
  const { code } = await server.stop();
  assert.equal(code, 0);
  assert.equal((await authed.stop()).code, 0);
});
