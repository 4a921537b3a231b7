// The fan-out lanes against a fake Inbox: a recipient whose delivery fails stops (its later packets
// wait, so its order holds), settle() is not held up by it, and the alarm's retry() resends what it
// owes, in order, and empties the table. A row every recipient stored is deleted with the next write,
// not in a commit of its own.
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

it("a row every recipient stored waits for the next write to be deleted, and is not delivered again", async () => {
  const stub = env.CONVERSATION.get(env.CONVERSATION.idFromName(`fanout-unit-${Math.random()}`));
  await runInDurableObject(stub, async (_instance, state) => {
    const sql = state.storage.sql;
    const got: number[] = [];
    const fanout = new Fanout(sql, {
      deliveries: (row: FanoutRow) => new Map([["a", { seq: row.id, cid: "c", packet: null, store: false, excludeSession: null, patch: null, mid: null } as Delivery]]),
      deliver: async (_userId: string, deliveries: Delivery[]): Promise<DeliveryReceipt> => {
        got.push(...deliveries.map((d) => d.seq!));
        return { delivered: [] };
      },
      delivered: () => undefined,
      retryLater: () => undefined,
    });
    const rows = () => sql.exec<{ id: number }>("SELECT id FROM fanout ORDER BY id").toArray().map((r) => r.id);
    fanout.enqueue(["a"], { one: 1 }, {});
    fanout.pump();
    await fanout.settle();
    expect(rows()).toEqual([1]); // stored by its only recipient, still in the table: no write of its own
    fanout.enqueue(["a"], { two: 2 }, {});
    expect(rows()).toEqual([2]); // gone with the next write
    fanout.pump();
    await fanout.settle();
    expect(await fanout.retry()).toBe(false); // the alarm empties the table
    expect(rows()).toEqual([]);
    expect(got).toEqual([1, 2]);
  });
});
