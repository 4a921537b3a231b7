// One definition per SAMA request: its name, whether it needs a signed-in socket, its schema (the
// single source of validation and types) and its handler.
import type { z } from "zod";
import type { AuthedContext, Reply, RequestContext, ResponsePayload } from "./context";
import { parseParams } from "./validation";

export interface RequestHandler {
  readonly name: string;
  readonly requiresAuth: boolean;
  run(ctx: RequestContext, params: unknown): Promise<Reply>;
}

/**
 * A handler that keeps its name, schema and reply as types: src/protocol/wire.ts maps them into the
 * wire types the client SDK uses, so a request's shape is written once, here.
 */
export interface TypedRequest<N extends string, S extends z.ZodType, R> extends RequestHandler {
  readonly name: N;
  readonly schema: S;
  /** Type only: what the reply carries (the `response` payload, or the whole frame of `ask`, or null). */
  readonly "~reply"?: R;
}

/** A request that may be sent before signing in (ping, connect, user_create, user_login). */
export function publicRequest<N extends string, S extends z.ZodType, R extends ResponsePayload>(
  name: N,
  schema: S,
  handle: (ctx: RequestContext, params: z.output<S>) => Promise<R>,
): TypedRequest<N, S, R> {
  return { name, schema, requiresAuth: false, run: async (ctx, params) => ({ response: await handle(ctx, parseParams(schema, params)) }) };
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
  handle: (ctx: AuthedContext, params: z.output<S>) => Promise<R>,
): TypedRequest<N, S, R> {
  return {
    name,
    schema,
    requiresAuth: true,
    run: async (ctx, params) => ({ response: await handle(withSession(name, ctx), parseParams(schema, params)) }),
  };
}

/** A signed-in request answered with its own frame (`ask`) or with nothing (`typing`). */
export function authedSend<N extends string, S extends z.ZodType, R extends Record<string, unknown> | null>(
  name: N,
  schema: S,
  handle: (ctx: AuthedContext, params: z.output<S>) => Promise<R>,
): TypedRequest<N, S, R> {
  return {
    name,
    schema,
    requiresAuth: true,
    run: async (ctx, params) => {
      const frame = await handle(withSession(name, ctx), parseParams(schema, params));
      return frame === null ? { none: true } : { frame };
    },
  };
}
