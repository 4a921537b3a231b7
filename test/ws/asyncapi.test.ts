// GET /asyncapi.json: the WebSocket protocol as an AsyncAPI 3 document made from the request registry
// and the server packets; and proof that it is true: every request's real reply (valid params from the
// request catalogue) matches its documented reply or is one of its documented errors, and every packet
// pushed during a conversation's life matches its documented shape.
import { afterEach, describe, expect, it, vi } from "vitest";
import { z } from "zod";
import { serverPackets } from "../../src/protocol/packets";
import { requestHandlers } from "../../src/protocol/registry";
import { exchange, expectDocumentedError, frameOf, isAnswer, peerOf, provision, registeredCases, sendMessage } from "../helpers/catalogue";
import { TestSocket, isRecord, type Frame } from "../helpers/socket";
import { connectedSocket, expectTextError, http, signUp, unique } from "../helpers/users";
import { fetchWithEnv, okJson, request } from "../http/admin-fixtures";
import { completion, interceptAi } from "../helpers/ai-endpoint";

function obj(value: unknown, what: string): Frame {
  if (!isRecord(value)) throw new Error(`${what}: expected an object, got ${JSON.stringify(value)}`);
  return value;
}

/** Follows a local `$ref` ("#/components/messages/x"). */
function resolve(doc: Frame, value: unknown): Frame {
  const node = obj(value, "ref");
  if (typeof node.$ref !== "string") return node;
  return obj(
    node.$ref
      .slice(2)
      .split("/")
      .reduce<unknown>((at, key) => obj(at, node.$ref as string)[key], doc),
    node.$ref,
  );
}

const messageOf = (doc: Frame, ref: unknown) => resolve(doc, resolve(doc, ref));

/** The packets Parley's code pushes (src/objects, src/services): each must be documented. */
const PUSHED = ["message", "message_edit", "message_delete", "message_read", "message_delivered", "message_reactions_update", "message_decryption_failed", "typing", "last_activity", "system_message"];

afterEach(() => {
  vi.restoreAllMocks();
});

describe("GET /asyncapi.json", () => {
  it("is an AsyncAPI 3 document with every request (params, reply, errors) and every pushed packet", async () => {
    const res = await http("GET", "/asyncapi.json");
    expect(res.headers.get("Content-Type")).toMatch(/^application\/json/);
    const doc = okJson(res);
    expect(doc.asyncapi).toBe("3.0.0");
    expect(obj(doc.info, "info")).toMatchObject({ title: expect.any(String) as unknown, version: expect.any(String) as unknown });
    const channel = obj(obj(doc.channels, "channels").socket, "socket");
    const operations = obj(doc.operations, "operations");
    const messages = obj(obj(doc.components, "components").messages, "messages");
    // Every message of the channel is a component, and every operation's message is the channel's.
    for (const [name, ref] of Object.entries(obj(channel.messages, "channel messages"))) expect(resolve(doc, ref)).toBe(messages[name]);

    expect(requestHandlers.size).toBeGreaterThan(50);
    for (const handler of requestHandlers.values()) {
      const what = handler.name;
      const op = obj(operations[what], what);
      expect({ what, action: op.action, summary: typeof op.summary }).toEqual({ what, action: "send", summary: "string" });
      expect((op.summary as string).length).toBeGreaterThan(10);
      // The params schema is zod's own rendering of the request's schema.
      const frame = obj(messageOf(doc, (op.messages as unknown[])[0]).payload, what);
      const params = z.toJSONSchema(handler.params, { io: "input", target: "draft-07", unrepresentable: "any" }) as Frame;
      delete params.$schema;
      const sent = handler.answer === "frame" ? obj(frame.properties, what)[what] : obj(obj(obj(frame.properties, what).request, what).properties, what)[what];
      expect({ what, params: sent }).toEqual({ what, params });
      // Reply (all but typing) and errors: each of the request's own, and 401 for signed-in requests.
      const replies = (obj(op.reply, what).messages as unknown[]).map((ref) => messageOf(doc, ref));
      const reply = replies.find((m) => !String(m.name).endsWith("error"));
      expect({ what, reply: reply !== undefined }).toEqual({ what, reply: handler.doc.reply !== null });
      if (reply) expect(JSON.stringify(reply.payload).length).toBeGreaterThan(40);
      const errorFrame = obj(replies.find((m) => String(m.name).endsWith("error"))?.payload, `${what} error`);
      const errors = JSON.stringify(errorFrame);
      for (const error of [...handler.doc.errors, ...(handler.requiresAuth ? [{ status: 401, message: "Unauthorized." }] : [])]) {
        expect({ what, documented: errors.includes(`{"status":{"const":${error.status}},"message":{"const":${JSON.stringify(error.message)}}}`) }).toEqual({ what, documented: true });
      }
    }
    for (const name of PUSHED) {
      const op = obj(operations[`on_${name}`], name);
      expect({ name, action: op.action }).toEqual({ name, action: "receive" });
      const payload = obj(messageOf(doc, (op.messages as unknown[])[0]).payload, name);
      expect(obj(payload.properties, name)[name]).toBeDefined();
    }
  });

  it("tells the truth: every request's real reply is its documented reply or one of its documented errors", async () => {
    const peer = await peerOf("default");
    const scope = await provision(peer, "default");
    interceptAi(() => completion("A reply from the model.")); // message_summary and message_tone ask the configured endpoint
    // Requests that end the session or undo the scope's objects go last.
    const last = ["message_delete", "contact_delete", "push_subscription_delete", "device_delete", "conversation_handler_delete", "conversation_update", "conversation_delete", "conversation_unsubscribe", "user_reset_password", "user_delete", "user_logout"];
    // user_send_otp would mail through the network (test/ws/password-reset.test.ts fakes the sender).
    const cases = registeredCases()
      .filter(([name]) => name !== "user_send_otp")
      .sort(([a], [b]) => last.indexOf(a) - last.indexOf(b));
    const failed: string[] = [];
    for (const [name, testCase] of cases) {
      const handler = requestHandlers.get(name)!;
      // user_delete deletes a user of its own; the scope's user stays for the others.
      const socket = name === "user_delete" ? (await connectedSocket(await signUp())).socket : scope.socket;
      const id = unique("doc");
      const { answers } = await exchange(socket, frameOf(name, testCase.params(scope), id), handler.answer === "response" ? id : null);
      const answer = answers.find((a) => (handler.answer === "response" ? isRecord(a.response) && a.response.id === id : true));
      if (handler.doc.reply === null) {
        expect({ name, answer }).toEqual({ name, answer: undefined });
        continue;
      }
      const body = obj(handler.answer === "response" ? answer?.response : answer, name);
      const error = isRecord(body.error) ? body.error : isRecord(body[name]) ? (body[name] as Frame).error : undefined;
      if (isRecord(error)) {
        failed.push(name);
        expectDocumentedError(name, error as { status: unknown; message: unknown }, name);
        continue;
      }
      const { id: _id, ...payload } = body;
      const parsed = handler.doc.reply.safeParse(handler.answer === "response" ? payload : body);
      expect({ name, reply: body, issues: parsed.error?.issues ?? [] }).toEqual({ name, reply: body, issues: [] });
    }
    // The catalogue subscribes to a group (not a channel), and the reset code is made up.
    expect(failed).toEqual(["conversation_subscribe", "user_reset_password"]);
  });

  it("tells the truth about pushed packets: each one of a conversation's life matches its documented shape", async () => {
    const [aliceUser, bobUser] = [await signUp(), await signUp()];
    const alice = { ...(await connectedSocket(aliceUser)), user: aliceUser };
    const bob = { ...(await connectedSocket(bobUser)), user: bobUser };
    const ok = async (socket: TestSocket, action: string, params: unknown) => {
      const response = await socket.request(action, params);
      expect({ action, error: response.error }).toEqual({ action, error: undefined });
      return response;
    };
    const group = ((await ok(alice.socket, "conversation_create", { type: "g", name: "docs", participants: [bob.user.id] })).conversation as Frame)._id as string;
    await ok(alice.socket, "conversation_create", { type: "u", participants: [bob.user.id] });
    await ok(alice.socket, "user_last_activity_subscribe", { id: bob.user.id });
    alice.socket.send({ typing: { cid: group, status: "start" } });
    const mid = await sendMessage(alice.socket, group, "hello");
    await bob.socket.next((f) => isRecord(f.message) && f.message._id === mid);
    await alice.socket.next((f) => isRecord(f.message_delivered), 10_000);
    await ok(alice.socket, "message_edit", { id: mid, body: "hello again" });
    await ok(bob.socket, "message_reactions_update", { mid, add: "👍" });
    await ok(bob.socket, "message_read", { cid: group, ids: [mid] });
    await ok(alice.socket, "message_delete", { cid: group, ids: [mid], type: "all" });
    alice.socket.send({ system_message: { id: unique("sys"), cid: group, x: { custom: 1 } } });
    await ok(alice.socket, "conversation_update", { id: group, name: "renamed", participants: { remove: [bob.user.id] } });
    await bob.socket.next((f) => isRecord(f.system_message) && isRecord(f.system_message.x) && "conversation_kicked" in f.system_message.x, 10_000);
    await ok(alice.socket, "conversation_update", { id: group, participants: { add: [bob.user.id] } });
    await bob.socket.next((f) => isRecord(f.message) && isRecord(f.message.x) && f.message.x.type === "added_participant", 10_000);
    bob.socket.ws.close();
    await alice.socket.next((f) => isRecord(f.last_activity), 10_000);

    const pushes = [...alice.socket.frames, ...bob.socket.frames].filter((f) => !isAnswer(f) && !("text" in f));
    const seen = new Set<string>();
    for (const frame of pushes) {
      const [name, ...more] = Object.keys(frame);
      expect({ frame, more }).toEqual({ frame, more: [] });
      const packet = serverPackets[name!];
      expect({ name, documented: packet !== undefined }).toEqual({ name, documented: true });
      const parsed = packet!.body.safeParse(frame[name!]);
      expect({ frame, issues: parsed.error?.issues ?? [] }).toEqual({ frame, issues: [] });
      seen.add(name!);
    }
    const kinds = pushes.map((f) => (isRecord(f.system_message) && isRecord(f.system_message.x) ? Object.keys(f.system_message.x)[0] : isRecord(f.message) && isRecord(f.message.x) ? f.message.x.type ?? "message" : null));
    expect(kinds).toEqual(expect.arrayContaining(["conversation_created", "conversation_updated", "conversation_kicked", "custom", "added_participant", "message"]));
    expect([...seen].sort()).toEqual(PUSHED.filter((p) => p !== "message_decryption_failed").sort());
  });
});

describe("GET /asyncapi.json and /docs", () => {
  it("/docs links the AsyncAPI document and renders its requests and packets", async () => {
    const res = await http("GET", "/docs");
    expect(res.status).toBe(200);
    expect(res.text).toContain('"/asyncapi.json"');
    expect(res.text).toContain("WebSocket protocol");
    expect(res.text).toContain("Packets the server pushes");
  });

  it("/asyncapi.json is a plain 404 when DOCS_ENABLED is not set", async () => {
    for (const value of [undefined, "", "false"]) {
      const res = await fetchWithEnv({ DOCS_ENABLED: value }, request("GET", "/asyncapi.json"));
      expectTextError({ status: res.status, text: await res.text(), json: null, headers: res.headers }, 404, "Route not found");
    }
  });
});
