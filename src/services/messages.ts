// Finding the conversation of a message when a request names only the message (edit, reactions).
import { and, eq } from "drizzle-orm";
import { messages } from "../db/schema";
import { OBJECT_ID } from "../domain/object-id";
import { inboxOf } from "../objects/live-sessions";
import type { AuthedContext } from "../protocol/context";
import { Errors, SamaError } from "../protocol/errors";

/**
 * The socket remembers the messages it just sent; the caller's Inbox indexes every message
 * delivered to them; older messages are found in the D1 copy. Either way only conversations of the caller's organization are considered.
 */
export async function conversationOfMessage(ctx: AuthedContext, mid: string): Promise<string> {
  if (!OBJECT_ID.test(mid)) throw new SamaError(Errors.MESSAGE_ID_NOT_FOUND);
  const recent = ctx.recentMessages.get(mid);
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
