// Scenario: idle capacity. Authenticated sockets (open + `connect` with a token) are opened in steps
// until one fails; at each step the open files of the workerd processes and the resident memory of
// the dev server's process group are read, so the cost per socket shows. Then one message to a
// channel of `idleMembers` of those sockets (100 users, one socket each; quick mode 50): time until
// all of them have it. Baseline: the same number of plain sockets in BareRooms of as many.
import { compareRow } from "./report.mjs";
import { closeQuietly, connectUser, createConversation, describeError, openSocket, parleyFrameHandler, payload, ParleyRefused, wsUrl, messageId } from "./rooms.mjs";
import { oneMessage, waitIdle } from "./scenarios.mjs";
import { mapLimit, now, round, sleep } from "./stats.mjs";


/**
 * Opens `count` sockets with `open(k)`, `concurrency` at a time; stops at the first failure.
 * `byIndex[k]` is socket k (undefined if it failed or was not tried): opens finish out of order, so
 * the position in `sockets` says nothing about which k (which room) a socket belongs to.
 */
async function openUpTo(count, concurrency, open) {
  const byIndex = new Array(count);
  let failure = null;
  let failures = 0;
  await mapLimit(Array.from({ length: count }), concurrency, async (_, k) => {
    if (failure) return;
    try {
      byIndex[k] = await open(k);
    } catch (err) {
      failures++;
      failure ??= err.message;
    }
  });
  return { sockets: byIndex.filter(Boolean), byIndex, failure, failures };
}

function perSocket(before, after, sockets) {
  if (!sockets) return {};
  return {
    workerd_fds_per_socket: round((after.workerd_fds - before.workerd_fds) / sockets, 2),
    busiest_workerd_fds_per_socket: round((after.workerd_max_fds - before.workerd_max_fds) / sockets, 2),
    proxy_fds_per_socket: round((after.proxy_fds - before.proxy_fds) / sockets, 2),
    rss_kb_per_socket: round(((after.rss_mb - before.rss_mb) * 1024) / sockets, 1),
  };
}

const brief = (r) => ({ workerd_fds: r.workerd_fds, workerd_max_fds: r.workerd_max_fds, workerd_processes: r.processes.workerd.length, fd_limit: r.fd_limit, proxy_fds: r.proxy_fds, rss_mb: r.rss_mb });

async function parleyIdle({ parley, pool, settings, log }) {
  const baseUrl = parley.baseUrl;
  const members = settings.idleMembers;
  const users = await pool.take(1 + members + settings.idleUsers);
  const [sender, ...rest] = users;
  const memberUsers = rest.slice(0, members);
  const bulkUsers = rest.slice(members);
  const before = parley.resources();
  const senderClient = await connectUser(baseUrl, sender);
  const cid = await createConversation(senderClient, "c", []);
  const target = { listener: null, post: (seq) => senderClient.send({ message: { id: messageId(seq), cid, body: payload(seq, 0) } }) };
  senderClient.onFrame = parleyFrameHandler(target, () => false);
  const open = [];
  const closeAll = () => [senderClient, ...open].forEach((c) => c.close());
  try {
    await mapLimit(memberUsers, 16, async (user) => {
      const client = await connectUser(baseUrl, user);
      open.push(client);
      const res = await client.request("conversation_subscribe", { cid });
      if (res.error !== undefined) throw new ParleyRefused(describeError("conversation_subscribe", res.error));
      client.onFrame = parleyFrameHandler(target, (c) => c === cid);
    });
    const steps = [];
    let stop = null;
    let lastGood = { sockets: open.length, resources: parley.resources() };
    for (const total of settings.idleSteps) {
      const opening = now();
      const add = total - open.length;
      // Many sockets per user, on that user's one device: Parley lets a device hold several sockets.
      const { sockets, failure, failures } = await openUpTo(add, 32, (k) => connectUser(baseUrl, bulkUsers[(open.length + k) % bulkUsers.length]));
      open.push(...sockets);
      await sleep(500);
      const resources = parley.resources();
      const step = { target: total, open: open.length, seconds: round((now() - opening) / 1000, 1), failures, failure, ...brief(resources), ...perSocket(before, resources, open.length) };
      steps.push(step);
      log(`  Parley      ${String(open.length).padStart(5)} sockets open${failure ? ` (${failures} failed: ${failure})` : ""} in ${step.seconds} s: workerd open files ${resources.workerd_fds}/${resources.fd_limit ?? "?"}, proxy ${resources.proxy_fds}, RSS ${resources.rss_mb} MB`);
      if (failure || parley.exited) {
        stop = { at: total, open: open.length, failure: failure ?? `the dev server exited ${JSON.stringify(parley.exited)}`, failures, ...brief(resources), log: parley.logTail().split("\n").filter((l) => /error|EMFILE|too many/i.test(l)).slice(-3) };
        break;
      }
      // The message is measured at every clean step: past the limit the runtime may drop every socket.
      await waitIdle(parley, { maxMs: settings.idleMaxMs, windowMs: settings.idleWindowMs });
      const message = await oneMessage(target, members, settings.idleMessageTimeoutMs);
      log(`  Parley      message to a channel of ${members} (with ${open.length} sockets open): first ${message.first_ms} ms, p50 ${message.p50_ms} ms, last ${message.last_ms} ms${message.complete ? "" : ` — only ${message.delivered}/${members}`}`);
      lastGood = { sockets: open.length, resources, message };
    }
    // Held: the most sockets open with every one of them opened cleanly (the failing step may have taken the runtime down).
    const held = lastGood.sockets;
    return { before: brief(before), steps, stop, held, measuredAt: lastGood.sockets, ...perSocket(before, lastGood.resources, lastGood.sockets), message: lastGood.message ?? null, users: { members, bulk: bulkUsers.length } };
  } finally {
    closeAll();
    await sleep(settings.closeWaitMs * 2); // let the closes land before the next phase
  }
}

async function bareIdle({ baselines, count, runTag, settings, log }) {
  const before = baselines.resources();
  // Rooms as large as Parley's channel, so the message goes to as many sockets.
  const size = settings.idleMembers;
  const room = (k) => `idle-${runTag}-${Math.floor(k / size)}`;
  const opening = now();
  const sender = await openSocket(wsUrl(baselines.baseUrl, `/bare/${room(0)}`));
  const { sockets, byIndex, failure } = await openUpTo(count, 32, (k) => openSocket(wsUrl(baselines.baseUrl, `/bare/${room(k)}`)));
  await sleep(500);
  const after = baselines.resources();
  const target = { listener: null, post: (seq) => sender.send(payload(seq, 0)) };
  // The sender's room is sockets k < size. Taking the first `size` of `sockets` (in the order they
  // opened) sometimes took a socket of the next room instead: one delivery short, the tally waited
  // for its timeout.
  const receivers = byIndex.slice(0, size).filter(Boolean);
  receivers.forEach((ws) => ws.on("message", (data) => {
    const at = now();
    target.listener?.deliver(JSON.parse(String(data)), at);
  }));
  try {
    log(`  BareRoom    ${sockets.length} sockets open${failure ? ` (failed: ${failure})` : ""} in ${round((now() - opening) / 1000, 1)} s: workerd open files ${after.workerd_fds}/${after.fd_limit ?? "?"}, proxy ${after.proxy_fds}, RSS ${after.rss_mb} MB`);
    await waitIdle(baselines, { maxMs: settings.idleMaxMs, windowMs: settings.idleWindowMs });
    const message = await oneMessage(target, receivers.length, settings.idleMessageTimeoutMs);
    log(`  BareRoom    message to a room of ${receivers.length}: first ${message.first_ms} ms, p50 ${message.p50_ms} ms, last ${message.last_ms} ms${message.complete ? "" : ` — only ${message.delivered}/${receivers.length}`}`);
    return { before: brief(before), after: brief(after), held: sockets.length, failure, ...perSocket(before, after, sockets.length), message };
  } finally {
    [sender, ...sockets].forEach(closeQuietly);
    await sleep(settings.closeWaitMs * 2);
  }
}

/** How long the scenario waits for the server to be quiet before it starts. */
const SERVER_QUIET_MAX_MS = 120_000;

export async function runIdle({ baselines, parley, pool, settings, runTag, log }) {
  log(`\n(4) idle capacity: authenticated sockets in steps of ${settings.idleSteps.join(", ")} until one fails; then one message to a channel of ${settings.idleMembers}`);
  const results = {};
  // A scenario before this one may leave the server busy for a while (2,000 channel sessions closing
  // sign out of 2,000 Inboxes): counting sockets against a busy server would measure that instead.
  const waiting = Date.now();
  await waitIdle(parley, { maxMs: SERVER_QUIET_MAX_MS, windowMs: 1_000 });
  log(`Parley: server quiet after ${((Date.now() - waiting) / 1000).toFixed(1)} s`);
  try {
    results.Parley = await parleyIdle({ parley, pool, settings, log });
  } catch (err) {
    log(`Parley: not measured — ${err.message}`);
    results.Parley = { error: err.message };
  }
  const count = results.Parley.error ? settings.idleSteps[0] : results.Parley.measuredAt;
  results.BareRoom = await bareIdle({ baselines, count, runTag, settings, log });
  return results;
}

/** Why the step-up stopped, in words. */
function ceilingNote(p, settings) {
  if (!p.stop) return `Parley opened every step up to ${settings.idleSteps.at(-1)} sockets (a lower bound)`;
  const files = p.stop.fd_limit ? `, workerd open files ${p.stop.workerd_fds} of ${p.stop.fd_limit}` : "";
  const logLines = p.stop.log?.length ? `, server log: ${p.stop.log.join(" | ").replaceAll("; ", ", ").slice(0, 300)}` : "";
  return `Parley held ${p.held} (every socket of that step opened); the ${p.stop.at} step reached ${p.stop.open} open and ${p.stop.failures} failed (${p.stop.failure})${files}${logLines}`;
}

export function idleRows(results, settings) {
  const p = results.Parley?.error ? null : results.Parley;
  const b = results.BareRoom;
  const err = results.Parley?.error ? `Parley not measured: ${results.Parley.error}` : null;
  const n = settings.idleMembers;
  const quick = settings.quick ? `quick mode: one step of ${settings.idleSteps.join(", ")} sockets (no ceiling search), a channel of ${n}` : null;
  const reuse = p ? `${n} users with one socket each plus ${p.users.bulk} users holding the rest (many sockets per user and device)` : null;
  const scenario = "idle capacity: authenticated sockets (connect with token)";
  const per = `idle capacity: cost per socket (Parley at ${p?.measuredAt ?? "?"} sockets, BareRoom the same count)`;
  const msg = `idle capacity: one message to ${n} of the open sockets (a channel of ${n} users, groups stop at 50)`;
  return [
    compareRow({ scenario, metric: "sockets held", unit: "sockets", better: "higher", parley: p?.held, baseline: b?.held, baselineName: "BareRoom", notes: [err, p && ceilingNote(p, settings), `BareRoom was opened to Parley's count only`, reuse, quick] }),
    compareRow({ scenario: per, metric: "open files per socket (workerd)", unit: "files", better: "lower", parley: p?.workerd_fds_per_socket, baseline: b?.workerd_fds_per_socket, baselineName: "BareRoom", notes: [err, "summed over the workerd processes of the dev server (wrangler dev runs more than one) while the 20,000 limit applies to each: details has the busiest process's share"] }),
    compareRow({ scenario: per, metric: "memory per socket (dev server RSS)", unit: "KB", better: "lower", parley: p?.rss_kb_per_socket, baseline: b?.rss_kb_per_socket, baselineName: "BareRoom", notes: [err] }),
    compareRow({ scenario: msg, metric: `last arrival (all ${n} have it)`, unit: "ms", better: "lower", parley: p?.message?.last_ms, baseline: b?.message.last_ms, baselineName: "BareRoom", notes: [err, p?.message && !p.message.complete ? `Parley: ${p.message.delivered}/${n} arrived` : null, b && !b.message.complete ? `BareRoom: ${b.message.delivered}/${b.message.receivers} arrived` : null] }),
    compareRow({ scenario: msg, metric: "p50 arrival", unit: "ms", better: "lower", parley: p?.message?.p50_ms, baseline: b?.message.p50_ms, baselineName: "BareRoom", notes: [err] }),
  ];
}
