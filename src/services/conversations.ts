// The conversation directory in D1 (what search and private-chat lookup read), and the way to the
// Conversation objects that own each conversation's participants and messages.
import { and, desc, eq, gt, or, sql } from "drizzle-orm";
import { isUniqueViolation } from "../db/client";
import { conversationParticipants, conversations } from "../db/schema";
import { displayName, pairKey, type ConversationMeta, type Participant } from "../domain/conversation";
import { OBJECT_ID } from "../domain/object-id";
import { toPublicUser } from "../domain/user-view";
import type { Actor, Result, UserCard } from "../domain/conversation-calls";
import { conversationStub, type ConversationStub } from "../objects/stubs";
import { Errors, SamaError } from "../domain/errors";
import type { ActorContext, ServiceDeps } from "./context";
import { usersByIds } from "./users";

/** The stub of a conversation id that could exist; malformed ids are "not found" without waking anything. */
export function conversationFor(ctx: ActorContext, cid: string, notFound = Errors.CONVERSATION_NOT_FOUND): ConversationStub {
  if (!OBJECT_ID.test(cid)) throw new SamaError(notFound);
  return conversationStub(ctx.env, cid);
}

export function actorOf(ctx: ActorContext): Actor {
  return { userId: ctx.session.userId, organizationId: ctx.session.organizationId, sessionId: ctx.sessionId };
}

/** Unwraps a Conversation object's answer, turning its refusal into the request's error. */
export function unwrap<T>(result: Result<T>): T {
  if (!result.ok) throw new SamaError(result.error);
  return result.value;
}

/** Public cards (name for system messages, visible fields) of the organization's users among `ids`. */
export async function userCards(deps: ServiceDeps, organizationId: string, ids: readonly string[]): Promise<UserCard[]> {
  const found = await usersByIds(deps, organizationId, ids);
  const byId = new Map(found.map((u) => [u.id, u]));
  return ids.flatMap((id) => {
    const user = byId.get(id);
    // The view goes to every participant (system messages): no contact details (see asSeenBy).
    return user ? [{ userId: user.id, name: displayName(user), view: { ...toPublicUser({ ...user, email: null, phone: null }) } }] : [];
  });
}

/** A conversation's meta as the directory recorded it (to set up an object that missed its setup). */
export async function findConversationMeta({ db }: ServiceDeps, organizationId: string, cid: string): Promise<ConversationMeta | null> {
  const row = await db
    .select()
    .from(conversations)
    .where(and(eq(conversations.organizationId, organizationId), eq(conversations.id, cid)))
    .get();
  if (!row) return null;
  return {
    id: row.id,
    organizationId: row.organizationId,
    type: row.type,
    name: row.name,
    description: row.description,
    ownerId: row.ownerId,
    opponentId: row.opponentId,
    imageObject: row.imageObject,
    isEncrypted: row.isEncrypted ?? false,
    createdAt: row.createdAt,
    updatedAt: row.updatedAt,
  };
}

export async function findPrivateConversationId({ db }: ServiceDeps, organizationId: string, key: string): Promise<string | null> {
  const row = await db
    .select({ id: conversations.id })
    .from(conversations)
    .where(and(eq(conversations.organizationId, organizationId), eq(conversations.pairKey, key)))
    .get();
  return row?.id ?? null;
}

/**
 * Records a new conversation in the directory. For private chats the pair key is unique: when a
 * concurrent create won the race, its id is returned instead.
 */
export async function insertConversation(deps: ServiceDeps, meta: ConversationMeta, participants: Participant[]): Promise<string> {
  const key = meta.type === "u" && meta.opponentId !== null ? pairKey(meta.ownerId, meta.opponentId, meta.isEncrypted) : null;
  try {
    await deps.db.batch([
      deps.db.insert(conversations).values({
        id: meta.id,
        organizationId: meta.organizationId,
        name: meta.name,
        description: meta.description,
        type: meta.type,
        ownerId: meta.ownerId,
        opponentId: meta.opponentId,
        imageObject: meta.imageObject,
        isEncrypted: meta.isEncrypted,
        subscribersCount: meta.type === "c" ? participants.length : null,
        pairKey: key,
        createdAt: meta.createdAt,
        updatedAt: meta.updatedAt,
      }),
      ...participantInserts(deps, meta, participants),
    ]);
    return meta.id;
  } catch (err) {
    if (key !== null && isUniqueViolation(err)) {
      const winner = await findPrivateConversationId(deps, meta.organizationId, key);
      if (winner) return winner;
    }
    throw err;
  }
}

function participantInserts(deps: ServiceDeps, meta: ConversationMeta, participants: Participant[]) {
  return participants.map((p) =>
    deps.db
      .insert(conversationParticipants)
      .values({
        id: `${meta.id}:${p.userId}`,
        organizationId: meta.organizationId,
        conversationId: meta.id,
        userId: p.userId,
        role: p.role,
        createdAt: deps.now,
        updatedAt: deps.now,
      })
      .onConflictDoUpdate({ target: [conversationParticipants.conversationId, conversationParticipants.userId], set: { role: p.role, updatedAt: deps.now } }),
  );
}

/** Brings the directory copy in line with the Conversation object after a change. */
export async function syncDirectory(deps: ServiceDeps, meta: ConversationMeta, participants: Participant[]): Promise<void> {
  const ids = participants.map((p) => p.userId);
  await deps.db.batch([
    deps.db
      .update(conversations)
      .set({
        name: meta.name,
        description: meta.description,
        imageObject: meta.imageObject,
        ownerId: meta.ownerId,
        subscribersCount: meta.type === "c" ? participants.length : null,
        updatedAt: deps.now,
      })
      .where(eq(conversations.id, meta.id)),
    deps.db
      .delete(conversationParticipants)
      .where(
        and(
          eq(conversationParticipants.conversationId, meta.id),
          sql`${conversationParticipants.userId} NOT IN (SELECT value FROM json_each(${JSON.stringify(ids)}))`,
        ),
      ),
    ...participantInserts(deps, meta, participants),
  ]);
}

export async function deleteFromDirectory({ db }: ServiceDeps, cid: string): Promise<void> {
  await db.batch([db.delete(conversationParticipants).where(eq(conversationParticipants.conversationId, cid)), db.delete(conversations).where(eq(conversations.id, cid))]);
}

/** Conversation ids of the organization whose name contains `name` (SAMA: unanchored `name.*`, case-insensitive), most recently updated first. */
export async function searchConversationIds(
  { db }: ServiceDeps,
  organizationId: string,
  userId: string,
  name: string,
  limit: number,
  updatedAfter: number | undefined,
): Promise<string[]> {
  const conditions = [
    eq(conversations.organizationId, organizationId),
    sql`instr(lower(${conversations.name}), ${name.toLowerCase()}) > 0`,
    // Channels are public (discovery); a group's name, members and existence are its members' business.
    or(
      eq(conversations.type, "c"),
      sql`EXISTS (SELECT 1 FROM ${conversationParticipants} WHERE ${conversationParticipants.conversationId} = ${conversations.id} AND ${conversationParticipants.userId} = ${userId})`,
    )!,
  ];
  if (updatedAfter !== undefined) conditions.push(gt(conversations.updatedAt, updatedAfter));
  const rows = await db
    .select({ id: conversations.id })
    .from(conversations)
    .where(and(...conditions))
    .orderBy(desc(conversations.updatedAt))
    .limit(limit)
    .all();
  return rows.map((r) => r.id);
}
