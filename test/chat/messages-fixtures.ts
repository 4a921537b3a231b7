// Shared pieces of the message tests: users with several devices, tabs, groups, sends and packet matchers.
import { expect } from "vitest";
import { TestSocket, isRecord, type Frame } from "../helpers/socket";
import { loginHttp, signUp, unique, type Login, type TestUser } from "../helpers/users";

export interface Device {
  user: TestUser;
  login: Login;
}

export interface ErrorBody {
  status: number;
  message: string;
}

export const OBJECT_ID = /^[0-9a-f]{24}$/;

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** `count` fresh users of the default organization. */
export function users(count: number): Promise<TestUser[]> {
  return Promise.all(Array.from({ length: count }, () => signUp()));
}

/** A device of the user: its own HTTP login (own device id and token). */
export async function device(user: TestUser): Promise<Device> {
  return { user, login: await loginHttp(user) };
}

/**
 * A socket (a browser tab) signed in on the device; several tabs of one device share its id.
 * `gateway` puts it on a Gateway of its own (TestSocket.open).
 */
export async function tab(d: Device, gateway?: string): Promise<TestSocket> {
  const socket = await TestSocket.open("/", gateway);
  const response = await socket.request("connect", { token: d.login.accessToken, device_id: d.login.deviceId });
  if (response.success !== true) throw new Error(`connect failed: ${JSON.stringify(response)}`);
  return socket;
}

/** The body of a packet named `name` (e.g. "message"), or undefined when the frame is another packet. */
export function bodyOf(frame: Frame, name: string): Frame | undefined {
  const body = frame[name];
  return isRecord(body) ? body : undefined;
}

/** Matches a `name` packet whose body satisfies `match`. */
export function packet(name: string, match: (body: Frame) => boolean = () => true): (frame: Frame) => boolean {
  return (frame) => {
    const body = bodyOf(frame, name);
    return body !== undefined && body.error === undefined && match(body);
  };
}

/** Waits for the next `name` packet matching `match` and returns its body. */
export async function nextPacket(socket: TestSocket, name: string, match: (body: Frame) => boolean = () => true, timeoutMs = 5000): Promise<Frame> {
  const frame = await socket.next(packet(name, match), timeoutMs);
  return frame[name] as Frame;
}

/** Every `name` packet body this socket received so far (claimed or not). */
export function received(socket: TestSocket, name: string, match: (body: Frame) => boolean = () => true): Frame[] {
  return socket.frames.flatMap((f) => {
    const body = bodyOf(f, name);
    return body !== undefined && body.error === undefined && match(body) ? [body] : [];
  });
}

let counter = 0;
/** A client message id, unique in the run. */
export function clientId(prefix = "m"): string {
  counter += 1;
  return `${prefix}${counter}-${Math.random().toString(36).slice(2, 7)}`;
}

/** Creates a conversation through the protocol; returns its id. */
export async function createConversation(owner: TestSocket, type: "g" | "c" | "u", participants: string[], name = unique("chat")): Promise<string> {
  const params: Record<string, unknown> = { type, participants };
  if (type !== "u") params.name = name;
  const response = await owner.request("conversation_create", params);
  const conversation = response.conversation;
  if (!isRecord(conversation) || typeof conversation._id !== "string") throw new Error(`conversation_create failed: ${JSON.stringify(response)}`);
  return conversation._id;
}

export function createGroup(owner: TestSocket, participants: string[]): Promise<string> {
  return createConversation(owner, "g", participants);
}

export interface Ask {
  mid: string;
  server_mid: string;
  t: number;
  modified: null;
  bot_message: null;
}

/** Sends a top-level `message` and waits for its `ask`. */
export async function send(socket: TestSocket, cid: string, fields: Record<string, unknown> = { body: "hello" }, id = clientId(), timeoutMs = 5000): Promise<Ask> {
  const ask = socket.next(packet("ask", (a) => a.mid === id), timeoutMs);
  socket.send({ message: { id, cid, ...fields } });
  return (await ask).ask as Ask;
}

/** Sends a top-level packet and waits for the error under the same name with the same id. */
export async function topLevelError(socket: TestSocket, name: string, params: Record<string, unknown>): Promise<Frame> {
  const id = params.id;
  const reply = socket.next((f) => {
    const body = bodyOf(f, name);
    return body !== undefined && isRecord(body.error) && body.id === id;
  });
  socket.send({ [name]: params });
  return reply;
}

/** message_list as a list of frames. */
export async function listMessages(socket: TestSocket, params: Record<string, unknown>): Promise<Frame[]> {
  const response = await socket.request("message_list", params);
  if (!Array.isArray(response.messages)) throw new Error(`message_list failed: ${JSON.stringify(response)}`);
  return response.messages as Frame[];
}

/** The caller's view of one conversation in conversation_list. */
export async function conversationOf(socket: TestSocket, cid: string): Promise<Frame> {
  const response = await socket.request("conversation_list", { ids: [cid] });
  const found = (response.conversations as Frame[] | undefined)?.find((c) => c._id === cid);
  if (!found) throw new Error(`conversation ${cid} not listed: ${JSON.stringify(response)}`);
  return found;
}

export interface SyncEvent {
  event_seq: number;
  packet: Frame;
}

export interface SyncPage {
  events: SyncEvent[];
  event_seq: number;
  has_more: boolean;
  epoch: string;
}

/** One sync page. */
export async function syncPage(socket: TestSocket, since?: number): Promise<SyncPage> {
  const response = await socket.request("sync", since === undefined ? {} : { since });
  if (!Array.isArray(response.events)) throw new Error(`sync failed: ${JSON.stringify(response)}`);
  return response as unknown as SyncPage;
}

/** Every event after `since`, following has_more. */
export async function syncAll(socket: TestSocket, since = 0): Promise<SyncEvent[]> {
  const out: SyncEvent[] = [];
  let cursor = since;
  for (;;) {
    const page = await syncPage(socket, cursor);
    out.push(...page.events);
    if (!page.has_more || page.events.length === 0) return out;
    cursor = page.events[page.events.length - 1]!.event_seq;
  }
}

/** The `message` packets of one conversation among synced events, in log order. */
export function syncedMessages(events: SyncEvent[], cid: string): Frame[] {
  return events.flatMap((e) => {
    const body = bodyOf(e.packet, "message");
    return body !== undefined && body.cid === cid ? [body] : [];
  });
}

/** Retries `check` (assertions) until it passes or the time is up; the last failure is thrown. */
export async function eventually(check: () => Promise<void>, timeoutMs = 5000, everyMs = 50): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      await check();
      return;
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await sleep(everyMs);
    }
  }
}

/** Asserts that the list has no repeated element and returns it. */
export function expectUnique(values: string[]): string[] {
  expect(new Set(values).size).toBe(values.length);
  return values;
}

/** A round trip on the socket: the answer to every frame sent before it (if any) has arrived. */
export async function roundTrip(socket: TestSocket): Promise<void> {
  await socket.request("ping", {});
}

/**
 * op_log_list from `since` (Unix ms) to the end, 100 events a page, as the ids of one conversation's
 * message packets in log order. Pages follow the last event's created_at, as a SAMA client would.
 */
export async function opLogMessages(socket: TestSocket, cid: string, since: number): Promise<string[]> {
  const ids: string[] = [];
  let gt = new Date(since).toISOString();
  for (;;) {
    const logs = (await socket.request("op_log_list", { created_at: { gt } })).logs as Frame[];
    for (const log of logs) {
      const packet = JSON.parse(String(log.packet)) as Frame;
      if (isRecord(packet.message) && packet.message.cid === cid) ids.push(String(packet.message._id));
    }
    if (logs.length < 100) return ids;
    gt = String(logs[logs.length - 1]!.created_at);
  }
}
