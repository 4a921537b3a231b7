import { z } from "zod";
import { actorOf, conversationFor, unwrap } from "../../services/conversations";
import { cid } from "../fields";
import { authedRequest } from "../request";

const schema = z.strictObject({ cid, ids: z.array(z.string()).min(1).max(100).optional() });

/** Marks messages (or everything unread, up to 100) as read; each author gets a `message_read`. */
export const messageRead = authedRequest("message_read", schema, async (ctx, params) => {
  unwrap(await conversationFor(ctx, params.cid).markRead(actorOf(ctx), params.ids ?? null));
  return { success: true };
});
