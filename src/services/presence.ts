// Presence as the Inboxes record it in D1: a `presence` row per online user, and
// `users.recent_activity` (last seen, Unix seconds) for the others.
import { and, desc, eq, inArray, sql } from "drizzle-orm";
import { inChunks } from "../db/client";
import { presence, users, type UserRow } from "../db/schema";
import { toPublicUser, type PublicUser } from "../domain/user-view";
import { asSeenBy, type ContactOwner } from "./contacts";
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

/** What online_list asks: a count, ids, or public user fields; `userId` narrows it to that one user. */
export interface OnlineQuery {
  count?: boolean | undefined;
  idsOnly?: boolean | undefined;
  limit?: number | undefined;
  offset?: number | undefined;
  userId?: string | undefined;
}

export type OnlineAnswer = { count: number } | { users: string[] } | { users: PublicUser[] };

/**
 * Online users of the organization (most recently online first), as online_list answers them, seen by
 * `viewer` (email and phone: see asSeenBy); null for the admin API, which sees every field.
 */
export async function listOnlineUsers(deps: ServiceDeps, organizationId: string, query: OnlineQuery, viewer: ContactOwner | null): Promise<OnlineAnswer> {
  const { db } = deps;
  const where = and(eq(presence.organizationId, organizationId), query.userId === undefined ? undefined : eq(presence.userId, query.userId));
  if (query.count) {
    const row = await db.select({ n: sql<number>`count(*)` }).from(presence).where(where).get();
    return { count: row?.n ?? 0 };
  }
  const rows: { user: UserRow }[] = await db
    .select({ user: users })
    .from(presence)
    .innerJoin(users, eq(users.id, presence.userId))
    .where(where)
    .orderBy(desc(presence.onlineSince))
    .limit(query.limit ?? 100)
    .offset(query.offset ?? 0)
    .all();
  if (query.idsOnly) return { users: rows.map((r) => r.user.id) };
  const found = rows.map((r) => r.user);
  return { users: (viewer === null ? found : await asSeenBy(deps, viewer, found)).map(toPublicUser) };
}
