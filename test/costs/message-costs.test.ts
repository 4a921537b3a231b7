// What one message costs in what Durable Objects bill, counted by the runtime (objects/metrics.ts)
// and read through GET /admin/metrics, for SAMA's shape (a group of 4, every member online).
import { describe, expect, it } from "vitest";
import { http, type TestUser } from "../helpers/users";
import { createGroup, device, nextPacket, send, sleep, tab, users } from "../chat/messages-fixtures";

type Meters = Record<"Conversation" | "Inbox" | "Session", { commits: number; rowsWritten: number; rowsRead: number; calls: number }>;

async function meters(): Promise<Meters> {
  const res = await http("GET", "/admin/metrics", { headers: { "admin-api-key": "test-admin-key" } });
  expect(res.status).toBe(200);
  return (res.json as { objects: Meters }).objects;
}

function perMessage(before: Meters, after: Meters, messages: number) {
  const classes = Object.keys(after) as Array<keyof Meters>;
  const sum = (field: "commits" | "rowsWritten" | "rowsRead" | "calls") => classes.reduce((n, c) => n + after[c][field] - before[c][field], 0) / messages;
  const byClass = Object.fromEntries(
    classes.map((c) => [c, Object.fromEntries((["commits", "rowsWritten", "rowsRead", "calls"] as const).map((f) => [f, (after[c][f] - before[c][f]) / messages]))]),
  );
  return { commits: sum("commits"), rowsWritten: sum("rowsWritten"), rowsRead: sum("rowsRead"), calls: sum("calls"), byClass };
}

describe("message costs", () => {
  it("counts commits, rows and calls per message in a group of 4 with everyone online", async () => {
    const members: TestUser[] = await users(4);
    const sockets = await Promise.all(members.map(async (m) => tab(await device(m))));
    const cid = await createGroup(sockets[0]!, members.slice(1).map((m) => m.id));
    await sleep(200);
    const before = await meters();
    const MESSAGES = 20;
    for (let i = 0; i < MESSAGES; i++) {
      const sender = sockets[i % 4]!;
      const receiver = sockets[(i + 1) % 4]!;
      const arrived = nextPacket(receiver, "message", (m) => m.body === `m${i}`);
      await send(sender, cid, { body: `m${i}` });
      await arrived;
    }
    await sleep(300);
    const costs = perMessage(before, await meters(), MESSAGES);
    console.log(`costs per message (group of 4, all online): ${JSON.stringify(costs)}`);
    expect(costs.commits).toBeGreaterThan(0);
    expect(costs.calls).toBeGreaterThan(0);
  });
});
