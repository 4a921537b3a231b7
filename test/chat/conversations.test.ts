// Conversations over real sockets: create (u/g/c), list, update, leave and search, with the
// conversation events and persisted participant messages of SAMA-PROTOCOL.md §1.5.3 and §3.5.
import { beforeAll, describe, expect, it } from "vitest";
import { isRecord } from "../helpers/socket";
import { createOrganization, signUp, unique, type TestUser } from "../helpers/users";
import {
  BAD_REQUEST,
  FORBIDDEN,
  ISO_DATE,
  OBJECT_ID,
  PASSWORD_FIELDS,
  accounts,
  channel,
  cidOf,
  conversationEvent,
  conversationList,
  create,
  event,
  eventually,
  expectPublicUser,
  group,
  listedIds,
  members,
  messageList,
  ofType,
  online,
  onlineAll,
  otherDevice,
  rec,
  received,
  search,
  send,
  str,
  withBody,
  type Account,
  type Member,
} from "./conversation-fixtures";

const fakeId = (i: number) => `${"a".repeat(18)}${i.toString(16).padStart(6, "0")}`;
const INCORRECT_USER = { status: 422, message: "The specified user is incorrect." };
const NOT_PARTICIPANT = { status: 404, message: "ConversationParticipant not found." };

// Signed up once for the file (ids increase in sign-up order); each test connects new sockets.
// Tests that look at a whole conversation list, or at private chats (unique per pair), use fresh users.
let cast: Account[] = [];
let dora: Account;
let carl: Account;
let cleo: Account;
let foreign: Account;

beforeAll(async () => {
  cast = await accounts(3);
  [dora] = (await accounts(1, { firstName: "Dora", lastName: "Explorer" })) as [Account];
  [carl] = (await accounts(1, { firstName: "Carl" })) as [Account];
  [cleo] = (await accounts(1, { firstName: "Cleo", lastName: "Patra" })) as [Account];
  // Never put in a conversation by this file: their list stays empty.
  [foreign] = (await accounts(1, { organizationId: await createOrganization() })) as [Account];
}, 30_000);

/** Sockets for the first `count` cast members. */
async function cast3(): Promise<[Member, Member, Member]> {
  const [a, b, c] = await onlineAll(cast);
  return [a!, b!, c!];
}

/** A group owned by `owner` with `others`, once every other member got its conversation_created. */
async function settledGroup(owner: Member, others: Member[], name?: string): Promise<string> {
  const cid = await cidOf(group(owner, others, name));
  for (const o of others) await event(o.socket, "conversation_created", cid);
  return cid;
}

describe("conversation_create", () => {
  describe("private (u)", () => {
    it("answers with the conversation: 24-hex id, owner = caller, opponent, ISO dates", async () => {
      const [a, b] = await members(2);
      const conversation = await create(a!.socket, { type: "u", participants: [b!.id] });
      expect(conversation._id).toMatch(OBJECT_ID);
      expect(conversation).toMatchObject({ type: "u", owner_id: a!.id, opponent_id: b!.id });
      expect(conversation.created_at).toMatch(ISO_DATE);
      expect(conversation.updated_at).toMatch(ISO_DATE);
      expect(conversation).not.toHaveProperty("name");
    });

    it("is idempotent per pair, whichever side creates it again", async () => {
      const [a, b] = await members(2);
      const first = await cidOf(create(a!.socket, { type: "u", participants: [b!.id] }));
      expect(await cidOf(create(a!.socket, { type: "u", participants: [b!.id] }))).toBe(first);
      expect(await cidOf(create(b!.socket, { type: "u", participants: [a!.id] }))).toBe(first);
      expect(await cidOf(create(b!.socket, { type: "u", participants: [a!.id], opponent_id: a!.id }))).toBe(first);
      expect(rec((await create(b!.socket, { type: "u", participants: [a!.id] })))).toMatchObject({ owner_id: a!.id, opponent_id: b!.id });
    });

    it("announces the new chat to the opponent and the creator's other devices (SAMA's web app builds the chat from it), not to the creating socket", async () => {
      const [a, b] = await members(2);
      const aPhone = await otherDevice(a!);
      const conversation = await create(a!.socket, { type: "u", participants: [b!.id] });
      const cid = str(conversation._id);
      for (const socket of [b!.socket, aPhone]) {
        const created = await event(socket, "conversation_created", cid);
        expect(created).toMatchObject({ _id: cid, cid, from: a!.id });
        expect(rec(rec(created.x).conversation_created)).toEqual(conversation);
      }
      // Barrier: a later packet of the chat reaches the creating socket; the event never did.
      await send(b!.socket, cid, "after create");
      await received(a!.socket, cid, withBody("after create"));
      expect(a!.socket.frames.some(conversationEvent("conversation_created", cid))).toBe(false);
    });

    it("announces the chat again to a member who left it when the other side opens it again", async () => {
      const [a, b] = await members(2);
      const cid = await cidOf(create(a!.socket, { type: "u", participants: [b!.id] }));
      await event(b!.socket, "conversation_created", cid);
      await b!.socket.request("conversation_delete", { id: cid });
      expect(await cidOf(create(a!.socket, { type: "u", participants: [b!.id] }))).toBe(cid);
      const frames = () => b!.socket.frames.filter(conversationEvent("conversation_created", cid)).length;
      await eventually(async () => frames(), (n) => n === 2);
      expect(frames()).toBe(2);
    });

    it("filters out users of another organization and unknown ids: no opponent left", async () => {
      const [a] = await cast3();
      const outsider = await online(foreign);
      expect(await a.socket.requestError("conversation_create", { type: "u", participants: [outsider.id] })).toEqual(INCORRECT_USER);
      expect(await a.socket.requestError("conversation_create", { type: "u", participants: [fakeId(1)] })).toEqual(INCORRECT_USER);
      expect(await a.socket.requestError("conversation_create", { type: "u", participants: ["not-an-id"] })).toEqual(INCORRECT_USER);
      expect(await listedIds(outsider.socket)).toEqual([]);
    });

    it("refuses a chat with oneself and one with two others", async () => {
      const [a, b, c] = await cast3();
      expect(await a.socket.requestError("conversation_create", { type: "u", participants: [a.id] })).toEqual(INCORRECT_USER);
      expect(await a.socket.requestError("conversation_create", { type: "u", participants: [b.id], opponent_id: a.id })).toEqual(INCORRECT_USER);
      expect(await a.socket.requestError("conversation_create", { type: "u", participants: [b.id, c.id] })).toEqual({
        status: 422,
        message: "There are too many users in the private conversation.",
      });
    });
  });

  describe("group (g)", () => {
    it("announces the new group to the other participants and the creator's other devices, not to the creating socket", async () => {
      const [a, b, c] = await cast3();
      const aPhone = await otherDevice(a);
      const name = unique("Team");
      const conversation = await create(a.socket, { type: "g", name, description: "d", participants: [b.id, c.id] });
      expect(conversation).toMatchObject({ type: "g", name, description: "d", owner_id: a.id });
      expect(conversation._id).toMatch(OBJECT_ID);
      expect(conversation).not.toHaveProperty("opponent_id");
      const cid = str(conversation._id);
      for (const socket of [b.socket, c.socket, aPhone]) {
        const created = await event(socket, "conversation_created", cid);
        expect(created).toMatchObject({ _id: cid, cid, from: a.id });
        expect(typeof created.t).toBe("number");
        expect(rec(rec(created.x).conversation_created)).toEqual(conversation);
      }
      // Barrier: a later packet of the same conversation reaches the creating socket; the event never did.
      await send(b.socket, cid, "after create");
      await received(a.socket, cid, withBody("after create"));
      expect(a.socket.frames.some(conversationEvent("conversation_created", cid))).toBe(false);
    });

    it("drops participants of other organizations and unknown ids", async () => {
      const [a, b] = await cast3();
      const outsider = await online(foreign);
      const cid = await cidOf(create(a.socket, { type: "g", name: unique("mix"), participants: [b.id, outsider.id, fakeId(2)] }));
      const participants = await a.socket.request("get_participants_by_cids", { cids: [cid] });
      expect([...(rec(participants.conversations)[cid] as string[])].sort()).toEqual([a.id, b.id].sort());
      expect(await listedIds(outsider.socket)).toEqual([]);
    });

    it.each<[string, Record<string, unknown>, string]>([
      ["no name", { type: "g", participants: ["x"] }, "You haven't specified a conversation name."],
      ["a blank name", { type: "g", name: "  ", participants: ["x"] }, "You haven't specified a conversation name."],
      ["no participants", { type: "g", name: "n" }, "Please select at least one user."],
      ["empty participants", { type: "g", name: "n", participants: [] }, "Please select at least one user."],
      ["more than 50 participants", { type: "g", name: "n", participants: Array.from({ length: 51 }, (_, i) => fakeId(i)) }, "There are too many users in the group conversation."],
      ["no type", { name: "n", participants: ["x"] }, "Conversation type missed."],
      ["type x", { type: "x", name: "n", participants: ["x"] }, "The type you entered is incorrect."],
      ["an unknown key", { type: "g", name: "n", participants: ["x"], foo: 1 }, '"foo" is not allowed'],
    ])("refuses %s", async (_name, params, message) => {
      const a = await online(cast[0]!);
      expect(await a.socket.requestError("conversation_create", params)).toEqual({ status: 422, message });
    });

    it("counts the participants as sent, repeats and unknown ids too (SAMA): two members and 50 copies of one id are too many", async () => {
      const [a, b, c] = await cast3();
      const name = unique("big");
      const participants = [b.id, c.id, ...Array.from({ length: 50 }, () => "1")];
      expect(await a.socket.requestError("conversation_create", { type: "g", name, participants })).toEqual({
        status: 422,
        message: "There are too many users in the group conversation.",
      });
      expect((await conversationList(b.socket)).filter((conversation) => conversation.name === name)).toEqual([]);
    });

    it("refuses a group whose participants are all foreign or unknown", async () => {
      const a = await online(cast[0]!);
      expect(await a.socket.requestError("conversation_create", { type: "g", name: "n", participants: [foreign.user.id, fakeId(3), a.id] })).toEqual({
        status: 422,
        message: "Participants not provided.",
      });
    });
  });

  describe("channel (c)", () => {
    it("needs a name, no participants, and counts its owner as the one subscriber", async () => {
      const a = await online(cast[0]!);
      const name = unique("News");
      const conversation = await create(a.socket, { type: "c", name, description: "all the news" });
      expect(conversation).toMatchObject({ type: "c", name, owner_id: a.id, subscribers_count: 1 });
      expect(conversation._id).toMatch(OBJECT_ID);
      expect(await a.socket.requestError("conversation_create", { type: "c" })).toEqual({ status: 422, message: "You haven't specified a conversation name." });
    });
  });

  it("puts the conversation in the creator's list as soon as it answers", async () => {
    const [a, b] = await cast3();
    const cid = await cidOf(group(a, [b]));
    expect(await listedIds(a.socket, { ids: [cid] })).toEqual([cid]);
  });
});

describe("conversation_list", () => {
  it("shows last_message and unread_messages_count, and message_read clears the count", async () => {
    const [a, b, c] = await cast3();
    const cid = await settledGroup(a, [b, c]);
    await send(a.socket, cid, "hi");
    const last = await send(a.socket, cid, "there");
    await received(b.socket, cid, withBody("hi"));
    await received(b.socket, cid, withBody("there"));

    const [forB] = await conversationList(b.socket, { ids: [cid] });
    expect(forB).toMatchObject({ _id: cid, type: "g", owner_id: a.id, unread_messages_count: 2 });
    expect(rec(forB!.last_message)).toMatchObject({ _id: last.server_mid, from: a.id, body: "there", t: last.t, status: "sent" });
    const [forA] = await conversationList(a.socket, { ids: [cid] });
    expect(forA).toMatchObject({ unread_messages_count: 0, last_message: { _id: last.server_mid, body: "there" } });

    expect(await b.socket.request("message_read", { cid })).toMatchObject({ success: true });
    expect((await conversationList(b.socket, { ids: [cid] }))[0]).toMatchObject({ unread_messages_count: 0 });
    // C has read nothing.
    await received(c.socket, cid, withBody("there"));
    expect((await conversationList(c.socket, { ids: [cid] }))[0]).toMatchObject({ unread_messages_count: 2 });
  });

  it("shows the author's last_message as read once a recipient read it (SAMA §1.4)", async () => {
    const [a, b] = await cast3();
    const cid = await settledGroup(a, [b]);
    const ask = await send(a.socket, cid, "read me");
    await received(b.socket, cid, withBody("read me"));
    await b.socket.request("message_read", { cid });
    await a.socket.next((f) => isRecord(f.message_read) && f.message_read.cid === cid);
    const [forA] = await conversationList(a.socket, { ids: [cid] });
    expect(rec(forA!.last_message), "the author's last_message after the recipient read it").toMatchObject({ _id: ask.server_mid, status: "read" });
  });

  it("shows every member the last_message as read once anyone read it (SAMA: read if anyone has a read status)", async () => {
    const [a, b, c] = await cast3();
    const cid = await settledGroup(a, [b, c]);
    const ask = await send(a.socket, cid, "read by one");
    await received(b.socket, cid, withBody("read by one"));
    await received(c.socket, cid, withBody("read by one"));
    expect(rec((await conversationList(c.socket, { ids: [cid] }))[0]!.last_message)).toMatchObject({ _id: ask.server_mid, status: "sent" });
    await b.socket.request("message_read", { cid });
    // C read nothing, yet its last_message is read: B read it.
    expect(rec((await conversationList(c.socket, { ids: [cid] }))[0]!.last_message)).toMatchObject({ _id: ask.server_mid, status: "read" });
    expect(rec((await conversationList(b.socket, { ids: [cid] }))[0]!.last_message)).toMatchObject({ _id: ask.server_mid, status: "read" });
    expect((await conversationList(c.socket, { ids: [cid] }))[0]).toMatchObject({ unread_messages_count: 1 });
  });

  it("lists only the caller's conversations, filtered by ids, newest first, limited", async () => {
    const [a, b, c] = await members(3);
    const g1 = await cidOf(group(a!, [b!]));
    const g2 = await cidOf(group(a!, [b!, c!]));
    const u = await cidOf(create(a!.socket, { type: "u", participants: [c!.id] }));
    const others = await cidOf(group(b!, [c!]));
    // Wait until every index caught up.
    await eventually(() => listedIds(c!.socket), (ids) => ids.length === 3);
    await eventually(() => listedIds(a!.socket), (ids) => ids.length === 3);

    expect(await listedIds(a!.socket)).toEqual([u, g2, g1]);
    expect(await listedIds(a!.socket, { limit: 2 })).toEqual([u, g2]);
    expect(await listedIds(a!.socket, { ids: [g1, others, "nope"] })).toEqual([g1]);
    expect((await listedIds(b!.socket)).sort()).toEqual([g1, g2, others].sort());
    expect((await listedIds(c!.socket)).sort()).toEqual([g2, u, others].sort());
  });

  it("never returns more than 30 conversations", async () => {
    const [a] = await members(1);
    const cids: string[] = [];
    for (let i = 0; i < 31; i++) cids.push(await cidOf(channel(a!)));
    const newest30 = cids.slice(1).reverse();
    await eventually(() => listedIds(a!.socket, { ids: cids.slice(-10) }), (ids) => ids.length === 10);
    expect(await listedIds(a!.socket, { limit: 100 })).toEqual(newest30);
    expect(await listedIds(a!.socket)).toEqual(newest30);
    expect(await listedIds(a!.socket, { limit: 5 })).toEqual(newest30.slice(0, 5));
    expect(await listedIds(a!.socket, { ids: [cids[0]] })).toEqual([cids[0]]);
  });

  it("filters on the conversation's updated_at, which a new message moves forward", async () => {
    const [a, b] = await members(2);
    const g1 = await settledGroup(a!, [b!]);
    const second = await group(a!, [b!]);
    const g2 = str(second._id);
    await event(b!.socket, "conversation_created", g2);
    const before = str(second.updated_at);
    // updated_at has millisecond precision: make sure the message is strictly later.
    await new Promise((resolve) => setTimeout(resolve, 5));
    await send(a!.socket, g1, "bump");
    const message = await received(b!.socket, g1, withBody("bump"));

    const listed = await conversationList(b!.socket, { updated_at: { gt: before } });
    expect(listed.map((c) => c._id)).toEqual([g1]);
    expect(listed[0]!.updated_at).toBe(message.created_at);
    expect(await listedIds(b!.socket, { updated_at: { gt: Date.parse(before) } })).toEqual([g1]);
    expect(await listedIds(b!.socket, { updated_at: { lt: str(message.created_at) } })).toEqual([g2]);
  });

  it.each<[string, Record<string, unknown>, string]>([
    ["more than 10 ids", { ids: Array.from({ length: 11 }, (_, i) => fakeId(i)) }, '"ids" must contain less than or equal to 10 items'],
    ["a limit that is not a number", { limit: "x" }, '"limit" must be a number'],
    ["a date that is not a date", { updated_at: { gt: "yesterday-ish" } }, '"updated_at.gt" must be a valid date'],
    ["an unknown key", { foo: 1 }, '"foo" is not allowed'],
  ])("refuses %s", async (_name, params, message) => {
    const a = await online(cast[0]!);
    expect(await a.socket.requestError("conversation_list", params)).toEqual({ status: 422, message });
  });
});

describe("conversation_update", () => {
  it("lets the owner rename; the participants get conversation_updated", async () => {
    const [a, b, c] = await cast3();
    const cid = await settledGroup(a, [b, c]);
    const response = await a.socket.request("conversation_update", { id: cid, name: "Renamed", description: "new d" });
    expect(rec(response.conversation)).toMatchObject({ _id: cid, name: "Renamed", description: "new d", owner_id: a.id, type: "g" });
    for (const m of [b, c]) {
      const updated = await event(m.socket, "conversation_updated", cid, (conv) => conv.name === "Renamed");
      expect(updated.from).toBe(a.id);
    }
    expect((await conversationList(b.socket, { ids: [cid] }))[0]).toMatchObject({ name: "Renamed", description: "new d" });
  });

  it("refuses participants who are not owner or admin, other organizations' conversations and bad ids", async () => {
    const [a, b] = await cast3();
    const cid = await settledGroup(a, [b]);
    expect(await b.socket.requestError("conversation_update", { id: cid, name: "mine" })).toEqual(FORBIDDEN);
    const [f1, f2] = await members(2, { organizationId: await createOrganization() });
    const foreignCid = await cidOf(group(f1!, [f2!]));
    expect(await a.socket.requestError("conversation_update", { id: foreignCid, name: "taken" })).toEqual(BAD_REQUEST);
    expect(await a.socket.requestError("conversation_update", { id: "nope", name: "x" })).toEqual(BAD_REQUEST);
    expect(await a.socket.requestError("conversation_update", { id: fakeId(9), name: "x" })).toEqual(BAD_REQUEST);
    expect(await a.socket.requestError("conversation_update", { name: "x" })).toEqual({ status: 422, message: '"id" is required' });
    expect(await a.socket.requestError("conversation_update", { id: cid, type: "c" })).toEqual({ status: 422, message: '"type" is not allowed' });
    const [seenByOwner] = await conversationList(f1!.socket, { ids: [foreignCid] });
    expect(seenByOwner).not.toHaveProperty("name", "taken");
  });

  it("adds participants: they get conversation_updated, everyone gets an added_participant message", async () => {
    const [a, b] = await cast3();
    const [d, p] = await onlineAll([dora, cast[2]!]);
    const plain = p!;
    const dm = d!;
    const cid = await settledGroup(a, [b]);
    await send(a.socket, cid, "before");
    await received(b.socket, cid, withBody("before"));

    const response = await a.socket.request("conversation_update", { id: cid, participants: { add: [dm.id, plain.id] } });
    expect(rec(response.conversation)).toMatchObject({ _id: cid });

    for (const added of [dm, plain]) {
      const welcome = rec(rec((await event(added.socket, "conversation_updated", cid)).x).conversation_updated);
      expect(welcome).toMatchObject({ _id: cid, type: "g", owner_id: a.id, unread_messages_count: 1 });
      expect(isRecord(welcome.last_message)).toBe(true);
    }
    const bodies = { [dm.id]: "Dora Explorer has been added to the conversation", [plain.id]: `${plain.user.login} has been added to the conversation` };
    for (const m of [b, dm, plain]) {
      for (const added of [dm, plain]) {
        const message = await received(m.socket, cid, (msg) => ofType("added_participant")(msg) && rec(rec(msg.x).user)._id === added.id);
        expect(message).toMatchObject({ from: a.id, body: bodies[added.id] });
        expectPublicUser(rec(message.x).user, added);
      }
    }
    const persisted = (await messageList(b.socket, cid)).filter(ofType("added_participant"));
    expect(persisted.map((m) => rec(rec(m.x).user)._id).sort()).toEqual([dm.id, plain.id].sort());
    expect(rec(rec(persisted.find((m) => rec(rec(m.x).user)._id === dm.id)?.x).user)).toMatchObject({ first_name: "Dora", last_name: "Explorer" });
    // B (already a member) is told about the update too.
    await event(b.socket, "conversation_updated", cid);
    // The added users now see the conversation, with the two added messages unread.
    const [forDora] = await conversationList(dm.socket, { ids: [cid] });
    expect(forDora).toMatchObject({ _id: cid, unread_messages_count: 2, last_message: { from: a.id } });
    expect(str(rec(forDora!.last_message).body)).toMatch(/has been added to the conversation$/);
    expect(JSON.stringify(await messageList(dm.socket, cid))).not.toMatch(PASSWORD_FIELDS);
  });

  it("removes participants: a removed_participant message, conversation_kicked, gone from their list, no more reading", async () => {
    const [a, b] = await cast3();
    const c = await online(carl);
    const cid = await settledGroup(a, [b, c]);
    const response = await a.socket.request("conversation_update", { id: cid, participants: { remove: [c.id] } });
    expect(response).not.toHaveProperty("deleted");

    const removed = await received(b.socket, cid, ofType("removed_participant"));
    expect(removed).toMatchObject({ from: a.id, body: "Carl has been removed from the conversation" });
    expectPublicUser(rec(removed.x).user, c);
    const kicked = await event(c.socket, "conversation_kicked", cid);
    expect(kicked).toMatchObject({ from: a.id, cid });
    expect(await listedIds(c.socket, { ids: [cid] })).toEqual([]);
    expect(await c.socket.requestError("message_list", { cid })).toEqual(FORBIDDEN);
    expect((await messageList(a.socket, cid)).some(ofType("removed_participant"))).toBe(true);
    const participants = await b.socket.request("get_participants_by_cids", { cids: [cid] });
    expect([...(rec(participants.conversations)[cid] as string[])].sort()).toEqual([a.id, b.id].sort());
  });

  it("lets admins update, and only while they are admins", async () => {
    const [a, b, c] = await cast3();
    const cid = await settledGroup(a, [b, c]);
    expect(await b.socket.requestError("conversation_update", { id: cid, name: "by b" })).toEqual(FORBIDDEN);
    await a.socket.request("conversation_update", { id: cid, admins: { add: [b.id] } });
    expect(rec((await b.socket.request("conversation_update", { id: cid, name: "by b" })).conversation)).toMatchObject({ name: "by b", owner_id: a.id });
    expect(await a.socket.request("get_admins_by_cids", { cids: [cid] })).toMatchObject({ conversations: { [cid]: [a.id, b.id] } });
    await a.socket.request("conversation_update", { id: cid, admins: { remove: [b.id] } });
    expect(await b.socket.requestError("conversation_update", { id: cid, name: "by b again" })).toEqual(FORBIDDEN);
    expect(await c.socket.requestError("conversation_update", { id: cid, name: "by c" })).toEqual(FORBIDDEN);
  });

  it("deletes the conversation when everyone is removed", async () => {
    const [a, b] = await cast3();
    const name = unique("doomed");
    const cid = await settledGroup(a, [b], name);
    expect(await search(a.socket, name)).toEqual([cid]);
    const response = await a.socket.request("conversation_update", { id: cid, participants: { remove: [a.id, b.id] } });
    expect(response).toMatchObject({ deleted: true });
    expect(response).not.toHaveProperty("conversation");
    expect(await search(a.socket, name)).toEqual([]);
    expect(await a.socket.requestError("conversation_update", { id: cid, name: "ghost" })).toEqual(BAD_REQUEST);
    expect(await b.socket.requestError("message_list", { cid })).toMatchObject({ status: 404 });
    expect(await listedIds(a.socket, { ids: [cid] }), "the owner's list after removing everyone").toEqual([]);
    expect(await listedIds(b.socket, { ids: [cid] }), "a removed member's list after the deletion").toEqual([]);
    await event(b.socket, "conversation_kicked", cid, () => true, 2000);
  });

  it("passes ownership to the longest-standing participant when the owner is removed", async () => {
    // The later joiner signed up first, so its id sorts first: only join time can pick the heir.
    const [late, a, early] = await cast3();
    const cid = await settledGroup(a, [early]);
    await a.socket.request("conversation_update", { id: cid, participants: { add: [late.id] } });
    await event(late.socket, "conversation_updated", cid);

    const response = await a.socket.request("conversation_update", { id: cid, participants: { remove: [a.id] } });
    expect(rec(response.conversation)).toMatchObject({ owner_id: early.id });
    expect(await early.socket.request("get_admins_by_cids", { cids: [cid] })).toMatchObject({ conversations: { [cid]: [early.id] } });
    expect(await late.socket.request("get_admins_by_cids", { cids: [cid] })).toMatchObject({ users: [], conversations: {} });
    await event(early.socket, "conversation_updated", cid, (conv) => conv.owner_id === early.id);
    expect((await conversationList(early.socket, { ids: [cid] }))[0]).toMatchObject({ owner_id: early.id });
    // The new owner may now update.
    expect(rec((await early.socket.request("conversation_update", { id: cid, name: "mine now" })).conversation)).toMatchObject({ name: "mine now" });
  });

  it("announces a new image with a persisted update_image message", async () => {
    const [a, b] = await cast3();
    const cid = await settledGroup(a, [b]);
    const image = { file_id: "f-" + unique(), file_name: "group.png" };
    const response = await a.socket.request("conversation_update", { id: cid, image_object: image });
    expect(rec(response.conversation)).toMatchObject({ image_object: image });
    const message = await received(b.socket, cid, ofType("update_image"));
    expect(message).toMatchObject({ from: a.id, body: "Group chat image was updated" });
    expect(rec(rec(message.x).conversation)).toMatchObject({ _id: cid, image_object: image });
    expect((await messageList(a.socket, cid)).filter(ofType("update_image"))).toHaveLength(1);
  });

  it("caps a group at 50 participants", async () => {
    const a = await online(cast[0]!);
    const others: TestUser[] = await Promise.all(Array.from({ length: 50 }, () => signUp()));
    const cid = await cidOf(create(a.socket, { type: "g", name: unique("full"), participants: others.slice(0, 49).map((u) => u.id) }));
    expect(await a.socket.requestError("conversation_update", { id: cid, participants: { add: [others[49]!.id] } })).toEqual({
      status: 422,
      message: "You've reached the maximum participant limit.",
    });
    const participants = await a.socket.request("get_participants_by_cids", { cids: [cid] });
    expect(rec(participants.conversations)[cid]).toHaveLength(50);
  }, 30_000);
});

describe("conversation_delete (leave)", () => {
  it("leaves: the others get a persisted left_participants message, the leaver loses the conversation", async () => {
    const [a, b] = await cast3();
    const c = await online(cleo);
    const cid = await settledGroup(a, [b, c]);
    expect(await c.socket.request("conversation_delete", { id: cid })).toMatchObject({ success: true });
    for (const m of [a, b]) {
      const left = await received(m.socket, cid, ofType("left_participants"));
      expect(left).toMatchObject({ from: c.id, body: "Cleo Patra has left the conversation" });
      expectPublicUser(rec(left.x).user, c);
    }
    expect(await listedIds(c.socket, { ids: [cid] })).toEqual([]);
    expect(await c.socket.requestError("message_list", { cid })).toEqual(FORBIDDEN);
    expect(await c.socket.requestError("conversation_delete", { id: cid })).toEqual(NOT_PARTICIPANT);
    expect((await messageList(b.socket, cid)).filter(ofType("left_participants"))).toHaveLength(1);
  });

  it("refuses non-participants and unknown ids", async () => {
    const [a, b, outsider] = await cast3();
    const cid = await settledGroup(a, [b]);
    expect(await outsider.socket.requestError("conversation_delete", { id: cid })).toEqual(NOT_PARTICIPANT);
    expect(await a.socket.requestError("conversation_delete", { id: fakeId(7) })).toEqual(BAD_REQUEST);
    expect(await a.socket.requestError("conversation_delete", { id: "nope" })).toEqual(BAD_REQUEST);
    expect(await a.socket.requestError("conversation_delete", {})).toEqual({ status: 422, message: '"id" is required' });
  });

  it("hands ownership on when the owner leaves, and the last one out deletes the group", async () => {
    const [a, b, c] = await cast3();
    const name = unique("leavers");
    const cid = await settledGroup(a, [b, c], name);
    await a.socket.request("conversation_delete", { id: cid });
    await received(b.socket, cid, ofType("left_participants"));
    // b and c joined together: the tie is broken by id, b signed up first.
    expect(await b.socket.request("get_admins_by_cids", { cids: [cid] })).toMatchObject({ conversations: { [cid]: [b.id] } });
    expect(await search(b.socket, name)).toEqual([cid]);
    await b.socket.request("conversation_delete", { id: cid });
    expect(await c.socket.request("conversation_delete", { id: cid })).toMatchObject({ success: true });
    expect(await search(a.socket, name)).toEqual([]);
    expect(await c.socket.requestError("conversation_delete", { id: cid })).toEqual(BAD_REQUEST);
    expect(await listedIds(c.socket, { ids: [cid] }), "the last one out").toEqual([]);
  });
});

describe("conversation_search", () => {
  it("finds the caller's conversations and the organization's channels by case-insensitive substring, ids only", async () => {
    const [a, b, outsider] = await cast3();
    const token = unique("srch");
    const team = await cidOf(group(a, [b], `Alpha ${token} Team`));
    const news = await cidOf(channel(a, `${token.toUpperCase()} news`));
    const [f1, f2] = await members(2, { organizationId: await createOrganization() });
    const foreignTeam = await cidOf(group(f1!, [f2!], `Alpha ${token} Team`));

    // Members find their group and the channel.
    for (const m of [a, b]) expect([...((await search(m.socket, token.toLowerCase())) as string[])].sort()).toEqual([team, news].sort());
    expect(await search(b.socket, `ha ${token.toUpperCase()} te`)).toEqual([team]);
    // A non-participant of the same organization finds the channel only (public discovery), never the private group.
    expect(await search(outsider.socket, token.toLowerCase())).toEqual([news]);
    expect(await search(outsider.socket, `ha ${token.toUpperCase()} te`)).toEqual([]);
    expect(await search(f1!.socket, token)).toEqual([foreignTeam]);
    expect(await search(a.socket, unique("nothing"))).toEqual([]);
    // Who leaves a group no longer finds it.
    await b.socket.request("conversation_delete", { id: team });
    expect(await search(b.socket, token)).toEqual([news]);
  });

  it("requires a name", async () => {
    const a = await online(cast[0]!);
    expect(await a.socket.requestError("conversation_search", {})).toEqual({ status: 422, message: '"name" is required' });
  });
});
