// The WebSocket front end, below @libsql/client: subprotocol choice, hello, text-only frames, size limit, v3 cursors.
import assert from "node:assert/strict";
import path from "node:path";
import { nodeModules, runChecks, startServer, tempDir } from "./lib.mjs";

const { default: WebSocket } = await import(path.join(nodeModules, "ws/index.js"));
const dir = tempDir();
const server = await startServer(path.join(dir, "ws.db"), ["--max-body-bytes", "65536"]);

/** Opens a socket offering protocols; resolves { ws, protocol, next() } or rejects with the HTTP status. */
function connect(protocols) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(server.wsUrl, protocols);
    const queue = [];
    const waiters = [];
    let closed = null;
    ws.on("message", (data, isBinary) => {
      const m = isBinary ? data : JSON.parse(String(data));
      if (waiters.length) waiters.shift().resolve(m); else queue.push(m);
    });
    ws.on("close", (code) => {
      closed = code;
      for (const w of waiters.splice(0)) w.reject(new Error(`closed ${code}`));
    });
    ws.on("unexpected-response", (_req, res) => reject(Object.assign(new Error(`HTTP ${res.statusCode}`), { status: res.statusCode })));
    ws.on("error", (e) => reject(e));
    ws.on("open", () => resolve({
      ws,
      protocol: ws.protocol,
      next: () => queue.length ? Promise.resolve(queue.shift())
        : closed !== null ? Promise.reject(new Error(`closed ${closed}`))
        : new Promise((res, rej) => waiters.push({ resolve: res, reject: rej })),
      closedCode: () => new Promise((res) => (closed !== null ? res(closed) : ws.once("close", (c) => res(c)))),
    }));
  });
}

const checks = [
  ["hrana3-protobuf is chosen over hrana3 and hrana2 (as sqld)", async () => {
    const c = await connect(["hrana2", "hrana3", "hrana3-protobuf", "hrana1"]);
    assert.equal(c.protocol, "hrana3-protobuf");
    c.ws.close();
  }],
  ["hrana3 is chosen over hrana2", async () => {
    const c = await connect(["hrana2", "hrana3", "hrana1"]);
    assert.equal(c.protocol, "hrana3");
    c.ws.close();
  }],
  ["hrana2 when that is the best offer", async () => {
    const c = await connect(["hrana2", "hrana1"]);
    assert.equal(c.protocol, "hrana2");
    c.ws.close();
  }],
  ["only unknown subprotocols offered: refused", async () => {
    await assert.rejects(connect(["hrana4", "graphql-ws"]), (e) => e.status === 400);
  }],
  ["hrana3-protobuf: a text frame closes the socket", async () => {
    const c = await connect(["hrana3-protobuf"]);
    c.ws.send(JSON.stringify({ type: "hello", jwt: null }));
    assert.equal(await c.closedCode(), 1008);
  }],
  ["hrana3-protobuf: garbage bytes close the socket", async () => {
    const c = await connect(["hrana3-protobuf"]);
    c.ws.send(Buffer.from([0xff, 0xff, 0xff, 0x0f, 0x12]));
    assert.equal(await c.closedCode(), 1008);
  }],
  ["hello, open a stream, execute, a v3 cursor, close", async () => {
    const c = await connect(["hrana3"]);
    const send = (m) => c.ws.send(JSON.stringify(m));
    send({ type: "hello", jwt: null });
    assert.equal((await c.next()).type, "hello_ok");
    send({ type: "request", request_id: 1, request: { type: "open_stream", stream_id: 7 } });
    assert.equal((await c.next()).type, "response_ok");
    send({ type: "request", request_id: 2, request: { type: "execute", stream_id: 7, stmt: { sql: "SELECT 40 + 2 AS x", want_rows: true } } });
    const r = await c.next();
    assert.equal(r.type, "response_ok");
    assert.equal(r.request_id, 2);
    assert.deepEqual(r.response.result.rows, [[{ type: "integer", value: "42" }]]);
    send({ type: "request", request_id: 3, request: { type: "open_cursor", stream_id: 7, cursor_id: 1, batch: { steps: [{ stmt: { sql: "SELECT 1 UNION ALL SELECT 2" } }] } } });
    assert.equal((await c.next()).type, "response_ok");
    send({ type: "request", request_id: 4, request: { type: "fetch_cursor", cursor_id: 1, max_count: 100 } });
    const f = await c.next();
    assert.equal(f.type, "response_ok");
    assert.ok(f.response.entries.some((e) => e.type === "row"));
    send({ type: "request", request_id: 5, request: { type: "close_stream", stream_id: 7 } });
    assert.equal((await c.next()).type, "response_ok");
    c.ws.close();
  }],
  ["a binary frame closes the socket", async () => {
    const c = await connect(["hrana2"]);
    c.ws.send(Buffer.from([1, 2, 3]));
    assert.equal(await c.closedCode(), 1008);
  }],
  ["a message over --max-body-bytes closes the socket", async () => {
    const c = await connect(["hrana2"]);
    c.ws.send(JSON.stringify({ type: "hello", jwt: "x".repeat(70000) }));
    assert.equal(await c.closedCode(), 1009);
  }],
  ["not JSON: the socket is closed", async () => {
    const c = await connect(["hrana2"]);
    c.ws.send("{{{ not json");
    const code = await c.closedCode();
    assert.ok(code >= 1000, `close code ${code}`);
  }],
  ["the server is still healthy", async () => {
    const res = await fetch(`${server.httpUrl}/health`);
    assert.equal(res.status, 200);
  }],
];

await runChecks("ws", checks, async () => {
  const { code, signal } = await server.stop("SIGTERM");
  assert.equal(code, 0, `server exit on SIGTERM: ${code ?? signal}\n${server.stderr()}`);
});
