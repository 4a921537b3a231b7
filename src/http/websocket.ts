import type { MiddlewareHandler } from "hono";
import { getConfig } from "../config";
import { placeSocket } from "../objects/stubs";
import { testGateway, type AppEnv } from "./types";

/**
 * SAMA clients open their socket on any path of the HTTP origin. Every upgrade outside Parley's own
 * /api/* routes goes to a Gateway near the client (the Worker's location: `wrangler dev` has one).
 */
export const websocketUpgrade: MiddlewareHandler<AppEnv> = async (c, next) => {
  const isUpgrade = c.req.header("Upgrade")?.toLowerCase() === "websocket";
  if (!isUpgrade || new URL(c.req.url).pathname.startsWith("/api/")) return next();
  // Test-only (TEST_HOOKS=1): a test that aborts a Gateway puts the sockets it kills on one of their own.
  const own = testGateway(c);
  if (own) return placeSocket(c.env, own, 1).fetch(c.req.raw);
  const colo = c.req.raw.cf?.colo;
  return placeSocket(c.env, typeof colo === "string" ? colo : "local", getConfig(c.env).gatewaysPerLocation).fetch(c.req.raw);
};
