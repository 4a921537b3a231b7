import * as shapes from "../shapes";
import { z } from "zod";
import { conversationStub } from "../../objects/stubs";
import { actorOf, unwrap } from "../../services/conversations";
import { conversationOfMessage, updateReactions } from "../../services/messages";
import { Errors } from "../../domain/errors";
import { authedRequest } from "../request";
import { samaMessage } from "../validation";

const mid = z.string(samaMessage(Errors.INCORRECT_MESSAGE_ID)).min(1);

export const messageReactionsUpdateSchema = z
  .strictObject({ mid, add: z.string().min(1).max(10).optional(), remove: z.string().min(1).max(10).optional() })
  .superRefine((p, ctx) => {
    if (p.add === undefined && p.remove === undefined) ctx.addIssue({ code: "custom", message: '"value" must contain at least one of [add, remove]' });
  });

const messageReactionsUpdateDoc = {
  summary: "Adds and/or removes one of the caller's reactions on a message.",
  reply: shapes.success,
  errors: [Errors.INCORRECT_MESSAGE_ID, Errors.MESSAGE_ID_NOT_FOUND],
};

export const messageReactionsUpdate = authedRequest("message_reactions_update", messageReactionsUpdateSchema, messageReactionsUpdateDoc, async (ctx, params) => {
  await updateReactions(ctx, params.mid, params.add ?? null, params.remove ?? null);
  return { success: true };
});

const messageReactionsListDoc = {
  summary: "Who reacted with what on a message.",
  reply: z.strictObject({ reactions: z.record(z.string(), z.array(z.string())).meta({ description: "emoji → ids of the users who reacted with it" }) }),
  errors: [Errors.INCORRECT_MESSAGE_ID, Errors.MESSAGE_ID_NOT_FOUND],
};

export const messageReactionsList = authedRequest("message_reactions_list", z.strictObject({ mid }), messageReactionsListDoc, async (ctx, params) => {
  const cid = await conversationOfMessage(ctx, params.mid);
  return { reactions: unwrap(await conversationStub(ctx.env, cid).reactions(actorOf(ctx), params.mid)) };
});
