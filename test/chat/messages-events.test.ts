// Message side channels over real sockets: reactions, typing, system_message, and the event log
// (Parley's sync, SAMA's op_log_list).
import { evictDurableObject, runDurableObjectAlarm } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { isRecord, type Frame } from "../helpers/socket";
import { createOrganization, signUp } from "../helpers/users";
import {
  createConversation,
  createGroup,
  device,
  expectUnique,
  listMessages,
  nextPacket,
  opLogMessages,
  received,
  roundTrip,
  send,
  syncAll,
  syncPage,
  syncedMessages,
  tab,
  topLevelError,
  users,
  type Ask,
} from "./messages-fixtures";

const conversationStub = (cid: string) => env.CONVERSATION.get(env.CONVERSATION.idFromName(cid));

describe("message_reactions_update / message_reactions_list", () => {
  it("adds and removes, broadcasts only what changed, lists users per reaction", async () => {
    const [alice, bob, carol] = await users(3);
    const [as, bs, cs] = await Promise.all([device(alice!), device(bob!), device(carol!)].map(async (d) => tab(await d)));
    const cid = await createGroup(as!, [bob!.id, carol!.id]);
    const m = await send(as!, cid, { body: "react to me" });
    await nextPacket(bs!, "message", (p) => p._id === m.server_mid);
    await nextPacket(cs!, "message", (p) => p._id === m.server_mid);
    const mid = m.server_mid;
    const base = { mid, cid, c_type: "g", event_seq: expect.any(Number) };
    const ofMid = (p: Frame) => p.mid === mid;

    expect(await bs!.request("message_reactions_update", { mid, add: "👍" })).toMatchObject({ success: true });
    expect(await nextPacket(as!, "message_reactions_update", ofMid)).toEqual({ ...base, from: bob!.id, add: "👍" });
    expect(await nextPacket(cs!, "message_reactions_update", ofMid)).toEqual({ ...base, from: bob!.id, add: "👍" });

    // A no-op (adding what is there, removing what is not) is accepted and announced to nobody.
    expect(await bs!.request("message_reactions_update", { mid, add: "👍", remove: "😂" })).toMatchObject({ success: true });
    expect(await cs!.request("message_reactions_update", { mid, add: "👍" })).toMatchObject({ success: true });
    expect(await nextPacket(as!, "message_reactions_update", ofMid)).toEqual({ ...base, from: carol!.id, add: "👍" });
    expect(received(as!, "message_reactions_update", ofMid).map((p) => p.from)).toEqual([bob!.id, carol!.id]);

    expect(await bs!.request("message_reactions_update", { mid, add: "🔥", remove: "👍" })).toMatchObject({ success: true });
    expect(await nextPacket(as!, "message_reactions_update", ofMid)).toEqual({ ...base, from: bob!.id, add: "🔥", remove: "👍" });
    expect(await bs!.request("message_reactions_update", { mid, remove: "🔥" })).toMatchObject({ success: true });
    expect(await nextPacket(as!, "message_reactions_update", ofMid)).toEqual({ ...base, from: bob!.id, remove: "🔥" });
    expect(await bs!.request("message_reactions_update", { mid, add: "👍" })).toMatchObject({ success: true });
    await nextPacket(as!, "message_reactions_update", ofMid);

    const both = [bob!.id, carol!.id].sort();
    // (The author's own lookup right after sending is covered in messages-send.test.ts.)
    expect(await bs!.request("message_reactions_list", { mid })).toMatchObject({ reactions: { "👍": both } });
    expect(await cs!.request("message_reactions_list", { mid })).toMatchObject({ reactions: { "👍": both } });
    expect((await listMessages(cs!, { cid }))[0]?.reactions).toEqual({ own: ["👍"], total: { "👍": 2 } });
    // The reacting socket got its response, never the broadcast.
    expect(received(bs!, "message_reactions_update", (p) => p.from === bob!.id)).toEqual([]);
  });

  it("never answers a non-participant who knows the message id with data, and validates", async () => {
    const [alice, bob, dave] = await users(3);
    const [as, bs, ds] = await Promise.all([device(alice!), device(bob!), device(dave!)].map(async (d) => tab(await d)));
    const cid = await createGroup(as!, [bob!.id]);
    const m = await send(as!, cid, { body: "private" });
    await nextPacket(bs!, "message", (p) => p._id === m.server_mid);
    expect(await bs!.request("message_reactions_update", { mid: m.server_mid, add: "👍" })).toMatchObject({ success: true });

    const notFound = { status: 422, message: "Message ID not found." };
    const probe = async () => {
      expect(await ds!.requestError("message_reactions_update", { mid: m.server_mid, add: "👎" })).toEqual(notFound);
      expect(await ds!.requestError("message_reactions_list", { mid: m.server_mid })).toEqual(notFound);
    };
    await probe();
    // Also once the message is in D1 (where requests naming only a message id look it up).
    await runDurableObjectAlarm(conversationStub(cid));
    await probe();
    expect(await as!.request("message_reactions_list", { mid: m.server_mid })).toMatchObject({ reactions: { "👍": [bob!.id] } });

    expect(await bs!.requestError("message_reactions_update", { mid: m.server_mid })).toEqual({
      status: 422,
      message: '"value" must contain at least one of [add, remove]',
    });
    expect(await bs!.requestError("message_reactions_update", { add: "👍" })).toEqual({ status: 422, message: "Incorrect message ID." });
    expect(await bs!.requestError("message_reactions_list", {})).toEqual({ status: 422, message: "Incorrect message ID." });
    expect(await bs!.requestError("message_reactions_update", { mid: "0123456789abcdef01234567", add: "👍" })).toEqual(notFound);
  });
});

describe("typing", () => {
  it("reaches the other participants' sockets live, answers nothing, and is never logged", async () => {
    const [alice, bob, carol] = await users(3);
    const [a1, a2, b1, c1] = await Promise.all([device(alice!), device(alice!), device(bob!), device(carol!)]);
    const [sending, otherTab, otherDevice, bs, cs] = await Promise.all([tab(a1), tab(a1), tab(a2), tab(b1), tab(c1)]);
    const cid = await createGroup(sending, [bob!.id, carol!.id]);

    sending.send({ typing: { cid, status: "start" } });
    for (const socket of [otherTab, otherDevice, bs, cs]) {
      expect(await nextPacket(socket, "typing", (p) => p.cid === cid)).toEqual({ cid, c_type: "g", from: alice!.id, t: expect.any(Number), status: "start" });
    }
    sending.send({ typing: { cid } });
    expect(await nextPacket(bs, "typing", (p) => p.cid === cid)).toEqual({ cid, c_type: "g", from: alice!.id, t: expect.any(Number) });

    // Answers come in order: any reply to the typings would precede the ping's.
    await roundTrip(sending);
    expect(sending.frames.filter((f) => "typing" in f)).toEqual([]);

    const events = await syncAll(bs);
    expect(events.filter((e) => "typing" in e.packet)).toEqual([]);
  });

  it("refuses with top-level errors", async () => {
    const [alice, bob, dave] = await users(3);
    const [as, ds] = await Promise.all([device(alice!), device(dave!)].map(async (d) => tab(await d)));
    const cid = await createGroup(as!, [bob!.id]);
    const channel = await createConversation(as!, "c", []);
    const answers: Frame[] = [];
    for (const [socket, params] of [
      [as, { status: "start" }],
      [as, { cid: "0123456789abcdef01234567" }],
      [ds, { cid }],
      [as, { cid: channel }],
    ] as const) {
      const reply = socket!.next((f) => isRecord(f.typing) && isRecord(f.typing.error));
      socket!.send({ typing: params });
      answers.push(await reply);
    }
    expect(answers).toEqual([
      { typing: { error: { status: 422, message: "'cid' field is required." } } },
      { typing: { error: { status: 404, message: "Conversation not found." } } },
      { typing: { error: { status: 403, message: "Forbidden." } } },
      { typing: { error: { status: 403, message: "Forbidden." } } },
    ]);
  });
});

describe("system_message", () => {
  it("goes to a conversation's participants (cid) or to listed users (uids), acked with mid and t", async () => {
    const [alice, bob, carol, dave] = await users(4);
    const stranger = await signUp({ organizationId: await createOrganization() });
    const [a1, a2, b1, c1, d1, s1] = await Promise.all([device(alice!), device(alice!), device(bob!), device(carol!), device(dave!), device(stranger)]);
    const [as1, as2, bs, cs, ds, ss] = await Promise.all([tab(a1), tab(a2), tab(b1), tab(c1), tab(d1), tab(s1)]);
    const cid = await createGroup(as1, [bob!.id, carol!.id]);

    const ask1 = as1.next((f) => isRecord(f.ask) && f.ask.mid === "s1");
    as1.send({ system_message: { id: "s1", cid, x: { k: 1 } } });
    const t = ((await ask1).ask as Frame).t;
    expect(await ask1).toEqual({ ask: { mid: "s1", t: expect.any(Number) } });
    for (const socket of [as2, bs, cs]) {
      expect(await nextPacket(socket, "system_message", (p) => p._id === "s1")).toEqual({ _id: "s1", from: alice!.id, t, x: { k: 1 }, cid, event_seq: expect.any(Number) });
    }

    const ask2 = as1.next((f) => isRecord(f.ask) && f.ask.mid === "s2");
    as1.send({ system_message: { id: "s2", uids: [bob!.id, dave!.id, stranger.id], x: { e: "hello" } } });
    expect(await ask2).toEqual({ ask: { mid: "s2", t: expect.any(Number) } });
    // Delivered before the ask: a round trip on the other organization's socket shows it got nothing.
    await roundTrip(ss);
    expect(received(ss, "system_message")).toEqual([]);
    for (const socket of [bs, ds]) {
      const got = await nextPacket(socket, "system_message", (p) => p._id === "s2");
      expect(got).toMatchObject({ _id: "s2", from: alice!.id, t: expect.any(Number), x: { e: "hello" } });
      expect(got).not.toHaveProperty("cid");
    }

    // Not for carol (not listed), nor for the sending socket: a later message shows what came before it.
    const marker = await send(as1, cid, { body: "marker" });
    await nextPacket(cs, "message", (p) => p._id === marker.server_mid);
    expect(received(cs, "system_message", (p) => p._id === "s2")).toEqual([]);
    await nextPacket(bs, "message", (p) => p._id === marker.server_mid);
    expect(received(as1, "system_message", (p) => p._id === "s1")).toEqual([]);
  });

  it("refuses bad system messages with top-level errors", async () => {
    const [alice, bob, dave] = await users(3);
    const [as, ds] = await Promise.all([device(alice!), device(dave!)].map(async (d) => tab(await d)));
    const cid = await createGroup(as!, [bob!.id]);
    const uids21 = Array.from({ length: 21 }, () => bob!.id);
    const cases: Array<[typeof as, Record<string, unknown>, number, string]> = [
      [as, { cid, x: {} }, 422, "Incorrect message ID."],
      [as, { id: "s2", cid, uids: [bob!.id], x: {} }, 422, "'cid' or 'uids' field is required."],
      [as, { id: "s3", x: {} }, 422, "'cid' or 'uids' field is required."],
      [as, { id: "s4", cid }, 422, "'x' field is required."],
      [as, { id: "s5", uids: uids21, x: {} }, 422, "'uids' max length 20"],
      [as, { id: "s6", cid: "0123456789abcdef01234567", x: {} }, 404, "Conversation not found."],
      [ds, { id: "s7", cid, x: {} }, 403, "Forbidden."],
    ];
    const answers: Frame[] = [];
    for (const [socket, params] of cases) answers.push(await topLevelError(socket!, "system_message", params));
    expect(answers).toEqual(
      cases.map(([, params, status, message]) => ({ system_message: params.id === undefined ? { error: { status, message } } : { id: params.id, error: { status, message } } })),
    );
  });
});

describe("sync", () => {
  it("gives a device that was offline every message it missed while another device was online, once, in order", { timeout: 20_000 }, async () => {
    const [user, peer] = await users(2);
    const [online, offline, p1] = await Promise.all([device(user!), device(user!), device(peer!)]);
    const [os, ps] = await Promise.all([tab(online), tab(p1)]);
    const cid = await createGroup(ps, [user!.id]);

    const asks: Ask[] = [];
    for (let i = 0; i < 5; i++) asks.push(await send(ps, cid, { body: `missed ${i}` }));
    const live = new Map<string, number>();
    for (const a of asks) live.set(a.server_mid, (await nextPacket(os, "message", (m) => m._id === a.server_mid)).event_seq as number);

    const late = await tab(offline);
    const page = await syncPage(late, 0);
    expect(page).toEqual({ id: expect.anything(), events: expect.any(Array), event_seq: expect.any(Number), has_more: false, epoch: expect.any(String), truncated: false });
    expect(page.event_seq).toBe(page.events[page.events.length - 1]?.event_seq);
    expect(page.events.map((e) => e.event_seq)).toEqual([...page.events.map((e) => e.event_seq)].sort((x, y) => x - y));
    const missed = syncedMessages(page.events, cid);
    expect(expectUnique(missed.map((m) => m._id as string))).toEqual(asks.map((a) => a.server_mid));
    for (const event of page.events.filter((e) => isRecord(e.packet.message) && e.packet.message.cid === cid)) {
      const message = event.packet.message as Frame;
      expect(message.event_seq).toBe(event.event_seq);
      expect(live.get(message._id as string)).toBe(event.event_seq); // the live packet carried the same event_seq
    }
    // `since` is optional: from the oldest retained event.
    expect((await syncPage(late, undefined)).events).toEqual(page.events);

    // Offline again; catching up from the last seen event_seq gives exactly what came after it.
    late.close();
    const more: Ask[] = [];
    for (let i = 0; i < 3; i++) more.push(await send(ps, cid, { body: `missed later ${i}` }));
    for (const a of more) await nextPacket(os, "message", (m) => m._id === a.server_mid);
    const back = await tab(offline);
    const after = await syncAll(back, page.event_seq);
    expect(after.every((e) => e.event_seq > page.event_seq)).toBe(true);
    expect(syncedMessages(after, cid).map((m) => m._id)).toEqual(more.map((a) => a.server_mid));

    expect(await back.requestError("sync", { since: -1 })).toMatchObject({ status: 422 });
    expect(await back.requestError("sync", { since: 1, foo: 1 })).toEqual({ status: 422, message: '"foo" is not allowed' });
  });
});

describe("op_log_list", () => {
  it("lists the caller's logged packets in a created_at window as a plain response", async () => {
    const [user, peer] = await users(2);
    const [us, ps] = await Promise.all([device(user!), device(peer!)].map(async (d) => tab(await d)));
    const cid = await createGroup(ps!, [user!.id]);
    const since = new Date(Date.now() - 60_000).toISOString();
    const asks = [await send(ps!, cid, { body: "log 1" }), await send(ps!, cid, { body: "log 2" })];
    for (const a of asks) await nextPacket(us!, "message", (m) => m._id === a.server_mid);

    const response = await us!.request("op_log_list", { created_at: { gt: since } });
    expect(Object.keys(response).sort()).toEqual(["id", "logs"]);
    const logs = response.logs as Frame[];
    for (const log of logs) {
      expect(log).toEqual({ _id: expect.any(String), user_id: user!.id, packet: expect.any(String), created_at: expect.any(String), updated_at: expect.any(String) });
      expect(Date.parse(log.created_at as string)).not.toBeNaN();
    }
    const mids = logs.flatMap((l) => {
      const p = JSON.parse(l.packet as string) as Frame;
      return isRecord(p.message) && p.message.cid === cid ? [p.message._id] : [];
    });
    expect(mids).toEqual(asks.map((a) => a.server_mid));
    expect(us!.frames.some((f) => "packet" in f)).toBe(false); // not SAMA's {"packet":{…}} wrapper

    const before = await us!.request("op_log_list", { created_at: { lt: new Date(Date.now() + 60_000).toISOString() } });
    expect((before.logs as Frame[]).map((l) => l._id)).toEqual(expect.arrayContaining(logs.map((l) => l._id)));
    expect((await us!.request("op_log_list", { created_at: { gt: new Date(Date.now() + 60_000).toISOString() } })).logs).toEqual([]);

    const missed = { status: 422, message: "Gt or lt query missed." };
    expect(await us!.requestError("op_log_list", { created_at: { gt: since, lt: since } })).toEqual(missed);
    expect(await us!.requestError("op_log_list", { created_at: {} })).toEqual(missed);
    expect(await us!.requestError("op_log_list", {})).toEqual(missed);
  });

  it("pages through a backlog that reached the log in one call (each event its own created_at)", async () => {
    const [peer, user, other] = await users(3);
    const ps = await tab(await device(peer!));
    const cid = await createGroup(ps!, [user!.id, other!.id]);
    const since = Date.now() - 1000;
    // Held fan-out: the messages reach one recipient at most; the rest arrive later, in one call each.
    await conversationStub(cid).testHoldFanout(true);
    const sent: string[] = [];
    for (let i = 0; i < 130; i++) sent.push((await send(ps!, cid, { body: `backlog ${i}` })).server_mid);
    await evictDurableObject(conversationStub(cid));
    await runDurableObjectAlarm(conversationStub(cid));
    for (const reader of [user!, other!]) {
      const rs = await tab(await device(reader));
      const logged = await opLogMessages(rs, cid, since);
      expect(logged).toEqual(sent);
    }
  });
});
