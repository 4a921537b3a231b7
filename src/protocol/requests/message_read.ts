import { z } from "zod";
import { markRead } from "../../services/messages";
import { cid } from "../fields";
import { authedRequest } from "../request";

export const messageReadSchema = z.strictObject({ cid, ids: z.array(z.string()).min(1).max(100).optional() });

/** Marks messages (or everything unread, up to 100) as read; each author gets a `message_read`. */
export const messageRead = authedRequest("message_read", messageReadSchema, async (ctx, params) => {
  await markRead(ctx, params.cid, params.ids ?? null);
  return { success: true };
});
