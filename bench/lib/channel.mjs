// Scenario: channel fan-out. One channel (type "c"), its subscribers attached through receive-only
// live sockets (GET /api/conversations/:cid/live?token=…, broadcast by the Conversation object), and
// the same channel shape through ordinary sessions (`connect`, then conversation_subscribe: each post
// goes through every subscriber's Inbox). A few posts by the owner; for each, the time until the
// first and the last socket has it, and the median. Baseline: a BareRoom of as many sockets.
import { compareRow } from "./report.mjs";
import { benchBody, connectUser, createConversation, describeError, openBaselineRoom, openSocket, parleyFrameHandler, payload, ParleyRefused, wsUrl, closeQuietly, messageId } from "./rooms.mjs";
import { oneMessage, waitIdle } from "./scenarios.mjs";
import { mapLimit, now, percentile, round, sleep } from "./stats.mjs";

/** `count` posts, one at a time; each waits for all `receivers` deliveries (or `timeoutMs`). */
async function posts(target, { count, receivers, timeoutMs, server, idle }) {
  const results = [];
  for (let k = 0; k < count; k++) {
    await waitIdle(server, idle);
    results.push(await oneMessage(target, receivers, timeoutMs));
  }
  return summarize(results);
}

/** Medians over the posts of first, p50 and last arrival; the worst post's last arrival. */
function summarize(perPost) {
  const median = (key) => round(percentile(Float64Array.from(perPost.map((p) => p[key] ?? Infinity)).sort(), 50));
  return {
    posts: perPost,
    first_ms: median("first_ms"),
    p50_ms: median("p50_ms"),
    last_ms: median("last_ms"),
    worst_last_ms: round(Math.max(...perPost.map((p) => p.last_ms ?? Infinity))),
    complete: perPost.every((p) => p.complete),
  };
}

async function ownerWithChannel(baseUrl, owner) {
  const client = await connectUser(baseUrl, owner);
  return { client, cid: await createConversation(client, "c", []) };
}

async function subscribe(client, cid) {
  const res = await client.request("conversation_subscribe", { cid });
  if (res.error !== undefined) throw new ParleyRefused(describeError("conversation_subscribe", res.error));
}

/** Parley, live sockets: `sockets` of them spread round-robin over the subscribers. */
async function parleyLive({ baseUrl, owner, subscribers, sockets, log }) {
  const { client, cid } = await ownerWithChannel(baseUrl, owner);
  await mapLimit(subscribers, 16, async (user) => {
    const c = await connectUser(baseUrl, user);
    try {
      await subscribe(c, cid);
    } finally {
      c.close();
    }
  });
  const opening = now();
  const target = { listener: null, close: () => {} };
  const opened = [];
  target.close = () => {
    client.close();
    opened.forEach(closeQuietly);
  };
  try {
    await mapLimit(Array.from({ length: sockets }), 32, async (_, k) => {
      const user = subscribers[k % subscribers.length];
      const ws = await openSocket(wsUrl(baseUrl, `/api/conversations/${cid}/live?token=${encodeURIComponent(user.token)}`));
      opened.push(ws);
      ws.on("message", (data) => {
        const at = now();
        const body = benchBody(JSON.parse(String(data)).message, (c) => c === cid);
        if (body) target.listener?.deliver(body, at);
      });
    });
  } catch (err) {
    target.close();
    throw err;
  }
  log(`Parley: ${sockets} live sockets of ${subscribers.length} subscribers open in ${round((now() - opening) / 1000, 1)} s`);
  target.post = (seq) => client.send({ message: { id: messageId(seq), cid, body: payload(seq, 0) } });
  client.onFrame = parleyFrameHandler(target, () => false); // the owner's refusals only
  return target;
}

/** Parley, ordinary sessions: one connected socket per subscriber, subscribed over that socket. */
async function parleySessions({ baseUrl, owner, subscribers, log }) {
  const { client, cid } = await ownerWithChannel(baseUrl, owner);
  const opening = now();
  const target = { listener: null };
  const clients = [];
  target.close = () => [client, ...clients].forEach((c) => c.close());
  try {
    await mapLimit(subscribers, 16, async (user) => {
      const c = await connectUser(baseUrl, user);
      clients.push(c);
      await subscribe(c, cid);
      c.onFrame = parleyFrameHandler(target, (x) => x === cid);
    });
  } catch (err) {
    target.close();
    throw err;
  }
  log(`Parley: ${subscribers.length} subscribers connected and subscribed in ${round((now() - opening) / 1000, 1)} s`);
  target.post = (seq) => client.send({ message: { id: messageId(seq), cid, body: payload(seq, 0) } });
  client.onFrame = parleyFrameHandler(target, () => false);
  return target;
}

/** BareRoom: `receivers` sockets plus the sender's, one room, the frame relayed to all others. */
async function bare({ baseUrl, receivers, label }) {
  const room = await openBaselineRoom({ baseUrl, kind: "bare", roomName: label, size: receivers + 1, senders: 1 });
  const target = { listener: null, close: () => room.close() };
  room.listener = { deliver: (body, at) => target.listener?.deliver(body, at), reject: () => {} };
  target.post = (seq) => room.send(0, seq);
  return target;
}

async function measure(name, open, { server, count, receivers, timeoutMs, idle, closeWaitMs, log }) {
  let target;
  try {
    target = await open();
    const result = await posts(target, { count, receivers, timeoutMs, server, idle });
    log(`  ${name.padEnd(24)} ${receivers} receivers: first ${result.first_ms} ms, p50 ${result.p50_ms} ms, last ${result.last_ms} ms (median of ${count} posts; worst last ${result.worst_last_ms} ms)${result.complete ? "" : " — INCOMPLETE"}`);
    return result;
  } catch (err) {
    if (name.startsWith("BareRoom")) throw err;
    log(`  ${name}: not measured — ${err.message}`);
    return { error: err.message };
  } finally {
    target?.close();
    await sleep(closeWaitMs); // let the closes land before the next measurement
  }
}

export async function runChannel({ baselines, parley, pool, settings, runTag, log }) {
  const { channelLive: live, channelLiveUsers: liveUsers, channelSessions: sessions, channelPosts: count } = settings;
  log(`\n(3) channel fan-out: ${live} live sockets of ${liveUsers} users; ${sessions} ordinary sessions; ${count} posts each`);
  const idle = { maxMs: settings.idleMaxMs, windowMs: settings.idleWindowMs };
  const common = { count, timeoutMs: settings.channelTimeoutMs, idle, closeWaitMs: settings.closeWaitMs, log };
  const results = {};
  results.bareLive = await measure("BareRoom", () => bare({ baseUrl: baselines.baseUrl, receivers: live, label: `chan-${runTag}` }), { ...common, server: baselines, receivers: live });
  results.bareSessions = await measure("BareRoom", () => bare({ baseUrl: baselines.baseUrl, receivers: sessions, label: `chans-${runTag}` }), { ...common, server: baselines, receivers: sessions });
  let users;
  try {
    users = await pool.take(Math.max(liveUsers, sessions) + 1);
  } catch (err) {
    results.live = results.sessions = { error: `user setup failed: ${err.message}` };
    return results;
  }
  const [owner, ...rest] = users;
  results.live = await measure("Parley live sockets", () => parleyLive({ baseUrl: parley.baseUrl, owner, subscribers: rest.slice(0, liveUsers), sockets: live, log }), { ...common, server: parley, receivers: live });
  results.sessions = await measure("Parley ordinary sessions", () => parleySessions({ baseUrl: parley.baseUrl, owner, subscribers: rest.slice(0, sessions), log }), { ...common, server: parley, receivers: sessions });
  return results;
}

export function channelRows(results, settings) {
  const rows = [];
  const quick = settings.quick ? `quick mode: ${settings.channelLive} live sockets and ${settings.channelSessions} sessions (the full run: 4,000 and ${settings.fullChannelSessions})` : null;
  const sessionsWhy = `${settings.channelSessions} ordinary sessions: each is an Inbox object (about 3 open files) plus its socket; sized when each also had a Session object (4,000 would then pass the runtime's 20,000 open files)`;
  const variants = [
    ["live", "bareLive", `channel fan-out: ${settings.channelLive} live sockets (/live) of ${settings.channelLiveUsers} users`, null],
    ["sessions", "bareSessions", `channel fan-out: ${settings.channelSessions} ordinary sessions (connect + subscribe)`, sessionsWhy],
  ];
  for (const [mine, theirs, scenario, why] of variants) {
    const p = results[mine];
    const b = results[theirs];
    const err = p?.error ? `Parley not measured: ${p.error}` : null;
    const incomplete = p && !p.error && !p.complete ? `Parley: not every socket had every post within ${settings.channelTimeoutMs / 1000} s` : null;
    const notes = [err, incomplete, why, quick, `median over ${settings.channelPosts} posts`];
    const pick = (r, key) => (r && !r.error ? r[key] : null);
    for (const [metric, key] of [["first arrival", "first_ms"], ["p50 arrival", "p50_ms"], ["last arrival (all have it)", "last_ms"]]) {
      rows.push(compareRow({ scenario, metric, unit: "ms", better: "lower", parley: pick(p, key), baseline: pick(b, key), baselineName: "BareRoom", notes }));
    }
  }
  return rows;
}
