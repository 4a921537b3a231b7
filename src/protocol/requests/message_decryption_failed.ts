import { Errors } from "../../domain/errors";
import * as shapes from "../shapes";
import { z } from "zod";
import { actorOf, conversationFor, unwrap } from "../../services/conversations";
import { cid } from "../fields";
import { authedRequest } from "../request";

const schema = z.strictObject({ cid, ids: z.array(z.string()).min(1).max(100) });

const messageDecryptionFailedDoc = {
  summary:
    "The caller could not decrypt these messages: recorded, and each author hears of it (SAMA never delivers it).",
  reply: shapes.success,
  errors: [Errors.CID_REQUIRED, Errors.CONVERSATION_NOT_FOUND, Errors.FORBIDDEN],
};

export const messageDecryptionFailed = authedRequest("message_decryption_failed", schema, messageDecryptionFailedDoc, async (ctx, params) => {
  unwrap(await conversationFor(ctx, params.cid).decryptionFailed(actorOf(ctx), params.ids));
  return { success: true };
});
