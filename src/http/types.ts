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
