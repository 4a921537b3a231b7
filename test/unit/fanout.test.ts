// The fan-out lanes against a fake Inbox: a recipient whose delivery fails stops (its later packets
// wait, so its order holds), settle() is not held up by it, and the alarm's retry() resends what it
// owes, in order, and empties the table. A row every recipient stored is deleted with the next write,
// not in a commit of its own. An Inbox that lost its window gets it again as state, and what stays
// unwritten past the window is resent with `durable`.
import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { expect, it } from "vitest";
import type { Delivery, DeliveryReceipt } from "../../src/domain/delivery";
import { Fanout, type FanoutRow } from "../../src/objects/conversation-fanout";
import { GatewayLive } from "../../src/objects/conversation-gateways";

/** Every packet through the Inboxes: no row has enough recipients for the Gateways. */
const inboxesOnly = new GatewayLive(() => {
  throw new Error("no gateway here");
}, () => false, Number.POSITIVE_INFINITY);

/** Every recipient of the row gets a delivery carrying the row id as its seq. */
function deliveriesOf(row: FanoutRow): Map<string, Delivery> {
  const delivery: Delivery = { seq: row.id, cid: "c", packet: null, store: false, excludeSession: null, patch: null, mid: null };
  return new Map((JSON.parse(row.recipients) as string[]).map((u) => [u, delivery]));
}

/** A fake Inbox that writes at once: everything it got is durable. */
function written(deliveries: Delivery[]): number {
  return Math.max(0, ...deliveries.map((d) => d.seq ?? 0));
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
        return { delivered: [], durable: written(deliveries) };
      },
      delivered: () => undefined,
      retryLater: () => undefined,
    }, 60_000, inboxesOnly, 0);
    fanout.enqueue(["a", "b"], { one: 1 }, {});
    fanout.pump();
    await fanout.settle();
    fanout.enqueue(["a", "b"], { two: 2 }, {});
    await fanout.settle(); // b's lane is stopped: settle() must not wait for it
    expect(got.get("a")).toEqual([1, 2]);
    expect(got.get("b")).toBeUndefined();
    expect(sql.exec<{ n: number }>("SELECT count(*) AS n FROM fanout").one().n).toBe(2);
    failB = false;
    expect(await fanout.retry(Date.now())).toBe(false);
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
        return { delivered: [], durable: written(deliveries) };
      },
      delivered: () => undefined,
      retryLater: () => undefined,
    }, 60_000, inboxesOnly, 0);
    const rows = () => sql.exec<{ id: number }>("SELECT id FROM fanout ORDER BY id").toArray().map((r) => r.id);
    fanout.enqueue(["a"], { one: 1 }, {});
    fanout.pump();
    await fanout.settle();
    expect(rows()).toEqual([1]); // stored by its only recipient, still in the table: no write of its own
    fanout.enqueue(["a"], { two: 2 }, {});
    expect(rows()).toEqual([2]); // gone with the next write
    fanout.pump();
    await fanout.settle();
    expect(await fanout.retry(Date.now())).toBe(false); // the alarm empties the table
    expect(rows()).toEqual([]);
    expect(got).toEqual([1, 2]);
  });
});

/** A fake Inbox with write-behind: applies in memory, writes on flush(), forgets on crash(). */
class FakeInbox {
  applied = 0;
  durable = 0;
  readonly calls: Array<{ seqs: number[]; after: Array<number | undefined>; replay: boolean[]; durable: boolean }> = [];
  /** What the user's state holds, in order (each seq once). */
  readonly state: number[] = [];
  private stateDurable = 0;

  deliver(deliveries: Delivery[], options: { durable: boolean }): DeliveryReceipt {
    this.calls.push({ seqs: deliveries.map((d) => d.seq!), after: deliveries.map((d) => d.after), replay: deliveries.map((d) => d.replay === true), durable: options.durable });
    let gap: number | undefined;
    for (const d of deliveries) {
      if (d.seq! <= this.applied) continue;
      if (d.after !== undefined && d.after > this.applied) {
        gap = this.applied;
        break;
      }
      this.applied = d.seq!;
      this.state.push(d.seq!);
    }
    if (options.durable) this.flush();
    return { delivered: [], durable: this.durable, ...(gap !== undefined ? { gap } : {}) };
  }

  flush(): void {
    this.durable = this.applied;
    this.stateDurable = this.state.length;
  }

  crash(): void {
    this.applied = this.durable;
    this.state.splice(this.stateDurable);
  }
}

it("an Inbox that lost its window answers with a gap: the lane resends it as state, then the call as it was", async () => {
  await runInDurableObject(freshConversation(), async (_instance, state) => {
    const inbox = new FakeInbox();
    const fanout = new Fanout(state.storage.sql, {
      deliveries: (row: FanoutRow) => deliveriesOf(row),
      deliver: async (_userId: string, deliveries: Delivery[], options: { durable: boolean }) => inbox.deliver(deliveries, options),
      delivered: () => undefined,
      retryLater: () => undefined,
    }, 60_000, inboxesOnly, 0);
    fanout.enqueue(["a"], { one: 1 }, {});
    fanout.pump();
    await fanout.settle();
    inbox.flush(); // row 1 written
    fanout.enqueue(["a"], { two: 2 }, {});
    fanout.enqueue(["a"], { three: 3 }, {});
    await fanout.settle(); // rows 2 and 3 applied in memory only
    inbox.crash();
    fanout.enqueue(["a"], { four: 4 }, {});
    await fanout.settle();
    expect(inbox.state).toEqual([1, 2, 3, 4]); // nothing lost, nothing twice, in order
    expect(inbox.calls.slice(-2)).toEqual([
      { seqs: [4], after: [3], replay: [false], durable: false }, // refused: 3 was lost
      { seqs: [2, 3, 4], after: [1, 2, 3], replay: [true, true, false], durable: false }, // from what it wrote
    ]);
    expect(await fanout.retry(Date.now())).toBe(true); // not written yet: the rows stay
  });
});

it("deliveries left unwritten past the window are resent with `durable`, and their rows go", async () => {
  await runInDurableObject(freshConversation(), async (_instance, state) => {
    const sql = state.storage.sql;
    const inbox = new FakeInbox();
    const due: number[] = [];
    const fanout = new Fanout(sql, {
      deliveries: (row: FanoutRow) => deliveriesOf(row),
      deliver: async (_userId: string, deliveries: Delivery[], options: { durable: boolean }) => inbox.deliver(deliveries, options),
      delivered: () => undefined,
      retryLater: (at?: number) => void (at !== undefined && due.push(at)),
    }, 5_000, inboxesOnly, 0);
    const start = Date.now();
    fanout.enqueue(["a"], { one: 1 }, {});
    fanout.enqueue(["a"], { two: 2 }, {});
    fanout.pump();
    await fanout.settle();
    expect(due.at(-1)).toBeGreaterThanOrEqual(start + 5_000); // the alarm comes back when they are due
    expect(await fanout.retry(start + 1_000)).toBe(true); // not due yet: nothing resent
    expect(inbox.calls).toHaveLength(1);
    inbox.crash(); // and the Inbox lost them meanwhile
    expect(await fanout.retry(Date.now() + 6_000)).toBe(false); // due: resent as state, written, rows deleted
    expect(inbox.calls.at(-1)).toEqual({ seqs: [1, 2], after: [undefined, 1], replay: [true, true], durable: true });
    expect(inbox.state).toEqual([1, 2]);
    expect(sql.exec<{ n: number }>("SELECT count(*) AS n FROM fanout").one().n).toBe(0);
  });
});

it("row ids never go back, even when the table empties and a new instance starts", async () => {
  await runInDurableObject(freshConversation(), async (_instance, state) => {
    const sql = state.storage.sql;
    const seen: number[] = [];
    const target = {
      deliveries: (row: FanoutRow) => deliveriesOf(row),
      deliver: async (_userId: string, deliveries: Delivery[]): Promise<DeliveryReceipt> => {
        seen.push(...deliveries.map((d) => d.seq!));
        return { delivered: [], durable: written(deliveries) };
      },
      delivered: () => undefined,
      retryLater: () => undefined,
    };
    const first = new Fanout(sql, target, 60_000, inboxesOnly, 0);
    first.enqueue(["a"], { one: 1 }, {});
    first.enqueue(["a"], { two: 2 }, {});
    first.pump();
    await first.settle();
    expect(await new Fanout(sql, target, 60_000, inboxesOnly, 0).retry(Date.now())).toBe(false); // another instance empties the table
    expect(sql.exec<{ n: number }>("SELECT count(*) AS n FROM fanout").one().n).toBe(0);
    const third = new Fanout(sql, target, 60_000, inboxesOnly, 0);
    third.enqueue(["a"], { three: 3 }, {});
    third.pump();
    await third.settle();
    expect(seen.at(-1)).toBeGreaterThan(2); // an Inbox that applied 2 would skip a new row 1 or 2
  });
});

it("more rows than the lanes read ahead, none written yet: every row still reaches the Inbox, and the overdue ones are then written and go", async () => {
  await runInDurableObject(freshConversation(), async (_instance, state) => {
    const sql = state.storage.sql;
    const inbox = new FakeInbox(); // writes only when asked (`durable`)
    const fanout = new Fanout(sql, {
      deliveries: (row: FanoutRow) => deliveriesOf(row),
      deliver: async (_userId: string, deliveries: Delivery[], options: { durable: boolean }) => inbox.deliver(deliveries, options),
      delivered: () => undefined,
      retryLater: () => undefined,
    }, 5_000, inboxesOnly, 0);
    for (let i = 0; i < 1100; i++) fanout.enqueue(["a"], { i }, {});
    fanout.pump();
    await fanout.settle(); // would wait for a window's confirmations if unwritten rows held back the read-ahead
    expect(inbox.state).toHaveLength(1100);
    // Overdue: resent with `durable` (in calls of 200: the alarm comes back until the table is empty).
    let more = await fanout.retry(Date.now() + 10_000);
    for (let k = 0; more && k < 10; k++) {
      await new Promise((resolve) => setTimeout(resolve, 10));
      more = await fanout.retry(Date.now() + 10_000);
    }
    expect(more).toBe(false);
    expect(inbox.durable).toBe(1100);
    expect(sql.exec<{ n: number }>("SELECT count(*) AS n FROM fanout").one().n).toBe(0);
  });
});
