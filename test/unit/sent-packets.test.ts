import { describe, expect, it } from "vitest";
import { liveDelivery, toDelivery } from "../../src/domain/delivery";
import { SentPackets, packetKey } from "../../src/domain/sent-packets";

const key = (cid: string, seq: number) => ({ cid, seq });

describe("SentPackets", () => {
  it("lets each stream packet go once, in any order, and packets of no stream always", () => {
    const sent = new SentPackets();
    expect([5, 7, 6, 5, 7, 6, 3, 3].map((seq) => sent.first("u1", key("c1", seq)))).toEqual([true, true, true, false, false, false, true, false]);
    expect(sent.first("u1", key("c2", 5))).toBe(true); // another conversation's row 5
    expect(sent.first("u1", null)).toBe(true);
    expect(sent.first("u1", null)).toBe(true);
  });

  it("remembers the last 1024 rows of a conversation, gaps included, and lets older ones go", () => {
    const sent = new SentPackets();
    expect(sent.first("u1", key("c1", 1))).toBe(true);
    expect(sent.first("u1", key("c1", 1024))).toBe(true);
    expect(sent.first("u1", key("c1", 1))).toBe(false); // still in the window
    expect(sent.first("u1", key("c1", 2))).toBe(true); // a gap: never sent
    expect(sent.first("u1", key("c1", 1025))).toBe(true);
    expect(sent.first("u1", key("c1", 1))).toBe(true); // out of the window: not known any more
    // A jump past the whole window forgets what was there (the ring's bits are cleared, not reused).
    expect(sent.first("u1", key("c1", 1025 + 1024 + 1024 + 1))).toBe(true);
    expect(sent.first("u1", key("c1", 1025 + 1024 + 1024))).toBe(true);
    expect(sent.first("u1", key("c1", 1025 + 1024 + 1024))).toBe(false);
  });

  it("forgets everything when the socket is another user's, and the least recently used of too many conversations", () => {
    const sent = new SentPackets();
    expect(sent.first("u1", key("c1", 1))).toBe(true);
    expect(sent.first("u2", key("c1", 1))).toBe(true);
    expect(sent.first("u2", key("c1", 1))).toBe(false);
    for (let c = 2; c <= 8; c++) expect(sent.first("u2", key(`c${c}`, 1))).toBe(true);
    expect(sent.first("u2", key("c1", 2))).toBe(true); // c1 is the most recent again: c2 is the oldest now
    expect(sent.first("u2", key("c9", 1))).toBe(true); // the 9th: c2 is forgotten
    expect(sent.first("u2", key("c2", 1))).toBe(true);
    expect(sent.first("u2", key("c1", 1))).toBe(false);
    expect(sent.first("u2", key("c3", 1))).toBe(true); // forgotten when c2 came back
  });
});

describe("packetKey", () => {
  const row = () => toDelivery(7, "c1", { message: { _id: "m1" } }, { store: true, excludeSession: null, patch: null }, "bob");

  it("keys a row of the Gateways' path (its delivery has liveTo, even none), and nothing else", () => {
    expect(packetKey({ ...row(), liveTo: [] })).toEqual({ cid: "c1", seq: 7 });
    expect(packetKey({ ...row(), liveTo: ["g:s1"] })).toEqual({ cid: "c1", seq: 7 });
    expect(packetKey(row())).toBeNull(); // the Inboxes' path: it cannot reach a socket twice
    const typing = liveDelivery("c1", { typing: { cid: "c1" } }, { store: false, excludeSession: null });
    expect(packetKey({ ...typing, liveTo: [] })).toBeNull(); // no stream row
  });
});
