// Calls to the admin API for the admin-*.test.ts files: through the Worker's own fetch, or through
// the same Worker code with a changed environment (a var removed or set), which the Worker reads
// per request.
import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import worker from "../../src/index";
import { ORIGIN, type Frame } from "../helpers/socket";
import { ADMIN_KEY, http, type HttpResult } from "../helpers/users";

export type AdminMethod = "GET" | "POST" | "PUT" | "DELETE";

/** An admin call with the right key (or another key, or none with `null`). */
export function admin(method: AdminMethod, path: string, body?: unknown, key: string | null = ADMIN_KEY): Promise<HttpResult> {
  const headers: Record<string, string> = {};
  if (key !== null) headers["admin-api-key"] = key;
  return http(method, path, body === undefined ? { headers } : { body, headers });
}

/** The Worker's fetch with `changes` applied to its environment (`undefined` removes a var). */
export async function fetchWithEnv(changes: Record<string, string | undefined>, request: Request): Promise<Response> {
  const changed: Record<string, unknown> = { ...env };
  for (const [name, value] of Object.entries(changes)) {
    if (value === undefined) delete changed[name];
    else changed[name] = value;
  }
  const ctx = createExecutionContext();
  const res = await worker.fetch(request, changed as unknown as Env, ctx);
  await waitOnExecutionContext(ctx);
  return res;
}

/** A request to the Worker, with a JSON body when `body` is given. */
export function request(method: string, path: string, headers: Record<string, string> = {}, body?: unknown): Request {
  if (body === undefined) return new Request(`${ORIGIN}${path}`, { method, headers });
  return new Request(`${ORIGIN}${path}`, { method, headers: { "Content-Type": "application/json", ...headers }, body: JSON.stringify(body) });
}

/** The JSON body of a successful answer; fails with what came back otherwise. */
export function okJson(res: HttpResult, status = 200): Frame {
  if (res.status !== status || res.json === null) throw new Error(`expected ${status} JSON, got ${res.status} ${res.text}`);
  return res.json;
}

/** Every admin route. */
export const ADMIN_ROUTES: ReadonlyArray<{ method: AdminMethod; path: string }> = [
  { method: "POST", path: "/admin/organization" },
  { method: "GET", path: "/admin/server-stats" },
  { method: "POST", path: "/admin/message" },
  { method: "PUT", path: "/admin/message" },
  { method: "DELETE", path: "/admin/message" },
  { method: "POST", path: "/admin/message/system" },
  { method: "PUT", path: "/admin/message/read" },
  { method: "PUT", path: "/admin/message/reaction" },
  { method: "POST", path: "/admin/activity/online" },
  { method: "POST", path: "/admin/import" },
];
