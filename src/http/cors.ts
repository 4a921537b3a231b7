// CORS with credentials: the SAMA web app calls /login with credentials:"include", so the allowed
// Origin is echoed exactly (never "*", which browsers refuse with credentials). Dev reflects any
// Origin (CORS_ORIGINS=* in .dev.vars); production lists its origins.
import type { MiddlewareHandler } from "hono";
import { getConfig } from "../config";
import type { AppEnv } from "./types";

const ALLOW_METHODS = "GET, POST, PUT, DELETE, OPTIONS";
const ALLOW_HEADERS = "Content-Type, Authorization, API-Key";

export const cors: MiddlewareHandler<AppEnv> = async (c, next) => {
  const origin = c.req.header("Origin");
  const config = getConfig(c.env);
  const allowed = origin !== undefined && (config.reflectAnyOrigin || config.corsOrigins.includes(origin));
  const apply = (headers: Headers) => {
    headers.append("Vary", "Origin");
    if (!allowed) return;
    headers.set("Access-Control-Allow-Origin", origin);
    headers.set("Access-Control-Allow-Credentials", "true");
    headers.set("Access-Control-Allow-Methods", ALLOW_METHODS);
    headers.set("Access-Control-Allow-Headers", ALLOW_HEADERS);
  };
  if (c.req.method === "OPTIONS") {
    const res = new Response(null, { status: 204 });
    apply(res.headers);
    return res;
  }
  await next();
  // A WebSocket upgrade response (101) has immutable headers and needs no CORS.
  if (c.res.status !== 101) apply(c.res.headers);
};
