// The live path of packets with many recipients (GATEWAY_FANOUT_MIN_RECIPIENTS, 4 by default; the groups here have 10): the
// Conversation sends each packet once per Gateway holding a recipient's session, and tells the
// Inboxes behind. The first packets of a fresh Conversation go through the Inboxes (it knows no
// session yet) and carry each recipient's event_seq; from then on packets come from the Gateways,
// without it, exactly once per socket, and `sync`, `conversation_list` and `message_list` have them
// all. A device that connects later is reached through its Inbox until the Conversation learns of it.
import { runDurableObjectAlarm } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { http, unique } from "../helpers/users";
import { inboxOfUser, isRecord, namedGateway, type Frame, type TestSocket } from "../helpers/socket";
import type { Gateway } from "../../src/objects/gateway";
import { conversationOf, createGroup, device, eventually, nextPacket, received, send, sleep, syncAll, syncedMessages, tab, users, type Device } from "./messages-fixtures";

const GROUP = 10;
/** INBOX_TELL_BEHIND_MS (100 ms in tests) and a margin: by then every Inbox has been told. */
const TOLD_BEHIND_MS = 600;

async function callsTo(kind: "Gateway" | "Inbox"): Promise<number> {
  const res = await http("GET", "/admin/metrics", { headers: { "admin-api-key": "test-admin-key" } });
  return (res.json as { objects: Record<string, { calls: number }> }).objects[kind]!.calls;
}
const gatewayCalls = () => callsTo("Gateway");

const messagesNamed = (socket: TestSocket, body: string): Frame[] => received(socket, "message", (m) => m.body === body);

/** A group of GROUP members, each with a tab; the second member's on the Gateway named `own` when given. */
async function group(own?: string): Promise<{ devices: Device[]; sockets: TestSocket[]; cid: string }> {
  const members = await users(GROUP);
  const devices = await Promise.all(members.map((m) => device(m)));
  const sockets = await Promise.all(devices.map((d, i) => tab(d, i === 1 ? own : undefined)));
  const cid = await createGroup(sockets[0]!, members.slice(1).map((m) => m.id));
  return { devices, sockets, cid };
}

/** A group whose Conversation has learnt where its members' sessions are (a message went round and the Inboxes were told). */
async function warmGroup(own?: string): Promise<{ devices: Device[]; sockets: TestSocket[]; cid: string }> {
  const warm = await group(own);
  await send(warm.sockets[0]!, warm.cid, { body: "warm-up" });
  await Promise.all(warm.sockets.slice(1).map((s) => nextPacket(s, "message", (m) => m.body === "warm-up")));
  await sleep(TOLD_BEHIND_MS);
  return warm;
}

describe("packets of a large group go once per Gateway", () => {
  it("reaches every socket exactly once, from the Gateway after the first packet, and every view has it", { timeout: 30_000 }, async () => {
    const { sockets, cid } = await group();
    const [author, ...others] = sockets as [TestSocket, ...TestSocket[]];
    // The group's creation went through the Inboxes, whose answers told the Conversation where the sessions are.
    await send(author, cid, { body: "first" });
    await Promise.all(others.map((s) => nextPacket(s, "message", (m) => m.body === "first")));
    await sleep(TOLD_BEHIND_MS);

    const before = await gatewayCalls();
    const ask = await send(author, cid, { body: "second" });
    const live = await Promise.all(others.map((s) => nextPacket(s, "message", (m) => m.body === "second")));
    const calls = (await gatewayCalls()) - before;
    // One call per Gateway holding a member (3 Gateways in tests), not one per member (9 through the
    // Inboxes), and perhaps the author's Inbox forwarding the delivered receipt.
    expect(calls).toBeLessThanOrEqual(3 + 1);

    await sleep(TOLD_BEHIND_MS);
    // Straight from the Gateways: the packet as logged (once the Inboxes were told), without the per-user event_seq.
    const logged = syncedMessages(await syncAll(others[0]!), cid).find((m) => m.body === "second");
    expect(logged?.event_seq).toEqual(expect.any(Number));
    const { event_seq: _inTheLog, ...shape } = logged!;
    for (const packet of live) expect(packet).toEqual(shape);
    for (const s of others) {
      expect(messagesNamed(s, "second")).toHaveLength(1); // the Inbox, told behind, did not forward it again
      const synced = syncedMessages(await syncAll(s), cid).map((m) => m.body);
      expect(synced).toEqual(["first", "second"]);
      expect((await conversationOf(s, cid)).unread_messages_count).toBe(2);
    }
    expect(messagesNamed(author, "second")).toHaveLength(0); // the sending socket has the ask
    // The author's status: delivered, reported by the Gateways' answers.
    await eventually(async () => {
      const listed = await author.request("message_list", { cid, ids: [ask.server_mid] });
      expect((listed.messages as Frame[])[0]?.status).toBe("delivered");
    });
  });

  it("reaches a device that connected later through its Inbox, once, until the Conversation learns of it", { timeout: 30_000 }, async () => {
    const { devices, sockets, cid } = await warmGroup();
    const author = sockets[0]!;

    const late = await tab(devices[1]!); // the member's second tab
    const lateAuthorTab = await tab(devices[0]!); // and the author's: it gets a carbon
    await send(author, cid, { body: "to the new tab" });
    const viaInbox = await nextPacket(late, "message", (m) => m.body === "to the new tab");
    expect(viaInbox.event_seq).toEqual(expect.any(Number)); // forwarded by its Inbox, from its log
    const carbon = await nextPacket(lateAuthorTab, "message", (m) => m.body === "to the new tab");
    expect(carbon.from).toBe(devices[0]!.user.id);
    await nextPacket(sockets[1]!, "message", (m) => m.body === "to the new tab");
    await sleep(TOLD_BEHIND_MS);

    await send(author, cid, { body: "learned" });
    const fromGateway = await nextPacket(late, "message", (m) => m.body === "learned");
    expect(fromGateway.event_seq).toBeUndefined();
    await sleep(TOLD_BEHIND_MS);
    for (const s of [late, lateAuthorTab, ...sockets.slice(1)]) {
      for (const body of ["to the new tab", "learned"]) expect(messagesNamed(s, body)).toHaveLength(1);
    }
  });

  it("reaches a reloaded tab once, through its Inbox first, then from its Gateway once the Conversation learned of it", { timeout: 30_000 }, async () => {
    const { devices, sockets, cid } = await warmGroup();
    const author = sockets[0]!;

    // The member closes its tab and opens another: the Conversation still names the closed one.
    sockets[2]!.close();
    await sleep(100);
    const again = await tab(devices[2]!);
    await send(author, cid, { body: "after the reload" });
    const got = await nextPacket(again, "message", (m) => m.body === "after the reload");
    expect(isRecord(got)).toBe(true);
    await sleep(TOLD_BEHIND_MS);
    expect(messagesNamed(again, "after the reload")).toHaveLength(1);
    await send(author, cid, { body: "next" });
    expect((await nextPacket(again, "message", (m) => m.body === "next")).event_seq).toBeUndefined();
  });
});

describe("typing in a large group", () => {
  it("goes once per Gateway, not through each member's Inbox, and reaches every other socket once", { timeout: 30_000 }, async () => {
    const { sockets, cid } = await warmGroup();
    const [author, ...others] = sockets as [TestSocket, ...TestSocket[]];
    const inboxBefore = await callsTo("Inbox");
    const gatewayBefore = await gatewayCalls();
    author.send({ typing: { cid, status: "start" } });
    await Promise.all(others.map((s) => nextPacket(s, "typing", (p) => p.cid === cid)));
    // Through the Inboxes it was one call per member (10) and as many to the Gateways.
    expect((await callsTo("Inbox")) - inboxBefore).toBeLessThanOrEqual(1);
    expect((await gatewayCalls()) - gatewayBefore).toBeLessThanOrEqual(3);
    await sleep(TOLD_BEHIND_MS);
    for (const s of others) expect(received(s, "typing", (p) => p.cid === cid)).toHaveLength(1);
    expect(received(author, "typing")).toEqual([]);
  });
});

describe("a live packet whose Gateway has not answered when the Inboxes are told", () => {
  /** A warm group whose second member's tab is alone on a Gateway whose next push the test holds. */
  async function heldGroup(): Promise<{ sockets: TestSocket[]; cid: string; held: DurableObjectStub<Gateway> }> {
    const own = unique("held");
    const { sockets, cid } = await warmGroup(own);
    const held = namedGateway(own); // websocket.ts's placement of `own`
    await held.testHold("push");
    return { sockets, cid, held };
  }

  it("reaches the socket through its Inbox, once, when the Gateway's call then fails", { timeout: 30_000 }, async () => {
    const { sockets, cid, held } = await heldGroup();
    const [author, member, ...others] = sockets as [TestSocket, TestSocket, ...TestSocket[]];
    await send(author, cid, { body: "held, then failed" });
    await Promise.all(others.map((s) => nextPacket(s, "message", (m) => m.body === "held, then failed")));
    await sleep(TOLD_BEHIND_MS); // the tell-behind delay is over: the member's Inbox would have been told
    await held.testRelease("push", true); // the live call fails, having sent nothing
    const got = await nextPacket(member, "message", (m) => m.body === "held, then failed");
    expect(got.event_seq).toEqual(expect.any(Number)); // forwarded by its Inbox
    await sleep(TOLD_BEHIND_MS);
    for (const s of [member, ...others]) expect(messagesNamed(s, "held, then failed")).toHaveLength(1);
  });

  it("reaches the socket through its Inbox, once, when the Gateway does not answer within the deadline", { timeout: 30_000 }, async () => {
    const { sockets, cid, held } = await heldGroup();
    const [author, member, ...others] = sockets as [TestSocket, TestSocket, ...TestSocket[]];
    await send(author, cid, { body: "never answered" });
    // The call counts as failed after 2.5-5 s (the Conversation's deadline for a Gateway), and its Inbox forwards it.
    const got = await nextPacket(member, "message", (m) => m.body === "never answered", 8000);
    expect(got.event_seq).toEqual(expect.any(Number));
    await held.testRelease("push", true); // the late call sends nothing
    await sleep(TOLD_BEHIND_MS);
    for (const s of [member, ...others]) expect(messagesNamed(s, "never answered")).toHaveLength(1);
  });

  it("reaches the socket once when the Gateway answers after the deadline, having sent it too", { timeout: 30_000 }, async () => {
    const { sockets, cid, held } = await heldGroup();
    const [author, member, ...others] = sockets as [TestSocket, TestSocket, ...TestSocket[]];
    await send(author, cid, { body: "answered late" });
    // Counted as missed at the deadline: its Inbox forwards it…
    expect((await nextPacket(member, "message", (m) => m.body === "answered late", 8000)).event_seq).toEqual(expect.any(Number));
    await held.testRelease("push", false); // …and the late call goes on: the session has it already
    await send(author, cid, { body: "after the late answer" });
    await nextPacket(member, "message", (m) => m.body === "after the late answer");
    await sleep(TOLD_BEHIND_MS);
    for (const s of [member, ...others]) for (const body of ["answered late", "after the late answer"]) expect(messagesNamed(s, body)).toHaveLength(1);
  });
});

describe("a Conversation that dies after the live send, before the Inboxes were told", () => {
  it("resends the row through the Inboxes on restart, and no socket gets it twice", { timeout: 30_000 }, async () => {
    const { devices, sockets, cid } = await warmGroup();
    const [author, ...others] = sockets as [TestSocket, ...TestSocket[]];
    const late = await tab(devices[1]!); // a tab the Conversation does not know: reached through its Inbox only
    const conversation = () => env.CONVERSATION.get(env.CONVERSATION.idFromName(cid)); // a stub of an aborted object fails every call
    await conversation().testHoldFanout(true); // the Inboxes are not told (all but the first lane to start)
    await send(author, cid, { body: "before the abort" });
    await Promise.all(others.map((s) => nextPacket(s, "message", (m) => m.body === "before the abort"))); // live, from the Gateways
    await conversation().testAbort().catch(() => undefined);
    // The fresh instance knows no session and resends the row from storage through every Inbox.
    await runDurableObjectAlarm(conversation());
    await nextPacket(late, "message", (m) => m.body === "before the abort"); // the tab the Gateways did not reach gets it
    await sleep(TOLD_BEHIND_MS);
    for (const s of [late, ...others]) expect(messagesNamed(s, "before the abort")).toHaveLength(1);
    expect(messagesNamed(author, "before the abort")).toHaveLength(0);
  });
});

describe("a lane whose Inbox call failed after the live send", () => {
  it("resends through the Inbox to the sessions the Gateways did not reach, not again to those they did", { timeout: 30_000 }, async () => {
    const { devices, sockets, cid } = await warmGroup();
    const [author, member, ...others] = sockets as [TestSocket, TestSocket, ...TestSocket[]];
    // The member's second tab, on a Gateway whose next push is held: the Conversation does not know
    // it yet, so the member's Inbox forwards there, and its call hangs on that push.
    const own = unique("held");
    const late = await tab(devices[1]!, own);
    const held = namedGateway(own);
    await held.testHold("push");
    await sleep(1000); // the Inbox's window (1 s here) has written the warm-up: the next one starts with the packet
    await send(author, cid, { body: "lane failed" });
    await nextPacket(member, "message", (m) => m.body === "lane failed"); // live, from its Gateway
    await held.testReached("push"); // the Inbox was told and is forwarding to the held tab, its window not written
    await inboxOfUser(devices[1]!.user).testAbort().catch(() => undefined); // the lane's call fails
    await held.testRelease("push", true);
    // Sent while the lane is failed (its retry is the alarm's, 2 s away): live to the tab the
    // Conversation knows, and kept for the retry with what that send reached.
    await sleep(100);
    await send(author, cid, { body: "while failed" });
    await nextPacket(member, "message", (m) => m.body === "while failed");
    // The Conversation's alarm (2 s) resends the rows to the new Inbox instance, which forwards them to the tab.
    expect((await nextPacket(late, "message", (m) => m.body === "lane failed", 8000)).event_seq).toEqual(expect.any(Number));
    await nextPacket(late, "message", (m) => m.body === "while failed", 8000);
    await sleep(TOLD_BEHIND_MS);
    for (const s of [member, late, ...others]) for (const body of ["lane failed", "while failed"]) expect(messagesNamed(s, body)).toHaveLength(1);
  });
});

describe("a device reached through its Inbox whose Gateway answers late", () => {
  it("gets the conversation's packets in order once the Conversation learns of it", { timeout: 30_000 }, async () => {
    const { devices, sockets, cid } = await warmGroup();
    const [author, member] = sockets as [TestSocket, TestSocket];
    // The member's second tab, on a Gateway whose next push is held: the Conversation does not know
    // the tab, so its Inbox forwards the next packet there, and that push hangs.
    const own = unique("late");
    const late = await tab(devices[1]!, own);
    const held = namedGateway(own);
    await held.testHold("push");
    await send(author, cid, { body: "through the Inbox" });
    await nextPacket(member, "message", (m) => m.body === "through the Inbox");
    // The Inbox's deadline for a Gateway (2.5-5 s) passes: it answers the Conversation without that push.
    await sleep(5500 + TOLD_BEHIND_MS);
    await send(author, cid, { body: "after it" });
    await nextPacket(member, "message", (m) => m.body === "after it");
    await sleep(TOLD_BEHIND_MS);
    await held.testRelease("push", false); // the held push arrives now
    await nextPacket(late, "message", (m) => m.body === "through the Inbox");
    await nextPacket(late, "message", (m) => m.body === "after it");
    await sleep(TOLD_BEHIND_MS);
    expect(received(late, "message").map((m) => m.body)).toEqual(["through the Inbox", "after it"]);
  });
});

describe("a member whose next packet of a conversation goes through the Inbox while a live one waits for its Gateway", () => {
  it("gets them in stream order: the Inbox is told only after the live call settled", { timeout: 30_000 }, async () => {
    const own = unique("busy");
    const { sockets, cid } = await warmGroup(own);
    const [author, member, reader] = sockets as [TestSocket, TestSocket, TestSocket];
    const mine = await send(member, cid, { body: "the member's" });
    await Promise.all([author, reader].map((s) => nextPacket(s, "message", (m) => m.body === "the member's")));
    await sleep(TOLD_BEHIND_MS);
    const held = namedGateway(own);
    await held.testHold("push");
    await send(author, cid, { body: "live, held" }); // to the member's Gateway, which holds it
    await held.testReached("push");
    // A receipt for the member alone: a row of one recipient, the Inboxes' path.
    const read = reader.request("message_read", { cid, ids: [mine.server_mid] });
    await sleep(TOLD_BEHIND_MS);
    await held.testRelease("push", false);
    expect(await read).toMatchObject({ success: true });
    await nextPacket(member, "message_read", (r) => Array.isArray(r.ids) && r.ids.includes(mine.server_mid));
    const order = member.frames.flatMap((f) => (isRecord(f.message) && f.message.body === "live, held" ? ["message"] : isRecord(f.message_read) ? ["message_read"] : []));
    expect(order).toEqual(["message", "message_read"]);
  });
});
