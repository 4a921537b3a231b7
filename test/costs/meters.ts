// The runtime's own counters (objects/metrics.ts) read through GET /admin/metrics, per message. They
// count the whole isolate: each file of test/costs measures one scenario at a time.
import { expect } from "vitest";
import { http } from "../helpers/users";

type Meters = Record<"Conversation" | "Inbox" | "Gateway", { commits: number; rowsWritten: number; rowsRead: number; calls: number; starts: number }>;

export async function meters(): Promise<Meters> {
  const res = await http("GET", "/admin/metrics", { headers: { "admin-api-key": "test-admin-key" } });
  expect(res.status).toBe(200);
  return (res.json as { objects: Meters }).objects;
}

export function perMessage(before: Meters, after: Meters, messages: number) {
  const classes = Object.keys(after) as Array<keyof Meters>;
  const sum = (field: "commits" | "rowsWritten" | "rowsRead" | "calls") => classes.reduce((n, c) => n + after[c][field] - before[c][field], 0) / messages;
  const byClass = Object.fromEntries(
    classes.map((c) => [c, Object.fromEntries((["commits", "rowsWritten", "rowsRead", "calls"] as const).map((f) => [f, (after[c][f] - before[c][f]) / messages]))]),
  );
  return { commits: sum("commits"), rowsWritten: sum("rowsWritten"), rowsRead: sum("rowsRead"), calls: sum("calls"), byClass };
}
