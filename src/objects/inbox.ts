// Inbox: one Durable Object per user (named "<organization>:<user>"). Today it is the registry of
// the user's live sessions, so that revoking a device (logout, token theft) or deleting the user
// signs out every socket concerned at once. Issue #3 grows it into the user's event log,
// conversation index and presence.
import { DurableObject } from "cloudflare:workers";

export function inboxName(organizationId: string, userId: string): string {
  return `${organizationId}:${userId}`;
}

export class Inbox extends DurableObject<Env> {
  private readonly sql: SqlStorage;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.sql = ctx.storage.sql;
    this.sql.exec(
      `CREATE TABLE IF NOT EXISTS sessions (
         session_id TEXT PRIMARY KEY,
         device_id TEXT NOT NULL,
         attached_at INTEGER NOT NULL
       )`,
    );
  }

  /** A Session signed in as this user on `deviceId`. */
  attach(sessionId: string, deviceId: string): void {
    this.sql.exec(
      "INSERT OR REPLACE INTO sessions (session_id, device_id, attached_at) VALUES (?, ?, ?)",
      sessionId,
      deviceId,
      Date.now(),
    );
  }

  /** A Session signed out or closed. */
  detach(sessionId: string): void {
    this.sql.exec("DELETE FROM sessions WHERE session_id = ?", sessionId);
  }

  /** Signs out every live session of the user on `deviceId`, or on every device when it is null. */
  async signOutSessions(userId: string, deviceId: string | null): Promise<number> {
    const rows = (
      deviceId === null
        ? this.sql.exec<{ session_id: string }>("SELECT session_id FROM sessions")
        : this.sql.exec<{ session_id: string }>("SELECT session_id FROM sessions WHERE device_id = ?", deviceId)
    ).toArray();
    const results = await Promise.allSettled(
      rows.map((row) => this.env.SESSION.get(this.env.SESSION.idFromString(row.session_id)).signOutIf(userId, deviceId)),
    );
    for (const row of rows) this.detach(row.session_id);
    return results.filter((r) => r.status === "fulfilled" && r.value).length;
  }
}
