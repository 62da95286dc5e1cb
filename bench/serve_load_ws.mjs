// Server load over Hrana-over-WebSocket (wrk has no WebSocket): C sockets (subprotocol hrana3, JSON), each with one
// stream, each in a closed loop sending `execute SELECT 1` and waiting for its answer, for SECONDS. Prints one line
// per connection count in serve_load.sh's format: req/s, p50 and p99 latency, requests, errors.
// Usage: node bench/serve_load_ws.mjs ws://HOST:PORT SECONDS [C...]   (the `ws` package from build/npm)
import { createRequire } from "node:module";
import path from "node:path";
import { fileURLToPath } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(path.join(here, "..", "build", "npm", "package.json"));
const WebSocket = require("ws");

const [url, secondsArg, ...counts] = process.argv.slice(2);
if (!url) {
  console.error("usage: node serve_load_ws.mjs ws://HOST:PORT SECONDS [CONNECTIONS...]");
  process.exit(2);
}
const seconds = Number(secondsArg ?? 5);
const connections = counts.length ? counts.map(Number) : [1, 8, 64];

/// One socket: hello, open_stream, then execute requests one at a time until `until`.
function client(until, latencies, errors) {
  return new Promise((resolve) => {
    const ws = new WebSocket(url, ["hrana3"]);
    let nextId = 1;
    let sentAt = 0n;
    let done = 0;
    const send = (msg) => ws.send(JSON.stringify(msg));
    const execute = () => {
      sentAt = process.hrtime.bigint();
      send({ type: "request", request_id: nextId++, request: { type: "execute", stream_id: 1, stmt: { sql: "SELECT 1", want_rows: true } } });
    };
    ws.on("open", () => {
      send({ type: "hello", jwt: null });
      send({ type: "request", request_id: nextId++, request: { type: "open_stream", stream_id: 1 } });
    });
    ws.on("message", (data) => {
      const msg = JSON.parse(data.toString());
      if (msg.type === "hello_ok") return;
      if (msg.type !== "response_ok") errors.n++;
      if (msg.request_id === 1) {  // open_stream answered: start
        execute();
        return;
      }
      latencies.push(Number(process.hrtime.bigint() - sentAt) / 1e6);
      done++;
      if (Date.now() < until) execute();
      else ws.close();
    });
    ws.on("error", () => { errors.n++; });
    ws.on("close", () => resolve(done));
  });
}

for (const c of connections) {
  const latencies = [];
  const errors = { n: 0 };
  const start = Date.now();
  const until = start + seconds * 1000;
  const done = await Promise.all(Array.from({ length: c }, () => client(until, latencies, errors)));
  const elapsed = (Date.now() - start) / 1000;
  const total = done.reduce((a, b) => a + b, 0);
  latencies.sort((a, b) => a - b);
  const at = (q) => (latencies.length ? latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] : NaN);
  console.log(`RESULT req_s=${Math.round(total / elapsed)} p50_ms=${at(0.5).toFixed(3)} p99_ms=${at(0.99).toFixed(3)} ` +
              `requests=${total} errors=${errors.n} connections=${c}`);
}
