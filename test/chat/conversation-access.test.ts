// Who may see and touch a conversation: channels (subscribe, who posts), participants and admins by
// cids, and isolation of conversations from other organizations and from non-participants.
import { beforeAll, describe, expect, it } from "vitest";
import type { Frame, TestSocket } from "../helpers/socket";
import { createOrganization, unique } from "../helpers/users";
import {
  BAD_REQUEST,
  FORBIDDEN,
  NOT_FOUND,
  accounts,
  channel,
  cidOf,
  conversationList,
  create,
  event,
  eventually,
  expectPublicUser,
  listedIds,
  messageList,
  online,
  onlineAll,
  rec,
  received,
  search,
  send,
  sendRaw,
  sendTopLevel,
  str,
  withBody,
  type Account,
  type Member,
} from "./conversation-fixtures";

const fakeId = (i: number) => `${"b".repeat(18)}${i.toString(16).padStart(6, "0")}`;
const NO_DATA = { users: [], conversations: {} };

let cast: Account[] = [];
let foreign: Account;

beforeAll(async () => {
  cast = await accounts(4);
  [foreign] = (await accounts(1, { organizationId: await createOrganization() })) as [Account];
}, 30_000);

async function cast4(): Promise<[Member, Member, Member, Member]> {
  const [a, b, c, d] = await onlineAll(cast);
  return [a!, b!, c!, d!];
}

/** A response without its echoed request id. */
function body(response: Frame): Frame {
  const { id: _id, ...rest } = response;
  return rest;
}

async function settledGroup(owner: Member, others: Member[], name = unique("grp")): Promise<string> {
  const cid = await cidOf(create(owner.socket, { type: "g", name, participants: others.map((o) => o.id) }));
  for (const o of others) await event(o.socket, "conversation_created", cid);
  return cid;
}

async function participantsOf(socket: TestSocket, cids: unknown): Promise<Frame> {
  return body(await socket.request("get_participants_by_cids", { cids }));
}

async function adminsOf(socket: TestSocket, cids: unknown): Promise<Frame> {
  return body(await socket.request("get_admins_by_cids", { cids }));
}

function sortedIds(value: unknown): string[] {
  if (!Array.isArray(value)) throw new Error(`expected ids, got ${JSON.stringify(value)}`);
  return value.map(str).sort();
}

describe("channels", () => {
  it("subscribe and unsubscribe; subscribers are participants", async () => {
    const [owner, s1, s2] = await cast4();
    const cid = await cidOf(channel(owner));
    expect(body(await s1.socket.request("conversation_subscribe", { cid }))).toEqual({ success: true });
    expect(body(await s2.socket.request("conversation_subscribe", { cid }))).toEqual({ success: true });
    // Subscribing twice changes nothing.
    expect(body(await s2.socket.request("conversation_subscribe", { cid }))).toEqual({ success: true });

    const seen = await participantsOf(owner.socket, [cid]);
    expect(sortedIds(rec(seen.conversations)[cid])).toEqual([owner.id, s1.id, s2.id].sort());
    const users = (seen.users as unknown[]).map(rec);
    expectPublicUser(users.find((u) => u._id === s1.id), s1);
    expect(sortedIds(rec((await participantsOf(s1.socket, [cid])).conversations)[cid])).toEqual([owner.id, s1.id, s2.id].sort());

    // The subscriber's list has the channel.
    const [forS1] = await eventually(() => conversationList(s1.socket, { ids: [cid] }), (list) => list.length === 1);
    expect(forS1).toMatchObject({ _id: cid, type: "c", owner_id: owner.id });

    expect(body(await s1.socket.request("conversation_unsubscribe", { cid }))).toEqual({ success: true });
    expect(sortedIds(rec((await participantsOf(owner.socket, [cid])).conversations)[cid])).toEqual([owner.id, s2.id].sort());
    expect(await participantsOf(s1.socket, [cid])).toEqual(NO_DATA);
    expect(await eventually(() => listedIds(s1.socket, { ids: [cid] }), (ids) => ids.length === 0)).toEqual([]);
  });

  it("keeps subscribers_count current in the owner's list", async () => {
    const [owner, s1, s2] = await cast4();
    const cid = await cidOf(channel(owner));
    await s1.socket.request("conversation_subscribe", { cid });
    await s2.socket.request("conversation_subscribe", { cid });
    const [listed] = await eventually(
      () => conversationList(owner.socket, { ids: [cid] }),
      (list) => list[0]?.subscribers_count === 3,
      1000,
    );
    expect(listed, "the owner's conversation_list after two subscribed").toMatchObject({ _id: cid, subscribers_count: 3 });
  });

  it("refuses groups, private chats and unknown ids with 400", async () => {
    const [a, b] = await cast4();
    const g = await settledGroup(a, [b]);
    const u = await cidOf(create(a.socket, { type: "u", participants: [b.id] }));
    for (const action of ["conversation_subscribe", "conversation_unsubscribe"]) {
      for (const cid of [g, u, fakeId(1), "nope"]) expect(await b.socket.requestError(action, { cid })).toEqual(BAD_REQUEST);
      expect(await b.socket.requestError(action, {})).toEqual({ status: 422, message: '"cid" is required' });
    }
  });

  it("lets only the owner and admins post; subscribers neither post, type nor read-mark", async () => {
    const [owner, s1, s2] = await cast4();
    const ownerPhone = (await onlineAll([cast[0]!]))[0]!;
    const cid = await cidOf(channel(owner));
    await s1.socket.request("conversation_subscribe", { cid });
    await s2.socket.request("conversation_subscribe", { cid });

    const refused = await sendRaw(s1.socket, cid, "let me in");
    expect(refused.frame).toEqual({ message: { id: refused.id, error: FORBIDDEN } });
    expect(await s1.socket.requestError("typing", { cid })).toEqual(FORBIDDEN);
    expect(await s1.socket.requestError("message_read", { cid })).toEqual(FORBIDDEN);

    const ask = await send(owner.socket, cid, "breaking news");
    for (const socket of [s1.socket, s2.socket, ownerPhone.socket]) {
      expect(await received(socket, cid, withBody("breaking news"))).toMatchObject({ _id: ask.server_mid, c_type: "c", from: owner.id });
    }
    expect((await messageList(s2.socket, cid)).map((m) => m.body)).toEqual(["breaking news"]);

    // An admin may post.
    await owner.socket.request("conversation_update", { id: cid, admins: { add: [s1.id] } });
    await send(s1.socket, cid, "admin speaking");
    await received(s2.socket, cid, withBody("admin speaking"));
  });

  it("lets an admin step down and change other admins, as SAMA; the owner stays owner", async () => {
    const [owner, s1, s2, s3] = await cast4();
    const cid = await cidOf(channel(owner));
    for (const s of [s1, s2, s3]) await s.socket.request("conversation_subscribe", { cid });
    await owner.socket.request("conversation_update", { id: cid, admins: { add: [s1.id, s2.id] } });
    expect((await adminsOf(owner.socket, [cid])).conversations).toEqual({ [cid]: [owner.id, s1.id, s2.id] });

    // An admin steps down: from then on a plain subscriber, who may neither update nor list admins.
    const stepped = await s2.socket.request("conversation_update", { id: cid, admins: { remove: [s2.id] } });
    expect(rec(stepped.conversation)).toMatchObject({ _id: cid, type: "c", subscribers_count: 4 });
    expect((await adminsOf(owner.socket, [cid])).conversations).toEqual({ [cid]: [owner.id, s1.id] });
    expect(await s2.socket.requestError("conversation_update", { id: cid, name: "by s2" })).toEqual(FORBIDDEN);
    expect(await adminsOf(s2.socket, [cid])).toEqual(NO_DATA);

    // An admin makes another subscriber admin and takes it back; removing the owner's role does nothing.
    await s1.socket.request("conversation_update", { id: cid, admins: { add: [s3.id] } });
    expect((await adminsOf(s3.socket, [cid])).conversations).toEqual({ [cid]: [owner.id, s1.id, s3.id] });
    await s1.socket.request("conversation_update", { id: cid, admins: { remove: [s3.id, owner.id] } });
    expect((await adminsOf(owner.socket, [cid])).conversations).toEqual({ [cid]: [owner.id, s1.id] });
    expect(rec((await owner.socket.request("conversation_update", { id: cid, name: "still mine" })).conversation)).toMatchObject({ owner_id: owner.id, name: "still mine" });
    // A plain subscriber changes no admins, and no admin removes the owner from the channel.
    expect(await s3.socket.requestError("conversation_update", { id: cid, admins: { remove: [s1.id] } })).toEqual(FORBIDDEN);
    expect(await s1.socket.requestError("conversation_update", { id: cid, participants: { remove: [owner.id] } })).toEqual(FORBIDDEN);
  });

  it("is deleted when its last subscriber leaves", async () => {
    const [owner, s1] = await cast4();
    const name = unique("lonely");
    const cid = await cidOf(channel(owner, name));
    await s1.socket.request("conversation_subscribe", { cid });
    expect(body(await owner.socket.request("conversation_unsubscribe", { cid }))).toEqual({ success: true });
    expect(await adminsOf(s1.socket, [cid])).toMatchObject({ conversations: { [cid]: [s1.id] } });
    expect(await search(s1.socket, name)).toEqual([cid]);
    expect(body(await s1.socket.request("conversation_unsubscribe", { cid }))).toEqual({ success: true });
    expect(await search(s1.socket, name)).toEqual([]);
    expect(await owner.socket.requestError("conversation_subscribe", { cid })).toEqual(BAD_REQUEST);
    expect(await listedIds(owner.socket, { ids: [cid] }), "the owner, who left first").toEqual([]);
    expect(await listedIds(s1.socket, { ids: [cid] }), "the last subscriber out").toEqual([]);
  });
});

describe("get_participants_by_cids", () => {
  it("answers users (public fields) and participant ids for the caller's conversations only", async () => {
    const [a, b, c, outsider] = await cast4();
    const g = await settledGroup(a, [b, c]);
    const u = await cidOf(create(a.socket, { type: "u", participants: [b.id] }));
    const notMine = await settledGroup(b, [outsider]);

    const seen = await participantsOf(a.socket, [g, u, notMine, fakeId(2), "nope"]);
    const conversations = rec(seen.conversations);
    expect(Object.keys(conversations).sort()).toEqual([g, u].sort());
    expect(sortedIds(conversations[g])).toEqual([a.id, b.id, c.id].sort());
    expect(sortedIds(conversations[u])).toEqual([a.id, b.id].sort());
    const users = (seen.users as unknown[]).map(rec);
    expect(users.map((user) => str(user._id)).sort()).toEqual([a.id, b.id, c.id].sort());
    for (const m of [a, b, c]) expectPublicUser(users.find((user) => user._id === m.id), m);

    expect(await participantsOf(outsider.socket, [g, u])).toEqual(NO_DATA);
    expect(await participantsOf(a.socket, [])).toEqual(NO_DATA);
  });

  it("requires cids", async () => {
    const a = await online(cast[0]!);
    const required = { status: 422, message: "'cids' field is required." };
    expect(await a.socket.requestError("get_participants_by_cids", {})).toEqual(required);
    expect(await a.socket.requestError("get_participants_by_cids", { cids: "x" })).toEqual(required);
    expect(await a.socket.requestError("get_admins_by_cids", {})).toEqual(required);
  });
});

describe("get_admins_by_cids", () => {
  it("answers [owner, …admins] only where the caller is owner or admin", async () => {
    const [a, b, c] = await cast4();
    const g = await settledGroup(a, [b, c]);
    const mine = await adminsOf(a.socket, [g]);
    expect(mine.conversations).toEqual({ [g]: [a.id] });
    expect((mine.users as unknown[]).map(rec).map((user) => user._id)).toEqual([a.id]);
    expectPublicUser((mine.users as unknown[])[0], a);
    expect(await adminsOf(b.socket, [g])).toEqual(NO_DATA);

    await a.socket.request("conversation_update", { id: g, admins: { add: [b.id] } });
    expect((await adminsOf(a.socket, [g])).conversations).toEqual({ [g]: [a.id, b.id] });
    expect((await adminsOf(b.socket, [g])).conversations).toEqual({ [g]: [a.id, b.id] });
    expect(await adminsOf(c.socket, [g])).toEqual(NO_DATA);
  });
});

describe("isolation", () => {
  /** Every request that names a conversation, with what a stranger must get instead of data. */
  async function expectShutOut(stranger: Member, cid: string, mid: string, errors: { read: unknown; update: unknown; leave: unknown; channel: unknown }) {
    const s = stranger.socket;
    expect(await s.requestError("message_list", { cid })).toEqual(errors.read);
    const sent = await sendRaw(s, cid, "intruder");
    expect(sent.frame).toEqual({ message: { id: sent.id, error: errors.read } });
    const system = await sendTopLevel(s, "system_message", { cid, x: { intrude: true } });
    expect(system.frame).toEqual({ system_message: { id: system.id, error: errors.read } });
    expect(await s.requestError("typing", { cid })).toEqual(errors.read);
    expect(await s.requestError("message_read", { cid })).toEqual(errors.read);
    expect(await s.requestError("message_delete", { cid, ids: [mid], type: "all" })).toEqual(errors.read);
    expect(await s.requestError("message_reactions_update", { mid, add: "👍" })).toEqual({ status: 422, message: "Message ID not found." });
    expect(await s.requestError("message_reactions_list", { mid })).toEqual({ status: 422, message: "Message ID not found." });
    expect(await s.requestError("message_edit", { id: mid, body: "mine now" })).toEqual({ status: 422, message: "Message ID not found." });
    expect(await s.requestError("conversation_update", { id: cid, name: "pwned", participants: { add: [stranger.id] } })).toEqual(errors.update);
    expect(await s.requestError("conversation_delete", { id: cid })).toEqual(errors.leave);
    expect(await s.requestError("conversation_subscribe", { cid })).toEqual(errors.channel);
    expect(await s.requestError("conversation_unsubscribe", { cid })).toEqual(errors.channel);
    expect(await participantsOf(s, [cid])).toEqual(NO_DATA);
    expect(await adminsOf(s, [cid])).toEqual(NO_DATA);
    expect(await listedIds(s, { ids: [cid] })).toEqual([]);
  }

  /** The members saw nothing of the stranger, and the conversation is as it was. */
  async function expectUntouched(owner: Member, member: Member, cid: string, stranger: Member, name: string) {
    const messages = await messageList(owner.socket, cid);
    expect(messages.map((m) => m.body)).toEqual(["secret"]);
    expect(rec(messages[0]!.reactions)).toEqual({});
    expect(sortedIds(rec((await participantsOf(owner.socket, [cid])).conversations)[cid])).toEqual([owner.id, member.id].sort());
    expect((await conversationList(owner.socket, { ids: [cid] }))[0]).toMatchObject({ name });
    // Barrier: a later message reaches the member; nothing from the stranger came before it.
    await send(owner.socket, cid, "still private");
    await received(member.socket, cid, withBody("still private"));
    const fromStranger = member.socket.frames.filter((f) => JSON.stringify(f).includes(stranger.id));
    expect(fromStranger).toEqual([]);
  }

  it("gives a user of another organization 400/404/422, never data, for every request that takes a conversation id", async () => {
    const [a, b] = await cast4();
    const stranger = await online(foreign);
    const name = unique("private");
    const g = await settledGroup(a, [b], name);
    const ask = await send(a.socket, g, "secret");
    await received(b.socket, g, withBody("secret"));
    const shutOut = { read: NOT_FOUND, update: BAD_REQUEST, leave: BAD_REQUEST, channel: BAD_REQUEST };
    await expectShutOut(stranger, g, str(ask.server_mid), shutOut);

    const ch = await cidOf(channel(a));
    expect(await stranger.socket.requestError("conversation_subscribe", { cid: ch })).toEqual(BAD_REQUEST);
    const u = await cidOf(create(a.socket, { type: "u", participants: [b.id] }));
    expect(await stranger.socket.requestError("message_list", { cid: u })).toEqual(NOT_FOUND);
    expect(await search(stranger.socket, name)).toEqual([]);
    expect(await participantsOf(stranger.socket, [g, ch, u])).toEqual(NO_DATA);

    await expectUntouched(a, b, g, stranger, name);
  });

  it("gives a non-participant of the same organization 403/404, never data", async () => {
    const [a, b, , outsider] = await cast4();
    const name = unique("members-only");
    const g = await settledGroup(a, [b], name);
    const ask = await send(a.socket, g, "secret");
    await received(b.socket, g, withBody("secret"));
    await expectShutOut(outsider, g, str(ask.server_mid), {
      read: FORBIDDEN,
      update: FORBIDDEN,
      leave: { status: 404, message: "ConversationParticipant not found." },
      channel: BAD_REQUEST,
    });
    await expectUntouched(a, b, g, outsider, name);
  });
});
