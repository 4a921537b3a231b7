// Shared pieces of the conversation-handler tests: a group whose owner attached a handler, sends
// that return either the ask or the error frame, and a recording fake for FETCH.
import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { expect } from "vitest";
import type { Conversation } from "../../src/objects/conversation";
import { TestSocket, isRecord, type Frame } from "../helpers/socket";
import type { TestUser } from "../helpers/users";
import { bodyOf, clientId, createGroup, device, tab, users } from "../chat/messages-fixtures";

/** A handler in SAMA's template shape, with `body` as the handler function's body. */
export function samaHandler(body: string): string {
  return `const handler = async (message, user, accept, resolve, reject, fetch) => {\n${body}\n};\nexport default await handler(env.MESSAGE, env.USER, env.ACCEPT, env.RESOLVE, env.REJECT, env.FETCH);`;
}

export interface HandledChat {
  cid: string;
  owner: TestUser;
  member: TestUser;
  ownerSocket: TestSocket;
  memberSocket: TestSocket;
}

/** A group of two (owner and member), each signed in on one socket, with `code` as its handler. */
export async function chatWithHandler(code: string): Promise<HandledChat> {
  const [owner, member] = (await users(2)) as [TestUser, TestUser];
  const ownerSocket = await tab(await device(owner));
  const memberSocket = await tab(await device(member));
  const cid = await createGroup(ownerSocket, [member.id]);
  await setHandler(ownerSocket, cid, code);
  return { cid, owner, member, ownerSocket, memberSocket };
}

export async function setHandler(socket: TestSocket, cid: string, content: string): Promise<void> {
  expect(await socket.request("conversation_handler_create", { cid, content })).toMatchObject({ success: true });
}

/** The answer to a `message`: its ask, or the error of the `{"message":{"id","error"}}` frame. */
export type SendAnswer = { ask: Frame } | { error: { status: number; message: string } };

export async function sendMessage(socket: TestSocket, cid: string, fields: Frame = { body: "hello" }, id = clientId(), timeoutMs = 8000): Promise<SendAnswer> {
  const reply = socket.next((f) => {
    if (isRecord(f.ask)) return f.ask.mid === id;
    const body = bodyOf(f, "message");
    return body !== undefined && body.id === id && isRecord(body.error);
  }, timeoutMs);
  socket.send({ message: { id, cid, ...fields } });
  const frame = await reply;
  return isRecord(frame.ask) ? { ask: frame.ask } : { error: (frame.message as Frame).error as { status: number; message: string } };
}

export async function expectAsk(answer: Promise<SendAnswer>): Promise<Frame> {
  const result = await answer;
  if (!("ask" in result)) throw new Error(`expected an ask, got ${JSON.stringify(result)}`);
  return result.ask;
}

export async function expectError(answer: Promise<SendAnswer>): Promise<{ status: number; message: string }> {
  const result = await answer;
  if (!("error" in result)) throw new Error(`expected an error, got ${JSON.stringify(result)}`);
  return result.error;
}

/** A send and the time it took to be answered (ms). */
export async function timed<T>(run: () => Promise<T>): Promise<{ value: T; ms: number }> {
  const started = Date.now();
  const value = await run();
  return { value, ms: Date.now() - started };
}

export interface RecordedRequest {
  url: string;
  method: string;
  headers: Record<string, string>;
  body: string | null;
}

/** A fake network for FETCH: records each request as it arrives, answers after `delayMs(url)` with `answer(url)`. */
export function fakeNetwork(answer: (url: string) => Response, delayMs: (url: string) => number = () => 0) {
  const requests: RecordedRequest[] = [];
  const fetchFn = async (url: string, init: { method: string; headers: Record<string, string>; body: string | null }): Promise<Response> => {
    requests.push({ url, method: init.method, headers: { ...init.headers }, body: init.body });
    const wait = delayMs(url);
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    return answer(url);
  };
  return { fetchFn, requests };
}

/** Binds the fake network to the conversation's handlers (the TEST_HOOKS hook, called on the object itself). */
export async function useFakeNetwork(cid: string, fetchFn: ReturnType<typeof fakeNetwork>["fetchFn"]): Promise<void> {
  const stub = env.CONVERSATION.get(env.CONVERSATION.idFromName(cid));
  await runInDurableObject(stub, (instance: Conversation) => instance.testHandlerFetch(fetchFn));
}
