// The AsyncAPI 3 document of the WebSocket protocol, made from the request registry (each request's
// params schema, reply and errors) and the server packets (src/protocol/packets.ts). One channel, the
// socket; a "send" operation per request with its reply, a "receive" operation per pushed packet.
// Schemas are zod's own JSON Schema (draft-07, AsyncAPI's default schema format), inlined.
import { z } from "zod";
import { Errors, type ErrorBody } from "../domain/errors";
import { serverPackets } from "./packets";
import { requestHandlers } from "./registry";
import type { RequestHandler } from "./request";

type Json = Record<string, unknown>;

const CHANNEL = "socket";
const channelRef = { $ref: `#/channels/${CHANNEL}` };
const messageRef = (name: string) => ({ $ref: `#/channels/${CHANNEL}/messages/${name}` });

function jsonSchema(schema: z.ZodType, io: "input" | "output"): Json {
  const out = z.toJSONSchema(schema, { io, target: "draft-07", unrepresentable: "any" }) as Json;
  delete out.$schema;
  return out;
}

const requestId = { type: ["string", "number"], description: "Any id; echoed verbatim in the answer" };

/** Validation failures: Joi-style text (`"limit" must be a number`), status 422, unless SAMA has its own message (listed). */
const VALIDATION = { status: 422, message: "\"<field>\" … (Joi-style validation message)" };

/** What every request may answer besides its own errors. */
function commonErrors(handler: RequestHandler): ErrorBody[] {
  const errors: ErrorBody[] = [Errors.INVALID_DATA_FORMAT, Errors.FRAME_TOO_LARGE, Errors.TOO_MANY_REQUESTS, Errors.INTERNAL_SERVER];
  if (handler.requiresAuth) errors.unshift(Errors.UNAUTHORIZED);
  return errors;
}

/** Every error a request can answer, its own first, each once. */
export function errorsOf(handler: RequestHandler): ErrorBody[] {
  const seen = new Set<string>();
  return [...handler.doc.errors, ...commonErrors(handler)].filter((e) => {
    const key = `${e.status} ${e.message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/** `id` added to a reply payload (to each alternative of a union). */
function withId(schema: Json): Json {
  if (Array.isArray(schema.anyOf)) return { ...schema, anyOf: (schema.anyOf as Json[]).map(withId) };
  return { ...schema, properties: { id: requestId, ...(schema.properties as Json | undefined) } };
}

/** The frame that sends a request: SAMA's request form, or the top-level form for sends (message, typing, system_message). */
function requestFrame(handler: RequestHandler): Json {
  const params = jsonSchema(handler.params, "input");
  if (handler.answer === "frame") {
    return { type: "object", properties: { [handler.name]: params }, required: [handler.name], additionalProperties: false };
  }
  return {
    type: "object",
    properties: { request: { type: "object", properties: { [handler.name]: params, id: requestId }, required: [handler.name] } },
    required: ["request"],
  };
}

function replyFrame(handler: RequestHandler, reply: z.ZodType): Json {
  const payload = jsonSchema(reply, "output");
  if (handler.answer === "frame") return payload;
  return { type: "object", properties: { response: withId(payload) }, required: ["response"] };
}

function errorFrame(handler: RequestHandler): Json {
  const alternatives = [...errorsOf(handler), VALIDATION].map((e) =>
    e === VALIDATION
      ? { type: "object", properties: { status: { const: 422 }, message: { type: "string", description: e.message } }, required: ["status", "message"] }
      : { type: "object", properties: { status: { const: e.status }, message: { const: e.message } }, required: ["status", "message"] },
  );
  const error = { anyOf: alternatives };
  // Errors of the top-level form come under the request's own name (SAMA's shape).
  const key = handler.answer === "frame" ? handler.name : "response";
  return { type: "object", properties: { [key]: { type: "object", properties: { id: requestId, error }, required: ["error"] } }, required: [key] };
}

export function asyncApiDocument(): Json {
  const messages: Record<string, Json> = {};
  const operations: Record<string, Json> = {};
  for (const handler of requestHandlers.values()) {
    const { name, doc } = handler;
    messages[`${name}.request`] = { name, title: name, summary: doc.summary, payload: requestFrame(handler) };
    messages[`${name}.error`] = {
      name: `${name} error`,
      title: `${name} error`,
      summary: `What ${name} answers when it fails: one of these statuses and messages.`,
      payload: errorFrame(handler),
    };
    const replies = [messageRef(`${name}.error`)];
    if (doc.reply) {
      messages[`${name}.reply`] = { name: `${name} reply`, title: `${name} reply`, payload: replyFrame(handler, doc.reply) };
      replies.unshift(messageRef(`${name}.reply`));
    }
    operations[name] = {
      action: "send",
      channel: channelRef,
      title: name,
      summary: doc.summary,
      ...(doc.reply ? {} : { description: "Answered with nothing on success; only failures are answered." }),
      tags: [{ name: handler.requiresAuth ? "signed-in" : "public" }],
      messages: [messageRef(`${name}.request`)],
      reply: { channel: channelRef, messages: replies },
    };
  }
  for (const [name, packet] of Object.entries(serverPackets)) {
    messages[name] = {
      name,
      title: name,
      summary: packet.summary,
      payload: { type: "object", properties: { [name]: jsonSchema(packet.body, "output") }, required: [name], additionalProperties: false },
      tags: [{ name: packet.logged ? "logged" : "live-only" }],
    };
    operations[`on_${name}`] = { action: "receive", channel: channelRef, title: name, summary: packet.summary, messages: [messageRef(name)] };
  }
  return {
    asyncapi: "3.0.0",
    info: {
      title: "Parley WebSocket API",
      version: "0.36",
      description:
        "SAMA 0.36's JSON-over-WebSocket protocol as Parley speaks it. Open a WebSocket on any path of the server (not /api/*), " +
        "then `connect` with an access token from HTTP POST /login (or `user_login`). Requests go as `{\"request\":{\"<name>\":{…},\"id\":…}}` " +
        "and are answered as `{\"response\":{\"id\":…,…}}`; `message`, `typing` and `system_message` go top-level (`{\"message\":{\"id\":…,…}}`). " +
        "Errors are always `{\"status\":N,\"message\":\"…\"}`; an unknown request gets 400 `Unknown request: <name>`, and the socket stays usable. " +
        "Packets the server pushes are listed as receive operations; those tagged `logged` also come back through `sync` and `op_log_list`.",
    },
    defaultContentType: "application/json",
    channels: {
      [CHANNEL]: {
        address: "/",
        title: "The WebSocket",
        description: "One socket per device; every request and packet travels on it as a JSON text frame.",
        messages: Object.fromEntries(Object.keys(messages).map((name) => [name, { $ref: `#/components/messages/${name}` }])),
      },
    },
    operations,
    components: { messages },
  };
}
