// A CPU profile of the dev server under group fan-out: where the runtime thread's time goes.
//   npm run bench:profile [-- --rate 10 --seconds 6 --size 50 --rooms 1 --idle 0 --alloc --log]
// With --rooms N, N groups of --size members each get --rate msg/s (the SAMA test: --rooms 50 --size 4 --rate 0.8).
// Starts Parley's dev server with an inspector port, opens a group room, starts V8's sampling
// profiler through the inspector (Chrome DevTools Protocol over WebSocket), offers the load, and
// prints self time by function and by file. Not a benchmark: it explains the benchmark's numbers.
import WebSocket from "ws";
import { createParleyUsers, openParleyRoom } from "./lib/rooms.mjs";
import { offeredLoad, warmUp } from "./lib/scenarios.mjs";
import { freePort, killAllServersNow, startServer, stopAllServers } from "./lib/servers.mjs";
import { round } from "./lib/stats.mjs";
import { fileURLToPath } from "node:url";
import { writeFileSync } from "node:fs";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const arg = (name, fallback) => {
  const i = process.argv.indexOf(`--${name}`);
  return i === -1 ? fallback : Number(process.argv[i + 1]);
};
const RATE = arg("rate", 10);
const SECONDS = arg("seconds", 6);
const SIZE = arg("size", 50);
const ROOMS = arg("rooms", 1);
const SENDERS = Math.min(10, SIZE);
const ALLOC = process.argv.includes("--alloc");
/** --idle S: the rooms wait S seconds after the warm-up, so the runtime evicts their objects and the profile shows them starting again. */
const IDLE_S = arg("idle", 0);
/** --heap: a heap snapshot after the load, its bytes by constructor (what a major GC has to mark). */
const HEAP = process.argv.includes("--heap");

/** The worker's inspector target: wrangler proxies workerd's inspector on the given port. */
async function openInspector(port) {
  const targets = await (await fetch(`http://127.0.0.1:${port}/json`)).json();
  const target = targets.find((t) => t.webSocketDebuggerUrl) ?? targets[0];
  const ws = new WebSocket(target.webSocketDebuggerUrl);
  await new Promise((resolve, reject) => {
    ws.once("open", resolve);
    ws.once("error", reject);
  });
  let nextId = 0;
  const pending = new Map();
  const listeners = new Map();
  ws.on("message", (data) => {
    const msg = JSON.parse(String(data));
    if (msg.method !== undefined) listeners.get(msg.method)?.(msg.params);
    if (msg.id !== undefined && pending.has(msg.id)) {
      pending.get(msg.id)(msg);
      pending.delete(msg.id);
    }
  });
  const call = (method, params = {}) =>
    new Promise((resolve, reject) => {
      const id = ++nextId;
      pending.set(id, (msg) => (msg.error ? reject(new Error(`${method}: ${msg.error.message}`)) : resolve(msg.result)));
      ws.send(JSON.stringify({ id, method, params }));
    });
  return { call, on: (method, listener) => listeners.set(method, listener), close: () => ws.close() };
}

/** Self bytes and counts per node type and constructor name in a heap snapshot, largest first. */
async function heapByConstructor(inspector) {
  const chunks = [];
  inspector.on("HeapProfiler.addHeapSnapshotChunk", ({ chunk }) => chunks.push(chunk));
  await inspector.call("HeapProfiler.takeHeapSnapshot", { reportProgress: false });
  const snapshot = JSON.parse(chunks.join(""));
  const fields = snapshot.snapshot.meta.node_fields;
  const types = snapshot.snapshot.meta.node_types[0];
  const [typeAt, nameAt, sizeAt] = ["type", "name", "self_size"].map((f) => fields.indexOf(f));
  const by = new Map();
  for (let i = 0; i < snapshot.nodes.length; i += fields.length) {
    const type = types[snapshot.nodes[i + typeAt]];
    const name = type === "object" || type === "closure" ? snapshot.strings[snapshot.nodes[i + nameAt]] : `(${type})`;
    const key = `${type === "closure" ? "closure " : ""}${name}`;
    const entry = by.get(key) ?? [0, 0];
    entry[0] += snapshot.nodes[i + sizeAt];
    entry[1]++;
    by.set(key, entry);
  }
  return [...by].sort((a, b) => b[1][0] - a[1][0]);
}

/** Bytes allocated per function (self) in a sampling heap profile. */
function allocatedBy(profile) {
  const by = new Map();
  const walk = (node) => {
    const f = node.callFrame;
    const key = `${f.functionName || "(anonymous)"} ${f.url.replace(/^.*\/(src|node_modules)\//, "$1/")}:${f.lineNumber + 1}`;
    by.set(key, (by.get(key) ?? 0) + node.selfSize / 1024);
    for (const child of node.children ?? []) walk(child);
  };
  walk(profile.head);
  return [...by].sort((a, b) => b[1] - a[1]);
}

function totalAllocated(profile) {
  return allocatedBy(profile).reduce((sum, [, kb]) => sum + kb, 0);
}

/** Stretches of consecutive samples in the garbage collector (ms), longest first: a pause holds every packet up. */
function gcPauses(profile) {
  const gc = new Set(profile.nodes.filter((n) => n.callFrame.functionName === "(garbage collector)").map((n) => n.id));
  const pauses = [];
  let run = 0;
  for (let i = 0; i < profile.samples.length; i++) {
    if (gc.has(profile.samples[i])) run += profile.timeDeltas[i + 1] ?? 0;
    else if (run > 0) {
      pauses.push(run / 1000);
      run = 0;
    }
  }
  return pauses.sort((a, b) => b - a);
}

/** Self time per node, summed by key. */
function aggregate(profile, keyOf) {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const dt = new Map();
  for (let i = 0; i < profile.samples.length; i++) {
    const id = profile.samples[i];
    dt.set(id, (dt.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
  }
  const totals = new Map();
  for (const [id, us] of dt) {
    const key = keyOf(byId.get(id).callFrame);
    totals.set(key, (totals.get(key) ?? 0) + us);
  }
  return [...totals.entries()].sort((a, b) => b[1] - a[1]);
}

/** Rows of [key, amount] with each amount's share of `total`; amounts in µs are shown as ms. */
function print(title, rows, total, limit, unit = "ms") {
  console.log(`\n${title}`);
  const scale = unit === "ms" ? 1000 : 1;
  for (const [key, amount] of rows.slice(0, limit)) {
    console.log(`${String(round(amount / scale, 0)).padStart(7)} ${unit} ${String(round((amount / total) * 100, 1)).padStart(5)}%  ${key}`);
  }
}

async function main() {
  const [port, inspectorPort] = await Promise.all([freePort(), freePort()]);
  const server = await startServer({
    name: "parley",
    command: "npm",
    args: ["run", "dev", "--", "--port", String(port), "--inspector-port", String(inspectorPort)],
    cwd: ROOT,
    port,
    isReady: async (baseUrl) => (await fetch(`${baseUrl}/health`, { signal: AbortSignal.timeout(1_000) })).ok,
  });
  const users = await createParleyUsers(server.baseUrl, SIZE * ROOMS);
  const rooms = [];
  for (let r = 0; r < ROOMS; r++) rooms.push(await openParleyRoom({ baseUrl: server.baseUrl, users: users.slice(r * SIZE, (r + 1) * SIZE), type: "g", senders: SENDERS }));
  await Promise.all(rooms.map((room) => warmUp(room)));
  if (IDLE_S > 0) await new Promise((resolve) => setTimeout(resolve, IDLE_S * 1000));
  const inspector = await openInspector(inspectorPort);
  await inspector.call("Profiler.enable");
  await inspector.call("Profiler.setSamplingInterval", { interval: 200 });
  await inspector.call("Profiler.start");
  // --alloc: where the bytes that make the garbage collector run are allocated (sampled every 32 KB).
  if (ALLOC) await inspector.call("HeapProfiler.startSampling", { samplingInterval: 32768, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true });
  const steps = await Promise.all(rooms.map((room) => offeredLoad(room, server, { rate: RATE, seconds: SECONDS, drainMs: 5_000 })));
  const step = steps[0];
  const { profile } = await inspector.call("Profiler.stop");
  const heap = await inspector.call("Runtime.getHeapUsage");
  const allocations = ALLOC ? (await inspector.call("HeapProfiler.stopSampling")).profile : null;
  const retained = HEAP ? await heapByConstructor(inspector) : null;
  inspector.close();
  for (const room of rooms) room.close();
  writeFileSync(`${ROOT}/bench/profile.cpuprofile`, JSON.stringify(profile));
  const totalUs = profile.endTime - profile.startTime;
  const deliveries = steps.reduce((n, s) => n + s.delivered, 0);
  const expected = steps.reduce((n, s) => n + s.expected, 0);
  console.log(
    `${ROOMS} × ${RATE} msg/s × ${SECONDS} s to ${SIZE} members: delivered ${deliveries}/${expected}, first room's p50 ${step.p50} ms, p99 ${step.p99} ms, ` +
      `server CPU ${step.server_cpu_pct}%`,
  );
  const busyUs = aggregate(profile, (f) => f.functionName).filter(([k]) => k !== "(idle)").reduce((s, [, us]) => s + us, 0);
  console.log(`isolate busy ${round(busyUs / 1000, 0)} ms of ${round(totalUs / 1000, 0)} ms; ${round(busyUs / Math.max(1, deliveries), 0)} µs per delivery`);
  console.log(`JS heap ${round(heap.usedSize / 2 ** 20, 0)} MB used of ${round(heap.totalSize / 2 ** 20, 0)} MB; longest GC pauses ${gcPauses(profile).slice(0, 5).map((ms) => `${round(ms, 0)} ms`).join(", ")}`);
  const short = (url) => url.replace(/^.*\/(src|node_modules)\//, "$1/");
  print("self time by function", aggregate(profile, (f) => `${f.functionName || "(anonymous)"} ${short(f.url)}:${f.lineNumber + 1}`), totalUs, 40);
  print("self time by file", aggregate(profile, (f) => short(f.url) || "(native)"), totalUs, 15);
  if (allocations) print("allocated by function (sampled)", allocatedBy(allocations), totalAllocated(allocations), 30, "KB");
  if (retained) {
    const total = retained.reduce((sum, [, [bytes]]) => sum + bytes, 0);
    console.log(`\nheap snapshot after the load: ${round(total / 2 ** 20, 1)} MB, by constructor (self size)`);
    for (const [key, [bytes, n]] of retained.slice(0, 30)) console.log(`${String(round(bytes / 1024, 0)).padStart(8)} KB ${String(n).padStart(8)}×  ${key}`);
  }
  console.log("\nfull profile: bench/profile.cpuprofile (open in Chrome DevTools → Performance)");
  if (process.argv.includes("--log")) console.log(server.logTail());
}

process.on("SIGINT", () => {
  killAllServersNow();
  process.exit(130);
});
main()
  .catch((err) => {
    console.error(err);
    process.exitCode = 1;
  })
  .finally(() => stopAllServers());
