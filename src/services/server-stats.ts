// Numbers for GET /admin/server-stats, read from D1 so that every isolate and every Durable Object
// answers the same: messages by the creation second in their ids, online users from `presence`.
import { and, gte, lt, sql } from "drizzle-orm";
import { messages, presence } from "../db/schema";
import { objectIdAt, previousWindow, type Window } from "../domain/server-stats";
import type { ServiceDeps } from "./context";

export interface ServerStats {
  onlineUsers: number;
  messagesPerMinute: number;
  messagesPerHour: number;
  messagesPerDay: number;
}

/**
 * Messages stored in the previous completed minute, hour and UTC day. Message ids begin with their
 * creation second, so each count is a range over D1's primary-key index (no table scan, no counter
 * to keep). Messages since deleted for everyone are no longer counted.
 */
export async function serverStats({ db, now }: ServiceDeps): Promise<ServerStats> {
  const count = ({ from, to }: Window) =>
    db
      .select({ n: sql<number>`count(*)` })
      .from(messages)
      .where(and(gte(messages.id, objectIdAt(from)), lt(messages.id, objectIdAt(to))));
  // Online users of every organization: a row per user in `presence`.
  const online = db.select({ n: sql<number>`count(*)` }).from(presence);
  const [minute, hour, day, users] = await db.batch([
    count(previousWindow(now, 60)),
    count(previousWindow(now, 3600)),
    count(previousWindow(now, 86400)),
    online,
  ]);
  return {
    onlineUsers: users[0]?.n ?? 0,
    messagesPerMinute: minute[0]?.n ?? 0,
    messagesPerHour: hour[0]?.n ?? 0,
    messagesPerDay: day[0]?.n ?? 0,
  };
}
