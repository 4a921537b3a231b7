// One definition per SAMA request: its name, whether it needs a signed-in socket, its schema (the
// single source of validation and types) and its handler.
import type { z } from "zod";
import type { AuthedContext, RequestContext, ResponsePayload } from "./context";
import { parseParams } from "./validation";

export interface RequestHandler {
  readonly name: string;
  readonly requiresAuth: boolean;
  run(ctx: RequestContext, params: unknown): Promise<ResponsePayload>;
}

/** A request that may be sent before signing in (ping, connect, user_create, user_login). */
export function publicRequest<S extends z.ZodType>(
  name: string,
  schema: S,
  handle: (ctx: RequestContext, params: z.output<S>) => Promise<ResponsePayload>,
): RequestHandler {
  return { name, requiresAuth: false, run: (ctx, params) => handle(ctx, parseParams(schema, params)) };
}

/** A request that needs a signed-in socket; SAMA's guard answers 401 before validating. */
export function authedRequest<S extends z.ZodType>(
  name: string,
  schema: S,
  handle: (ctx: AuthedContext, params: z.output<S>) => Promise<ResponsePayload>,
): RequestHandler {
  return {
    name,
    requiresAuth: true,
    run: (ctx, params) => {
      const session = ctx.session;
      if (!session) throw new Error(`${name} reached without a session`);
      return handle({ ...ctx, session }, parseParams(schema, params));
    },
  };
}
