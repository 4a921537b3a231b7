// Scenario: SAMA's published load test, replicated (SAMA 0.28 load_testing: JMeter, groups of 4, each
// user sends one message every 5 s; 77% peak / 66% average CPU of a 2-core Xeon Gold 6140 at 300
// users). Users join in steps; at each step every user sends at its own phase of the 5 s period, so
// the offered load is users/5 msg/s, evenly spread, and every message is owed to the 3 others.
import { loadavg } from "node:os";
import { AT_REST, costRows, describeCosts, measureCosts } from "./costs.mjs";
import { compareRow } from "./report.mjs";
import { BASELINE_NAMES, baselineUrl, closeQuietly, connectUser, createConversation, openSocket, parleyFrameHandler, payload, messageId } from "./rooms.mjs";
import { Tally, takeSeq, waitIdle } from "./scenarios.mjs";
import { latencySummary, mapLimit, now, round, sleep } from "./stats.mjs";

const GROUP = 4;
const PERIOD_MS = 5_000;
const P99_LIMIT_MS = 100;
// SAMA 0.28, load_testing/RESULTS.md (see /work/shared/SAMA-PROTOCOL.md §6.1).
const SAMA = { users: 300, peakPctOf2Cores: 77, avgPctOf2Cores: 66, hardware: "Xeon Gold 6140, 2 cores, one Node process" };
// The fleets of the baselines Worker that run the same traffic as Parley.
const BASELINES = ["DurableRoom", "RelayRoom", "LogRelayRoom", "InboxRelayRoom", "DirectRoom", "GatewayRoom"];
// DESIGN.md's budget per message for this shape.
const SAMA_BUDGET = { commits: 2, rowsWritten: 10 };

/** Parley: users connected one socket each, every 4 in a `g` conversation created by the first. */
function parleyFleet(baseUrl, pool) {
  const clients = [];
  const cids = [];
  const fleet = {
    name: "Parley",
    baseUrl,
    listener: null,
    get size() {
      return clients.length;
    },
    async grow(count) {
      const users = await pool.take(count);
      const fresh = users.slice(clients.length);
      const connected = await mapLimit(fresh, 16, (user) => connectUser(baseUrl, user));
      for (const client of connected) client.onFrame = parleyFrameHandler(fleet, () => true);
      const first = clients.length;
      clients.push(...connected);
      const groups = Array.from({ length: Math.ceil(fresh.length / GROUP) }, (_, g) => first + g * GROUP);
      await mapLimit(groups, 8, async (owner) => {
        const cid = await createConversation(clients[owner], "g", users.slice(owner + 1, owner + GROUP));
        for (let u = owner; u < owner + GROUP; u++) cids[u] = cid;
      });
    },
    send: (user, seq) => clients[user].send({ message: { id: messageId(seq), cid: cids[user], body: payload(seq, user) } }),
    close: () => clients.forEach((client) => client.close()),
  };
  return fleet;
}

/**
 * A baseline: the same groups of 4 as rooms of the baselines Worker — DurableRooms (store, then
 * relay), RelayRooms (one object per socket, one RPC per recipient), LogRelayRooms (RelayRooms
 * with a stored frame and a per-recipient log object that commits before sending), InboxRelayRooms
 * (the per-recipient object keeps the frame in memory and commits once per window) or DirectRooms
 * (stored frame straight to the sockets' objects, the per-recipient object told behind) or
 * GatewayRooms (DirectRooms whose sockets live in a few Gateway objects).
 */
function baselineFleet(baseUrl, kind, runTag) {
  const sockets = [];
  const fleet = {
    name: BASELINE_NAMES[kind],
    listener: null,
    get size() {
      return sockets.length;
    },
    async grow(count) {
      const from = sockets.length;
      const opened = await mapLimit(Array.from({ length: count - from }, (_, k) => from + k), 16, (u) =>
        openSocket(baselineUrl(baseUrl, kind, `sama-${kind}-${runTag}-${Math.floor(u / GROUP)}`, u)),
      );
      for (const ws of opened) ws.on("message", (data) => {
        const at = now();
        fleet.listener?.deliver(JSON.parse(String(data)), at);
      });
      sockets.push(...opened);
    },
    send: (user, seq) => sockets[user].send(payload(seq, user)),
    close: () => sockets.forEach(closeQuietly),
  };
  return fleet;
}

/** One message from each user of `from`…size-1 (new objects wake up, caches fill); not measured. */
async function warmUp(fleet, from, timeoutMs) {
  const tally = new Tally({ size: GROUP });
  fleet.listener = tally;
  for (let user = from; user < fleet.size; user++) {
    tally.sent++;
    fleet.send(user, takeSeq());
  }
  const complete = await tally.until(timeoutMs);
  fleet.listener = null;
  return complete;
}

/** `count` messages from the first group's members in turn, each delivered before the next: returns the count. */
async function oneAtATime(fleet, count, timeoutMs) {
  for (let k = 0; k < count; k++) {
    const tally = new Tally({ size: GROUP });
    fleet.listener = tally;
    tally.sent++;
    fleet.send(k % GROUP, takeSeq());
    await tally.until(timeoutMs);
  }
  fleet.listener = null;
  return count;
}

/**
 * `seconds` of the load test's traffic: user u sends at (u/users + k) × 5 s, k = 0, 1, …
 * Reports deliveries, latency, the server's average CPU and its peak over 1 s intervals.
 */
async function drive(fleet, server, { seconds, drainMs }) {
  const users = fleet.size;
  const tally = new Tally({ size: GROUP });
  fleet.listener = tally;
  const cpuBefore = server.cpuSeconds();
  const clientBefore = process.cpuUsage();
  let peak = 0;
  let last = { cpu: cpuBefore, at: now() };
  const sampler = setInterval(() => {
    const sample = { cpu: server.cpuSeconds(), at: now() };
    peak = Math.max(peak, ((sample.cpu - last.cpu) / ((sample.at - last.at) / 1000)) * 100);
    last = sample;
  }, 1_000);
  const start = now();
  const windowMs = seconds * 1000;
  const dueAt = (event) => ((event % users) / users + Math.floor(event / users)) * PERIOD_MS;
  for (let event = 0; dueAt(event) < windowMs; ) {
    const elapsed = now() - start;
    for (; dueAt(event) <= elapsed && dueAt(event) < windowMs; event++) {
      tally.sent++;
      fleet.send(event % users, takeSeq());
    }
    await sleep(5);
  }
  const complete = await tally.until(drainMs);
  clearInterval(sampler);
  const wall = (now() - start) / 1000;
  const serverCpu = server.cpuSeconds() - cpuBefore;
  const client = process.cpuUsage(clientBefore);
  fleet.listener = null;
  const resources = server.resources();
  return {
    users,
    offered_msg_per_s: round(users / (PERIOD_MS / 1000), 1),
    seconds,
    sent: tally.sent,
    expected: tally.expected,
    delivered: tally.delivered,
    duplicates: tally.duplicates,
    rejected: tally.rejected,
    statuses: tally.statuses,
    complete,
    ...latencySummary(tally.latencies),
    slow: slowSeconds(tally, start),
    server_cpu_pct: round((serverCpu / wall) * 100, 0),
    server_peak_cpu_pct: round(peak, 0),
    client_cpu_pct: round(((client.user + client.system) / 1e6 / wall) * 100, 0),
    workerd_fds: resources.workerd_fds,
    fd_limit: resources.fd_limit,
    proxy_fds: resources.proxy_fds,
    rss_mb: resources.rss_mb,
    // On a shared machine an unsaturated server can still be starved: keep the evidence.
    load_average_1m: round(loadavg()[0], 2),
  };
}

/**
 * Deliveries over the p99 limit, by the second (from the window's start) their message was sent in,
 * worst seconds first: a stall shows as one or two seconds holding most of them, a saturated thread
 * as many seconds with a few each.
 */
function slowSeconds(tally, start) {
  const bySecond = new Map();
  tally.latencies.forEach((ms, i) => {
    if (ms < P99_LIMIT_MS) return;
    const second = Math.floor((tally.sentAt[i] - start) / 1000);
    bySecond.set(second, (bySecond.get(second) ?? 0) + 1);
  });
  const total = [...bySecond.values()].reduce((a, b) => a + b, 0);
  const worst = [...bySecond].sort((a, b) => b[1] - a[1]).slice(0, 3).map(([second, n]) => `+${second} s: ${n}`);
  return { total, worst };
}

const passes = (step) => step.complete && step.rejected === 0 && step.duplicates === 0 && step.p99 !== null && step.p99 < P99_LIMIT_MS;

function describe(name, step) {
  if (step.error) return `  ${name.padEnd(11)} ${String(step.users).padStart(5)} users: ${step.error}`;
  const refused = step.rejected ? `, refused ${step.rejected} ${JSON.stringify(step.statuses)}` : "";
  return (
    `  ${name.padEnd(11)} ${String(step.users).padStart(5)} users (${step.offered_msg_per_s} msg/s): delivered ${step.delivered}/${step.expected}${refused}, ` +
    `p50 ${step.p50} ms, p99 ${step.p99} ms, server CPU ${step.server_cpu_pct}% (peak ${step.server_peak_cpu_pct}%) of one core, ` +
    `over ${P99_LIMIT_MS} ms: ${step.slow.total}${step.slow.total ? ` (${step.slow.worst.join(", ")})` : ""}, ` +
    `workerd open files ${step.workerd_fds}/${step.fd_limit ?? "?"}, RSS ${step.rss_mb} MB${step.pass ? " → pass" : " → FAIL"}`
  );
}

/** Why a step failed, in words: latency, CPU saturation, open files, or an error. */
export function whyFailed(step) {
  if (step.error) return step.error;
  const why = [];
  if (!step.complete) why.push(`${step.delivered}/${step.expected} delivered within the drain timeout`);
  if (step.rejected) why.push(`${step.rejected} sends refused ${JSON.stringify(step.statuses)}`);
  if (step.p99 !== null && step.p99 >= P99_LIMIT_MS) why.push(`p99 ${step.p99} ms`);
  const cpu = step.server_cpu_pct >= 85 ? "the runtime thread is saturated" : "the runtime thread is not saturated";
  why.push(`server CPU ${step.server_cpu_pct}% of one core, peak ${step.server_peak_cpu_pct}% (${cpu}), machine load average ${step.load_average_1m}`);
  if (step.fd_limit) why.push(`workerd open files ${step.workerd_fds} of ${step.fd_limit}`);
  return why.join(", ");
}

/**
 * Steps the user count up for one target: stops at the first failing step once every `mustReach`
 * count was measured (the report points), or at an error (a refused connect, a server that died).
 */
async function stepUp(fleet, server, settings, log) {
  const steps = [];
  const mustReach = Math.max(...settings.samaReport);
  let failed = null;
  for (const users of settings.samaSteps) {
    if (failed && users > mustReach) break;
    const growing = now();
    const from = fleet.size;
    try {
      await fleet.grow(users);
    } catch (err) {
      const step = { users, error: `${fleet.name} could not connect ${users} users: ${err.message}` };
      steps.push(step);
      log(describe(fleet.name, step));
      // A timeout or a dropped socket (not a refusal) is the server's story: show its log.
      if (err.name !== "ParleyRefused") log(`last lines of ${fleet.name}'s server:\n${server.logTail().split("\n").slice(-12).join("\n")}`);
      failed ??= step;
      break;
    }
    const warm = await warmUp(fleet, from, settings.samaDrainMs * 3);
    log(`${fleet.name}: ${users} users connected in groups of ${GROUP} (+${users - from} in ${round((now() - growing) / 1000, 1)} s, warm-up ${warm ? "delivered" : "incomplete"})`);
    await waitIdle(server, { maxMs: settings.idleMaxMs, windowMs: settings.idleWindowMs });
    // Parley's costs: at rest once (one message in flight in the first group), and at every reported step.
    if (fleet.baseUrl && steps.length === 0) {
      fleet.restCosts = await measureCosts(fleet.baseUrl, () => oneAtATime(fleet, settings.restMessages ?? 20, settings.samaDrainMs), settings, { settleFirst: true });
      log(describeCosts("Parley, SAMA's shape, one message in flight", fleet.restCosts));
    }
    // A step and, if it fails, its retry at once (one stall, such as a fresh server's first seconds
    // or objects started again after a lull, must not end the step-up). Parley's costs are counted
    // around both: waiting for the write-behind between them would leave its objects idle long
    // enough to be evicted, so its retry would start cold where the baselines' do not.
    const attempt = async () => {
      const first = await drive(fleet, server, { seconds: settings.samaSeconds, drainMs: settings.samaDrainMs });
      first.pass = passes(first);
      log(describe(fleet.name, first));
      if (first.pass || settings.quick) return { step: first, sent: first.sent };
      await waitIdle(server, { maxMs: settings.idleMaxMs, windowMs: settings.idleWindowMs });
      const retry = await drive(fleet, server, { seconds: settings.samaSeconds, drainMs: settings.samaDrainMs });
      retry.pass = passes(retry);
      retry.retry_of = { p50: first.p50, p99: first.p99, delivered: first.delivered, slow: first.slow };
      log(`${describe(fleet.name, retry)} (retry)`);
      return { step: retry, sent: first.sent + retry.sent };
    };
    let step;
    if (fleet.baseUrl && settings.samaReport.includes(users)) {
      const costs = await measureCosts(fleet.baseUrl, async () => {
        const tried = await attempt();
        step = tried.step;
        return tried.sent;
      }, settings);
      step.costs = costs;
      log(describeCosts(`Parley, SAMA's shape at ${users} users`, costs));
    } else {
      step = (await attempt()).step;
    }
    steps.push(step);
    if (!step.pass) failed ??= step;
  }
  const held = steps.filter((s) => s.pass && (!failed || s.users < failed.users)).at(-1) ?? null;
  return { steps, held: held?.users ?? 0, failedAt: failed, lowerBound: !failed, ...(fleet.restCosts ? { rest_costs: fleet.restCosts } : {}) };
}

export async function runSamaLoad({ baselines, parley, pool, settings, runTag, log, wanted = () => true }) {
  log(`\n(1) SAMA load test: groups of ${GROUP}, one message per user every 5 s; steps ${settings.samaSteps.join(", ")} users, ${settings.samaSeconds} s each`);
  const results = {};
  for (const [name, make, server] of [
    ["DurableRoom", () => baselineFleet(baselines.baseUrl, "durable", runTag), baselines],
    ["RelayRoom", () => baselineFleet(baselines.baseUrl, "relay", runTag), baselines],
    ["LogRelayRoom", () => baselineFleet(baselines.baseUrl, "logrelay", runTag), baselines],
    ["InboxRelayRoom", () => baselineFleet(baselines.baseUrl, "inboxrelay", runTag), baselines],
    ["DirectRoom", () => baselineFleet(baselines.baseUrl, "direct", runTag), baselines],
    ["GatewayRoom", () => baselineFleet(baselines.baseUrl, "gateway", runTag), baselines],
    ["Parley", () => parleyFleet(parley.baseUrl, pool), parley],
  ].filter(([name]) => wanted(name))) {
    await waitIdle(server, { maxMs: settings.idleMaxMs, windowMs: settings.idleWindowMs });
    const fleet = make();
    try {
      results[name] = await stepUp(fleet, server, settings, log);
    } finally {
      fleet.close();
      await sleep(settings.closeWaitMs); // let the closes land before the next target
    }
  }
  return results;
}

export function samaLoadRows(results, settings) {
  const rows = [];
  const quickNote = settings.quick ? `quick mode: ${settings.samaSteps.join(" and ")} users, ${settings.samaSeconds} s windows (the full run: 300 and 1,000 users and a step-up)` : null;
  const at = (name, users) => results[name]?.steps?.find((s) => s.users === users && !s.error) ?? null;
  for (const users of settings.samaReport) {
    const scenario = `SAMA load test: ${users} users in groups of 4, 1 msg/user/5 s`;
    const p = at("Parley", users);
    const missing = !p ? `Parley not measured at ${users} users: ${results.Parley?.failedAt ? whyFailed(results.Parley.failedAt) : "no step"}` : null;
    const pNote = p && !passes(p) ? `Parley at ${users} users: ${whyFailed(p)}` : null;
    // One row per metric and baseline, like the fan-out rows.
    const metrics = [
      ["p50 send→receive", "ms", (s) => s?.p50, [missing, pNote, quickNote]],
      ["p99 send→receive", "ms", (s) => s?.p99, [missing, pNote, quickNote]],
      ["server CPU (workerd), average", "% of one core", (s) => s?.server_cpu_pct, [missing, quickNote]],
      ["server CPU (workerd), peak 1 s", "% of one core", (s) => s?.server_peak_cpu_pct, [missing, quickNote]],
    ];
    for (const [metric, unit, pick, notes] of metrics) {
      for (const baselineName of BASELINES) {
        const b = at(baselineName, users);
        const bNote = b && !passes(b) ? `${baselineName} at ${users} users: ${whyFailed(b)}` : null;
        rows.push(compareRow({ scenario, metric, unit, better: "lower", parley: pick(p), baseline: pick(b), baselineName, notes: [...notes, bNote] }));
      }
    }
    if (users === SAMA.users) {
      // SAMA's figure is CPU of the whole 2-core machine; Parley's workerd is one thread, so ÷ 2.
      const pct2 = (v) => (v === null || v === undefined ? null : round(v / 2, 1));
      const samaNote = `SAMA 0.28 published (load_testing/RESULTS.md, ${SAMA.hardware}): not measured here, other hardware. Parley's CPU is its workerd processes ÷ 2 cores`;
      rows.push(
        compareRow({ scenario, metric: "server CPU, peak", unit: "% of 2 cores", better: "lower", parley: pct2(p?.server_peak_cpu_pct), baseline: SAMA.peakPctOf2Cores, baselineName: "SAMA 0.28 (published)", notes: [missing, samaNote] }),
        compareRow({ scenario, metric: "server CPU, average", unit: "% of 2 cores", better: "lower", parley: pct2(p?.server_cpu_pct), baseline: SAMA.avgPctOf2Cores, baselineName: "SAMA 0.28 (published)", notes: [missing, samaNote] }),
      );
    }
  }
  const ceilingNote = (name) => {
    const r = results[name];
    if (!r) return null;
    if (r.lowerBound) return `${name} passed every step up to ${settings.samaSteps.at(-1)} users (a lower bound)`;
    return `${name} stopped at ${r.failedAt.users} users: ${whyFailed(r.failedAt)}`;
  };
  rows.push(...costRows("costs: SAMA's shape (groups of 4), one message in flight (at rest)", results.Parley?.rest_costs, {}, AT_REST));
  for (const users of settings.samaReport) rows.push(...costRows(`costs: SAMA's shape (groups of 4) at ${users} users`, at("Parley", users)?.costs, SAMA_BUDGET));
  for (const baselineName of BASELINES) {
    rows.push(
      compareRow({
        scenario: "SAMA load test: most users held (all delivered, p99 < 100 ms)", metric: "users", unit: "users", better: "higher",
        parley: results.Parley?.held, baseline: results[baselineName]?.held, baselineName,
        notes: [ceilingNote("Parley"), ceilingNote(baselineName), quickNote],
      }),
    );
  }
  return rows;
}
