// Helpers shared by the conversation tests: signed-in members, conversations, messages, and
// predicates that pick one exact packet out of everything a socket receives.
import { expect } from "vitest";
import { TestSocket, isRecord, type Frame } from "../helpers/socket";
import { connectedSocket, createOrganization, loginHttp, signUp, unique, type TestUser } from "../helpers/users";

export const OBJECT_ID = /^[0-9a-f]{24}$/;
export const ISO_DATE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
export const PASSWORD_FIELDS = /password|salt/i;

export const FORBIDDEN = { status: 403, message: "Forbidden." };
export const BAD_REQUEST = { status: 400, message: "Bad Request." };
export const NOT_FOUND = { status: 404, message: "Conversation not found." };

/** `value` as an object; fails the test with what it got otherwise. */
export function rec(value: unknown): Frame {
  if (!isRecord(value)) throw new Error(`expected an object, got ${JSON.stringify(value)}`);
  return value;
}

/** `value` as an array of objects. */
export function recs(value: unknown): Frame[] {
  if (!Array.isArray(value)) throw new Error(`expected an array, got ${JSON.stringify(value)}`);
  return value.map(rec);
}

export function str(value: unknown): string {
  if (typeof value !== "string") throw new Error(`expected a string, got ${JSON.stringify(value)}`);
  return value;
}

/** A user with one signed-in socket. */
export interface Member {
  id: string;
  user: TestUser;
  socket: TestSocket;
}

type SignUpOptions = { organizationId?: string; firstName?: string; lastName?: string };

/** A fresh user (nothing in their lists yet) with one signed-in socket. */
export async function member(options: SignUpOptions = {}): Promise<Member> {
  const user = await signUp(options);
  const { socket } = await connectedSocket(user);
  return { id: user.id, user, socket };
}

/** `count` fresh members, signed up one after the other (their ids are in creation order). */
export async function members(count: number, options: { organizationId?: string } = {}): Promise<Member[]> {
  const out: Member[] = [];
  for (let i = 0; i < count; i++) out.push(await member(options));
  return out;
}

/**
 * A signed-up user with an access token kept for later sockets: a test file signs its cast up once
 * (PBKDF2 on sign-up and login is the slow part) and each test connects new sockets cheaply. Use
 * fresh members instead where a test looks at a user's whole conversation list.
 */
export interface Account {
  user: TestUser;
  token: string;
  deviceId: string;
}

export async function accounts(count: number, options: SignUpOptions = {}): Promise<Account[]> {
  const out: Account[] = [];
  for (let i = 0; i < count; i++) {
    const user = await signUp(options);
    const login = await loginHttp(user);
    out.push({ user, token: login.accessToken, deviceId: login.deviceId });
  }
  return out;
}

/** A new signed-in socket for an account (closed after the test like every other). */
export async function online(account: Account): Promise<Member> {
  const socket = await TestSocket.open();
  const response = await socket.request("connect", { token: account.token, device_id: account.deviceId });
  if (response.success !== true) throw new Error(`connect failed: ${JSON.stringify(response)}`);
  return { id: account.user.id, user: account.user, socket };
}

export function onlineAll(list: Account[]): Promise<Member[]> {
  return Promise.all(list.map(online));
}

/** A member of a brand-new organization. */
export async function foreignMember(): Promise<Member> {
  return member({ organizationId: await createOrganization() });
}

/** Another device (its own socket) of the same user. */
export async function otherDevice(m: Member): Promise<TestSocket> {
  return (await connectedSocket(m.user)).socket;
}

/** conversation_create that must succeed; returns the conversation. */
export async function create(socket: TestSocket, params: Record<string, unknown>): Promise<Frame> {
  const response = await socket.request("conversation_create", params);
  if (!isRecord(response.conversation)) throw new Error(`conversation_create failed: ${JSON.stringify(response)}`);
  return response.conversation;
}

export function group(owner: Member, others: Member[], name = unique("grp")): Promise<Frame> {
  return create(owner.socket, { type: "g", name, participants: others.map((o) => o.id) });
}

export function channel(owner: Member, name = unique("chan")): Promise<Frame> {
  return create(owner.socket, { type: "c", name });
}

export async function cidOf(conversation: Promise<Frame> | Frame): Promise<string> {
  return str((await conversation)._id);
}

let messageCounter = 0;

/** The answer to a top-level send (`message`, `system_message`): the `ask`, or the `{"<action>":{"id","error"}}` refusal. */
export async function sendTopLevel(socket: TestSocket, action: string, params: Record<string, unknown>): Promise<{ id: string; frame: Frame }> {
  messageCounter += 1;
  const id = `cm${messageCounter}${Math.random().toString(36).slice(2, 6)}`;
  const answer = socket.next((f) => (isRecord(f.ask) && f.ask.mid === id) || (isRecord(f[action]) && rec(f[action]).id === id && "error" in rec(f[action])));
  socket.send({ [action]: { id, ...params } });
  return { id, frame: await answer };
}

/** The answer to a top-level `message`: the `ask`, or the `{"message":{"id","error"}}` refusal. */
export function sendRaw(socket: TestSocket, cid: string, body: string): Promise<{ id: string; frame: Frame }> {
  return sendTopLevel(socket, "message", { cid, body });
}

/** Sends a message that must be accepted; returns its `ask`. */
export async function send(socket: TestSocket, cid: string, body: string): Promise<Frame> {
  const { frame } = await sendRaw(socket, cid, body);
  if (!isRecord(frame.ask)) throw new Error(`message refused: ${JSON.stringify(frame)}`);
  return frame.ask;
}

/** The body of a chat `message` packet (not an error, not an ask) in `cid` that satisfies `match`. */
export function chatMessage(cid: string, match: (m: Frame) => boolean = () => true): (f: Frame) => boolean {
  return (f) => isRecord(f.message) && f.message.cid === cid && typeof f.message._id === "string" && match(f.message);
}

export function withBody(body: string): (m: Frame) => boolean {
  return (m) => m.body === body;
}

export function ofType(type: string): (m: Frame) => boolean {
  return (m) => isRecord(m.x) && m.x.type === type;
}

/** A conversation event `system_message` (x.conversation_created / _updated / _kicked) for `cid`. */
export function conversationEvent(event: string, cid: string, match: (c: Frame) => boolean = () => true): (f: Frame) => boolean {
  return (f) => isRecord(f.system_message) && f.system_message.cid === cid && isRecord(f.system_message.x) && isRecord(f.system_message.x[event]) && match(f.system_message.x[event]);
}

/** Waits for a chat message and returns its body. */
export async function received(socket: TestSocket, cid: string, match: (m: Frame) => boolean = () => true): Promise<Frame> {
  return rec((await socket.next(chatMessage(cid, match))).message);
}

/** Waits for a conversation event and returns the system_message body. */
export async function event(socket: TestSocket, name: string, cid: string, match: (c: Frame) => boolean = () => true, timeoutMs?: number): Promise<Frame> {
  return rec((await socket.next(conversationEvent(name, cid, match), timeoutMs)).system_message);
}

export async function conversationList(socket: TestSocket, params: Record<string, unknown> = {}): Promise<Frame[]> {
  const response = await socket.request("conversation_list", params);
  return recs(response.conversations);
}

export async function listedIds(socket: TestSocket, params: Record<string, unknown> = {}): Promise<string[]> {
  return (await conversationList(socket, params)).map((c) => str(c._id));
}

export async function messageList(socket: TestSocket, cid: string): Promise<Frame[]> {
  const response = await socket.request("message_list", { cid });
  return recs(response.messages);
}

export async function search(socket: TestSocket, name: string): Promise<unknown> {
  return (await socket.request("conversation_search", { name })).conversations;
}

/** A user card as other users see it: SAMA's visible fields, never secrets or the organization. */
export function expectPublicUser(user: unknown, m: Member): void {
  const u = rec(user);
  expect(u).toMatchObject({ _id: m.id, native_id: m.id, login: m.user.login });
  expect(JSON.stringify(u)).not.toMatch(PASSWORD_FIELDS);
  expect(u).not.toHaveProperty("organization_id");
  expect(u).not.toHaveProperty("device_id");
}

/** Reads until `done` holds (or the time is up) and returns the last read: for indexes updated after the reply. */
export async function eventually<T>(read: () => Promise<T>, done: (value: T) => boolean, timeoutMs = 3000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (done(value) || Date.now() > deadline) return value;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}
