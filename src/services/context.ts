import type { Config } from "../config";
import type { Db } from "../db/client";

/** The live sockets of users, as far as services need them (implemented by the Inbox objects). */
export interface LiveSessions {
  /** Signs out the user's sockets on `deviceId`, or on every device when it is null. */
  signOut(organizationId: string, userId: string, deviceId: string | null): Promise<void>;
}

/** What a service needs from the outside world; built once per request or frame. */
export interface ServiceDeps {
  db: Db;
  config: Config;
  sessions: LiveSessions;
  /** Unix ms, read once so one request sees one time. */
  now: number;
}

/**
 * Who acts, and how the objects reach them: a signed-in socket (every AuthedContext is one), or the
 * admin API acting for a user of an organization.
 */
export interface ActorContext extends ServiceDeps {
  env: Env;
  session: { userId: string; organizationId: string };
  /** The socket that gets the reply instead of a copy; null for the admin API, which has no socket. */
  sessionId: string | null;
  /** Messages this socket sent or received lately (message id → cid); sockets only. */
  recentMessages?: Map<string, string>;
}
