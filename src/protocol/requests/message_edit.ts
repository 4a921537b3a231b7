import { z } from "zod";
import { actorOf, conversationStub, unwrap } from "../../services/conversations";
import { conversationOfMessage } from "../../services/messages";
import { Errors } from "../errors";
import { authedRequest } from "../request";
import { samaMessage } from "../validation";
import { MAX_BODY } from "./message";

const schema = z.strictObject({
  id: z.string(samaMessage(Errors.INCORRECT_MESSAGE_ID)).min(1),
  body: z.string(samaMessage(Errors.MESSAGE_BODY_AND_ATTACHMENTS_EMPTY)).min(1).max(MAX_BODY),
});

/** Changes the body of the caller's own message. */
export const messageEdit = authedRequest("message_edit", schema, async (ctx, params) => {
  const cid = await conversationOfMessage(ctx, params.id);
  unwrap(await conversationStub(ctx.env, cid).editMessage(actorOf(ctx), params.id, params.body));
  return { success: true };
});
