// Block lists in D1, and their one effect: a private chat between two users is closed to
// `message` and `typing` while either has an enabled block on the other. Each change is pushed to
// the pair's private Conversation objects, so the send path never reads D1.
import { and, eq, inArray, or, sql } from "drizzle-orm";
import { blockedUsers, conversations } from "../db/schema";
import { newObjectId } from "../domain/object-id";
import { conversationStub } from "../objects/stubs";
import type { ActorContext, ServiceDeps } from "./context";

export async function isBlockedPair({ db }: ServiceDeps, a: string, b: string): Promise<boolean> {
  const row = await db
    .select({ n: sql<number>`count(*)` })
    .from(blockedUsers)
    .where(
      and(
        eq(blockedUsers.enabled, true),
        or(and(eq(blockedUsers.userId, a), eq(blockedUsers.blockedUserId, b)), and(eq(blockedUsers.userId, b), eq(blockedUsers.blockedUserId, a))),
      ),
    )
    .get();
  return (row?.n ?? 0) > 0;
}

/** Tells the private conversations between the caller and each of `others` whether they are blocked now. */
export async function refreshPrivateChats(ctx: ActorContext, others: readonly string[]): Promise<void> {
  const me = ctx.session.userId;
  if (others.length === 0) return;
  const rows = await ctx.db
    .select({ id: conversations.id, owner: conversations.ownerId, opponent: conversations.opponentId })
    .from(conversations)
    .where(
      and(
        eq(conversations.organizationId, ctx.session.organizationId),
        eq(conversations.type, "u"),
        or(
          and(eq(conversations.ownerId, me), inArray(conversations.opponentId, [...others])),
          and(eq(conversations.opponentId, me), inArray(conversations.ownerId, [...others])),
        ),
      ),
    )
    .all();
  await Promise.all(
    rows.map(async (row) => {
      const other = row.owner === me ? row.opponent : row.owner;
      if (other === null) return;
      const readAt = Date.now();
      await conversationStub(ctx.env, row.id).setBlocked(await isBlockedPair(ctx, me, other), readAt);
    }),
  );
}

export async function block(ctx: ActorContext, ids: readonly string[]): Promise<void> {
  const me = ctx.session.userId;
  const [first, ...rest] = ids.map((id) =>
    ctx.db
      .insert(blockedUsers)
      .values({ id: newObjectId(ctx.now), organizationId: ctx.session.organizationId, userId: me, blockedUserId: id, enabled: true, createdAt: ctx.now, updatedAt: ctx.now })
      // Blocking twice is not an error (SAMA answers a raw duplicate-key string).
      .onConflictDoUpdate({ target: [blockedUsers.userId, blockedUsers.blockedUserId], set: { enabled: true, updatedAt: ctx.now } }),
  );
  if (!first) return;
  await ctx.db.batch([first, ...rest]);
  await refreshPrivateChats(ctx, ids);
}

export async function unblock(ctx: ActorContext, ids: readonly string[]): Promise<void> {
  await ctx.db.delete(blockedUsers).where(and(eq(blockedUsers.userId, ctx.session.userId), inArray(blockedUsers.blockedUserId, [...ids])));
  await refreshPrivateChats(ctx, ids);
}

export async function blockedIds({ db }: ActorContext, userId: string): Promise<string[]> {
  const rows = await db.select({ id: blockedUsers.blockedUserId }).from(blockedUsers).where(eq(blockedUsers.userId, userId)).all();
  return rows.map((r) => r.id);
}

/** block_list_enable: turns all of the caller's blocks on or off at once. */
export async function setBlockListEnabled(ctx: ActorContext, enabled: boolean): Promise<void> {
  await ctx.db.update(blockedUsers).set({ enabled, updatedAt: ctx.now }).where(eq(blockedUsers.userId, ctx.session.userId));
  await refreshPrivateChats(ctx, await blockedIds(ctx, ctx.session.userId));
}
