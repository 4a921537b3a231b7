// The Inbox's derived state in memory, written behind: nothing reaches storage before flush();
// numbers handed out and lost with an instance are never handed out again, and a device whose
// cursor lies among them is told to reload (`truncated`), while one behind them is not.
import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { expect, it } from "vitest";
import { InboxLog } from "../../src/objects/inbox-log";

function freshInbox() {
  return env.INBOX.get(env.INBOX.idFromName(`inbox-log-unit-${Math.random()}`));
}

const message = (id: string) => ({ message: { _id: id, cid: "c1", body: id } });

it("keeps a window in memory until flush(), then writes it in one feed row", async () => {
  await runInDurableObject(freshInbox(), async (_instance, state) => {
    const sql = state.storage.sql;
    const log = new InboxLog(sql);
    log.append(message("m1"), 1000);
    log.append(message("m2"), 1001);
    log.applied("c1", 7);
    log.patch("c1", { unreadIncrement: 1 });
    expect(sql.exec<{ n: number }>("SELECT count(*) AS n FROM feed").one().n).toBe(0);
    expect(log.durableSeq("c1")).toBe(0);
    expect(log.appliedSeq("c1")).toBe(7);
    log.flush(2000);
    expect(sql.exec<{ n: number }>("SELECT count(*) AS n FROM feed").one().n).toBe(1);
    expect(log.durableSeq("c1")).toBe(7);
    const page = log.sync(null, 2000);
    expect(page.events.map((e) => e.event_seq)).toEqual([1, 2]);
    expect(JSON.parse(page.events[1]!.packet)).toEqual({ message: { _id: "m2", cid: "c1", body: "m2", event_seq: 2 } });
  });
});

it("never hands out a number twice after losing a window, and tells only the devices that saw lost numbers", async () => {
  await runInDurableObject(freshInbox(), async (_instance, state) => {
    const sql = state.storage.sql;
    const first = new InboxLog(sql);
    first.append(message("m1"), 1000);
    expect(first.mustFlush).toBe(true); // the first number of an instance is past its ceiling
    first.flush(1000); // durable: event 1, ceiling reserved beyond it
    first.append(message("m2"), 1001); // handed out (a live frame carried it), then the instance dies
    first.append(message("m3"), 1002);
    expect(first.mustFlush).toBe(false);

    const second = new InboxLog(sql); // a new instance on the same storage
    const frame = JSON.parse(second.append(message("m2"), 3000)) as { message: { event_seq: number } };
    expect(frame.message.event_seq).toBeGreaterThan(3); // past everything the dead instance may have used
    expect(second.mustFlush).toBe(true);
    second.flush(3000);
    const behind = second.sync(1, 3000); // saw only durable numbers: continues
    expect(behind.truncated).toBe(false);
    expect(behind.events.map((e) => e.event_seq)).toEqual([frame.message.event_seq]);
    expect(second.sync(2, 3000).truncated).toBe(true); // saw m2 as 2: reload
    expect(second.sync(3, 3000).truncated).toBe(true);
    expect(second.sync(frame.message.event_seq, 3000).truncated).toBe(false);

    const third = new InboxLog(sql); // the skip is remembered across instances
    expect(third.sync(2, 3000).truncated).toBe(true);
  });
});

it("answers op_log_list windows from feed rows that hold several events", async () => {
  await runInDurableObject(freshInbox(), async (_instance, state) => {
    const log = new InboxLog(state.storage.sql);
    for (let i = 1; i <= 5; i++) log.append(message(`m${i}`), 1000 + i);
    log.flush(1010);
    for (let i = 6; i <= 8; i++) log.append(message(`m${i}`), 1000 + i);
    const after = log.operationLog("u", { gt: 1003 }, 1010).map((r) => r._id);
    expect(after).toEqual(["4", "5", "6", "7", "8"]);
    const before = log.operationLog("u", { lt: 1007 }, 1010).map((r) => r._id);
    expect(before).toEqual(["1", "2", "3", "4", "5", "6"]);
  });
});

it("reports a cursor a device can continue from: the page's last event while there is more, never a reserved number", async () => {
  await runInDurableObject(freshInbox(), async (_instance, state) => {
    const sql = state.storage.sql;
    const first = new InboxLog(sql);
    for (let i = 1; i <= 600; i++) first.append(message(`m${i}`), 1000 + i);
    first.flush(2000);
    const page = first.sync(0, 2000);
    expect(page.has_more).toBe(true);
    expect(page.event_seq).toBe(page.events.at(-1)!.event_seq); // not 600: that would skip 501–600
    const rest = first.sync(page.event_seq, 2000);
    expect(rest.events.map((e) => e.event_seq)).toEqual(Array.from({ length: 100 }, (_, i) => 501 + i));

    // A restart that lost nothing: the cursor it reports is the last real number, which reads as
    // nothing lost, now and after new events.
    const second = new InboxLog(sql);
    const cursor = second.sync(600, 3000);
    expect(cursor).toMatchObject({ event_seq: 600, truncated: false, events: [] });
    second.append(message("m601"), 3001);
    second.flush(3001);
    const next = second.sync(cursor.event_seq, 3002);
    expect(next.truncated).toBe(false);
    expect(next.events).toHaveLength(1);
    expect(second.sync(next.event_seq, 3003)).toMatchObject({ truncated: false, events: [] });
  });
});
