// The admin message routes (SAMA §1.6): each acts as the user named in the body through the same
// services and Conversation rules as its WebSocket request, answers SAMA's status and body, and its
// packets reach participants' live sockets (the acting user's own sockets too: the API has none).
import { beforeAll, describe, expect, it } from "vitest";
import {
  accounts,
  channel,
  cidOf,
  chatMessage,
  foreignMember,
  group,
  messageList,
  online,
  rec,
  send,
  type Account,
  type Member,
} from "../chat/conversation-fixtures";
import { isRecord, type Frame } from "../helpers/socket";
import { expectTextError } from "../helpers/users";
import { admin, okJson } from "./admin-fixtures";

const OBJECT_ID = /^[0-9a-f]{24}$/;
const ORG = "default";

let alice: Account;
let bob: Account;
let carol: Account;

beforeAll(async () => {
  [alice, bob, carol] = (await accounts(3)) as [Account, Account, Account];
});

const idOf = (a: Account) => a.user.id;

/** The body of the next `name` packet on the socket that satisfies `match`. */
async function packet(m: Member, name: string, match: (body: Frame) => boolean): Promise<Frame> {
  const frame = await m.socket.next((f) => isRecord(f[name]) && match(rec(f[name])));
  return rec(frame[name]);
}

/** Alice and Bob online in a new group of theirs (Carol is not in it). */
async function aliceAndBobInGroup(): Promise<{ a: Member; b: Member; cid: string }> {
  const [a, b] = await Promise.all([online(alice), online(bob)]);
  const cid = await cidOf(group(a, [b]));
  return { a, b, cid };
}

/** A message of Alice's that Bob's socket has received (so both Inboxes index it). */
async function aliceMessage(a: Member, b: Member, cid: string, body = "original"): Promise<string> {
  const ask = await send(a.socket, cid, body);
  const mid = String(ask.server_mid);
  await b.socket.next(chatMessage(cid, (m) => m._id === mid));
  return mid;
}

describe("POST /admin/message", () => {
  it("stores the message as senderId, answers 201 with ask, and delivers it live to every participant", async () => {
    const { a, b, cid } = await aliceAndBobInGroup();
    const res = await admin("POST", "/admin/message", { organizationId: ORG, senderId: idOf(alice), message: { id: "adm-1", cid, body: "from the API" } });
    const ask = rec(okJson(res, 201).ask);
    expect(Object.keys(okJson(res, 201))).toEqual(["ask"]);
    expect(ask).toEqual({ mid: "adm-1", server_mid: expect.stringMatching(OBJECT_ID) as unknown, t: expect.any(Number) as unknown, modified: null, bot_message: null });

    const toBob = rec((await b.socket.next(chatMessage(cid, (m) => m._id === ask.server_mid))).message);
    expect(toBob).toMatchObject({ _id: ask.server_mid, cid, from: idOf(alice), body: "from the API", t: ask.t });
    // The API is no socket of Alice's: her own live devices get the message as a carbon.
    const toAlice = rec((await a.socket.next(chatMessage(cid, (m) => m._id === ask.server_mid))).message);
    expect(toAlice.body).toBe("from the API");
    expect((await messageList(b.socket, cid)).map((m) => m._id)).toContain(ask.server_mid);

    // A repeated client id returns the first ask and stores nothing more (as over the WebSocket).
    const again = await admin("POST", "/admin/message", { organizationId: ORG, senderId: idOf(alice), message: { id: "adm-1", cid, body: "again" } });
    expect(okJson(again, 201).ask).toEqual(ask);
    expect((await messageList(b.socket, cid)).filter((m) => m.body === "again")).toEqual([]);
  });

  it("refuses a sender outside the conversation with 403 and unknown conversations with 404", async () => {
    const { cid } = await aliceAndBobInGroup();
    const as = (senderId: string, target: string) => admin("POST", "/admin/message", { organizationId: ORG, senderId, message: { cid: target, body: "x" } });
    expectTextError(await as(idOf(carol), cid), 403, "Forbidden.");
    expectTextError(await as(idOf(alice), "0123456789abcdef01234567"), 404, "Conversation not found.");
    expectTextError(await as(idOf(alice), "not-an-id"), 404, "Conversation not found.");
    // A user of another organization cannot reach this organization's conversation.
    const stranger = await foreignMember();
    const res = await admin("POST", "/admin/message", { organizationId: stranger.user.organizationId, senderId: stranger.id, message: { cid, body: "x" } });
    expectTextError(res, 404, "Conversation not found.");
  });

  it("keeps a block between private chat members, and lets only owners and admins post in a channel", async () => {
    const [a, c] = await Promise.all([online(alice), online(carol)]);
    const chat = rec(await a.socket.request("conversation_create", { type: "u", participants: [idOf(carol)] })).conversation;
    const cid = String(rec(chat)._id);
    expect(await c.socket.request("block_user", { ids: [idOf(alice)] })).toMatchObject({ success: true });
    const blocked = await admin("POST", "/admin/message", { organizationId: ORG, senderId: idOf(alice), message: { cid, body: "hi" } });
    expectTextError(blocked, 422, "Communication is not possible - you are in a block list of the recipient.");
    await c.socket.request("unblock_user", { ids: [idOf(alice)] });
    expect((await admin("POST", "/admin/message", { organizationId: ORG, senderId: idOf(alice), message: { cid, body: "hi" } })).status).toBe(201);

    const news = await cidOf(channel(a));
    expect(await c.socket.request("conversation_subscribe", { cid: news })).not.toHaveProperty("error");
    const bySubscriber = await admin("POST", "/admin/message", { organizationId: ORG, senderId: idOf(carol), message: { cid: news, body: "x" } });
    expectTextError(bySubscriber, 403, "Forbidden.");
    const byOwner = await admin("POST", "/admin/message", { organizationId: ORG, senderId: idOf(alice), message: { cid: news, body: "news" } });
    const mid = rec(okJson(byOwner, 201).ask).server_mid;
    expect(rec((await c.socket.next(chatMessage(news, (m) => m._id === mid))).message).body).toBe("news");
  });

  it("validates the body with the WebSocket request's messages", async () => {
    const { cid } = await aliceAndBobInGroup();
    const post = (body: unknown) => admin("POST", "/admin/message", body);
    const sender = { organizationId: ORG, senderId: idOf(alice) };
    expectTextError(await post({ senderId: idOf(alice), message: { cid, body: "x" } }), 422, '"organizationId" is required');
    expectTextError(await post({ organizationId: ORG, message: { cid, body: "x" } }), 422, '"senderId" is required');
    expectTextError(await post(sender), 422, '"message" is required');
    expectTextError(await post({ ...sender, message: { body: "x" } }), 422, "'cid' field is required.");
    expectTextError(await post({ ...sender, message: { cid } }), 422, '"value" must contain at least one of [body, attachments]');
    expectTextError(await post({ ...sender, message: { cid, body: 7 } }), 422, "Either message body or attachments required.");
    expectTextError(await post({ ...sender, message: { cid, body: "x", id: "" } }), 422, "Incorrect message ID.");
    expectTextError(await post({ ...sender, message: { cid, body: "x", foo: 1 } }), 422, '"message.foo" is not allowed');
    expectTextError(await post({ ...sender, message: { cid, body: "x" }, extra: 1 }), 422, '"extra" is not allowed');
    // Not JSON (SAMA reads such a body as {}).
    expectTextError(await admin("POST", "/admin/message", "organizationId=default"), 422, '"organizationId" is required');
  });

  it("answers 404 for an unknown organization and 422 for a sender who is not a user of it", async () => {
    const { cid } = await aliceAndBobInGroup();
    const message = { cid, body: "x" };
    expectTextError(await admin("POST", "/admin/message", { organizationId: "no-such-org", senderId: idOf(alice), message }), 404, "Organization not found");
    expectTextError(await admin("POST", "/admin/message", { organizationId: ORG, senderId: "0123456789abcdef01234567", message }), 422, "The specified user is incorrect.");
    const stranger = await foreignMember();
    expectTextError(await admin("POST", "/admin/message", { organizationId: ORG, senderId: stranger.id, message }), 422, "The specified user is incorrect.");
  });
});

describe("PUT /admin/message (edit)", () => {
  it("edits the sender's own message; participants' sockets get message_edit", async () => {
    const { a, b, cid } = await aliceAndBobInGroup();
    const mid = await aliceMessage(a, b, cid);
    const res = await admin("PUT", "/admin/message", { organizationId: ORG, senderId: idOf(alice), messageEdit: { id: mid, body: "edited" } });
    expect(okJson(res)).toEqual({ success: true });
    const edit = await packet(b, "message_edit", (e) => e.id === mid);
    expect(edit).toMatchObject({ id: mid, cid, from: idOf(alice), body: "edited" });
    expect((await packet(a, "message_edit", (e) => e.id === mid)).body).toBe("edited");
    expect((await messageList(b.socket, cid)).find((m) => m._id === mid)?.body).toBe("edited");
  });

  it("refuses another user's message, unknown ids and an empty body", async () => {
    const { a, b, cid } = await aliceAndBobInGroup();
    const mid = await aliceMessage(a, b, cid);
    const edit = (senderId: string, messageEdit: unknown) => admin("PUT", "/admin/message", { organizationId: ORG, senderId, messageEdit });
    expectTextError(await edit(idOf(bob), { id: mid, body: "mine now" }), 403, "Forbidden.");
    expectTextError(await edit(idOf(carol), { id: mid, body: "x" }), 422, "Message ID not found.");
    expectTextError(await edit(idOf(alice), { id: "0123456789abcdef01234567", body: "x" }), 422, "Message ID not found.");
    expectTextError(await edit(idOf(alice), { id: mid, body: "" }), 422, "Either message body or attachments required.");
    expectTextError(await edit(idOf(alice), { body: "x" }), 422, "Message ID not found.");
    expectTextError(await edit(idOf(alice), { id: 7, body: "x" }), 422, "Incorrect message ID.");
    expect((await messageList(b.socket, cid)).find((m) => m._id === mid)?.body).toBe("original");
  });
});

describe("DELETE /admin/message", () => {
  it("deletes the sender's messages for everyone; participants get message_delete", async () => {
    const { a, b, cid } = await aliceAndBobInGroup();
    const mid = await aliceMessage(a, b, cid);
    const res = await admin("DELETE", "/admin/message", { organizationId: ORG, senderId: idOf(alice), messageDelete: { cid, ids: [mid], type: "all" } });
    expect(okJson(res)).toEqual({ success: true });
    expect(await packet(b, "message_delete", (d) => Array.isArray(d.ids) && d.ids.includes(mid))).toMatchObject({ cid, from: idOf(alice), type: "all" });
    expect((await messageList(b.socket, cid)).map((m) => m._id)).not.toContain(mid);
  });

  it("refuses `all` on another's message to a plain participant, and validates like message_delete", async () => {
    const { a, b, cid } = await aliceAndBobInGroup();
    const mid = await aliceMessage(a, b, cid);
    const del = (senderId: string, messageDelete: unknown) => admin("DELETE", "/admin/message", { organizationId: ORG, senderId, messageDelete });
    expectTextError(await del(idOf(bob), { cid, ids: [mid], type: "all" }), 403, "Forbidden.");
    expectTextError(await del(idOf(carol), { cid, ids: [mid], type: "myself" }), 403, "Forbidden.");
    expectTextError(await del(idOf(alice), { cid, ids: [mid] }), 422, "Message type missed.");
    expectTextError(await del(idOf(alice), { cid, ids: [mid], type: "everyone" }), 422, "The type you entered is incorrect.");
    expectTextError(await del(idOf(alice), { cid, type: "all" }), 422, "Message ID missed.");
    expectTextError(await del(idOf(alice), { ids: [mid], type: "all" }), 422, "'cid' field is required.");
    expect((await messageList(b.socket, cid)).map((m) => m._id)).toContain(mid);
  });
});

describe("POST /admin/message/system", () => {
  it("sends to a conversation's participants or to listed users, answering 201 with ask", async () => {
    const { b, cid } = await aliceAndBobInGroup();
    const res = await admin("POST", "/admin/message/system", { organizationId: ORG, senderId: idOf(alice), messageSystem: { id: "sys-1", cid, x: { event: "wave" } } });
    const ask = rec(okJson(res, 201).ask);
    expect(ask).toEqual({ mid: "sys-1", t: expect.any(Number) as unknown });
    expect(await packet(b, "system_message", (s) => s._id === "sys-1")).toMatchObject({ _id: "sys-1", from: idOf(alice), cid, t: ask.t, x: { event: "wave" } });

    const c = await online(carol);
    const direct = await admin("POST", "/admin/message/system", { organizationId: ORG, senderId: idOf(alice), messageSystem: { id: "sys-2", uids: [idOf(carol)], x: { n: 1 } } });
    expect(okJson(direct, 201).ask).toMatchObject({ mid: "sys-2" });
    expect(await packet(c, "system_message", (s) => s._id === "sys-2")).toMatchObject({ from: idOf(alice), x: { n: 1 } });
  });

  it("refuses a non-participant and validates like system_message", async () => {
    const { cid } = await aliceAndBobInGroup();
    const sys = (senderId: string, messageSystem: unknown) => admin("POST", "/admin/message/system", { organizationId: ORG, senderId, messageSystem });
    expectTextError(await sys(idOf(carol), { id: "s", cid, x: {} }), 403, "Forbidden.");
    expectTextError(await sys(idOf(alice), { id: "s", x: {} }), 422, "'cid' or 'uids' field is required.");
    expectTextError(await sys(idOf(alice), { id: "s", cid }), 422, "'x' field is required.");
    expectTextError(await sys(idOf(alice), { cid, x: {} }), 422, "Incorrect message ID.");
    expectTextError(await sys(idOf(alice), { id: "s", uids: Array.from({ length: 21 }, (_, i) => `u${i}`), x: {} }), 422, "'uids' max length 20");
  });
});

describe("PUT /admin/message/read", () => {
  it("marks messages read as senderId; the author's sockets get message_read", async () => {
    const { a, b, cid } = await aliceAndBobInGroup();
    const first = await aliceMessage(a, b, cid, "one");
    const second = await aliceMessage(a, b, cid, "two");
    const res = await admin("PUT", "/admin/message/read", { organizationId: ORG, senderId: idOf(bob), messageRead: { cid, ids: [first] } });
    expect(okJson(res)).toEqual({ success: true });
    expect(await packet(a, "message_read", (r) => r.cid === cid)).toMatchObject({ ids: [first], cid, from: idOf(bob) });
    // Without ids: everything still unread.
    await admin("PUT", "/admin/message/read", { organizationId: ORG, senderId: idOf(bob), messageRead: { cid } });
    expect(await packet(a, "message_read", (r) => r.cid === cid)).toMatchObject({ ids: [second], cid, from: idOf(bob) });
  });

  it("refuses a non-participant and a missing cid", async () => {
    const { cid } = await aliceAndBobInGroup();
    expectTextError(await admin("PUT", "/admin/message/read", { organizationId: ORG, senderId: idOf(carol), messageRead: { cid } }), 403, "Forbidden.");
    expectTextError(await admin("PUT", "/admin/message/read", { organizationId: ORG, senderId: idOf(bob), messageRead: {} }), 422, "'cid' field is required.");
  });
});

describe("PUT /admin/message/reaction", () => {
  it("adds and removes senderId's reaction; participants get message_reactions_update", async () => {
    const { a, b, cid } = await aliceAndBobInGroup();
    const mid = await aliceMessage(a, b, cid);
    const react = (messageReaction: unknown) => admin("PUT", "/admin/message/reaction", { organizationId: ORG, senderId: idOf(bob), messageReaction });
    expect(okJson(await react({ mid, add: "👍" }))).toEqual({ success: true });
    expect(await packet(a, "message_reactions_update", (r) => r.mid === mid)).toMatchObject({ mid, cid, from: idOf(bob), add: "👍" });
    expect((await a.socket.request("message_reactions_list", { mid })).reactions).toEqual({ "👍": [idOf(bob)] });
    expect(okJson(await react({ mid, remove: "👍" }))).toEqual({ success: true });
    expect(await packet(a, "message_reactions_update", (r) => r.mid === mid && r.remove === "👍")).toMatchObject({ from: idOf(bob) });
    expect((await a.socket.request("message_reactions_list", { mid })).reactions).toEqual({});
  });

  it("refuses a non-participant and validates like message_reactions_update", async () => {
    const { a, b, cid } = await aliceAndBobInGroup();
    const mid = await aliceMessage(a, b, cid);
    const react = (senderId: string, messageReaction: unknown) => admin("PUT", "/admin/message/reaction", { organizationId: ORG, senderId, messageReaction });
    expectTextError(await react(idOf(carol), { mid, add: "👍" }), 422, "Message ID not found.");
    expectTextError(await react(idOf(bob), { mid }), 422, '"value" must contain at least one of [add, remove]');
    expectTextError(await react(idOf(bob), { add: "👍" }), 422, "Incorrect message ID.");
    expectTextError(await react(idOf(bob), { mid, add: "x".repeat(11) }), 422, '"messageReaction.add" length must be less than or equal to 10 characters long');
    expect((await a.socket.request("message_reactions_list", { mid })).reactions).toEqual({});
  });
});
