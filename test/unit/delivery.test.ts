import { describe, expect, it } from "vitest";
import { mergePatches, rowDeliveries, toDelivery, type FanoutOptions, type IndexPatch } from "../../src/domain/delivery";

// The index row as applyPatch would leave it, for checking a merged patch against the two applied in turn.
interface Row { last: string | null; updatedAt: number; unread: number; view: string | null }
function apply(row: Row, p: IndexPatch): Row {
  const next = { ...row };
  if (p.conversation) next.view = p.conversation.name ?? "";
  if (p.lastMessage !== undefined) next.last = p.lastMessage === null ? null : String(p.lastMessage.t);
  if (p.updatedAt !== undefined) next.updatedAt = Math.max(next.updatedAt, p.updatedAt);
  if (p.unread !== undefined) next.unread = p.unread + (p.unreadIncrement ?? 0);
  else if (p.unreadIncrement) next.unread += p.unreadIncrement;
  return next;
}

const start: Row = { last: null, updatedAt: 5, unread: 3, view: null };
const last = (t: number) => ({ _id: `m${t}`, body: "", from: "u", t, status: "sent" }) as unknown as IndexPatch["lastMessage"];
const samples: IndexPatch[] = [
  { lastMessage: last(1), updatedAt: 10, unreadIncrement: 1 },
  { lastMessage: last(2), updatedAt: 8 },
  { unread: 0 },
  { unread: 4, unreadIncrement: 2 },
  { updatedAt: 20, unreadIncrement: 3 },
  { lastMessage: null },
  { conversation: { name: "renamed" } as unknown as NonNullable<IndexPatch["conversation"]>, updatedAt: 30 },
];

describe("mergePatches", () => {
  it("has the effect of the two patches applied one after the other", () => {
    for (const a of samples) {
      for (const b of samples) {
        const merged = mergePatches(a, b);
        expect(merged).not.toBeNull();
        expect(apply(start, merged!)).toEqual(apply(apply(start, a), b));
      }
    }
  });

  it("folds a run of new messages into one increment", () => {
    const one: IndexPatch = { lastMessage: last(1), updatedAt: 1, unreadIncrement: 1 };
    const merged = [2, 3, 4].reduce<IndexPatch>((acc, t) => mergePatches(acc, { lastMessage: last(t), updatedAt: t, unreadIncrement: 1 })!, one);
    expect(merged).toEqual({ lastMessage: last(4), updatedAt: 4, unreadIncrement: 4 });
  });

  it("keeps a removal separate", () => {
    expect(mergePatches({ remove: true }, { unreadIncrement: 1 })).toBeNull();
    expect(mergePatches({ unreadIncrement: 1 }, { remove: true })).toBeNull();
  });
});

describe("toDelivery", () => {
  const packet = { message: { _id: "m1" } };
  const push = { payload: { title: "ann", body: "hi" }, except: "ann", attachment: "f1" };
  const message: FanoutOptions = {
    store: true,
    excludeSession: "s1",
    patch: { updatedAt: 7 },
    message: { mid: "m1", from: "ann", deletedFor: ["cy"] },
    push,
  };

  it("counts a new message unread for the recipients who can see it, not for its author", () => {
    expect(toDelivery(3, "c1", packet, message, "bob").patch).toEqual({ updatedAt: 7, unreadIncrement: 1 });
    expect(toDelivery(3, "c1", packet, message, "ann").patch).toEqual({ updatedAt: 7 });
    expect(toDelivery(3, "c1", packet, message, "cy").patch).toEqual({ updatedAt: 7 });
  });

  it("pushes to everyone but the one who caused it, with the attachment to sign", () => {
    expect(toDelivery(3, "c1", packet, message, "bob")).toEqual({
      seq: 3,
      cid: "c1",
      packet,
      store: true,
      excludeSession: "s1",
      patch: { updatedAt: 7, unreadIncrement: 1 },
      mid: "m1",
      push: push.payload,
      pushAttachment: "f1",
    });
    const own = toDelivery(3, "c1", packet, message, "ann");
    expect(own.push).toBeUndefined();
    expect(own.pushAttachment).toBeUndefined();
    expect(own.mid).toBe("m1");
  });

  it("sets a recipient's own absolute unread count, and no message id for other events", () => {
    const recount: FanoutOptions = { store: false, excludeSession: null, patch: null, unread: { bob: 2 } };
    expect(toDelivery(4, "c1", null, recount, "bob")).toEqual({ seq: 4, cid: "c1", packet: null, store: false, excludeSession: null, patch: { unread: 2 }, mid: null });
    expect(toDelivery(4, "c1", null, recount, "ann").patch).toBeNull();
  });
});

describe("rowDeliveries", () => {
  const options: FanoutOptions = { store: true, excludeSession: null, patch: null, message: { mid: "m2", from: "ann", deletedFor: [] } };
  const row = { id: 9, packet: JSON.stringify({ message: { _id: "m2" } }), recipients: JSON.stringify(["ann", "bob"]), options: JSON.stringify(options) };

  it("gives every recipient of a stored row their own delivery, or only the one asked for", () => {
    const all = rowDeliveries(row, "c1");
    expect([...all.keys()]).toEqual(["ann", "bob"]);
    expect(all.get("bob")).toEqual(toDelivery(9, "c1", { message: { _id: "m2" } }, options, "bob"));
    expect(all.get("ann")!.patch).toBeNull();
    expect([...rowDeliveries(row, "c1", "bob").keys()]).toEqual(["bob"]);
    expect(rowDeliveries({ ...row, packet: null }, "c1").get("bob")!.packet).toBeNull();
  });
});
