import type { AppContext } from "./types";

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
