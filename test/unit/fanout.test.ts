// The fan-out lanes against a fake Inbox: a recipient whose delivery fails stops (its later packets
// wait, so its order holds), settle() is not held up by it, and the alarm's retry() resends what it
// owes, in order, and empties the table.
import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { expect, it } from "vitest";
import type { Delivery, DeliveryReceipt } from "../../src/domain/delivery";
import { Fanout, type FanoutRow } from "../../src/objects/conversation-fanout";

it("a failed recipient waits for retry(), keeps its order, and the others are not held up", async () => {
  const stub = env.CONVERSATION.get(env.CONVERSATION.idFromName(`fanout-unit-${Math.random()}`));
  await runInDurableObject(stub, async (_instance, state) => {
    const sql = state.storage.sql;
    const got = new Map<string, number[]>();
    let failB = true;
    const fanout = new Fanout(sql, {
      deliveries: (row: FanoutRow) =>
        new Map((JSON.parse(row.recipients) as string[]).map((u) => [u, { seq: row.id, cid: "c", packet: null, store: false, excludeSession: null, patch: null, mid: null } as Delivery])),
      deliver: async (userId: string, deliveries: Delivery[]): Promise<DeliveryReceipt> => {
        if (userId === "b" && failB) throw new Error("inbox down");
        got.set(userId, [...(got.get(userId) ?? []), ...deliveries.map((d) => d.seq!)]);
        return { delivered: [] };
      },
      delivered: () => undefined,
      retryLater: () => undefined,
    });
    fanout.enqueue(["a", "b"], { one: 1 }, {});
    fanout.pump();
    await fanout.settle();
    fanout.enqueue(["a", "b"], { two: 2 }, {});
    await fanout.settle(); // b's lane is stopped: settle() must not wait for it
    expect(got.get("a")).toEqual([1, 2]);
    expect(got.get("b")).toBeUndefined();
    expect(sql.exec<{ n: number }>("SELECT count(*) AS n FROM fanout").one().n).toBe(2);
    failB = false;
    expect(await fanout.retry()).toBe(false);
    expect(got.get("b")).toEqual([1, 2]);
    expect(got.get("a")).toEqual([1, 2]);
  });
});
