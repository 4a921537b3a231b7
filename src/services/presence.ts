// Presence as the Inboxes record it in D1: a `presence` row per online user, and
// `users.recent_activity` (last seen, Unix seconds) for the others.
import { and, desc, eq, inArray, sql } from "drizzle-orm";
import { inChunks } from "../db/client";
import { presence, users, type UserRow } from "../db/schema";
import type { ServiceDeps } from "./context";

/** `0` for online users, else their last-seen seconds, for the organization's users among `ids`. */
export async function lastActivity({ db }: ServiceDeps, organizationId: string, ids: readonly string[]): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  const rows = await inChunks(ids, (chunk) =>
    db
      .select({ id: users.id, recent: users.recentActivity, online: presence.userId })
      .from(users)
      .leftJoin(presence, eq(presence.userId, users.id))
      .where(and(eq(users.organizationId, organizationId), inArray(users.id, chunk)))
      .all(),
  );
  for (const row of rows) out[row.id] = row.online !== null ? 0 : row.recent;
  return out;
}

export async function onlineCount({ db }: ServiceDeps, organizationId: string): Promise<number> {
  const row = await db.select({ n: sql<number>`count(*)` }).from(presence).where(eq(presence.organizationId, organizationId)).get();
  return row?.n ?? 0;
}

/** Online users of the organization, most recently online first. */
export async function onlineUsers({ db }: ServiceDeps, organizationId: string, limit: number, offset: number): Promise<UserRow[]> {
  const rows = await db
    .select({ user: users })
    .from(presence)
    .innerJoin(users, eq(users.id, presence.userId))
    .where(eq(presence.organizationId, organizationId))
    .orderBy(desc(presence.onlineSince))
    .limit(limit)
    .offset(offset)
    .all();
  return rows.map((r) => r.user);
}
