// `npm run bench` (full) and `npm run bench -- --quick` (under a minute).
// Starts two local dev servers on free ports — the baselines Worker (bench/baselines) and Parley
// (`npm run dev`) — drives them over real WebSockets from this process, stops them, prints a table
// and writes bench/results.json. See bench/README.md for what each scenario measures.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { catchUpRows, runCatchUp } from "./lib/catchup.mjs";
import { channelRows, runChannel } from "./lib/channel.mjs";
import { idleRows, runIdle } from "./lib/idle.mjs";
import { buildRows, formatTable } from "./lib/report.mjs";
import { openBaselineRoom, openParleyRoom } from "./lib/rooms.mjs";
import { runSamaLoad, samaLoadRows } from "./lib/sama-load.mjs";
import { AT_REST, costRows, describeCosts, measureCosts } from "./lib/costs.mjs";
import { describeStep, offeredLoad, passes, roundTrip, saturation, waitIdle, warmUp } from "./lib/scenarios.mjs";
import { freePort, killAllServersNow, machine, startServer, stopAllServers, stopServer } from "./lib/servers.mjs";
import { now, round, sleep } from "./lib/stats.mjs";
import { UserPool } from "./lib/users.mjs";

const ROOT = dirname(dirname(fileURLToPath(import.meta.url)));
const USERS_FILE = join(ROOT, ".wrangler", "bench-users.json");
const FIXED_RATE = 10;

const args = process.argv.slice(2);
const quick = args.includes("--quick");
// Scenarios in the order they run; idle capacity goes last, as it pushes the dev server to its limits.
const SCENARIOS = ["roundtrip", "fanout", "catchup", "sama", "channel", "idle"];
const onlyArg = args.includes("--only") ? args[args.indexOf("--only") + 1] : null;
const only = onlyArg ? onlyArg.split(",") : SCENARIOS;
const unknown = only.filter((name) => !SCENARIOS.includes(name));
if (unknown.length > 0 || (onlyArg !== null && only.length === 0)) {
  console.error(`--only takes a comma-separated list of: ${SCENARIOS.join(", ")} (got ${onlyArg})`);
  process.exit(2);
}
// --targets Parley,RelayRoom,…: only these systems (the others' rows come out empty). Comparing
// designs needs their floors in one run, and the whole set of baselines takes a long time.
const targetsArg = args.includes("--targets") ? args[args.indexOf("--targets") + 1].split(",") : null;
const wanted = (name) => targetsArg === null || targetsArg.includes(name);
// A partial run must not overwrite the full results: it writes bench/results.local.json (gitignored).
const RESULTS_FILE = join(ROOT, "bench", onlyArg || targetsArg ? "results.local.json" : "results.json");
const FULL_CHANNEL_SESSIONS = 2_000;
// idleWindowMs: the CPU window in which a server must be nearly idle before a measurement starts.
// closeWaitMs: the pause after closing sockets, so their closes land before the next measurement.
const SETTINGS = quick
  ? {
      // Every scenario once, at small sizes: the whole run, server start included, stays under a
      // minute on 2 cores. Most of the time goes to setup (connecting users, opening objects) and to
      // settling between measurements, so both are cut here as well as the sizes.
      quick, roundTrips: 20, warmup: 3, restMessages: 5, groupSize: 25, groupSenders: 5, fixedSeconds: 1, steps: [50], lowerSteps: [5], stepSeconds: 1, drainMs: 1_000,
      idleMaxMs: 1_000, idleWindowMs: 150, closeWaitMs: 100, retries: 0,
      samaSeconds: 1.5, samaSteps: [40], samaReport: [40], samaDrainMs: 1_000,
      channelLive: 100, channelLiveUsers: 10, channelSessions: 20, channelPosts: 2, channelTimeoutMs: 5_000,
      idleSteps: [100], idleMembers: 50, idleUsers: 10, idleMessageTimeoutMs: 3_000,
      catchupMessages: 100,
    }
  : {
      quick, roundTrips: 200, warmup: 10, restMessages: 20, groupSize: 50, groupSenders: 10, fixedSeconds: 10, steps: [20, 50, 100, 200, 300, 400, 600, 800, 1200, 1600], lowerSteps: [5, 2, 1], stepSeconds: 3, drainMs: 2_000,
      idleMaxMs: 10_000, idleWindowMs: 300, closeWaitMs: 1_000, retries: 1,
      samaSteps: [100, 200, 300, 500, 1000, 1500, 2000, 3000, 4000], samaReport: [300, 1000], samaSeconds: 15, samaDrainMs: 5_000,
      channelLive: 4_000, channelLiveUsers: 100, channelSessions: FULL_CHANNEL_SESSIONS, channelPosts: 5, channelTimeoutMs: 30_000,
      idleSteps: [1000, 2000, 3000, 4000, 4500, 5000, 5500, 6000, 7000, 8000], idleMembers: 100, idleUsers: 40, idleMessageTimeoutMs: 30_000,
      catchupMessages: 1_000,
    };
SETTINGS.fullChannelSessions = FULL_CHANNEL_SESSIONS;
// --sama-users 300: SAMA's test at that many users only (its costs phase, without stepping up to the ceiling).
if (args.includes("--sama-users")) {
  const users = Number(args[args.indexOf("--sama-users") + 1]);
  if (!Number.isInteger(users) || users <= 0 || users % 4 !== 0) {
    console.error("--sama-users takes a positive multiple of 4 (groups of 4)");
    process.exit(2);
  }
  SETTINGS.samaSteps = [users];
  SETTINGS.samaReport = [users];
}
// A stuck run must still end and free its servers.
const WATCHDOG_MS = quick ? 600_000 : 90 * 60_000;

const runStart = now();
const loadBefore = loadavg().map((x) => round(x, 2));
/** Log lines carry the elapsed time, so a slow phase is easy to spot. */
const log = (line) => {
  const lead = line.startsWith("\n") ? "\n" : "";
  console.log(`${lead}[${((now() - runStart) / 1000).toFixed(1).padStart(5)} s] ${line.trimStart()}`);
};
const runTag = Date.now().toString(36);

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

/** The systems under test (seven baselines and Parley), each able to open a room of `size` sockets. */
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
    baseline("RelayRoom", "relay"),
    baseline("LogRelayRoom", "logrelay"),
    baseline("InboxRelayRoom", "inboxrelay"),
    baseline("DirectRoom", "direct"),
    baseline("GatewayRoom", "gateway"),
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

const settle = (server) => waitIdle(server, { maxMs: SETTINGS.idleMaxMs, windowMs: SETTINGS.idleWindowMs });

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
    await sleep(Math.min(300, SETTINGS.closeWaitMs));
  }
}

async function runRoundTrips(all) {
  log(`\n(a) 1:1 round trip: ${SETTINGS.roundTrips} sequential messages after ${SETTINGS.warmup} warm-up`);
  const results = {};
  for (const target of all) {
    results[target.name] = await inRoom(target, { size: 2, senders: 1, type: "u", label: "rt" }, async (room) => {
      let result;
      const traffic = async () => {
        result = await roundTrip(room, { count: SETTINGS.roundTrips, warmup: SETTINGS.warmup });
        return SETTINGS.roundTrips + SETTINGS.warmup;
      };
      if (target.name === "Parley") {
        const costs = await measureCosts(target.server.baseUrl, traffic, SETTINGS);
        log(describeCosts("Parley 1:1, one message in flight", costs));
        result.costs = costs;
      } else {
        await traffic();
      }
      log(`  ${target.name.padEnd(11)} p50 ${result.p50} ms, p99 ${result.p99} ms, max ${result.max} ms, lost ${result.lost}, refused ${result.rejected}`);
      if (result.lost > 0) log(`last lines of ${target.name}'s server:\n${target.server.logTail().split("\n").slice(-15).join("\n")}`);
      return result;
    });
  }
  return results;
}

async function runFanout(all) {
  log(`\n(b) group fan-out: ${SETTINGS.groupSize} sockets, ${SETTINGS.groupSenders} senders; fixed ${FIXED_RATE} msg/s for ${SETTINGS.fixedSeconds} s, then (if that passes) steps ${SETTINGS.steps.join(", ")} msg/s × ${SETTINGS.stepSeconds} s`);
  const results = {};
  for (const target of all) {
    results[target.name] = await inRoom(target, { size: SETTINGS.groupSize, senders: SETTINGS.groupSenders, type: "g", label: "fanout" }, async (room) => {
      const warming = now();
      await warmUp(room);
      log(`${target.name}: warm-up (one message per sender) delivered in ${round((now() - warming) / 1000, 1)} s`);
      await settle(target.server);
      const parley = target.name === "Parley";
      // Parley's costs at rest: one message in flight, every delivery awaited.
      const atRest = parley ? await measureCosts(target.server.baseUrl, async () => (await roundTrip(room, { count: SETTINGS.restMessages, warmup: 0 })).messages, SETTINGS, { settleFirst: true }) : null;
      if (atRest) log(describeCosts(`Parley group of ${SETTINGS.groupSize} at rest`, atRest));
      let fixed;
      const fixedTraffic = async () => {
        fixed = await offeredLoad(room, target.server, { rate: FIXED_RATE, seconds: SETTINGS.fixedSeconds, drainMs: SETTINGS.drainMs });
        return fixed.sent;
      };
      const atFixed = parley ? await measureCosts(target.server.baseUrl, fixedTraffic, SETTINGS) : (await fixedTraffic(), null);
      if (atFixed) log(describeCosts(`Parley group of ${SETTINGS.groupSize} at ${FIXED_RATE} msg/s`, atFixed));
      log(describeStep(target.name, { ...fixed, pass: passes(fixed) }));
      const sat = await saturation(room, target.server, {
        first: fixed, steps: SETTINGS.steps, lowerSteps: SETTINGS.lowerSteps, stepSeconds: SETTINGS.stepSeconds, drainMs: SETTINGS.drainMs, idleMaxMs: SETTINGS.idleMaxMs, idleWindowMs: SETTINGS.idleWindowMs, retries: SETTINGS.retries, log,
      });
      // And at the highest rate it held (coalescing: fewer calls per message under load).
      let atBest = null;
      if (parley && sat.best) {
        await settle(target.server);
        atBest = await measureCosts(target.server.baseUrl, async () => (await offeredLoad(room, target.server, { rate: sat.best.rate, seconds: SETTINGS.stepSeconds, drainMs: SETTINGS.drainMs })).sent, SETTINGS);
        log(describeCosts(`Parley group of ${SETTINGS.groupSize} at ${sat.best.rate} msg/s`, atBest));
      }
      return { fixed, saturation: sat, ...(parley ? { costs: { at_rest: atRest, fixed: atFixed, best: atBest } } : {}) };
    });
  }
  return results;
}

/** The group's users, from the pool kept between runs (PBKDF2 makes creating them the slowest setup step); 1:1 uses the first two. */
async function prepareParleyUsers(pool) {
  try {
    return { users: await pool.take(SETTINGS.groupSize) };
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
    const pool = new UserPool({ baseUrl: parley.baseUrl, file: USERS_FILE, log });
    const parleyUsers = await prepareParleyUsers(pool);
    const all = targets(baselines, parley, parleyUsers).filter((t) => wanted(t.name));
    const context = { baselines, parley, pool, settings: SETTINGS, runTag, log, wanted };
    const results = {};
    const run = async (name, fn) => {
      if (!only.includes(name)) return;
      const begun = now();
      results[name] = await fn();
      log(`${name}: ${round((now() - begun) / 1000, 1)} s`);
    };
    await run("roundtrip", () => runRoundTrips(all));
    await run("fanout", () => runFanout(all));
    await run("catchup", () => runCatchUp(context));
    await run("sama", () => runSamaLoad(context));
    await run("channel", () => runChannel(context));
    // Idle capacity counts open files and memory per socket: objects the earlier scenarios left
    // resident (thousands of Sessions and Inboxes, ~3 open files each) would be counted too, and a
    // server that grew to gigabytes earlier reuses that memory for new sockets (BareRoom measured
    // 11–24 KB per socket that way), so both servers are restarted first (their state, and so the
    // user pool's tokens, stay). Not in quick mode: its 100 sockets are a smoke check, and the
    // restarts would take a quarter of its minute.
    if (only.includes("idle") && Object.keys(results).length > 0 && !quick) {
      await Promise.all([stopServer(context.parley), stopServer(context.baselines)]);
      [context.parley, context.baselines] = await Promise.all([startParley(), startBaselines(persistDir)]);
      pool.baseUrl = context.parley.baseUrl;
      log(`servers restarted for the idle scenario: Parley ${context.parley.baseUrl}, baselines ${context.baselines.baseUrl}`);
    }
    await run("idle", () => runIdle(context));
    return { results, seconds: round((now() - started) / 1000, 1) };
  } finally {
    await stopAllServers();
    rmSync(persistDir, { recursive: true, force: true });
  }
}

/** Parley's per-message costs: 1:1, the group fan-out at rest, at the fixed rate and at its highest rate, SAMA's shape. */
function parleyCostRows(r) {
  const g = `group of ${SETTINGS.groupSize}`;
  const fanout = r.fanout?.Parley?.costs;
  const budget50 = SETTINGS.groupSize === 50 ? { commits: 3, rowsWritten: 15 } : {};
  return [
    ...costRows("costs: 1:1, one message in flight", r.roundtrip?.Parley?.costs),
    // No budget at rest: each Inbox writes once per window whatever it holds, so the commits per
    // message there say how many messages shared a window (the budget is the scenario's, at its load).
    ...costRows(`costs: ${g}, one message in flight (at rest)`, fanout?.at_rest, {}, AT_REST),
    ...costRows(`costs: ${g} at ${FIXED_RATE} msg/s`, fanout?.fixed, budget50),
    ...costRows(`costs: ${g} at its highest passing rate (${r.fanout?.Parley?.saturation?.best?.rate ?? "?"} msg/s)`, fanout?.best, budget50),
  ];
}

function report({ results: r, seconds }) {
  const rows = [
    ...buildRows({ roundTrip: r.roundtrip, fanout: r.fanout, settings: SETTINGS }),
    ...parleyCostRows(r),
    ...(r.sama ? samaLoadRows(r.sama, SETTINGS) : []),
    ...(r.channel ? channelRows(r.channel, SETTINGS) : []),
    ...(r.idle ? idleRows(r.idle, SETTINGS) : []),
    ...(r.catchup ? catchUpRows(r.catchup, SETTINGS) : []),
  ];
  const results = {
    machine: machine(),
    date: new Date().toISOString(),
    command: `npm run bench${args.length ? ` -- ${args.join(" ")}` : ""}`,
    quick,
    seconds,
    // From the script's start to the servers stopped: what --quick promises to keep under a minute.
    total_seconds: round((now() - runStart) / 1000, 1),
    // Other work on the machine (tests, other dev servers) skews the numbers: keep the evidence.
    load_average_1_5_15: { before: loadBefore, after: loadavg().map((x) => round(x, 2)) },
    settings: { ...SETTINGS, fixedRate: FIXED_RATE },
    rows,
    details: r,
  };
  writeFileSync(RESULTS_FILE, JSON.stringify(results, null, 2) + "\n");
  console.log(`\n${formatTable(rows)}\n`);
  log(`finished: ${seconds} s from server start to the last scenario, ${results.total_seconds} s in all (servers stopped); wrote ${RESULTS_FILE}`);
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
