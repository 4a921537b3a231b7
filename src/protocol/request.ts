// One definition per SAMA request: its name, whether it needs a signed-in socket, its schema (the
// single source of validation and types), its documentation (what it does, its reply and its errors:
// the AsyncAPI document is made from them) and its handler.
import type { z } from "zod";
import type { ErrorBody } from "../domain/errors";
import type { AuthedContext, Reply, RequestContext, ResponsePayload } from "./context";
import { parseParams } from "./validation";

export interface RequestDoc {
  /** What the request does, in one or two sentences. */
  summary: string;
  /**
   * The answer on success: the payload of `{"response":{"id":…, …payload}}`, or for sends the whole
   * frame (`ask`); null for a request answered with nothing (typing).
   */
  reply: z.ZodType | null;
  /** The errors this request can answer besides those every request can (src/protocol/asyncapi.ts). */
  errors: readonly ErrorBody[];
}

export interface RequestHandler {
  readonly name: string;
  readonly requiresAuth: boolean;
  /** How the reply travels: inside `response`, or as its own frame. */
  readonly answer: "response" | "frame";
  readonly params: z.ZodType;
  readonly doc: RequestDoc;
  run(ctx: RequestContext, params: unknown): Promise<Reply>;
}

type ResponseDoc = RequestDoc & { reply: z.ZodType };

/**
 * A handler that keeps its name, schema and reply as types: src/protocol/wire.ts maps them into the
 * wire types the client SDK uses, so a request's shape is written once, here.
 */
export interface TypedRequest<N extends string, S extends z.ZodType, R> extends RequestHandler {
  readonly name: N;
  readonly params: S;
  /** Type only: what the reply carries (the `response` payload, or the whole frame of `ask`, or null). */
  readonly "~reply"?: R;
}

/** A request that may be sent before signing in (ping, connect, user_create, user_login). */
export function publicRequest<N extends string, S extends z.ZodType, R extends ResponsePayload>(
  name: N,
  schema: S,
  doc: ResponseDoc,
  handle: (ctx: RequestContext, params: z.output<S>) => Promise<R>,
): TypedRequest<N, S, R> {
  return { name, requiresAuth: false, answer: "response", params: schema, doc, run: async (ctx, params) => ({ response: await handle(ctx, parseParams(schema, params)) }) };
}

function withSession(name: string, ctx: RequestContext): AuthedContext {
  const session = ctx.session;
  if (!session) throw new Error(`${name} reached without a session`);
  return { ...ctx, session };
}

/** A request that needs a signed-in socket; SAMA's guard answers 401 before validating. */
export function authedRequest<N extends string, S extends z.ZodType, R extends ResponsePayload>(
  name: N,
  schema: S,
  doc: ResponseDoc,
  handle: (ctx: AuthedContext, params: z.output<S>) => Promise<R>,
): TypedRequest<N, S, R> {
  return {
    name,
    requiresAuth: true,
    answer: "response",
    params: schema,
    doc,
    run: async (ctx, params) => ({ response: await handle(withSession(name, ctx), parseParams(schema, params)) }),
  };
}

/** A signed-in request answered with its own frame (`ask`) or with nothing (`typing`). */
export function authedSend<N extends string, S extends z.ZodType, R extends Record<string, unknown> | null>(
  name: N,
  schema: S,
  doc: RequestDoc,
  handle: (ctx: AuthedContext, params: z.output<S>) => Promise<R>,
): TypedRequest<N, S, R> {
  return {
    name,
    requiresAuth: true,
    answer: "frame",
    params: schema,
    doc,
    run: async (ctx, params) => {
      const frame = await handle(withSession(name, ctx), parseParams(schema, params));
      return frame === null ? { none: true } : { frame };
    },
  };
}
