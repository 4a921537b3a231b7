// What a user does to messages, for both ways of acting: a signed-in socket (the WebSocket requests)
// and the admin API acting for a user (/admin/message…). The rules themselves live in the
// Conversation object; this is the way to it, and the finding of a message's conversation.
import { and, eq } from "drizzle-orm";
import { messages } from "../db/schema";
import { liveDelivery } from "../domain/delivery";
import { OBJECT_ID } from "../domain/object-id";
import type { Ask, SendInput } from "../domain/conversation-calls";
import { conversationStub, inboxOf } from "../objects/stubs";
import { Errors, SamaError } from "../domain/errors";
import type { ActorContext } from "./context";
import { actorOf, conversationFor, unwrap, userCards } from "./conversations";
import { usersByIds } from "./users";

/** How many sent messages a socket remembers for an edit or reaction right after the `ask`. */
const RECENT_MESSAGES = 500;

/**
 * The socket remembers the messages it just sent; the actor's Inbox indexes every message
 * delivered to them; older messages are found in the D1 copy. Either way only conversations of the actor's organization are considered.
 */
export async function conversationOfMessage(ctx: ActorContext, mid: string): Promise<string> {
  if (!OBJECT_ID.test(mid)) throw new SamaError(Errors.MESSAGE_ID_NOT_FOUND);
  const recent = ctx.recentMessages?.get(mid);
  if (recent) return recent;
  const indexed = await inboxOf(ctx.env, ctx.session.organizationId, ctx.session.userId).conversationOfMessage(mid);
  if (indexed) return indexed;
  const row = await ctx.db
    .select({ cid: messages.cid })
    .from(messages)
    .where(and(eq(messages.id, mid), eq(messages.organizationId, ctx.session.organizationId)))
    .get();
  if (!row) throw new SamaError(Errors.MESSAGE_ID_NOT_FOUND);
  return row.cid;
}

/** Stores a message and answers its `ask`; a private chat that a member had left is restored first. */
export async function sendMessage(ctx: ActorContext, cid: string, input: SendInput): Promise<Ask> {
  const conversation = conversationFor(ctx, cid);
  let result = await conversation.send(actorOf(ctx), input, null);
  if (!result.ok && result.needsCards) {
    result = await conversation.send(actorOf(ctx), input, await userCards(ctx, ctx.session.organizationId, result.needsCards));
  }
  const ask = unwrap(result);
  const recent = ctx.recentMessages;
  if (recent) {
    recent.set(ask.server_mid, cid);
    if (recent.size > RECENT_MESSAGES) recent.delete(recent.keys().next().value!);
  }
  return ask;
}

export async function editMessage(ctx: ActorContext, mid: string, body: string): Promise<void> {
  const cid = await conversationOfMessage(ctx, mid);
  unwrap(await conversationStub(ctx.env, cid).editMessage(actorOf(ctx), mid, body));
}

export async function deleteMessages(ctx: ActorContext, cid: string, ids: string[], type: "all" | "myself"): Promise<void> {
  unwrap(await conversationFor(ctx, cid).deleteMessages(actorOf(ctx), ids, type));
}

/** Marks `ids` (or, with null, everything unread up to 100) as read. */
export async function markRead(ctx: ActorContext, cid: string, ids: string[] | null): Promise<void> {
  unwrap(await conversationFor(ctx, cid).markRead(actorOf(ctx), ids));
}

export async function updateReactions(ctx: ActorContext, mid: string, add: string | null, remove: string | null): Promise<void> {
  const cid = await conversationOfMessage(ctx, mid);
  unwrap(await conversationStub(ctx.env, cid).react(actorOf(ctx), mid, add, remove));
}

/** A system_message names either a conversation or up to 20 users of the organization. */
export type SystemMessageTarget = { cid: string } | { uids: readonly string[] };

/** A custom event, never persisted as a message: to a conversation's participants, or to listed users of the organization. */
export async function sendSystemMessage(
  ctx: ActorContext,
  id: string,
  target: SystemMessageTarget,
  x: Record<string, unknown>,
): Promise<{ mid: string; t: number }> {
  if ("cid" in target) return unwrap(await conversationFor(ctx, target.cid).systemMessage(actorOf(ctx), id, x));
  const t = Math.ceil(ctx.now / 1000);
  const org = ctx.session.organizationId;
  const recipients = await usersByIds(ctx, org, target.uids);
  const packet = { system_message: { _id: id, from: ctx.session.userId, t, x } };
  await Promise.all(
    recipients.map((user) =>
      inboxOf(ctx.env, org, user.id).deliver(user.id, [liveDelivery("", packet, { store: true, excludeSession: ctx.sessionId })]),
    ),
  );
  return { mid: id, t };
}
