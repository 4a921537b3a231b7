// The request catalogue as the fuzzer and the authorization matrix see it: for every request that
// src/protocol/registry.ts registers, which objects it names and a builder of valid params. Both
// suites are derived from this table and fail when a registered request has no entry here, so a new
// request cannot ship without being fuzzed and tried by strangers.
import { expect } from "vitest";
import { Errors } from "../../src/domain/errors";
import { errorsOf } from "../../src/protocol/asyncapi";
import { requestHandlers } from "../../src/protocol/registry";
import { TestSocket, isRecord, type Frame } from "./socket";
import { connectedSocket, loginHttp, signUp, unique, type Login, type TestUser } from "./users";

/** What a request can name that belongs to someone. */
export type ObjectKind = "conversation" | "message" | "user" | "file" | "contact" | "push_subscription" | "device";

/** A user's world: their signed-in socket and objects they own or take part in. */
export interface Scope {
  user: TestUser;
  login: Login;
  socket: TestSocket;
  /** Another user of the same organization who shares `group` and `private`. */
  peer: TestUser;
  /** A group the user owns, with `peer` in it. */
  group: string;
  /** The private chat between the user and `peer`. */
  private: string;
  /** A channel the user owns. */
  channel: string;
  /** A message of the user in `group`, and one of `peer` there. */
  message: string;
  peerMessage: string;
  /** A file the user declared (object_id). */
  file: string;
  contact: string;
  deviceUdid: string;
  /** One string per object (message bodies, conversation names, file name, contact, push token): nobody without a part in it may ever receive it. */
  markers: string[];
  /** Strings in the user's and the peer's profiles (first names): their organization may see them, no other. */
  profileMarkers: string[];
}

/**
 * How a request must end when someone without the right names another user's objects:
 * a SAMA error status, "harmless" (answered without an error, but carrying nothing of the object
 * and changing nothing of it) or "allowed" (SAMA lets anyone of the organization do it).
 */
export type Outcome = number | "harmless" | "allowed";

export interface RequestCase {
  /** Sent as {"<name>":{…}} instead of {"request":{…}} (SAMA's sends). */
  topLevel?: boolean;
  /** The objects that params(scope) names; empty for requests that name none. */
  names: readonly ObjectKind[];
  /** Valid params for scope.user. */
  params(scope: Scope): unknown;
  /** The outcome of params(victim) sent by a user of the victim's organization with no part in the objects. */
  outsider?: Outcome;
  /** The outcome of params(victim) sent by a user of another organization. */
  foreign?: Outcome;
}

const FILE = { name: "hardening.png", size: 1234, content_type: "image/png" };

/** One line per registered request. Keep it in step with src/protocol/registry.ts (a test checks). */
export const REQUEST_CASES: Record<string, RequestCase> = {
  ping: { names: [], params: () => ({}) },
  connect: { names: [], params: (s) => ({ token: s.login.accessToken, device_id: s.login.deviceId }) },
  user_create: { names: [], params: () => ({ organization_id: "default", login: unique("fz"), password: "fuzz-pass", email: `${unique("fz")}@example.test` }) },
  user_login: { names: [], params: (s) => ({ organization_id: s.user.organizationId, login: s.user.login, password: s.user.password, device_id: s.login.deviceId }) },
  user_logout: { names: [], params: () => ({}) },
  // Another organization's file id is no file here: stored like any unknown id, without a URL (test/files/avatars.test.ts).
  user_edit: { names: ["file"], params: (s) => ({ first_name: "Fuzz", avatar_object: { file_id: s.file, file_name: "a.png" } }), outsider: 422, foreign: "allowed" },
  user_delete: { names: [], params: () => ({}) },
  user_search: { names: ["user"], params: (s) => ({ keyword: s.peer.login }), outsider: "allowed", foreign: "harmless" },
  get_users_by_ids: { names: ["user"], params: (s) => ({ ids: [s.peer.id, s.user.id] }), outsider: "allowed", foreign: "harmless" },
  conversation_create: { names: ["user"], params: (s) => ({ type: "g", name: unique("fzg"), participants: [s.peer.id] }), outsider: "allowed", foreign: 422 },
  conversation_update: { names: ["conversation", "user"], params: (s) => ({ id: s.group, name: unique("fzu"), participants: { remove: [s.peer.id] } }), outsider: 403, foreign: 400 },
  conversation_delete: { names: ["conversation"], params: (s) => ({ id: s.group }), outsider: 404, foreign: 400 },
  conversation_list: { names: ["conversation"], params: (s) => ({ ids: [s.group, s.private], limit: 10 }), outsider: "harmless", foreign: "harmless" },
  conversation_search: { names: [], params: () => ({ name: "fz" }) },
  conversation_subscribe: { names: ["conversation"], params: (s) => ({ cid: s.group }), outsider: 400, foreign: 400 },
  conversation_unsubscribe: { names: ["conversation"], params: (s) => ({ cid: s.channel }), outsider: "harmless", foreign: 400 },
  get_participants_by_cids: { names: ["conversation"], params: (s) => ({ cids: [s.group, s.private] }), outsider: "harmless", foreign: "harmless" },
  get_admins_by_cids: { names: ["conversation"], params: (s) => ({ cids: [s.group, s.channel] }), outsider: "harmless", foreign: "harmless" },
  message: { topLevel: true, names: ["conversation", "message"], params: (s) => ({ id: unique("m"), cid: s.group, body: "fuzz", replied_message_id: s.peerMessage }), outsider: 403, foreign: 404 },
  message_edit: { names: ["message"], params: (s) => ({ id: s.message, body: "edited by fuzz" }), outsider: 422, foreign: 422 },
  message_delete: { names: ["conversation", "message"], params: (s) => ({ cid: s.group, ids: [s.message, s.peerMessage], type: "all" }), outsider: 403, foreign: 404 },
  message_list: { names: ["conversation", "message"], params: (s) => ({ cid: s.group, ids: [s.message], limit: 5 }), outsider: 403, foreign: 404 },
  message_read: { names: ["conversation", "message"], params: (s) => ({ cid: s.group, ids: [s.peerMessage] }), outsider: 403, foreign: 404 },
  message_reactions_update: { names: ["message"], params: (s) => ({ mid: s.peerMessage, add: "👍" }), outsider: 422, foreign: 422 },
  message_reactions_list: { names: ["message"], params: (s) => ({ mid: s.message }), outsider: 422, foreign: 422 },
  // The fuzz and authz projects have no AI provider: members get 501, outsiders SAMA's refusals first.
  message_summary: { names: ["conversation"], params: (s) => ({ cid: s.group, filter: "last-7-days" }), outsider: 403, foreign: 404 },
  message_tone: { names: [], params: () => ({ body: "rewrite me", tone: "positive" }) },
  typing: { topLevel: true, names: ["conversation"], params: (s) => ({ cid: s.group, status: "start" }), outsider: 403, foreign: 404 },
  system_message: { topLevel: true, names: ["conversation"], params: (s) => ({ id: unique("sm"), cid: s.group, x: { fuzz: true } }), outsider: 403, foreign: 404 },
  op_log_list: { names: [], params: () => ({ created_at: { gt: "2020-01-01T00:00:00.000Z" } }) },
  sync: { names: [], params: () => ({ since: 0 }) },
  user_last_activity_subscribe: { names: ["user"], params: (s) => ({ id: s.peer.id }), outsider: "allowed", foreign: 422 },
  user_last_activity_unsubscribe: { names: [], params: () => ({}) },
  user_last_activity: { names: ["user"], params: (s) => ({ ids: [s.peer.id] }), outsider: "allowed", foreign: "harmless" },
  online_list: { names: [], params: () => ({ limit: 10 }) },
  activity_status: { names: [], params: () => ({ isInactive: false }) },
  block_user: { names: ["user"], params: (s) => ({ ids: [s.peer.id] }), outsider: "allowed", foreign: "harmless" },
  unblock_user: { names: ["user"], params: (s) => ({ ids: [s.peer.id] }), outsider: "allowed", foreign: "harmless" },
  list_blocked_users: { names: [], params: () => ({}) },
  block_list_enable: { names: [], params: () => ({ enable: true }) },
  contact_add: { names: [], params: () => ({ first_name: "Fuzz", email: [{ type: "work", value: `${unique("c")}@example.test` }] }) },
  contact_batch_add: { names: [], params: () => ({ contacts: [{ first_name: "Fuzz", phone: [{ type: "home", value: "380501234567" }] }] }) },
  contact_update: { names: ["contact"], params: (s) => ({ id: s.contact, first_name: "Changed" }), outsider: 422, foreign: 422 },
  contact_delete: { names: ["contact"], params: (s) => ({ id: s.contact }), outsider: "harmless", foreign: "harmless" },
  contact_list: { names: [], params: () => ({ limit: 10 }) },
  create_files: { names: [], params: () => [FILE] },
  get_file_urls: { names: ["file"], params: (s) => ({ file_ids: [s.file] }), outsider: 422, foreign: 422 },
  push_subscription_create: { names: [], params: () => ({ platform: "android", device_token: unique("tok"), device_udid: unique("udid") }) },
  push_subscription_list: { names: ["user"], params: (s) => ({ user_id: s.user.id }), outsider: "harmless", foreign: "harmless" },
  push_subscription_delete: { names: ["push_subscription"], params: (s) => ({ device_udid: s.deviceUdid }), outsider: 422, foreign: 422 },
  push_event_create: { names: ["user"], params: (s) => ({ recipients_ids: [s.peer.id], message: { title: "fuzz", body: "fuzz" } }), outsider: "allowed", foreign: 422 },
  user_send_otp: { names: [], params: (s) => ({ organization_id: s.user.organizationId, email: s.user.email }) },
  user_reset_password: { names: [], params: (s) => ({ organization_id: s.user.organizationId, email: s.user.email, token: 123456, new_password: "fuzz-pass-2" }) },
  conversation_handler_create: { names: ["conversation"], params: (s) => ({ cid: s.group, content: "export default env.ACCEPT();" }), outsider: 403, foreign: 400 },
  get_conversation_handler: { names: ["conversation"], params: (s) => ({ cid: s.group }), outsider: 403, foreign: 400 },
  conversation_handler_delete: { names: ["conversation"], params: (s) => ({ cid: s.group }), outsider: 403, foreign: 400 },
  message_decryption_failed: { names: ["conversation", "message"], params: (s) => ({ cid: s.private, ids: [s.message] }), outsider: 403, foreign: 404 },
  device_register: { names: [], params: () => ({ identity_key: unique("ik"), signed_key: unique("sk"), one_time_pre_keys: [unique("k"), unique("k")] }) },
  device_list: { names: [], params: () => ({}) },
  request_keys: { names: ["user"], params: (s) => ({ user_ids: [s.peer.id, s.user.id] }), outsider: "allowed", foreign: "harmless" },
  // The victim's own device (its login's device id): nobody else may delete it.
  device_delete: { names: ["device"], params: (s) => ({ device_id: s.login.deviceId }), outsider: 403, foreign: 403 },
};

/** The registered requests without a line in REQUEST_CASES, and lines for requests no longer registered. */
export function catalogueGaps(): { missing: string[]; stale: string[] } {
  const registered = [...requestHandlers.keys()];
  return {
    missing: registered.filter((name) => !(name in REQUEST_CASES)),
    stale: Object.keys(REQUEST_CASES).filter((name) => !requestHandlers.has(name)),
  };
}

/** The catalogue's cases, failing the calling test when it is out of step with the registry. */
export function registeredCases(): Array<[string, RequestCase]> {
  expect(catalogueGaps(), "every registered request needs a line in test/helpers/catalogue.ts").toEqual({ missing: [], stale: [] });
  return [...requestHandlers.keys()].map((name) => [name, REQUEST_CASES[name]!]);
}

const tableMessages = new Set<string>(Object.values(Errors).map((e) => e.message));

/**
 * Fails unless `error` is one that /asyncapi.json lists for request `name`: one of its errors, or a
 * 422 validation text of the Joi style (those are not enumerated; SAMA's table messages are).
 */
export function expectDocumentedError(name: string, error: { status: unknown; message: unknown }, what: string): void {
  const handler = requestHandlers.get(name);
  const listed = handler !== undefined && errorsOf(handler).some((e) => e.status === error.status && e.message === error.message);
  const validation = error.status === 422 && typeof error.message === "string" && !tableMessages.has(error.message);
  if (!listed && !validation) expect.fail(`${what}: ${JSON.stringify(error)} is not among the errors /asyncapi.json lists for ${name}`);
}

/** The frame that sends `params` as request `name`. */
export function frameOf(name: string, params: unknown, id: string): string {
  return REQUEST_CASES[name]?.topLevel ? JSON.stringify({ [name]: params }) : JSON.stringify({ request: { [name]: params, id } });
}

async function ok(socket: TestSocket, action: string, params: unknown): Promise<Frame> {
  const response = await socket.request(action, params);
  if ("error" in response) throw new Error(`${action} failed: ${JSON.stringify(response)}`);
  return response;
}

/** Sends a message that must be accepted; returns its server id. */
export async function sendMessage(socket: TestSocket, cid: string, body: string): Promise<string> {
  const id = unique("m");
  const ask = socket.next((f) => (isRecord(f.ask) && f.ask.mid === id) || (isRecord(f.message) && f.message.id === id && "error" in f.message));
  socket.send({ message: { id, cid, body } });
  const answer = await ask;
  if (!isRecord(answer.ask)) throw new Error(`message refused: ${JSON.stringify(answer)}`);
  return answer.ask.server_mid as string;
}

/**
 * A user with a socket and one of each object (group and private chat with `peer`, a channel,
 * messages both ways, a file, a contact, a push subscription). `peerSocket` is a signed-in socket
 * of `peer`, used to write the peer's message. Every body and name carries a marker.
 */
export async function provision(peer: { user: TestUser; socket: TestSocket }, organizationId: string, tag = unique("MARK")): Promise<Scope> {
  const mark = (what: string) => `${tag}-${what}`;
  const profile = unique("PROF"); // first names are at most 20 characters
  const user = await signUp({ organizationId, firstName: profile });
  const login = await loginHttp(user);
  const socket = await TestSocket.open();
  expect((await socket.request("connect", { token: login.accessToken, device_id: login.deviceId })).success).toBe(true);
  const cidOf = async (params: Record<string, unknown>) => ((await ok(socket, "conversation_create", params)).conversation as Frame)._id as string;
  const group = await cidOf({ type: "g", name: mark("group"), participants: [peer.user.id] });
  const privateChat = await cidOf({ type: "u", participants: [peer.user.id] });
  const channel = await cidOf({ type: "c", name: mark("channel") });
  const message = await sendMessage(socket, group, mark("mine"));
  await sendMessage(socket, privateChat, mark("private"));
  const peerMessage = await sendMessage(peer.socket, group, mark("peer"));
  const files = await ok(socket, "create_files", [{ ...FILE, name: `${mark("file")}.png` }]);
  const file = (files.files as Frame[])[0]!.object_id as string;
  const contact = ((await ok(socket, "contact_add", { first_name: mark("contact"), email: [{ value: `${tag.toLowerCase()}@example.test` }] })).contact as Frame)._id as string;
  const deviceUdid = unique("udid");
  await ok(socket, "push_subscription_create", { platform: "android", device_token: mark("token"), device_udid: deviceUdid });
  const markers = ["group", "channel", "mine", "private", "peer", "file", "contact", "token"].map(mark);
  const profileMarkers = [profile, String(peer.user.user.first_name)];
  return { user, login, socket, peer: peer.user, group, private: privateChat, channel, message, peerMessage, file, contact, deviceUdid, markers, profileMarkers };
}

/** A user of `organizationId` with a signed-in socket (a peer for provision()), a marker in their profile. */
export async function peerOf(organizationId: string): Promise<{ user: TestUser; socket: TestSocket }> {
  const user = await signUp({ organizationId, firstName: unique("PEERMARK") });
  return { user, socket: (await connectedSocket(user)).socket };
}

/**
 * What the rightful user sees of their objects: messages (with bodies and reactions), participants
 * and admins, the conversation list, contacts, push subscriptions, blocks and file access. Two
 * snapshots differ iff someone changed one of these. Every request must succeed: two refusals (a
 * 429) would compare equal and prove nothing.
 */
export async function snapshot(scope: Scope): Promise<Frame> {
  const ask = async (action: string, params: unknown) => {
    const { id: _id, ...rest } = await scope.socket.request(action, params);
    expect(rest.error, `snapshot: ${action} failed`).toBeUndefined();
    return rest;
  };
  const conversations = await ask("conversation_list", { ids: [scope.group, scope.private, scope.channel] });
  return {
    groupMessages: await ask("message_list", { cid: scope.group, limit: 30 }),
    privateMessages: await ask("message_list", { cid: scope.private, limit: 30 }),
    participants: await ask("get_participants_by_cids", { cids: [scope.group, scope.private, scope.channel] }),
    admins: await ask("get_admins_by_cids", { cids: [scope.group, scope.channel] }),
    // Names, owners and members; the last message and unread counts are covered by the message lists.
    conversations: (conversations.conversations as Frame[]).map((c) => ({ _id: c._id, name: c.name, owner_id: c.owner_id, type: c.type, updated_at: c.updated_at })),
    contacts: await ask("contact_list", {}),
    subscriptions: await ask("push_subscription_list", { user_id: scope.user.id }),
    blocked: await ask("list_blocked_users", {}),
    me: await ask("get_users_by_ids", { ids: [scope.user.id] }),
    files: Object.keys(((await ask("get_file_urls", { file_ids: [scope.file] })).file_urls as Frame | undefined) ?? {}),
  };
}

let sentinels = 0;

/** A frame that answers a request (a response, an ask, or a refusal of a send), as opposed to a pushed packet. */
export function isAnswer(frame: Frame): boolean {
  if ("response" in frame || "ask" in frame) return true;
  const [key, ...rest] = Object.keys(frame);
  return key !== undefined && rest.length === 0 && isRecord(frame[key]) && "error" in (frame[key] as Frame);
}

/**
 * Sends `text` and returns its answers (none for a successful typing) and the pushes received
 * meanwhile. When the answer is a response with a known `answerId` it is awaited directly;
 * otherwise a ping follows: the Session answers in arrival order, so every answer to `text` has
 * come once the pong is back. Either way, answers left over from the previous frame show up here.
 */
export async function exchange(socket: TestSocket, text: string, answerId: string | null = null, timeoutMs = 20_000): Promise<{ answers: Frame[]; pushes: Frame[] }> {
  const start = socket.frames.length;
  const sentinel = answerId === null ? `sentinel${++sentinels}` : null;
  const awaited = answerId ?? sentinel;
  const last = socket.next((f) => isRecord(f.response) && f.response.id === awaited, timeoutMs);
  socket.send(text);
  if (sentinel !== null) socket.send({ request: { ping: {}, id: sentinel } });
  const end = await last;
  const between = socket.frames.slice(start).filter((f) => sentinel === null || f !== end);
  return { answers: between.filter(isAnswer), pushes: between.filter((f) => !isAnswer(f)) };
}

/** A new signed-in socket for a scope's user (test/setup closes every socket after each test). */
export async function reconnect(scope: Scope): Promise<Scope> {
  const socket = await TestSocket.open();
  const response = await socket.request("connect", { token: scope.login.accessToken, device_id: scope.login.deviceId });
  if (response.success !== true) throw new Error(`connect failed: ${JSON.stringify(response)}`);
  return { ...scope, socket };
}

/** Every id of a scope's objects. */
export function idsOf(scope: Scope): string[] {
  return [scope.user.id, scope.peer.id, scope.group, scope.private, scope.channel, scope.message, scope.peerMessage, scope.file, scope.contact, scope.deviceUdid];
}
