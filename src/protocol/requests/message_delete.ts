import { z } from "zod";
import { actorOf, conversationFor, unwrap } from "../../services/conversations";
import { Errors } from "../errors";
import { cid } from "../fields";
import { authedRequest } from "../request";
import { samaMessage } from "../validation";

const schema = z.strictObject({
  cid,
  type: z.enum(["all", "myself"], {
    error: (issue) => (issue.input === undefined ? Errors.MESSAGE_TYPE_MISSED.message : Errors.INCORRECT_TYPE.message),
  }),
  ids: z.array(z.string(), samaMessage(Errors.MESSAGE_ID_MISSED)).min(1).max(100),
});

/** Hides messages for the caller (`myself`) or deletes them for everyone (`all`: author, owner or admin only). */
export const messageDelete = authedRequest("message_delete", schema, async (ctx, params) => {
  unwrap(await conversationFor(ctx, params.cid).deleteMessages(actorOf(ctx), params.ids, params.type));
  return { success: true };
});
