import * as shapes from "../shapes";
import { z } from "zod";
import { deleteMessages } from "../../services/messages";
import { Errors } from "../../domain/errors";
import { cid } from "../fields";
import { authedRequest } from "../request";
import { samaMessage } from "../validation";

export const messageDeleteSchema = z.strictObject({
  cid,
  type: z.enum(["all", "myself"], {
    error: (issue) => (issue.input === undefined ? Errors.MESSAGE_TYPE_MISSED.message : Errors.INCORRECT_TYPE.message),
  }),
  ids: z.array(z.string(), samaMessage(Errors.MESSAGE_ID_MISSED)).min(1).max(100),
});

const messageDeleteDoc = {
  summary:
    "Hides messages for the caller (`myself`) or deletes them for everyone (`all`: author, owner or admin only).",
  reply: shapes.success,
  errors: [
    Errors.CID_REQUIRED,
    Errors.MESSAGE_TYPE_MISSED,
    Errors.INCORRECT_TYPE,
    Errors.MESSAGE_ID_MISSED,
    Errors.CONVERSATION_NOT_FOUND,
    Errors.FORBIDDEN,
  ],
};

export const messageDelete = authedRequest("message_delete", messageDeleteSchema, messageDeleteDoc, async (ctx, params) => {
  await deleteMessages(ctx, params.cid, params.ids, params.type);
  return { success: true };
});
