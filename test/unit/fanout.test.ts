// The fan-out lanes against a fake Inbox: a recipient whose delivery fails stops (its later packets
// wait, so its order holds), settle() is not held up by it, and the alarm's retry() resends what it
// owes, in order, and empties the table. A row every recipient stored is deleted with the next write,
// not in a commit of its own. A held copy waits for another recipient's call and travels with what
// was queued for its recipient meanwhile.
import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { expect, it } from "vitest";
import type { Delivery, DeliveryReceipt } from "../../src/domain/delivery";
import { Fanout, type FanoutRow, type RowDeliveries } from "../../src/objects/conversation-fanout";

/** Every recipient of the row gets a delivery carrying the row id as its seq; `held` as given. */
function deliveriesOf(row: FanoutRow, held: string | null = null): RowDeliveries {
  const delivery: Delivery = { seq: row.id, cid: "c", packet: null, store: false, excludeSession: null, patch: null, mid: null };
  return { byRecipient: new Map((JSON.parse(row.recipients) as string[]).map((u) => [u, delivery])), held };
}

function freshConversation() {
  return env.CONVERSATION.get(env.CONVERSATION.idFromName(`fanout-unit-${Math.random()}`));
}

it("a failed recipient waits for retry(), keeps its order, and the others are not held up", async () => {
  await runInDurableObject(freshConversation(), async (_instance, state) => {
    const sql = state.storage.sql;
    const got = new Map<string, number[]>();
    let failB = true;
    const fanout = new Fanout(sql, {
      deliveries: (row: FanoutRow) => deliveriesOf(row),
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
  await runInDurableObject(freshConversation(), async (_instance, state) => {
    const sql = state.storage.sql;
    const got: number[] = [];
    const fanout = new Fanout(sql, {
      deliveries: (row: FanoutRow) => deliveriesOf(row),
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

it("a held copy waits for another recipient's call and leaves in one call with the receipt queued meanwhile", async () => {
  await runInDurableObject(freshConversation(), async (_instance, state) => {
    const calls: Array<{ userId: string; seqs: number[] }> = [];
    const fanout: Fanout = new Fanout(state.storage.sql, {
      // Row 1 is the author's message (held for "a"); the receipt row for "a" has no other recipient.
      deliveries: (row: FanoutRow) => deliveriesOf(row, row.id === 1 ? "a" : null),
      deliver: async (userId: string, deliveries: Delivery[]): Promise<DeliveryReceipt> => {
        calls.push({ userId, seqs: deliveries.map((d) => d.seq!) });
        return { delivered: userId === "b" ? ["m1"] : [] };
      },
      // As the Conversation does: the first report enqueues a receipt for the author.
      delivered: (userId: string, mids: string[]) => {
        if (mids.length > 0) fanout.enqueue(["a"], { receipt: userId }, {});
      },
      retryLater: () => undefined,
    });
    fanout.enqueue(["a", "b", "c"], { message: 1 }, {});
    fanout.pump();
    await fanout.settle();
    await fanout.settle(); // the receipt row, enqueued during the first settle
    const toA = calls.filter((c) => c.userId === "a");
    expect(toA).toEqual([{ userId: "a", seqs: [1, 2] }]);
    expect(calls.map((c) => c.userId).indexOf("a")).toBeGreaterThan(0); // after another recipient's call
    expect(calls.filter((c) => c.userId !== "a").map((c) => c.seqs)).toEqual([[1], [1]]);
  });
});

it("a held copy is not held when nobody else can release it, and is released when the other recipient fails", async () => {
  await runInDurableObject(freshConversation(), async (_instance, state) => {
    const calls: Array<{ userId: string; seqs: number[] }> = [];
    const fanout = new Fanout(state.storage.sql, {
      deliveries: (row: FanoutRow) => deliveriesOf(row, "a"),
      deliver: async (userId: string, deliveries: Delivery[]): Promise<DeliveryReceipt> => {
        if (userId === "b") throw new Error("inbox down");
        calls.push({ userId, seqs: deliveries.map((d) => d.seq!) });
        return { delivered: [] };
      },
      delivered: () => undefined,
      retryLater: () => undefined,
    });
    fanout.enqueue(["a"], { alone: 1 }, {});
    fanout.pump();
    await fanout.settle();
    expect(calls).toEqual([{ userId: "a", seqs: [1] }]);
    fanout.enqueue(["a", "b"], { two: 2 }, {});
    await fanout.settle(); // b fails: a's copy must not wait for the alarm
    expect(calls).toEqual([
      { userId: "a", seqs: [1] },
      { userId: "a", seqs: [2] },
    ]);
    fanout.enqueue(["a", "b"], { three: 3 }, {});
    await fanout.settle(); // b's lane is stopped until retry(): a's copy is not held for it
    expect(calls.at(-1)).toEqual({ userId: "a", seqs: [3] });
  });
});

it("a failed lane of the held recipient is neither held for nor started again before retry(), which resends in order", async () => {
  await runInDurableObject(freshConversation(), async (_instance, state) => {
    const calls: Array<{ userId: string; seqs: number[] }> = [];
    let failA = true;
    const fanout = new Fanout(state.storage.sql, {
      deliveries: (row: FanoutRow) => deliveriesOf(row, "a"),
      deliver: async (userId: string, deliveries: Delivery[]): Promise<DeliveryReceipt> => {
        calls.push({ userId, seqs: deliveries.map((d) => d.seq!) });
        if (userId === "a" && failA) throw new Error("inbox down");
        return { delivered: [] };
      },
      delivered: () => undefined,
      retryLater: () => undefined,
    });
    fanout.enqueue(["a", "b"], { one: 1 }, {});
    fanout.pump();
    await fanout.settle(); // a's copy leaves after b's call, and fails: a's lane stops
    fanout.enqueue(["a", "b"], { two: 2 }, {});
    await fanout.settle();
    expect(calls).toEqual([
      { userId: "b", seqs: [1] },
      { userId: "a", seqs: [1] },
      { userId: "b", seqs: [2] },
    ]);
    failA = false;
    expect(await fanout.retry()).toBe(false);
    expect(calls.at(-1)).toEqual({ userId: "a", seqs: [1, 2] });
  });
});
