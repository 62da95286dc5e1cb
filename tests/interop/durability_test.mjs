// Acknowledged writes survive SIGKILL: writers insert under load and record every id the server acknowledged; the
// server is killed with SIGKILL mid-load and restarted on the same file; every acknowledged id must be there, and
// PRAGMA integrity_check must say ok.
import assert from "node:assert/strict";
import path from "node:path";
import { loadClient, runChecks, startServer, tempDir } from "./lib.mjs";

const { createClient } = await loadClient();
const dir = tempDir();
const dbPath = path.join(dir, "durable.db");
let server = await startServer(dbPath);
const setup = createClient({ url: server.httpUrl });
await setup.execute("CREATE TABLE acked(id INTEGER PRIMARY KEY, writer INTEGER, payload TEXT)");
setup.close();

const acked = new Set();
let attempted = 0;
let failedAfterKill = 0;
let killed = false;

async function writer(k, transport) {
  const c = createClient({ url: transport === "ws" ? server.wsUrl : server.httpUrl });
  try {
    for (let i = 0; ; i++) {
      const base = (k * 1_000_000) + i * 10;
      attempted++;
      try {
        if (i % 4 === 3) {
          // A batch: all its ids are acknowledged together.
          const ids = [base, base + 1, base + 2];
          await c.batch(ids.map((id) => ({ sql: "INSERT INTO acked VALUES (?, ?, ?)", args: [id, k, "b".repeat(200)] })), "write");
          for (const id of ids) acked.add(id);
        } else {
          await c.execute({ sql: "INSERT INTO acked VALUES (?, ?, ?)", args: [base, k, "x".repeat(500)] });
          acked.add(base);
        }
      } catch (e) {
        if (!killed) throw e;
        failedAfterKill++;
        return;
      }
      if (killed) return;
    }
  } finally {
    c.close();
  }
}

const checks = [
  ["SIGKILL under write load loses no acknowledged write", async () => {
    const writers = Array.from({ length: 6 }, (_, k) => writer(k, k % 2 ? "ws" : "http"));
    // Let the load run, then kill the server while requests are in flight.
    await new Promise((r) => setTimeout(r, 1500));
    killed = true;
    server.proc.kill("SIGKILL");
    await server.exited;
    await Promise.all(writers);
    console.log(`     (${acked.size} ids acknowledged before SIGKILL, ${attempted} requests attempted, ${failedAfterKill} cut off)`);
    assert.ok(acked.size > 20, `too few writes to mean anything: ${acked.size}`);

    server = await startServer(dbPath);
    const c = createClient({ url: server.httpUrl });
    try {
      const rs = await c.execute("SELECT id FROM acked");
      const present = new Set(rs.rows.map((r) => Number(r.id)));
      const missing = [...acked].filter((id) => !present.has(id));
      assert.deepEqual(missing.slice(0, 20), [], `${missing.length} acknowledged ids missing after restart`);
      console.log(`     (${present.size} rows after restart; ${present.size - acked.size} unacknowledged writes also landed)`);
      const ic = await c.execute("PRAGMA integrity_check");
      assert.equal(ic.rows[0][0], "ok");
    } finally {
      c.close();
    }
  }],
];

await runChecks("durability", checks, async () => {
  const { code, signal } = await server.stop("SIGTERM");
  assert.equal(code, 0, `server exit on SIGTERM: ${code ?? signal}`);
});
