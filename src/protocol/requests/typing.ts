import { Errors } from "../../domain/errors";
import { z } from "zod";
import { actorOf, conversationFor, unwrap } from "../../services/conversations";
import { cid } from "../fields";
import { authedSend } from "../request";

const schema = z.strictObject({ cid, status: z.string().max(20).optional() });

const typingDoc = {
  summary:
    "Typing indicator: forwarded live to the other participants, never stored; no reply on success.",
  reply: null,
  errors: [
    Errors.CID_REQUIRED,
    Errors.CONVERSATION_NOT_FOUND,
    Errors.FORBIDDEN,
    Errors.USER_BLOCKED,
  ],
};

export const typing = authedSend("typing", schema, typingDoc, async (ctx, params) => {
  unwrap(await conversationFor(ctx, params.cid).typing(actorOf(ctx), params.status ?? null));
  return null;
});
