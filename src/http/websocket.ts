import type { MiddlewareHandler } from "hono";
import { newSessionStub } from "../objects/stubs";
import type { AppEnv } from "./types";

/**
 * SAMA clients open their socket on any path of the HTTP origin. Every upgrade outside Parley's own
 * /api/* routes gets a fresh Session object, created near the client.
 */
export const websocketUpgrade: MiddlewareHandler<AppEnv> = async (c, next) => {
  const isUpgrade = c.req.header("Upgrade")?.toLowerCase() === "websocket";
  if (!isUpgrade || new URL(c.req.url).pathname.startsWith("/api/")) return next();
  return newSessionStub(c.env).fetch(c.req.raw);
};
