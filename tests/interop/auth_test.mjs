// JWT auth as sqld does it: with --auth-jwt-key-file every request needs a valid Ed25519-signed token; a token with
// the claim {"a":"ro"} can read but not write. Over http:// and ws://, through @libsql/client@0.18.0.
import assert from "node:assert/strict";
import crypto from "node:crypto";
import path from "node:path";
import { loadClient, makeKeys, runChecks, signJwt, startServer, tempDir } from "./lib.mjs";

const { createClient } = await loadClient();
const dir = tempDir();
const keys = makeKeys(dir);
const server = await startServer(path.join(dir, "auth.db"), ["--auth-jwt-key-file", keys.keyFile]);
const now = () => Math.floor(Date.now() / 1000);
const rw = signJwt(keys.privateKey, { exp: now() + 3600 });
const ro = signJwt(keys.privateKey, { exp: now() + 3600, a: "ro" });
const expired = signJwt(keys.privateKey, { exp: now() - 60 });
const otherKey = crypto.generateKeyPairSync("ed25519").privateKey;
const forged = signJwt(otherKey, { exp: now() + 3600 });

const clients = [];
const open = (url, authToken) => {
  const c = createClient({ url, authToken });
  clients.push(c);
  return c;
};
const rejects = async (promise) => {
  try {
    await promise;
  } catch (e) {
    return e;
  }
  assert.fail("expected a rejection");
};

const checks = [];
for (const [transport, url] of [["http", server.httpUrl], ["ws", server.wsUrl]]) {
  const table = `t_${transport}`;
  checks.push(
    [`${transport}: a valid token reads and writes`, async () => {
      const c = open(url, rw);
      await c.execute(`CREATE TABLE ${table}(x)`);
      await c.execute(`INSERT INTO ${table} VALUES (1)`);
      assert.equal(Number((await c.execute(`SELECT count(*) AS n FROM ${table}`)).rows[0].n), 1);
    }],
    [`${transport}: no token is rejected`, async () => {
      const e = await rejects(open(url, undefined).execute("SELECT 1"));
      console.log(`     (no token: code=${e.code}: ${e.message.slice(0, 120)})`);
    }],
    [`${transport}: a token signed by another key is rejected`, async () => {
      await rejects(open(url, forged).execute("SELECT 1"));
    }],
    [`${transport}: an expired token is rejected`, async () => {
      await rejects(open(url, expired).execute("SELECT 1"));
    }],
    [`${transport}: garbage is rejected`, async () => {
      await rejects(open(url, "not.a.jwt").execute("SELECT 1"));
    }],
    [`${transport}: a read-only token reads but cannot write`, async () => {
      const c = open(url, ro);
      assert.equal(Number((await c.execute(`SELECT count(*) AS n FROM ${table}`)).rows[0].n), 1);
      const e = await rejects(c.execute(`INSERT INTO ${table} VALUES (2)`));
      console.log(`     (read-only write: code=${e.code}: ${e.message.slice(0, 120)})`);
      await rejects(c.batch([`INSERT INTO ${table} VALUES (3)`], "write"));
      await rejects(c.execute(`DROP TABLE ${table}`));
      assert.equal(Number((await open(url, rw).execute(`SELECT count(*) AS n FROM ${table}`)).rows[0].n), 1);
    }],
  );
}

await runChecks("auth", checks, async () => {
  for (const c of clients) c.close();
  const { code, signal } = await server.stop("SIGTERM");
  assert.equal(code, 0, `server exit on SIGTERM: ${code ?? signal}\n${server.stderr()}`);
});
