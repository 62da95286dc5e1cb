// bench/remote_client.mjs: the @libsql/client@0.18.0 side of bench_remote (bench/bench_remote.cpp).
//
// Runs as a long-lived child of bench_remote, so that its JIT stays warm across repetitions. It reads one command
// per line on stdin and answers one line on stdout:
//
//   run URL WORKLOAD N START WARMUP KEYS  ->  ok WALL_NS CPU_US  (the measured section only)
//                                     or  err MESSAGE
//   quit
//
// WORKLOAD is one of
//   select  N × client.execute({sql: "SELECT v FROM kv WHERE id = ?", args: [id]}), id = 1 + (START + i) % KEYS
//   insert  N × client.execute({sql: "INSERT INTO ins(k, v) VALUES (?, ?)", args: [k, "value-k"]}), k from START
//   batch   N × client.batch([100 literal INSERT statements], "write"): one POST (store_sql ×100, batch, close)
//   txn     N × (tx = client.transaction("write"); 10 × tx.execute(INSERT ... args); tx.commit()), keys from START
// URL may be http:// or ws:// (createClient picks the transport from it).
// Integers are sent as BigInt, so that they travel as Hrana integers like the C++ clients' (a JS number would be
// sent as a float). Each run makes its own client (createClient) and closes it at the end; WARMUP operations run
// first, unmeasured. CPU is process.cpuUsage() (user + system of the whole node process) over the measured section.
//
// One-shot use (what bench_remote does against tursodb, where this client cannot work, protocols.md §6):
//   node bench/remote_client.mjs --npm-dir build/npm probe URL   ->  prints "ok" or "err MESSAGE", exits 0
import { createInterface } from "node:readline";
import { pathToFileURL } from "node:url";
import path from "node:path";

const args = process.argv.slice(2);
let npmDir = process.env.LIBSQL_NPM_DIR ?? "build/npm";
if (args[0] === "--npm-dir") {
    npmDir = args[1];
    args.splice(0, 2);
}
const { createClient } = await import(
    pathToFileURL(path.resolve(npmDir, "node_modules/@libsql/client/lib-esm/node.js")).href);

const selectSql = "SELECT v FROM kv WHERE id = ?";
const insertSql = "INSERT INTO ins(k, v) VALUES (?, ?)";
export const batchSize = 100;
export const txnSize = 10;

/// The same literal statements bench_remote's C++ clients send in one transactional batch.
function batchStatements(start) {
    const out = [];
    for (let i = 0; i < batchSize; ++i) {
        const k = start + i;
        out.push(`INSERT INTO ins(k, v) VALUES (${k}, 'value-${k}')`);
    }
    return out;
}

async function one(client, workload, i, start, keys) {
    switch (workload) {
    case "select": {
        const id = BigInt(1 + ((start + i) % keys));
        const rs = await client.execute({ sql: selectSql, args: [id] });
        if (rs.rows.length !== 1) throw new Error(`no row for id ${id}`);
        return;
    }
    case "insert": {
        const k = start + i;
        await client.execute({ sql: insertSql, args: [BigInt(k), `value-${k}`] });
        return;
    }
    case "batch":
        await client.batch(batchStatements(start + i * batchSize), "write");
        return;
    case "txn": {
        const tx = await client.transaction("write");
        try {
            for (let j = 0; j < txnSize; ++j) {
                const k = start + i * txnSize + j;
                await tx.execute({ sql: insertSql, args: [BigInt(k), `value-${k}`] });
            }
            await tx.commit();
        } finally {
            tx.close();
        }
        return;
    }
    default:
        throw new Error(`unknown workload ${workload}`);
    }
}

async function run(url, workload, n, start, warmup, keys) {
    const client = createClient({ url });
    try {
        // Warm-up first, on keys that do not collide with the measured ones (bench_remote reserves them).
        for (let i = 0; i < warmup; ++i) await one(client, workload, i, start, keys);
        const base = start + warmup * (workload === "batch" ? batchSize : workload === "txn" ? txnSize : 1);
        const cpu0 = process.cpuUsage();
        const t0 = process.hrtime.bigint();
        for (let i = 0; i < n; ++i) await one(client, workload, i, base, keys);
        const t1 = process.hrtime.bigint();
        const cpu = process.cpuUsage(cpu0);
        return `ok ${t1 - t0} ${cpu.user + cpu.system}`;
    } finally {
        client.close();
    }
}

/// The error on one line, led by its code unless the message already starts with it.
function oneLine(e) {
    const msg = String(e && e.message ? e.message : e).replace(/\s+/g, " ");
    return e && e.code && !msg.startsWith(e.code) ? `${e.code}: ${msg}` : msg;
}

if (args[0] === "probe") {
    const client = createClient({ url: args[1] });
    try {
        await client.execute("SELECT 1");
        console.log("ok");
    } catch (e) {
        console.log(`err ${oneLine(e)}`);
    } finally {
        client.close();
    }
    process.exit(0);
}

const rl = createInterface({ input: process.stdin, terminal: false });
for await (const line of rl) {
    const w = line.trim().split(/\s+/);
    if (w[0] === "quit" || w[0] === "") break;
    if (w[0] !== "run" || w.length < 7) {
        console.log(`err bad command: ${line}`);
        continue;
    }
    const [, url, workload, n, start, warmup, keys] = w;
    try {
        console.log(await run(url, workload, Number(n), Number(start), Number(warmup), Number(keys)));
    } catch (e) {
        console.log(`err ${oneLine(e)}`);
    }
}
process.exit(0);
