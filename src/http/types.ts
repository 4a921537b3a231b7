import type { Context } from "hono";
import { getConfig } from "../config";
import { getDb } from "../db/client";
import { liveSessions } from "../services/live-sessions";
import type { ServiceDeps } from "../services/context";

export interface AppEnv {
  Bindings: Env;
}

export type AppContext = Context<AppEnv>;

export function serviceDeps(c: AppContext): ServiceDeps {
  return { db: getDb(c.env), config: getConfig(c.env), sessions: liveSessions(c.env), now: Date.now() };
}

/** Test-only (TEST_HOOKS=1): the Gateway a test names in `x-test-gateway` (its sockets go there; POST /login waits at its latch). */
export function testGateway(c: AppContext): string | undefined {
  return (c.env.TEST_HOOKS as string) === "1" ? c.req.header("x-test-gateway") : undefined;
}
