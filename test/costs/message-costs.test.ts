// What one message costs in what Durable Objects bill, counted by the runtime (objects/metrics.ts)
// and read through GET /admin/metrics, for SAMA's shape (a group of 4, every member online) and a
// group small enough for the Inboxes' path (3).
import { describe, expect, it } from "vitest";
import type { TestUser } from "../helpers/users";
import { createGroup, device, nextPacket, send, sleep, tab, users } from "../chat/messages-fixtures";
import { inboxOfUser } from "../helpers/socket";
import { meters, perMessage } from "./meters";

/**
 * `messages` messages from the members in turn: one at a time (each awaited at the next member), or
 * as a burst (every send acknowledged, deliveries awaited at the end); then the Inboxes' window (1 s
 * in tests) and the Conversation's confirmations, and one more send, which deletes what was
 * confirmed meanwhile, as the next write does. An Inbox writes once per window whatever it got, so
 * a group's budget holds at load, not one message at a time (DESIGN.md: amortized at steady load).
 */
async function measure(size: number, messages: number, mode: "one at a time" | "burst") {
  const members: TestUser[] = await users(size);
  const sockets = await Promise.all(members.map(async (m) => tab(await device(m))));
  const cid = await createGroup(sockets[0]!, members.slice(1).map((m) => m.id));
  await sleep(200);
  const before = await meters();
  const arrivals: Array<Promise<unknown>> = [];
  for (let i = 0; i < messages; i++) {
    const arrived = nextPacket(sockets[(i + 1) % size]!, "message", (m) => m.body === `m${i}`, 20_000);
    const sent = send(sockets[i % size]!, cid, { body: `m${i}` });
    if (mode === "one at a time") await Promise.all([sent, arrived]);
    else arrivals.push(sent, arrived);
  }
  await Promise.all(arrivals);
  await sleep(4000);
  await send(sockets[0]!, cid, { body: "after the window" });
  const costs = perMessage(before, await meters(), messages + 1);
  console.log(`costs per message (group of ${size}, all online, ${mode}): ${JSON.stringify(costs)}`);
  return costs;
}

describe("message costs, the write-behind included", () => {
  // First, and waiting for its own windows at the end: what a test leaves behind lands in the next one's count.
  it("costs one commit and a call per recipient on the Inboxes' path (a group of 3, below GATEWAY_FANOUT_MIN_RECIPIENTS), fewer calls under load", { timeout: 60_000 }, async () => {
    const rest = await measure(3, 20, "one at a time");
    // Measured: 1.2-1.4 commits (the Conversation's own, and each Inbox's once per window), 5.6-6.3
    // rows written, 6.2-6.3 calls (the Gateway to the Conversation, the Conversation to the 3 members'
    // Inboxes, the 2 recipients' Inboxes to their Gateways). One more commit or call per message fails.
    expect(rest.commits).toBeGreaterThan(0.9); // the message's own commit is counted
    expect(rest.commits).toBeLessThanOrEqual(1.75);
    expect(rest.rowsWritten).toBeLessThanOrEqual(8);
    expect(rest.calls).toBeLessThanOrEqual(7);
    // Each Inbox's lane carries what is pending for it in one call, and each Inbox one push per Gateway.
    const load = await measure(3, 40, "burst");
    expect(load.commits).toBeLessThanOrEqual(1.75);
    expect(load.calls).toBeLessThan(rest.calls / 2);
    await sleep(2000); // the last send's windows, written before the next test counts
  });

  it("stays within DESIGN.md's budget in SAMA's shape (a group of 4, everyone online), one message at a time", { timeout: 30_000 }, async () => {
    const costs = await measure(4, 20, "one at a time");
    // DESIGN.md: ≤ 2 commits and ≤ 10 rows written per message.
    expect(costs.commits).toBeLessThanOrEqual(2);
    expect(costs.rowsWritten).toBeLessThanOrEqual(10);
    expect(costs.commits).toBeGreaterThan(0.9); // the message's own commit is counted
  });

  it("stays within DESIGN.md's budget in a group of 50 under load, with fewer calls per message than at rest", { timeout: 90_000 }, async () => {
    const rest = await measure(50, 5, "one at a time");
    const load = await measure(50, 100, "burst");
    // DESIGN.md: ≤ 3 commits and ≤ 15 rows written per message.
    expect(load.commits).toBeLessThanOrEqual(3);
    expect(load.rowsWritten).toBeLessThanOrEqual(15);
    // Lanes carry what is pending for their recipient in one call.
    expect(load.calls).toBeLessThan(rest.calls);
  });

  it("counts each start of an object: an Inbox that died starts again with its next delivery", { timeout: 30_000 }, async () => {
    const [alice, bob] = (await users(2)) as [TestUser, TestUser];
    const [as, bs] = await Promise.all([alice, bob].map(async (u) => tab(await device(u))));
    const cid = await createGroup(as!, [bob.id]);
    await Promise.all([send(as!, cid, { body: "first" }), nextPacket(bs!, "message", (m) => m.body === "first")]);
    const before = await meters();
    await inboxOfUser(bob).testAbort().catch(() => undefined);
    await Promise.all([send(as!, cid, { body: "second" }), nextPacket(bs!, "message", (m) => m.body === "second")]);
    const after = await meters();
    expect(after.Inbox.starts - before.Inbox.starts).toBe(1);
    expect(after.Conversation.starts - before.Conversation.starts).toBe(0);
  });
});
