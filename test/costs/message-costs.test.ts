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
  it("stays within DESIGN.md's budget for a group of 4 with everyone online, the write-behind included", { timeout: 30_000 }, async () => {
    const members: TestUser[] = await users(4);
    const sockets = await Promise.all(members.map(async (m) => tab(await device(m))));
    const cid = await createGroup(sockets[0]!, members.slice(1).map((m) => m.id));
    await sleep(200);
    const before = await meters();
    (globalThis as unknown as { __trace?: string[] }).__trace = [];
    const MESSAGES = 20;
    for (let i = 0; i < MESSAGES; i++) {
      const sender = sockets[i % 4]!;
      const receiver = sockets[(i + 1) % 4]!;
      const arrived = nextPacket(receiver, "message", (m) => m.body === `m${i}`);
      await send(sender, cid, { body: `m${i}` });
      await arrived;
    }
    // The Inboxes write their window (1 s in tests) and confirm; the Conversation deletes what they wrote.
    await sleep(4000);
    await send(sockets[0]!, cid, { body: "after the window" }); // deletes rows confirmed meanwhile, as the next write does
    const costs = perMessage(before, await meters(), MESSAGES + 1);
    const t = (globalThis as unknown as { __trace: string[] }).__trace;
    const agg = new Map<string, number>();
    for (const line of t) { const [k, n, ...q] = line.split(" "); const key = `${k} ${q.join(" ")}`; agg.set(key, (agg.get(key) ?? 0) + Number(n)); }
    console.log([...agg].sort((a, b) => b[1] - a[1]).map(([k, n]) => `${(n / MESSAGES).toFixed(2)} ${k}`).join("\n"));
    console.log(`costs per message (group of 4, all online): ${JSON.stringify(costs)}`);
    // DESIGN.md's budget for SAMA's shape: ≤ 2 commits and ≤ 10 rows written per message.
    expect(costs.commits).toBeLessThanOrEqual(2);
    expect(costs.rowsWritten).toBeLessThanOrEqual(10);
    expect(costs.commits).toBeGreaterThan(0.9); // the message's own commit is counted
  });
});
