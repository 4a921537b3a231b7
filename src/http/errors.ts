// One error handler for the whole app. SAMA's routes answer errors as SAMA does (status code and
// a text/plain message, which the SAMA SDK shows); Parley's own /api/* routes answer JSON.
import type { ErrorHandler, NotFoundHandler } from "hono";
import { HTTPException } from "hono/http-exception";
import { Errors, SamaError, type ErrorBody } from "../domain/errors";
import type { AppContext, AppEnv } from "./types";
import { logError } from "../log";
import { count } from "../operator-counters";

function respond(c: AppContext, error: ErrorBody): Response {
  if (new URL(c.req.url).pathname.startsWith("/api/")) {
    return c.json({ status: error.status, message: error.message }, error.status as 400);
  }
  return c.text(error.message, error.status as 400);
}

export const onError: ErrorHandler<AppEnv> = (err, c) => {
  if (err instanceof SamaError) return respond(c, err.toBody());
  if (err instanceof HTTPException) return respond(c, { status: err.status, message: err.message || "Bad Request." });
  // cf-ray names the request in Cloudflare's logs; the path only (a query string may carry a signature).
  logError("http request failed", { kind: "Worker", id: c.req.header("cf-ray") ?? crypto.randomUUID(), method: c.req.method, path: new URL(c.req.url).pathname }, err);
  count("requestFailures");
  return respond(c, Errors.INTERNAL_SERVER);
};

/** What no route answers may be a file of the web chat (wrangler.toml [assets]: the Worker runs first). */
export const notFound: NotFoundHandler<AppEnv> = async (c) => {
  if ((c.req.method === "GET" || c.req.method === "HEAD") && !c.req.path.startsWith("/api/")) {
    const asset = await c.env.ASSETS.fetch(c.req.raw);
    // A copy with headers of its own: the middleware (CORS) adds to them, and the fetched ones are immutable.
    if (asset.status !== 404) return new Response(asset.body, asset);
  }
  return respond(c, Errors.ROUTE_NOT_FOUND);
};
