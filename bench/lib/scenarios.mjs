// The measurements. Each one drives a room (see rooms.mjs) and counts what its receivers report.
// Latency = receive time − the send time carried in the message; sender and receivers live in this
// process, so both ends read the same clock.
import { latencySummary, now, percentile, round, sleep } from "./stats.mjs";

let nextSeq = 1; // unique across the whole run, so a late delivery can never count for a later phase

/** A sequence number for a new message: unique across the whole run. */
export function takeSeq() {
  return nextSeq++;
}

/** Counts one phase: sends, deliveries (at most `fanout` per message), refusals, latencies. */
export class Tally {
  constructor(room) {
    this.fanout = room.size - 1;
    this.firstSeq = nextSeq;
    this.sent = 0;
    this.delivered = 0;
    this.duplicates = 0;
    this.rejected = 0;
    this.statuses = {};
    this.perMessage = new Map();
    this.latencies = [];
    /** When each latency's message was sent (epoch ms), in the same order: where slow deliveries bunch. */
    this.sentAt = [];
    this.onChange = null;
  }

  deliver(payload, at) {
    if (!(payload?.i >= this.firstSeq)) return; // from an earlier phase
    const count = (this.perMessage.get(payload.i) ?? 0) + 1;
    this.perMessage.set(payload.i, count);
    if (count > this.fanout) {
      this.duplicates++;
    } else {
      this.delivered++;
      this.latencies.push(at - payload.t);
      this.sentAt.push(payload.t);
    }
    this.onChange?.();
  }

  reject(seq, status) {
    if (seq !== null && seq < this.firstSeq) return;
    this.rejected++;
    this.statuses[status] = (this.statuses[status] ?? 0) + 1;
    this.onChange?.();
  }

  /** Deliveries still owed: refused messages owe none. */
  get expected() {
    return (this.sent - this.rejected) * this.fanout;
  }

  /** Resolves true once every owed delivery arrived, false after `timeoutMs`. */
  until(timeoutMs) {
    return new Promise((resolve) => {
      const finish = (result) => {
        clearTimeout(timer);
        this.onChange = null;
        resolve(result);
      };
      const timer = setTimeout(() => finish(this.delivered >= this.expected), timeoutMs);
      this.onChange = () => {
        if (this.delivered >= this.expected) finish(true);
      };
      this.onChange();
    });
  }
}

function send(room, tally, sender) {
  tally.sent++;
  room.send(sender, takeSeq());
}

/**
 * 1:1 round trip on an idle server: one message in flight at a time, socket 0 → socket 1.
 * The first `warmup` messages wake the objects up and are not counted.
 */
export async function roundTrip(room, { count, warmup, timeoutMs = 5_000 }) {
  const latencies = [];
  let lost = 0;
  let rejected = 0;
  for (let k = 0; k < warmup + count; k++) {
    const tally = new Tally(room);
    room.listener = tally;
    send(room, tally, 0);
    const arrived = await tally.until(timeoutMs);
    if (k < warmup) continue;
    if (tally.rejected > 0) rejected++;
    else if (!arrived) lost++;
    else latencies.push(tally.latencies[0]);
  }
  room.listener = null;
  return { messages: count, lost, rejected, ...latencySummary(latencies) };
}

/** Sends `rate` messages/s in total for `seconds`, round-robin over the room's senders. */
async function pace(room, tally, rate, seconds) {
  const total = Math.round(rate * seconds);
  const tickMs = Math.max(1, Math.min(10, 1000 / rate));
  const start = performance.now();
  let sentSoFar = 0;
  while (sentSoFar < total) {
    // Catch up on everything due by now: timers fire late under load, the schedule must not drift.
    const due = Math.min(total, Math.floor(((performance.now() - start) * rate) / 1000) + 1);
    for (; sentSoFar < due; sentSoFar++) send(room, tally, sentSoFar % room.senders);
    if (sentSoFar < total) await sleep(tickMs);
  }
}

/** Warms the room up: one message per sender, all deliveries awaited (not measured). */
export async function warmUp(room, timeoutMs = 15_000) {
  const tally = new Tally(room);
  room.listener = tally;
  for (let sender = 0; sender < room.senders; sender++) send(room, tally, sender);
  const ok = await tally.until(timeoutMs);
  room.listener = null;
  if (!ok) throw new Error(`${room.name}: warm-up deliveries did not all arrive within ${timeoutMs} ms`);
}

/**
 * Offered load: `rate` msg/s for `seconds`, then up to `drainMs` for the last deliveries.
 * deliveries_per_s is deliveries received ÷ the sending window.
 */
export async function offeredLoad(room, server, { rate, seconds, drainMs }) {
  const tally = new Tally(room);
  room.listener = tally;
  const cpuBefore = server.cpuSeconds();
  const clientBefore = process.cpuUsage();
  const start = now();
  await pace(room, tally, rate, seconds);
  const complete = await tally.until(drainMs);
  const wallSeconds = (now() - start) / 1000;
  const serverCpu = server.cpuSeconds() - cpuBefore;
  const client = process.cpuUsage(clientBefore);
  room.listener = null;
  return {
    rate,
    seconds,
    sent: tally.sent,
    rejected: tally.rejected,
    statuses: tally.statuses,
    expected: tally.expected,
    delivered: tally.delivered,
    duplicates: tally.duplicates,
    complete,
    deliveries_per_s: round(tally.delivered / seconds, 1),
    ...latencySummary(tally.latencies),
    server_cpu_pct: round((serverCpu / wallSeconds) * 100, 0),
    client_cpu_pct: round(((client.user + client.system) / 1e6 / wallSeconds) * 100, 0),
  };
}

/** A load step passes when every owed delivery arrived, none was refused or doubled, and p99 < limit. */
export function passes(step, p99LimitMs = 100) {
  return step.complete && step.rejected === 0 && step.duplicates === 0 && step.p99 !== null && step.p99 < p99LimitMs;
}

/**
 * Steps the offered rate up and stops at the first step that fails `passes`. The fixed-load phase
 * (`first`, already measured) counts as the first step. A failed step is run again up to `retries`
 * times before it counts: one scheduling hiccup from another process on a 2-core machine is enough
 * to push a p99 over 100 ms. If even the first step fails, the `lowerSteps` rates are tried from
 * the top down, so a slow target still gets a number that later runs can be compared with.
 * `best` is the highest rate that passed; `stoppedAt` is the failed step that ended the way up.
 */
export async function saturation(room, server, { first, steps, lowerSteps = [], stepSeconds, drainMs, idleMaxMs, idleWindowMs, retries = 0, log }) {
  first.pass = passes(first);
  const results = [first];
  const attempt = async (rate, retry) => {
    await waitIdle(server, { maxMs: idleMaxMs, windowMs: idleWindowMs });
    const step = await offeredLoad(room, server, { rate, seconds: stepSeconds, drainMs });
    step.pass = passes(step);
    if (retry) step.retry = true;
    results.push(step);
    log(describeStep(room.name, step));
    return step;
  };
  const withRetries = async (step) => {
    for (let k = 0; !step.pass && k < retries; k++) step = await attempt(step.rate, true);
    return step;
  };
  let best = null;
  let step = await withRetries(first);
  for (let i = 0; step.pass; i++) {
    best = step;
    if (i === steps.length) break;
    step = await withRetries(await attempt(steps[i], false));
  }
  const stoppedAt = step.pass ? null : step;
  for (const rate of best ? [] : lowerSteps) {
    const lower = await withRetries(await attempt(rate, false));
    if (lower.pass) {
      best = lower;
      break;
    }
  }
  return { steps: results, best, stoppedAt, saturated: stoppedAt !== null };
}

export function describeStep(name, step) {
  const refused = step.rejected ? `, refused ${step.rejected} ${JSON.stringify(step.statuses)}` : "";
  const dup = step.duplicates ? `, ${step.duplicates} duplicates` : "";
  const verdict = (step.pass === undefined ? "" : step.pass ? " → pass" : " → FAIL") + (step.retry ? " (retry)" : "");
  return (
    `  ${name.padEnd(11)} ${String(step.rate).padStart(5)} msg/s × ${step.seconds} s: ` +
    `delivered ${step.delivered}/${step.expected}${refused}${dup}, ` +
    `p50 ${step.p50} ms, p99 ${step.p99} ms, server CPU ${step.server_cpu_pct}%, client CPU ${step.client_cpu_pct}%${verdict}`
  );
}

/**
 * Waits until the server's workerd processes are nearly idle (a failed step can leave a backlog),
 * so one measurement does not pay for the previous one. Gives up after `maxMs`.
 */
export async function waitIdle(server, { maxMs = 10_000, windowMs = 300, idlePct = 10 } = {}) {
  const deadline = Date.now() + maxMs;
  while (Date.now() < deadline) {
    const before = server.cpuSeconds();
    await sleep(windowMs);
    if (((server.cpuSeconds() - before) / (windowMs / 1000)) * 100 < idlePct) return;
  }
}

/** Time for one post to reach `receivers` sockets (or `timeoutMs`): first, p50 and last arrival. */
export async function oneMessage(target, receivers, timeoutMs) {
  const tally = new Tally({ size: receivers + 1 });
  target.listener = tally;
  tally.sent = 1;
  target.post(takeSeq());
  const complete = await tally.until(timeoutMs);
  target.listener = null;
  const sorted = Float64Array.from(tally.latencies).sort();
  return {
    receivers,
    delivered: tally.delivered,
    complete,
    rejected: tally.rejected,
    first_ms: round(sorted[0] ?? null),
    p50_ms: round(percentile(sorted, 50)),
    last_ms: round(sorted.at(-1) ?? null),
  };
}
