// Messages over real sockets through the Worker: send, ask and carbons, validation, idempotency,
// total order, message_list, message_read, message_edit, message_delete.
import { evictDurableObject, runDurableObjectAlarm } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { Frame, TestSocket } from "../helpers/socket";
import { createOrganization, signUp } from "../helpers/users";
import {
  OBJECT_ID,
  conversationOf,
  createConversation,
  createGroup,
  device,
  eventually,
  expectUnique,
  listMessages,
  nextPacket,
  packet,
  received,
  send,
  sleep,
  tab,
  topLevelError,
  users,
  type Ask,
} from "./messages-fixtures";

const conversationStub = (cid: string) => env.CONVERSATION.get(env.CONVERSATION.idFromName(cid));

describe("message", () => {
  it("acks the sending socket and reaches every other socket of every participant, carbons included", async () => {
    const [alice, bob, carol] = await users(3);
    const [a1, a2, b1, c1] = await Promise.all([device(alice!), device(alice!), device(bob!), device(carol!)]);
    const [sending, otherTab, otherDevice, bobSocket, carolSocket] = await Promise.all([tab(a1!), tab(a1!), tab(a2!), tab(b1!), tab(c1!)]);
    const cid = await createGroup(sending, [bob!.id, carol!.id]);

    const askFrame = sending.next(packet("ask", (a) => a.mid === "m1"));
    const before = Date.now();
    sending.send({ message: { id: "m1", cid, body: "hi", x: { k: 1 } } });
    const frame = await askFrame;
    expect(frame).toEqual({ ask: { mid: "m1", server_mid: expect.stringMatching(OBJECT_ID), t: expect.any(Number), modified: null, bot_message: null } });
    const ask = frame.ask as Ask;
    expect(Math.abs(ask.t - before / 1000)).toBeLessThan(10);

    for (const socket of [otherTab, otherDevice, bobSocket, carolSocket]) {
      const message = await nextPacket(socket, "message", (m) => m._id === ask.server_mid);
      expect(message).toEqual({
        _id: ask.server_mid,
        cid,
        c_type: "g",
        from: alice!.id,
        t: ask.t,
        body: "hi",
        x: { k: 1 },
        seq: 1,
        event_seq: expect.any(Number),
        created_at: expect.any(String),
        updated_at: expect.any(String),
      });
      expect(Date.parse(message.created_at as string)).not.toBeNaN();
    }

    // Deliveries reach each session in commit order: once bob's later message is on the sending
    // socket, its own message would have come before it.
    const later = await send(bobSocket, cid, { body: "later" });
    await nextPacket(sending, "message", (m) => m._id === later.server_mid);
    expect(received(sending, "message", (m) => m._id === ask.server_mid)).toEqual([]);
    // …and bob's sending socket did not get bob's message either, while his peers did.
    await nextPacket(otherDevice, "message", (m) => m._id === later.server_mid);
    expect(received(bobSocket, "message", (m) => m._id === later.server_mid)).toEqual([]);
  });

  it("gets the author's other devices their message whether or not a recipient is online, and the receipt after it", async () => {
    const [alice, bob] = await users(2);
    const [a1, a2] = await Promise.all([device(alice!), device(alice!)]);
    const [sending, otherDevice] = await Promise.all([tab(a1!), tab(a2!)]);
    const cid = await createGroup(sending, [bob!.id]);

    // Bob has no socket: no delivered report will come, and the author's copy must not wait for one.
    const unseen = await send(sending, cid, { body: "while bob is away" });
    await nextPacket(otherDevice, "message", (m) => m._id === unseen.server_mid);

    // Bob online: his delivered report reaches both of Alice's sockets, after the message on the other one.
    const b1 = await device(bob!);
    const bobSocket = await tab(b1);
    const seen = await send(sending, cid, { body: "now bob is here" });
    await nextPacket(bobSocket, "message", (m) => m._id === seen.server_mid);
    const isReceipt = (p: Frame) => Array.isArray(p.ids) && (p.ids as string[]).includes(seen.server_mid);
    await nextPacket(sending, "message_delivered", isReceipt);
    await nextPacket(otherDevice, "message_delivered", isReceipt);
    const at = (name: string, match: (body: Frame) => boolean) => otherDevice.frames.findIndex((f) => f[name] !== undefined && match(f[name] as Frame));
    const messageAt = at("message", (m) => m._id === seen.server_mid);
    expect(messageAt).toBeGreaterThanOrEqual(0);
    expect(messageAt).toBeLessThan(at("message_delivered", isReceipt));
    expect(received(otherDevice, "message", (m) => m._id === seen.server_mid)).toHaveLength(1);
  });

  it("tells the author delivered once per message, however many recipients report it (the message not in the object's memory)", async () => {
    // Three members: below GATEWAY_FANOUT_MIN_RECIPIENTS, so every report comes from an Inbox after
    // the eviction (a Gateway's report before it would be a receipt the dead instance had sent).
    const members = await users(3);
    const sockets = await Promise.all(members.map(async (m) => tab(await device(m!))));
    const [author, ...others] = sockets as [TestSocket, ...TestSocket[]];
    const cid = await createGroup(author, members.slice(1).map((m) => m!.id));
    await send(author, cid, { body: "warm-up" });
    // The fan-out held at its first recipient, then the object evicted: a fresh instance delivers the
    // message to the others from its table, with nothing of it in memory.
    await conversationStub(cid).testHoldFanout(true);
    const ask = await send(author, cid, { body: "reported by two" });
    await evictDurableObject(conversationStub(cid));
    await runDurableObjectAlarm(conversationStub(cid));
    await Promise.all(others.map((s) => nextPacket(s, "message", (m) => m._id === ask.server_mid)));
    const isReceipt = (p: Frame) => Array.isArray(p.ids) && (p.ids as string[]).includes(ask.server_mid);
    await nextPacket(author, "message_delivered", isReceipt);
    await sleep(1000);
    expect(received(author, "message_delivered", isReceipt)).toHaveLength(1);
  });

  it("refuses bad sends with SAMA's top-level errors and stores nothing", async () => {
    const [alice, bob, carol, dave] = await users(4);
    const otherOrg = await createOrganization();
    const stranger = await signUp({ organizationId: otherOrg });
    const [as, bs, ds, ss] = await Promise.all([device(alice!), device(bob!), device(dave!), device(stranger)].map(async (d) => tab(await d)));
    const cid = await createGroup(as!, [bob!.id]);
    const elsewhere = await createGroup(as!, [carol!.id]);
    const foreign = await send(as!, elsewhere, { body: "in another conversation" });

    const cases: Array<[typeof as, Record<string, unknown>, number, string]> = [
      [as, { id: "e1", body: "x" }, 422, "'cid' field is required."],
      [as, { id: "e2", cid }, 422, '"value" must contain at least one of [body, attachments]'],
      [as, { id: "", cid, body: "x" }, 422, "Incorrect message ID."],
      [as, { id: "e4", cid, body: "x", foo: 1 }, 422, '"foo" is not allowed'],
      [as, { id: "e5", cid, body: "x", x: "not an object" }, 422, '"x" must be of type object'],
      [as, { id: "e6", cid, body: "x", x: [1] }, 422, '"x" must be of type object'],
      [as, { id: "e7", cid: "0123456789abcdef01234567", body: "x" }, 404, "Conversation not found."],
      [as, { id: "e8", cid: "not-an-id", body: "x" }, 404, "Conversation not found."],
      [ds, { id: "e9", cid, body: "x" }, 403, "Forbidden."],
      [ss, { id: "e10", cid, body: "x" }, 404, "Conversation not found."],
      [as, { id: "e11", cid, body: "x", replied_message_id: foreign.server_mid }, 422, "Incorrect replied message ID."],
      [as, { id: "e12", cid, body: "x", replied_message_id: "0123456789abcdef01234567" }, 422, "Incorrect replied message ID."],
      [as, { id: "e13", cid, attachments: [{ file_id: "f1", file_name: "n".repeat(256) }] }, 422, "Either message body or attachments required."],
      [as, { id: "e14", cid, attachments: [] }, 422, "Either message body or attachments required."],
      [as, { id: "e15", cid, body: 5 }, 422, "Either message body or attachments required."],
    ];
    const answers: Frame[] = [];
    for (const [socket, params] of cases) answers.push(await topLevelError(socket!, "message", params));
    expect(answers).toEqual(cases.map(([, params, status, message]) => ({ message: { id: params.id, error: { status, message } } })));

    expect(await listMessages(as!, { cid })).toEqual([]);
    expect(received(bs!, "message", (m) => m.cid === cid)).toEqual([]);

    // A reply to a message of the same conversation passes and is carried on the packet.
    const original = await send(as!, cid, { body: "original" });
    const reply = await send(as!, cid, { body: "reply", replied_message_id: original.server_mid });
    const got = await nextPacket(bs!, "message", (m) => m._id === reply.server_mid);
    expect(got).toMatchObject({ replied_message_id: original.server_mid, seq: 2 });
  });

  it("is idempotent per client id: a retried send returns the first ask and stores one message", async () => {
    const [alice, bob] = await users(2);
    const [a1, a2, b1] = await Promise.all([device(alice!), device(alice!), device(bob!)]);
    const [as1, as2, bs] = await Promise.all([tab(a1), tab(a2), tab(b1)]);
    const cid = await createGroup(as1, [bob!.id]);

    const first = await send(as1, cid, { body: "once" }, "dup-1");
    const again = await send(as1, cid, { body: "once" }, "dup-1");
    // A lost ack retried from the user's other device is the same send.
    const elsewhere = await send(as2, cid, { body: "once" }, "dup-1");
    expect(again).toEqual(first);
    expect(elsewhere).toEqual(first);

    const marker = await send(as1, cid, { body: "marker" });
    const markerPacket = await nextPacket(bs, "message", (m) => m._id === marker.server_mid);
    expect(markerPacket.seq).toBe(2);
    expect(received(bs, "message", (m) => m.body === "once").map((m) => m._id)).toEqual([first.server_mid]);
    const listed = await listMessages(bs, { cid });
    expect(listed.map((m) => [m._id, m.seq])).toEqual([
      [marker.server_mid, 2],
      [first.server_mid, 1],
    ]);
  });

  it("gives one total order: two senders firing 100 messages each, every recipient sees the same gap-free order", { timeout: 60_000 }, async () => {
    const [alice, bob, carol] = await users(3);
    const [a1, a2, b1, b2, c1, c2] = await Promise.all([device(alice!), device(alice!), device(bob!), device(bob!), device(carol!), device(carol!)]);
    const [as1, as2, bs1, bs2, cs1, cs2] = await Promise.all([tab(a1), tab(a2), tab(b1), tab(b2), tab(c1), tab(c2)]);
    const cid = await createGroup(as1, [bob!.id, carol!.id]);

    const N = 100;
    const aliceIds = Array.from({ length: N }, (_, i) => `a${i}`);
    const bobIds = Array.from({ length: N }, (_, i) => `b${i}`);
    const asks = Promise.all([
      Promise.all(aliceIds.map((id) => as1.next(packet("ask", (a) => a.mid === id), 30_000))),
      Promise.all(bobIds.map((id) => bs1.next(packet("ask", (a) => a.mid === id), 30_000))),
    ]);
    for (let i = 0; i < N; i++) {
      as1.send({ message: { id: aliceIds[i], cid, body: `alice ${i}` } });
      bs1.send({ message: { id: bobIds[i], cid, body: `bob ${i}` } });
    }
    const [aliceAsks, bobAsks] = (await asks).map((frames) => frames.map((f) => f.ask as Ask));
    // Each sender's messages are ordered as that socket sent them.
    for (const list of [aliceAsks!, bobAsks!]) {
      const mids = list.map((a) => a.server_mid);
      expect([...mids].sort()).toEqual(mids);
    }

    const ofCid = (m: Frame) => m.cid === cid;
    const full = [as2, bs2, cs1, cs2];
    await eventually(async () => {
      for (const socket of full) expect(received(socket, "message", ofCid)).toHaveLength(2 * N);
      expect(received(as1, "message", ofCid)).toHaveLength(N);
      expect(received(bs1, "message", ofCid)).toHaveLength(N);
    }, 30_000);

    const order = received(cs1, "message", ofCid);
    const ids = expectUnique(order.map((m) => m._id as string));
    expect(order.map((m) => m.seq)).toEqual(Array.from({ length: 2 * N }, (_, i) => i + 1));
    expect([...ids].sort()).toEqual(ids); // _id strictly increases with seq (unique and sorted)
    for (const socket of full) expect(received(socket, "message", ofCid).map((m) => m._id)).toEqual(ids);
    // The senders' own sockets saw exactly the other sender's messages, in the same order.
    const fromOf = new Map(order.map((m) => [m._id as string, m.from as string]));
    expect(received(as1, "message", ofCid).map((m) => m._id)).toEqual(ids.filter((id) => fromOf.get(id) === bob!.id));
    expect(received(bs1, "message", ofCid).map((m) => m._id)).toEqual(ids.filter((id) => fromOf.get(id) === alice!.id));
    // Every ask names a delivered message.
    expect(new Set([...aliceAsks!, ...bobAsks!].map((a) => a.server_mid))).toEqual(new Set(ids));

    // message_list agrees (30 per page at most: page through with `ids`).
    const listed: Frame[] = [];
    for (let i = 0; i < ids.length; i += 30) {
      const page = await listMessages(cs2, { cid, ids: ids.slice(i, i + 30), limit: 30 });
      expect(page).toHaveLength(Math.min(30, ids.length - i));
      listed.push(...page);
    }
    listed.sort((x, y) => (x.seq as number) - (y.seq as number));
    expect(listed.map((m) => [m._id, m.seq])).toEqual(order.map((m) => [m._id, m.seq]));
  });
});

describe("message_list", () => {
  it("pages newest first, caps the limit at 30, filters by updated_at and ids, and shows status and reactions", { timeout: 20_000 }, async () => {
    const [alice, bob] = await users(2);
    const [a1, b1] = await Promise.all([device(alice!), device(bob!)]);
    const as = await tab(a1);
    const cid = await createGroup(as, [bob!.id]);

    // 32 in a burst, then 3 more with distinct timestamps; bob is offline throughout.
    const burst = Array.from({ length: 32 }, (_, i) => `l${i}`);
    const burstAsks = Promise.all(burst.map((id) => as.next(packet("ask", (a) => a.mid === id), 10_000)));
    for (const id of burst) as.send({ message: { id, cid, body: id } });
    const asks: Ask[] = (await burstAsks).map((f) => f.ask as Ask);
    for (const id of ["l32", "l33", "l34"]) {
      await sleep(3);
      asks.push(await send(as, cid, { body: id }, id));
    }
    const bySeq = (seq: number) => asks[seq - 1]!.server_mid;

    const page = await listMessages(as, { cid });
    expect(page.map((m) => m.seq)).toEqual(Array.from({ length: 30 }, (_, i) => 35 - i));
    expect(page[0]).toEqual({
      _id: bySeq(35),
      cid,
      c_type: "g",
      from: alice!.id,
      t: expect.any(Number),
      body: "l34",
      x: {},
      seq: 35,
      created_at: expect.any(String),
      updated_at: expect.any(String),
      status: "sent",
      reactions: {},
    });
    expect(page.every((m) => m.status === "sent")).toBe(true);
    expect(await listMessages(as, { cid, limit: 100 })).toHaveLength(30);
    expect((await listMessages(as, { cid, limit: 5 })).map((m) => m.seq)).toEqual([35, 34, 33, 32, 31]);

    const seq32 = page.find((m) => m.seq === 32)!;
    const seq34 = page.find((m) => m.seq === 34)!;
    expect((await listMessages(as, { cid, updated_at: { gt: seq32.updated_at } })).map((m) => m.seq)).toEqual([33, 34, 35]);
    const before34 = await listMessages(as, { cid, updated_at: { lt: seq34.updated_at } });
    expect(before34.map((m) => m.seq)).toEqual(Array.from({ length: 30 }, (_, i) => 33 - i));
    expect((await listMessages(as, { cid, ids: [bySeq(1), bySeq(3), "0123456789abcdef01234567"] })).map((m) => m.seq)).toEqual([3, 1]);

    // sent → delivered (a socket of bob got it) → read (bob read it).
    const bs = await tab(b1);
    const d = await send(as, cid, { body: "to be delivered" });
    await nextPacket(bs, "message", (m) => m._id === d.server_mid);
    const delivered = await nextPacket(as, "message_delivered", (p) => p.cid === cid);
    expect(delivered).toEqual({ ids: [d.server_mid], cid, from: bob!.id, event_seq: expect.any(Number) });
    expect((await listMessages(as, { cid, ids: [d.server_mid] }))[0]?.status).toBe("delivered");
    expect((await listMessages(as, { cid, ids: [bySeq(35)] }))[0]?.status).toBe("sent");

    expect(await bs.request("message_read", { cid, ids: [d.server_mid] })).toMatchObject({ success: true });
    await nextPacket(as, "message_read", (p) => p.cid === cid);
    expect((await listMessages(as, { cid, ids: [d.server_mid] }))[0]?.status).toBe("read");

    // status only on the caller's own messages; reactions {own,total} per viewer.
    expect(await bs.request("message_reactions_update", { mid: d.server_mid, add: "👍" })).toMatchObject({ success: true });
    const bobView = await listMessages(bs, { cid, limit: 3 });
    expect(bobView.some((m) => "status" in m)).toBe(false);
    expect(bobView[0]).toMatchObject({ _id: d.server_mid, reactions: { own: ["👍"], total: { "👍": 1 } } });
    expect((await listMessages(as, { cid, ids: [d.server_mid] }))[0]?.reactions).toEqual({ own: [], total: { "👍": 1 } });
  });

  it("refuses unknown conversations and non-participants", async () => {
    const [alice, bob, dave] = await users(3);
    const [as, ds] = await Promise.all([device(alice!), device(dave!)].map(async (d) => tab(await d)));
    const cid = await createGroup(as!, [bob!.id]);
    expect(await ds!.requestError("message_list", { cid })).toEqual({ status: 403, message: "Forbidden." });
    expect(await as!.requestError("message_list", { cid: "0123456789abcdef01234567" })).toEqual({ status: 404, message: "Conversation not found." });
    expect(await as!.requestError("message_list", {})).toEqual({ status: 422, message: "'cid' field is required." });
  });
});

describe("message_read", () => {
  it("sends one message_read to each author and clears the reader's unread count", async () => {
    const [alice, bob, carol] = await users(3);
    const [as, bs, cs] = await Promise.all([device(alice!), device(bob!), device(carol!)].map(async (d) => tab(await d)));
    const cid = await createGroup(as!, [bob!.id, carol!.id]);
    const b1 = await send(bs!, cid, { body: "b1" });
    const b2 = await send(bs!, cid, { body: "b2" });
    const c1 = await send(cs!, cid, { body: "c1" });
    await nextPacket(as!, "message", (m) => m._id === c1.server_mid);
    expect((await conversationOf(as!, cid)).unread_messages_count).toBe(3);

    expect(await as!.request("message_read", { cid })).toMatchObject({ success: true });
    expect(await nextPacket(bs!, "message_read", (p) => p.cid === cid)).toEqual({
      ids: [b1.server_mid, b2.server_mid],
      cid,
      from: alice!.id,
      event_seq: expect.any(Number),
    });
    expect(await nextPacket(cs!, "message_read", (p) => p.cid === cid)).toEqual({ ids: [c1.server_mid], cid, from: alice!.id, event_seq: expect.any(Number) });
    expect((await conversationOf(as!, cid)).unread_messages_count).toBe(0);

    // Nothing more for the authors (packets arrive in commit order: a later message comes after any read).
    const marker = await send(as!, cid, { body: "marker" });
    await nextPacket(bs!, "message", (m) => m._id === marker.server_mid);
    await nextPacket(cs!, "message", (m) => m._id === marker.server_mid);
    expect(received(bs!, "message_read", (p) => p.cid === cid)).toHaveLength(1);
    expect(received(cs!, "message_read", (p) => p.cid === cid)).toHaveLength(1);
    expect(received(as!, "message_read", (p) => p.cid === cid)).toHaveLength(0);
  });

  it("is refused in channels, in unknown conversations and to non-participants", async () => {
    const [alice, bob, dave] = await users(3);
    const [as, ds] = await Promise.all([device(alice!), device(dave!)].map(async (d) => tab(await d)));
    const channel = await createConversation(as!, "c", []);
    const group = await createGroup(as!, [bob!.id]);
    expect(await as!.requestError("message_read", { cid: channel })).toEqual({ status: 403, message: "Forbidden." });
    expect(await ds!.requestError("message_read", { cid: group })).toEqual({ status: 403, message: "Forbidden." });
    expect(await as!.requestError("message_read", { cid: "0123456789abcdef01234567" })).toEqual({ status: 404, message: "Conversation not found." });
  });
});

describe("message_edit", () => {
  it("lets only the author edit, tells the other participants, and lists the new body", async () => {
    const [alice, bob, carol] = await users(3);
    const [a1, a2, b1, c1] = await Promise.all([device(alice!), device(alice!), device(bob!), device(carol!)]);
    const [as1, as2, bs, cs] = await Promise.all([tab(a1), tab(a2), tab(b1), tab(c1)]);
    const cid = await createGroup(as1, [bob!.id, carol!.id]);
    const m = await send(as1, cid, { body: "typo" });
    await nextPacket(bs, "message", (p) => p._id === m.server_mid);
    // Copy to D1 first, so this test does not depend on how the author's own message is found
    // (covered by the next test).
    await runDurableObjectAlarm(conversationStub(cid));

    expect(await bs.requestError("message_edit", { id: m.server_mid, body: "hijack" })).toEqual({ status: 403, message: "Forbidden." });
    expect(await as1.requestError("message_edit", { id: "0123456789abcdef01234567", body: "x" })).toEqual({ status: 422, message: "Message ID not found." });
    // As SAMA: no id at all is a message not found; an id that is not a string is an incorrect one.
    expect(await as1.requestError("message_edit", { body: "x" })).toEqual({ status: 422, message: "Message ID not found." });
    expect(await as1.requestError("message_edit", { id: 7, body: "x" })).toEqual({ status: 422, message: "Incorrect message ID." });
    expect(await as1.requestError("message_edit", { id: m.server_mid, body: "" })).toEqual({ status: 422, message: "Either message body or attachments required." });

    expect(await as1.request("message_edit", { id: m.server_mid, body: "fixed" })).toMatchObject({ success: true });
    const expected = { id: m.server_mid, cid, c_type: "g", from: alice!.id, body: "fixed", event_seq: expect.any(Number) };
    for (const socket of [as2, bs, cs]) expect(await nextPacket(socket, "message_edit", (p) => p.id === m.server_mid)).toEqual(expected);
    for (const socket of [as1, bs]) expect((await listMessages(socket, { cid }))[0]).toMatchObject({ _id: m.server_mid, body: "fixed" });

    const marker = await send(bs, cid, { body: "marker" });
    await nextPacket(as1, "message", (p) => p._id === marker.server_mid);
    expect(received(as1, "message_edit")).toEqual([]);
  });

  it("lets the author edit and react to their own message right after the ask", async () => {
    const [alice, bob] = await users(2);
    const [as, bs] = await Promise.all([device(alice!), device(bob!)].map(async (d) => tab(await d)));
    const cid = await createGroup(as!, [bob!.id]);
    const m = await send(as!, cid, { body: "typo" });
    // No D1 copy yet (the outbox alarm runs later): the message must still be found for its author.
    expect.soft(await as!.request("message_edit", { id: m.server_mid, body: "fixed" })).toMatchObject({ success: true });
    expect.soft(await as!.request("message_reactions_update", { mid: m.server_mid, add: "👍" })).toMatchObject({ success: true });
    expect.soft(await as!.request("message_reactions_list", { mid: m.server_mid })).toMatchObject({ reactions: { "👍": [alice!.id] } });
    expect((await listMessages(bs!, { cid }))[0]).toMatchObject({ body: "fixed", reactions: { own: [], total: { "👍": 1 } } });
  });
});

describe("message_delete", () => {
  it("hides for the caller (myself), deletes for everyone (all) by the author or the owner only", async () => {
    const [alice, bob, carol] = await users(3);
    const [a1, b1, b2, c1] = await Promise.all([device(alice!), device(bob!), device(bob!), device(carol!)]);
    const [as, bs, bs2, cs] = await Promise.all([tab(a1), tab(b1), tab(b2), tab(c1)]);
    const cid = await createGroup(as, [bob!.id, carol!.id]);
    const bm1 = await send(bs, cid, { body: "bob 1" });
    const bm2 = await send(bs, cid, { body: "bob 2" });
    const cm = await send(cs, cid, { body: "carol" });
    const am = await send(as, cid, { body: "alice" });
    await nextPacket(bs, "message", (p) => p._id === am.server_mid);
    await nextPacket(cs, "message", (p) => p._id === am.server_mid);
    expect((await conversationOf(bs, cid)).unread_messages_count).toBe(2);

    // myself: only bob stops seeing carol's message, and it no longer counts as unread for him.
    expect(await bs.request("message_delete", { cid, ids: [cm.server_mid], type: "myself" })).toMatchObject({ success: true });
    expect((await listMessages(bs, { cid })).map((m) => m._id)).not.toContain(cm.server_mid);
    expect((await listMessages(as, { cid })).map((m) => m._id)).toContain(cm.server_mid);
    expect((await listMessages(cs, { cid })).map((m) => m._id)).toContain(cm.server_mid);
    expect((await conversationOf(bs, cid)).unread_messages_count).toBe(1);

    // all: not for someone else's message unless owner/admin.
    expect(await bs.requestError("message_delete", { cid, ids: [am.server_mid], type: "all" })).toEqual({ status: 403, message: "Forbidden." });
    expect(await bs.requestError("message_delete", { cid, ids: [bm1.server_mid, am.server_mid], type: "all" })).toEqual({ status: 403, message: "Forbidden." });
    expect((await listMessages(cs, { cid })).map((m) => m._id)).toEqual([am.server_mid, cm.server_mid, bm2.server_mid, bm1.server_mid]);

    // all by the author.
    expect(await bs.request("message_delete", { cid, ids: [bm1.server_mid], type: "all" })).toMatchObject({ success: true });
    const byBob = { ids: [bm1.server_mid], cid, c_type: "g", from: bob!.id, type: "all", event_seq: expect.any(Number) };
    for (const socket of [as, cs, bs2]) expect(await nextPacket(socket, "message_delete", (p) => p.cid === cid)).toEqual(byBob);
    expect((await listMessages(as, { cid })).map((m) => m._id)).not.toContain(bm1.server_mid);

    // all by the group owner on bob's message.
    expect(await as.request("message_delete", { cid, ids: [bm2.server_mid], type: "all" })).toMatchObject({ success: true });
    expect(await nextPacket(bs, "message_delete", (p) => p.cid === cid)).toEqual({ ...byBob, ids: [bm2.server_mid], from: alice!.id });
    expect((await listMessages(cs, { cid })).map((m) => m._id)).toEqual([am.server_mid, cm.server_mid]);
    // The deleting socket got the response, not the packet.
    expect(received(bs, "message_delete", (p) => p.from === bob!.id)).toEqual([]);
  });

  it("validates its parameters", async () => {
    const [alice, bob, dave] = await users(3);
    const [as, ds] = await Promise.all([device(alice!), device(dave!)].map(async (d) => tab(await d)));
    const cid = await createGroup(as!, [bob!.id]);
    const m = await send(as!, cid, { body: "x" });
    const ids = [m.server_mid];
    expect(await as!.requestError("message_delete", { cid, ids })).toEqual({ status: 422, message: "Message type missed." });
    expect(await as!.requestError("message_delete", { cid, type: "all" })).toEqual({ status: 422, message: "Message ID missed." });
    expect(await as!.requestError("message_delete", { cid, ids: [], type: "all" })).toEqual({ status: 422, message: "Message ID missed." });
    expect(await as!.requestError("message_delete", { cid, ids, type: "everyone" })).toEqual({ status: 422, message: "The type you entered is incorrect." });
    expect(await as!.requestError("message_delete", { ids, type: "all" })).toEqual({ status: 422, message: "'cid' field is required." });
    expect(await ds!.requestError("message_delete", { cid, ids, type: "all" })).toEqual({ status: 403, message: "Forbidden." });
    expect(await as!.requestError("message_delete", { cid: "0123456789abcdef01234567", ids, type: "all" })).toEqual({ status: 404, message: "Conversation not found." });
    expect((await listMessages(as!, { cid })).map((x) => x._id)).toEqual(ids);
  });
});
