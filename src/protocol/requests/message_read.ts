import { Errors } from "../../domain/errors";
import * as shapes from "../shapes";
import { z } from "zod";
import { markRead } from "../../services/messages";
import { cid } from "../fields";
import { authedRequest } from "../request";

export const messageReadSchema = z.strictObject({ cid, ids: z.array(z.string()).min(1).max(100).optional() });

const messageReadDoc = {
  summary:
    "Marks messages (or everything unread, up to 100) as read; each author gets a `message_read`.",
  reply: shapes.success,
  errors: [Errors.CID_REQUIRED, Errors.CONVERSATION_NOT_FOUND, Errors.FORBIDDEN],
};

export const messageRead = authedRequest("message_read", messageReadSchema, messageReadDoc, async (ctx, params) => {
  await markRead(ctx, params.cid, params.ids ?? null);
  return { success: true };
});
