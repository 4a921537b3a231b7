import * as shapes from "../shapes";
import { z } from "zod";
import { sendSystemMessage, type SystemMessageTarget } from "../../services/messages";
import { Errors } from "../../domain/errors";
import { authedSend } from "../request";
import { samaMessage } from "../validation";

export const systemMessageSchema = z
  .strictObject({
    id: z.string(samaMessage(Errors.INCORRECT_MESSAGE_ID)).min(1),
    cid: z.string().min(1).optional(),
    uids: z.array(z.string()).max(20, samaMessage(Errors.UIDS_MAX_LENGTH)).optional(),
    x: z.looseObject({}, samaMessage(Errors.X_REQUIRED)),
  })
  .superRefine((p, ctx) => {
    if ((p.cid === undefined) === (p.uids === undefined)) ctx.addIssue({ code: "custom", message: Errors.CID_OR_UIDS_REQUIRED.message });
  });

/** The one of `cid` and `uids` that the schema let through. */
export function systemMessageTarget(params: z.output<typeof systemMessageSchema>): SystemMessageTarget {
  return params.cid !== undefined ? { cid: params.cid } : { uids: params.uids ?? [] };
}

const systemMessageDoc = {
  summary:
    "A custom event to a conversation's participants or to listed users of the organization; never persisted as a message.",
  reply: z.strictObject({ ask: shapes.systemAsk }),
  errors: [
    Errors.INCORRECT_MESSAGE_ID,
    Errors.UIDS_MAX_LENGTH,
    Errors.X_REQUIRED,
    Errors.CID_OR_UIDS_REQUIRED,
    Errors.CONVERSATION_NOT_FOUND,
    Errors.FORBIDDEN,
  ],
};

export const systemMessage = authedSend("system_message", systemMessageSchema, systemMessageDoc, async (ctx, params) => ({
  ask: await sendSystemMessage(ctx, params.id, systemMessageTarget(params), params.x),
}));
