// What the local runtime charges per operation: `npm run bench:runtime`.
// Starts bench/probe (its own wrangler dev, state in a throw-away directory on the same disk as
// .wrangler) and times, from inside the runtime, a Durable Object call, a call that commits a
// SQLite write, a call to an object never used before, a SQLite statement inside one commit, and a
// WebSocket send. Each op runs three times; the median is reported. Twice: with wrangler's local
// observability off (as `npm run dev` runs) and on (wrangler's default), and once more with the state
// in memory, to show what the disk's fsync costs a commit. Writes bench/runtime.json.
// These are the unit costs behind the benchmark's ceilings (docs/performance.md does the arithmetic).
import WebSocket from "ws";
import { loadavg, tmpdir } from "node:os";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { freePort, killAllServersNow, machine, startServer, stopAllServers } from "./lib/servers.mjs";
import { round } from "./lib/stats.mjs";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const OPS = [
  { op: "call", n: 2000, what: "call to a warm object's no-op method, one after another" },
  { op: "call_50", n: 2000, what: "the same, 50 objects called at once (the thread's cost per call)" },
  { op: "call_write", n: 1000, what: "call whose method inserts one row (a commit per call)" },
  { op: "call_write_50", n: 2000, what: "the same, 50 objects at once: what commits cost the runtime's thread" },
  { op: "wake", n: 200, what: "first call to an object never used before (opens its SQLite)" },
  { op: "statement", n: 5000, what: "single-row INSERT inside one call (one commit for all)" },
];
const SENDS = 10_000;

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function probe(baseUrl, op, n) {
  const res = await fetch(`${baseUrl}/probe?op=${op}&n=${n}`);
  const body = await res.json();
  if (!res.ok) throw new Error(`${op}: ${body.error}`);
  return body.us_per_op;
}

/** µs per WebSocket send from the object, timed inside it ("sent n in ms"). */
async function socketSends(baseUrl) {
  const ws = new WebSocket(`${baseUrl.replace("http", "ws")}/socket`);
  await new Promise((resolve, reject) => {
    ws.once("open", resolve);
    ws.once("error", reject);
  });
  const once = () =>
    new Promise((resolve) => {
      const onMessage = (data) => {
        const text = String(data);
        if (!text.startsWith("sent ")) return;
        ws.off("message", onMessage);
        resolve((Number(text.split(" ")[3]) * 1000) / SENDS);
      };
      ws.on("message", onMessage);
      ws.send(`send ${SENDS}`);
    });
  const runs = [await once(), await once(), await once()];
  ws.close();
  return median(runs);
}

/**
 * The probe's unit costs with wrangler's local observability off (as `npm run dev` runs) or on
 * (wrangler's default), its state on the disk `.wrangler` lives on, or in memory (`/dev/shm`: what a
 * commit costs without the disk's fsync; only to explain the disk row, never how Parley runs).
 */
async function measure(setting, observability, stateDir) {
  const persistDir = mkdtempSync(join(stateDir, "parley-bench-probe-"));
  const [port, inspectorPort] = await Promise.all([freePort(), freePort()]);
  try {
    const server = await startServer({
      name: "probe",
      command: "wrangler",
      args: ["dev", "-c", "bench/probe/wrangler.toml", "--port", String(port), "--ip", "127.0.0.1", "--inspector-port", String(inspectorPort), "--persist-to", persistDir],
      cwd: ROOT,
      port,
      env: { X_LOCAL_OBSERVABILITY: String(observability) },
      isReady: async (baseUrl) => Boolean(await fetch(baseUrl, { signal: AbortSignal.timeout(1_000) })),
    });
    const rows = [];
    for (const { op, n, what } of OPS) {
      await probe(server.baseUrl, op, Math.min(n, 100)); // warm-up
      const runs = [];
      for (let i = 0; i < 3; i++) runs.push(await probe(server.baseUrl, op, n));
      rows.push({ op, what, n, us_per_op: median(runs), runs });
    }
    rows.push({ op: "socket_send", what: "WebSocket send of a 200-byte frame from an object", n: SENDS, us_per_op: round(await socketSends(server.baseUrl), 1) });
    const us = Object.fromEntries(rows.map((r) => [r.op, r.us_per_op]));
    const derived = {
      commit_us: us.call_write - us.call,
      commit_thread_us: us.call_write_50 - us.call_50,
      call_vs_socket_send: round(us.call / Math.max(us.socket_send, 0.1), 0),
    };
    console.log(`\nlocal runtime unit costs: ${setting} (median of 3 runs, µs per op)`);
    for (const r of rows) console.log(`${String(r.us_per_op).padStart(8)} µs  ${r.op.padEnd(14)} ${r.what}`);
    console.log(`${String(derived.commit_us).padStart(8)} µs  ${"commit".padEnd(14)} call_write − call: what one commit adds to a call's latency`);
    console.log(`${String(derived.commit_thread_us).padStart(8)} µs  ${"commit_thread".padEnd(14)} call_write_50 − call_50: what it adds to the runtime thread's busy time`);
    console.log(`one call costs about ${derived.call_vs_socket_send} socket sends`);
    return { setting, local_observability: observability, state_dir: stateDir, rows, derived };
  } finally {
    await stopAllServers();
    rmSync(persistDir, { recursive: true, force: true });
  }
}

async function main() {
  const settings = [
    await measure("as npm run dev runs: local observability off, state on disk", false, tmpdir()),
    await measure("wrangler's default: local observability on, state on disk", true, tmpdir()),
  ];
  if (existsSync("/dev/shm")) settings.push(await measure("local observability off, state in memory (/dev/shm): no fsync", false, "/dev/shm"));
  writeFileSync(
    join(ROOT, "bench/runtime.json"),
    `${JSON.stringify({ machine: machine(), date: new Date().toISOString(), command: "npm run bench:runtime", load_average_1_5_15: loadavg().map((x) => round(x, 2)), settings }, null, 2)}\n`,
  );
  console.log("\nwritten: bench/runtime.json");
}

process.on("SIGINT", () => {
  killAllServersNow();
  process.exit(130);
});
main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
