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

/** Adds and/or removes one of the caller's reactions on a message. */
export const messageReactionsUpdate = authedRequest("message_reactions_update", messageReactionsUpdateSchema, async (ctx, params) => {
  await updateReactions(ctx, params.mid, params.add ?? null, params.remove ?? null);
  return { success: true };
});

/** Who reacted with what on a message. */
export const messageReactionsList = authedRequest("message_reactions_list", z.strictObject({ mid }), async (ctx, params) => {
  const cid = await conversationOfMessage(ctx, params.mid);
  return { reactions: unwrap(await conversationStub(ctx.env, cid).reactions(actorOf(ctx), params.mid)) };
});
