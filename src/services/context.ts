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
