// What one message costs under SAMA's load test (groups of 4, everyone online, steady sends), counted
// by the runtime (objects/metrics.ts). A file of its own: the counters are the isolate's, and another
// scenario's alarms and windows would land in this one's count.
import { runDurableObjectAlarm } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { TestUser } from "../helpers/users";
import { createGroup, device, eventually, received, send, sleep, tab, users } from "../chat/messages-fixtures";
import { meters, perMessage } from "./meters";

/**
 * SAMA's load test as bench/lib/sama-load.mjs drives it (its costs phase, bench/lib/costs.mjs), with
 * time scaled by the Inbox's window (bench 10 s, tests 1 s): `groups` groups of 4, everyone online,
 * every user sending at its own phase of the period (bench 5 s, here 0.5 s: two sends per user and
 * eight per group per window) for 1.5 windows (bench 15 s), each message awaited at its 3
 * recipients; then the wait that covers the Inboxes' write-behind (bench: window + 3 s; here 4 s).
 * The bench's load comes in bursts per group (its 4 members' phases are adjacent: 4 sends within
 * ~70 ms, then ~5 s of quiet; here ~80 ms, then ~0.4 s), which is what made delivered reports pay a
 * commit of their own there. Then every Conversation's alarm runs (it would within the D1 copy's 30 s,
 * unscaled: the bench's 28 s do not always see it) and each group sends once more, the next write
 * that carries what was left for it; both are counted, so nothing deferred goes unpaid.
 */
async function measureSamaLoad(groups: number) {
  const periodMs = 500;
  const sendingMs = 1500;
  const members: TestUser[] = await users(groups * 4);
  const sockets = await Promise.all(members.map(async (m) => tab(await device(m))));
  const cids = await Promise.all(
    Array.from({ length: groups }, (_, g) => createGroup(sockets[g * 4]!, members.slice(g * 4 + 1, g * 4 + 4).map((m) => m.id))),
  );
  await sleep(2000); // the creations' write-behind is not the messages'
  const before = await meters();
  const start = Date.now();
  const asks: Array<Promise<unknown>> = [];
  const sent = new Map<number, string[]>(); // user → bodies sent
  const dueAt = (event: number) => ((event % sockets.length) / sockets.length + Math.floor(event / sockets.length)) * periodMs;
  for (let event = 0; dueAt(event) < sendingMs; event++) {
    const wait = start + dueAt(event) - Date.now();
    if (wait > 0) await sleep(wait);
    const u = event % sockets.length;
    const body = `load ${event}`;
    sent.set(u, [...(sent.get(u) ?? []), body]);
    asks.push(send(sockets[u]!, cids[Math.floor(u / 4)]!, { body }, undefined, 20_000));
  }
  await Promise.all(asks);
  // Every message at its 3 recipients, as the bench's tally counts deliveries.
  await eventually(async () => {
    for (const [u, bodies] of sent) {
      const group = Math.floor(u / 4);
      for (let r = group * 4; r < group * 4 + 4; r++) {
        if (r === u) continue;
        const got = new Set(received(sockets[r]!, "message").map((m) => m.body));
        for (const body of bodies) expect(got.has(body)).toBe(true);
      }
    }
  }, 20_000);
  await sleep(4000);
  for (const cid of cids) await runDurableObjectAlarm(env.CONVERSATION.get(env.CONVERSATION.idFromName(cid)));
  await Promise.all(cids.map((cid, g) => send(sockets[g * 4]!, cid, { body: "after the window" })));
  const messages = [...sent.values()].reduce((n, b) => n + b.length, 0) + groups;
  const costs = perMessage(before, await meters(), messages);
  console.log(`costs per message (SAMA's load: ${groups} groups of 4, all online, ${messages} messages): ${JSON.stringify(costs)}`);
  return costs;
}

describe("message costs under SAMA's load", () => {
  it("stays within DESIGN.md's budget in SAMA's shape under SAMA's load (groups of 4 sending steadily, everyone online)", { timeout: 60_000 }, async () => {
    const costs = await measureSamaLoad(6);
    // DESIGN.md: ≤ 2 commits and ≤ 10 rows written per message.
    expect(costs.commits).toBeLessThanOrEqual(2);
    expect(costs.rowsWritten).toBeLessThanOrEqual(10);
    expect(costs.commits).toBeGreaterThan(0.9); // the message's own commit is counted
  });
});
