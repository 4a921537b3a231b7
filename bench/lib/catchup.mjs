// Scenario: catch-up. A device goes offline; another user sends it N messages in a conversation of
// the two (a fresh group each run); the device reconnects (open + `connect`) and pages `sync` from its last event_seq
// until has_more is false. Measured: reconnect → all N in hand. Then the same N read again through
// message_list paging (SAMA's way: newest first, pages of at most MESSAGE_PRELOAD_COUNT).
// Baseline: a DurableRoom that stored the same N frames, read back by a reconnecting client through
// the baselines Worker's GET /durable/<room>?after=&limit= (pages of 500, like sync's).
import { compareRow } from "./report.mjs";
import { benchBody, closeQuietly, connectUser, createConversation, describeError, openSocket, payload, ParleyRefused, wsUrl, messageId } from "./rooms.mjs";
import { takeSeq, waitIdle } from "./scenarios.mjs";
import { mapLimit, now, round, sleep, withTimeout } from "./stats.mjs";

// A socket may send RATE_LIMIT_BURST (200) frames at once: the sender spreads its messages.
const PER_SOCKET = 150;

async function request(client, action, params) {
  const res = await client.request(action, params);
  if (res.error !== undefined) throw new ParleyRefused(describeError(action, res.error));
  return res;
}

/** A refused send is retried after this pause, as a client does after a 429. */
const RETRY_AFTER_MS = 250;

/**
 * Sends `count` messages to `cid` over enough sockets of `user` and waits for every `ask`.
 * A burst of 1,000 is more than the user's budget (USER_RATE_LIMIT_BURST, 400): sends answered 429
 * are sent again after a pause with the same id, as a client would (the id makes a resend idempotent).
 */
async function sendMany(baseUrl, user, cid, count, timeoutMs) {
  const lanes = await mapLimit(Array.from({ length: Math.ceil(count / PER_SOCKET) }), 8, () => connectUser(baseUrl, user));
  const seqs = [];
  const pending = new Map();
  let retried = 0;
  try {
    const refused = [];
    const all = new Promise((resolve) => {
      const settle = () => {
        if (pending.size === 0) resolve();
      };
      for (const lane of lanes) {
        lane.onFrame = (frame) => {
          if (frame.ask) {
            pending.delete(frame.ask.mid);
            settle();
            return;
          }
          const { error, id } = frame.message ?? {};
          if (!error) return;
          if (error.status === 429 && pending.has(id)) {
            retried++;
            setTimeout(() => lane.send(pending.get(id)), RETRY_AFTER_MS);
            return;
          }
          pending.delete(id);
          refused.push(error);
          settle();
        };
      }
    });
    for (let k = 0; k < count; k++) {
      const seq = takeSeq();
      seqs.push(seq);
      const frame = { message: { id: messageId(seq), cid, body: payload(seq, 0) } };
      pending.set(messageId(seq), frame);
      lanes[Math.floor(k / PER_SOCKET)].send(frame);
    }
    await withTimeout(all, timeoutMs, `${count} sends`);
    if (refused.length) throw new ParleyRefused(`${refused.length} of ${count} messages refused, e.g. ${JSON.stringify(refused[0])}`);
    return { seqs: new Set(seqs), retried };
  } finally {
    lanes.forEach((lane) => lane.close());
  }
}

/** Reconnect, then `sync` pages from `since` until has_more is false; counts our messages. */
async function catchUpWithSync(baseUrl, user, cid, since, ours) {
  const start = now();
  const client = await connectUser(baseUrl, user);
  try {
    const got = new Set();
    let pages = 0;
    let cursor = since;
    const syncAll = async () => {
      for (let more = true; more; pages++) {
        const page = await request(client, "sync", { since: cursor });
        for (const event of page.events) {
          const body = benchBody(event.packet?.message, (c) => c === cid);
          if (body && ours.has(body.i)) got.add(body.i);
        }
        cursor = page.events.at(-1)?.event_seq ?? cursor;
        more = page.has_more;
      }
    };
    await syncAll();
    const complete = got.size === ours.size;
    const firstPass = { ms: round(now() - start), received: got.size };
    // Fan-out to the offline device's Inbox may still be running: poll until it has them all.
    const deadline = now() + 30_000;
    while (got.size < ours.size && now() < deadline) {
      await sleep(100);
      await syncAll();
    }
    return { ms: round(now() - start), received: got.size, pages, complete_on_first_pass: complete, first_pass: firstPass };
  } finally {
    client.close();
  }
}

const timeOf = (m) => (typeof m.updated_at === "number" ? m.updated_at : Date.parse(m.updated_at ?? m.created_at));

/** Reconnect, then message_list pages, newest first, until all of `ours` are in hand. */
async function catchUpWithList(baseUrl, user, cid, ours) {
  const start = now();
  const client = await connectUser(baseUrl, user);
  try {
    const got = new Set();
    let pages = 0;
    // `lt` one past the oldest seen: messages of the same millisecond are not skipped (ids dedupe).
    let lt;
    let strict = false;
    while (got.size < ours.size) {
      const page = await request(client, "message_list", { cid, ...(lt === undefined ? {} : { updated_at: { lt } }) });
      pages++;
      const before = got.size;
      for (const m of page.messages) {
        const body = benchBody({ ...m, cid }, () => true);
        if (body && ours.has(body.i)) got.add(body.i);
      }
      if (page.messages.length === 0) break;
      const oldest = Math.min(...page.messages.map(timeOf));
      if (got.size === before && strict) break;
      strict = got.size === before; // a page of only already-seen ids: step past that millisecond
      lt = strict ? oldest : oldest + 1;
    }
    return { ms: round(now() - start), received: got.size, pages };
  } finally {
    client.close();
  }
}

async function parleyCatchUp({ parley, pool, settings, log }) {
  const baseUrl = parley.baseUrl;
  const [sender, device] = await pool.take(2);
  const senderClient = await connectUser(baseUrl, sender);
  // A new group of the two each run: a 1:1 conversation would be the same object every run, and
  // whatever an earlier run (or a stopped server) left undelivered in it would be measured too.
  const cid = await createConversation(senderClient, "g", [device]);
  senderClient.close();
  // The device's cursor before it goes offline: sync past the end answers with the latest event_seq.
  const offline = await connectUser(baseUrl, device);
  const { event_seq: since } = await request(offline, "sync", { since: Number.MAX_SAFE_INTEGER });
  offline.close();
  await sleep(Math.min(500, settings.closeWaitMs));
  const sending = now();
  const { seqs: ours, retried } = await sendMany(baseUrl, sender, cid, settings.catchupMessages, 120_000);
  log(`Parley: ${ours.size} messages sent and acknowledged in ${round((now() - sending) / 1000, 1)} s while the device was offline (${retried} sends answered 429 and sent again)`);
  // Deliveries to the device's Inbox finish after the ask: wait for a quiet server (a sync that
  // still finds some missing polls on, and the note says so).
  await waitIdle(parley, { maxMs: settings.idleMaxMs * 3, windowMs: settings.quick ? 500 : 1_000, idlePct: 5 });
  const sync = await catchUpWithSync(baseUrl, device, cid, since, ours);
  log(`  Parley      sync: ${sync.received}/${ours.size} in ${sync.ms} ms (${sync.pages} pages, reconnect included)`);
  const list = await catchUpWithList(baseUrl, device, cid, ours);
  log(`  Parley      message_list: ${list.received}/${ours.size} in ${list.ms} ms (${list.pages} pages, reconnect included)`);
  return { messages: ours.size, sync, list };
}

async function durableCatchUp({ baselines, settings, runTag, log }) {
  const room = `catchup-${runTag}`;
  const url = wsUrl(baselines.baseUrl, `/durable/${room}`);
  const sender = await openSocket(url);
  const ours = new Set();
  for (let k = 0; k < settings.catchupMessages; k++) {
    const seq = takeSeq();
    ours.add(seq);
    sender.send(payload(seq, 0));
  }
  closeQuietly(sender);
  await sleep(Math.min(500, settings.closeWaitMs));
  await waitIdle(baselines, { maxMs: settings.idleMaxMs, windowMs: settings.idleWindowMs });
  const start = now();
  const device = await openSocket(url);
  try {
    const got = new Set();
    let pages = 0;
    for (let after = 0, more = true; more; pages++) {
      const page = await (await fetch(`${baselines.baseUrl}/durable/${room}?after=${after}&limit=500`)).json();
      for (const row of page.rows) {
        const body = JSON.parse(row.body);
        if (ours.has(body.i)) got.add(body.i);
      }
      after = page.rows.at(-1)?.id ?? after;
      more = page.has_more;
    }
    const result = { ms: round(now() - start), received: got.size, pages };
    log(`  DurableRoom read back: ${result.received}/${ours.size} in ${result.ms} ms (${result.pages} pages, reconnect included)`);
    return { messages: ours.size, read: result };
  } finally {
    closeQuietly(device);
  }
}

export async function runCatchUp({ baselines, parley, pool, settings, runTag, log }) {
  log(`\n(5) catch-up: a device misses ${settings.catchupMessages} messages of a conversation of two, reconnects and syncs`);
  const results = { DurableRoom: await durableCatchUp({ baselines, settings, runTag, log }) };
  try {
    results.Parley = await parleyCatchUp({ parley, pool, settings, log });
  } catch (err) {
    log(`Parley: not measured — ${err.message}`);
    results.Parley = { error: err.message };
  }
  return results;
}

export function catchUpRows(results, settings) {
  const p = results.Parley?.error ? null : results.Parley;
  const b = results.DurableRoom;
  const n = settings.catchupMessages;
  const err = results.Parley?.error ? `Parley not measured: ${results.Parley.error}` : null;
  const short = (r, what) => (r && r.received < n ? `${what}: only ${r.received}/${n} received` : null);
  const quick = settings.quick ? `quick mode: ${n} messages (the full run: 1,000)` : null;
  const baseNote = "DurableRoom: one SELECT per page of 500 over HTTP from the room object (no auth, no per-user log), the floor for reading N stored rows";
  return [
    compareRow({
      scenario: `catch-up: ${n} missed messages, reconnect + sync until has_more is false`, metric: "time to have all", unit: "ms", better: "lower",
      parley: p?.sync.ms, baseline: b.read.ms, baselineName: "DurableRoom",
      notes: [err, short(p?.sync, "Parley sync"), p && !p.sync.complete_on_first_pass ? `Parley: the first pass of sync had ${p.sync.first_pass.received}/${n} (the Inbox was still receiving) and the time includes polling until all arrived` : null, short(b.read, "DurableRoom"), baseNote, quick],
    }),
    compareRow({
      scenario: `catch-up: ${n} missed messages, reconnect + message_list paging`, metric: "time to have all", unit: "ms", better: "lower",
      parley: p?.list.ms, baseline: b.read.ms, baselineName: "DurableRoom",
      notes: [err, p ? `Parley: ${p.list.pages} pages of at most 30 (MESSAGE_PRELOAD_COUNT)` : null, short(p?.list, "Parley message_list"), baseNote, quick],
    }),
  ];
}
