import type { MiddlewareHandler } from "hono";
import { readAtMost } from "../domain/bounded-read";
import { SamaError, type ErrorBody } from "../domain/errors";
import type { AppContext, AppEnv } from "./types";

export const PAYLOAD_TOO_LARGE = { status: 413, message: "Payload Too Large." } as const satisfies ErrorBody;

/** Body caps of SAMA's JSON routes: sign-in needs a few hundred bytes, the admin API a message. */
export const BODY_LIMITS = { signIn: 4 * 1024, admin: 1024 * 1024 } as const;

/**
 * Answers 413 for a body over `maxBytes` before reading past the cap: at once when Content-Length
 * says so, else (chunked) as soon as the count passes it. A body within the cap is read here and
 * handed on, so a route never reads an unbounded body.
 */
export function bodyLimit(maxBytes: number): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const body = c.req.raw.body;
    if (body === null) return next();
    const declared = c.req.header("Content-Length");
    if (declared !== undefined && Number(declared) > maxBytes) throw new SamaError(PAYLOAD_TOO_LARGE);
    const bytes = await readAtMost(body.getReader(), maxBytes);
    if (bytes === null) throw new SamaError(PAYLOAD_TOO_LARGE);
    c.req.raw = new Request(c.req.raw, { body: bytes });
    await next();
  };
}

/**
 * The JSON body as SAMA reads it: only with a JSON content type; anything unreadable is `{}`, so
 * the route's own checks answer (e.g. "'device_id' is required.").
 */
export async function readJsonBody(c: AppContext): Promise<Record<string, unknown>> {
  if (!(c.req.header("Content-Type") ?? "").includes("application/json")) return {};
  try {
    const body: unknown = await c.req.json();
    return typeof body === "object" && body !== null && !Array.isArray(body) ? (body as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}
