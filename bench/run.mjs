// `npm run bench` (full) and `npm run bench -- --quick` (under a minute).
// Starts two local dev servers on free ports — the baselines Worker (bench/baselines) and Parley
// (`npm run dev`) — drives them over real WebSockets from this process, stops them, prints a table
// and writes bench/results.json. See bench/README.md for what each scenario measures.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { cpus, loadavg, release, tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { buildRows, formatTable } from "./lib/report.mjs";
import { createParleyUsers, openBaselineRoom, openParleyRoom } from "./lib/rooms.mjs";
import { describeStep, offeredLoad, passes, roundTrip, saturation, waitIdle, warmUp } from "./lib/scenarios.mjs";
import { freePort, killAllServersNow, startServer, stopAllServers } from "./lib/servers.mjs";
import { now, round, sleep } from "./lib/stats.mjs";

const ROOT = dirname(dirname(fileURLToPath(import.meta.url)));
const RESULTS_FILE = join(ROOT, "bench", "results.json");
const GROUP_SIZE = 50;
const GROUP_SENDERS = 10;
const FIXED_RATE = 10;

const args = process.argv.slice(2);
const quick = args.includes("--quick");
const SETTINGS = quick
  ? { roundTrips: 50, warmup: 5, fixedSeconds: 4, steps: [50, 200, 400, 800], lowerSteps: [5, 2, 1], stepSeconds: 1, drainMs: 1_000, idleMaxMs: 2_000, retries: 0 }
  : { roundTrips: 200, warmup: 10, fixedSeconds: 10, steps: [20, 50, 100, 200, 300, 400, 600, 800, 1200, 1600], lowerSteps: [5, 2, 1], stepSeconds: 3, drainMs: 2_000, idleMaxMs: 10_000, retries: 1 };
// A stuck run must still end and free its servers.
const WATCHDOG_MS = quick ? 120_000 : 30 * 60_000;

const runStart = now();
const loadBefore = loadavg().map((x) => round(x, 2));
/** Log lines carry the elapsed time, so a slow phase is easy to spot. */
const log = (line) => {
  const lead = line.startsWith("\n") ? "\n" : "";
  console.log(`${lead}[${((now() - runStart) / 1000).toFixed(1).padStart(5)} s] ${line.trimStart()}`);
};
const runTag = Date.now().toString(36);

function machine() {
  const list = cpus();
  return { cpus: list.length, model: list[0]?.model ?? "unknown", node: process.version, platform: `${process.platform} ${release()} ${process.arch}` };
}

async function startBaselines(persistDir) {
  const [port, inspectorPort] = await Promise.all([freePort(), freePort()]);
  return startServer({
    name: "baselines",
    command: "wrangler",
    args: ["dev", "-c", "bench/baselines/wrangler.toml", "--port", String(port), "--ip", "127.0.0.1",
      "--inspector-port", String(inspectorPort), "--persist-to", persistDir],
    cwd: ROOT,
    port,
    isReady: async (baseUrl) => Boolean(await fetch(baseUrl, { signal: AbortSignal.timeout(1_000) })), // any answer
  });
}

async function startParley() {
  const [port, inspectorPort] = await Promise.all([freePort(), freePort()]);
  return startServer({
    name: "parley",
    command: "npm",
    // The inspector port is set too: wrangler's default (9229) may belong to another dev server.
    args: ["run", "dev", "--", "--port", String(port), "--inspector-port", String(inspectorPort)],
    cwd: ROOT,
    port,
    isReady: async (baseUrl) => {
      const res = await fetch(`${baseUrl}/health`, { signal: AbortSignal.timeout(1_000) });
      return res.ok && (await res.json()).status === "ok";
    },
  });
}

/** The three systems under test, each able to open a room of `size` sockets. */
function targets(baselines, parley, parleyUsers) {
  const baseline = (name, kind) => ({
    name,
    server: baselines,
    open: ({ size, senders, label }) =>
      openBaselineRoom({ baseUrl: baselines.baseUrl, kind, roomName: `${label}-${runTag}`, size, senders }),
  });
  return [
    baseline("BareRoom", "bare"),
    baseline("DurableRoom", "durable"),
    {
      name: "Parley",
      server: parley,
      open: ({ size, senders, type }) => {
        if (parleyUsers.error) throw new Error(parleyUsers.error);
        return openParleyRoom({ baseUrl: parley.baseUrl, users: parleyUsers.users.slice(0, size), type, senders });
      },
    },
  ];
}

const settle = (server) => waitIdle(server, { maxMs: SETTINGS.idleMaxMs });

/**
 * Runs `fn(room)` in a fresh room of `target`, then closes it and lets the server settle.
 * A baseline failure is a broken benchmark and aborts; a Parley failure (e.g. a request it does not
 * support yet) becomes `{error}` so its rows are reported as null with the reason.
 */
async function inRoom(target, roomSpec, fn) {
  await settle(target.server);
  let room;
  try {
    const opening = now();
    room = await target.open(roomSpec);
    if (roomSpec.size > 2) log(`${target.name}: ${roomSpec.size} sockets connected, conversation ready in ${round((now() - opening) / 1000, 1)} s`);
    return await fn(room);
  } catch (err) {
    if (target.name !== "Parley") throw err;
    const server = target.server;
    // wrangler dev restarts on edits to src/ or wrangler.toml; a dead or restarting server shows here.
    const state = server.exited ? ` (the dev server exited: ${JSON.stringify(server.exited)})` : "";
    log(`Parley: not measured — ${err.message}${state}`);
    if (err.name !== "ParleyRefused") log(`last lines of Parley's dev server:\n${server.logTail().split("\n").slice(-12).join("\n")}`);
    return { error: `${err.message}${state}` };
  } finally {
    room?.close();
    await sleep(300);
  }
}

async function runRoundTrips(all) {
  log(`\n(a) 1:1 round trip: ${SETTINGS.roundTrips} sequential messages after ${SETTINGS.warmup} warm-up`);
  const results = {};
  for (const target of all) {
    results[target.name] = await inRoom(target, { size: 2, senders: 1, type: "u", label: "rt" }, async (room) => {
      const result = await roundTrip(room, { count: SETTINGS.roundTrips, warmup: SETTINGS.warmup });
      log(`  ${target.name.padEnd(11)} p50 ${result.p50} ms, p99 ${result.p99} ms, max ${result.max} ms, lost ${result.lost}, refused ${result.rejected}`);
      return result;
    });
  }
  return results;
}

async function runFanout(all) {
  log(`\n(b) group fan-out: ${GROUP_SIZE} sockets, ${GROUP_SENDERS} senders; fixed ${FIXED_RATE} msg/s for ${SETTINGS.fixedSeconds} s, then (if that passes) steps ${SETTINGS.steps.join(", ")} msg/s × ${SETTINGS.stepSeconds} s`);
  const results = {};
  for (const target of all) {
    results[target.name] = await inRoom(target, { size: GROUP_SIZE, senders: GROUP_SENDERS, type: "g", label: "fanout" }, async (room) => {
      const warming = now();
      await warmUp(room);
      log(`${target.name}: warm-up (one message per sender) delivered in ${round((now() - warming) / 1000, 1)} s`);
      await settle(target.server);
      const fixed = await offeredLoad(room, target.server, { rate: FIXED_RATE, seconds: SETTINGS.fixedSeconds, drainMs: SETTINGS.drainMs });
      log(describeStep(target.name, { ...fixed, pass: passes(fixed) }));
      const sat = await saturation(room, target.server, {
        first: fixed, steps: SETTINGS.steps, lowerSteps: SETTINGS.lowerSteps, stepSeconds: SETTINGS.stepSeconds, drainMs: SETTINGS.drainMs, idleMaxMs: SETTINGS.idleMaxMs, retries: SETTINGS.retries, log,
      });
      return { fixed, saturation: sat };
    });
  }
  return results;
}

/** Creates the group's users once (PBKDF2 makes it the slowest setup step); 1:1 uses the first two. */
async function prepareParleyUsers(parley) {
  const started = now();
  try {
    const users = await createParleyUsers(parley.baseUrl, GROUP_SIZE);
    log(`Parley: created and logged in ${users.length} users in ${round((now() - started) / 1000, 1)} s`);
    return { users };
  } catch (err) {
    log(`Parley: user setup failed — ${err.message}`);
    return { error: `user setup failed: ${err.message}` };
  }
}

async function main() {
  const started = now();
  log(`Parley benchmark (${quick ? "quick" : "full"}) on ${cpus().length} × ${cpus()[0]?.model}, Node ${process.version}`);
  if (loadBefore[0] > 0.5) log(`warning: load average ${loadBefore[0]} before start — other work on this machine will skew the numbers`);
  // The baselines keep their SQLite in a throw-away directory; Parley uses its usual .wrangler/state.
  const persistDir = mkdtempSync(join(tmpdir(), "parley-bench-baselines-"));
  try {
    const [baselines, parley] = await Promise.all([startBaselines(persistDir), startParley()]);
    log(`servers ready in ${round((now() - started) / 1000, 1)} s: baselines ${baselines.baseUrl}, Parley ${parley.baseUrl}`);
    const parleyUsers = await prepareParleyUsers(parley);
    const all = targets(baselines, parley, parleyUsers);
    const roundTripResults = await runRoundTrips(all);
    const fanoutResults = await runFanout(all);
    return { roundTrip: roundTripResults, fanout: fanoutResults, seconds: round((now() - started) / 1000, 1) };
  } finally {
    await stopAllServers();
    rmSync(persistDir, { recursive: true, force: true });
  }
}

function report({ roundTrip, fanout, seconds }) {
  const rows = buildRows({ roundTrip, fanout, settings: SETTINGS });
  const results = {
    machine: machine(),
    date: new Date().toISOString(),
    command: `npm run bench${args.length ? ` -- ${args.join(" ")}` : ""}`,
    quick,
    seconds,
    // Other work on the machine (tests, other dev servers) skews the numbers: keep the evidence.
    load_average_1_5_15: { before: loadBefore, after: loadavg().map((x) => round(x, 2)) },
    settings: { ...SETTINGS, groupSize: GROUP_SIZE, groupSenders: GROUP_SENDERS, fixedRate: FIXED_RATE },
    rows,
    details: { roundTrip, fanout },
  };
  writeFileSync(RESULTS_FILE, JSON.stringify(results, null, 2) + "\n");
  console.log(`\n${formatTable(rows)}\n`);
  log(`finished in ${seconds} s; wrote ${RESULTS_FILE}`);
}

process.on("exit", killAllServersNow);
for (const signal of ["SIGINT", "SIGTERM"]) {
  process.on(signal, async () => {
    await stopAllServers();
    process.exit(130);
  });
}
setTimeout(() => {
  console.error(`benchmark still running after ${WATCHDOG_MS / 1000} s: giving up`);
  process.exit(1); // the exit handler kills the servers
}, WATCHDOG_MS).unref();

try {
  report(await main());
  process.exit(0);
} catch (err) {
  console.error(`\nbenchmark failed: ${err?.stack ?? err}`);
  process.exit(1);
}
