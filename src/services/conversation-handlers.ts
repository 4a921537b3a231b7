// Conversation handlers in D1 (the directory copy: what get_conversation_handler reads), and the
// owner check the three handler requests share. The Conversation object keeps its own copy of the
// source, so running a handler reads no D1.
import { and, eq } from "drizzle-orm";
import { conversationHandlers, conversations, users } from "../db/schema";
import { newObjectId } from "../domain/object-id";
import { Errors, SamaError } from "../domain/errors";
import type { ActorContext, ServiceDeps } from "./context";
import { BOT_LOGIN } from "./organizations";

export type HandlerRow = typeof conversationHandlers.$inferSelect;

/** SAMA's access rule for all three requests: the conversation must exist in the caller's organization (else 400) and be owned by the caller (else 403). */
export async function requireOwnedConversation(ctx: ActorContext, cid: string): Promise<void> {
  const row = await ctx.db
    .select({ ownerId: conversations.ownerId })
    .from(conversations)
    .where(and(eq(conversations.organizationId, ctx.session.organizationId), eq(conversations.id, cid)))
    .get();
  if (!row) throw new SamaError(Errors.BAD_REQUEST);
  if (row.ownerId !== ctx.session.userId) throw new SamaError(Errors.FORBIDDEN);
}

export async function findHandler({ db }: ServiceDeps, cid: string): Promise<HandlerRow | null> {
  return (await db.select().from(conversationHandlers).where(eq(conversationHandlers.conversationId, cid)).get()) ?? null;
}

/** Creates or replaces the conversation's handler; saving switches a disabled handler back on. */
export async function saveHandler({ db, now }: ServiceDeps, organizationId: string, cid: string, content: string, userId: string): Promise<void> {
  await db
    .insert(conversationHandlers)
    .values({ id: newObjectId(now), organizationId, conversationId: cid, content, updatedBy: userId, disabledAt: null, createdAt: now, updatedAt: now })
    .onConflictDoUpdate({ target: conversationHandlers.conversationId, set: { content, updatedBy: userId, disabledAt: null, updatedAt: now } });
}

/** True when there was a handler to delete. */
export async function deleteHandler({ db }: ServiceDeps, cid: string): Promise<boolean> {
  const result = await db.delete(conversationHandlers).where(eq(conversationHandlers.conversationId, cid)).run();
  return result.meta.changes > 0;
}

/** The organization's bot user, author of handler replies; null if the organization has none. */
export async function botUserId({ db }: ServiceDeps, organizationId: string): Promise<string | null> {
  const row = await db
    .select({ id: users.id })
    .from(users)
    .where(and(eq(users.organizationId, organizationId), eq(users.loginKey, BOT_LOGIN), eq(users.isBot, true)))
    .get();
  return row?.id ?? null;
}
