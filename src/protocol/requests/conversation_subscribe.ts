import * as shapes from "../shapes";
import { z } from "zod";
import { actorOf, conversationFor, deleteFromDirectory, syncDirectory, unwrap, userCards } from "../../services/conversations";
import type { AuthedContext } from "../context";
import { Errors } from "../../domain/errors";
import { authedRequest } from "../request";

const schema = z.strictObject({ cid: z.string() });

async function setSubscription(ctx: AuthedContext, cid: string, join: boolean) {
  const channel = conversationFor(ctx, cid, Errors.BAD_REQUEST);
  const org = ctx.session.organizationId;
  const [card] = await userCards(ctx, org, [ctx.session.userId]);
  const result = unwrap(await channel.subscribe(actorOf(ctx), card ?? { userId: ctx.session.userId, name: "", view: {} }, join, null));
  if (result.deleted) await deleteFromDirectory(ctx, cid);
  else await syncDirectory(ctx, result.meta, result.participants);
  return { success: true };
}

const conversationSubscribeDoc = {
  summary: "Joins a channel (channels have no subscriber cap).",
  reply: shapes.success,
  errors: [Errors.BAD_REQUEST, Errors.PARTICIPANTS_LIMIT],
};

export const conversationSubscribe = authedRequest("conversation_subscribe", schema, conversationSubscribeDoc, (ctx, params) => setSubscription(ctx, params.cid, true));

const conversationUnsubscribeDoc = {
  summary: "Leaves a channel; the last subscriber out deletes it.",
  reply: shapes.success,
  errors: [Errors.BAD_REQUEST],
};

export const conversationUnsubscribe = authedRequest("conversation_unsubscribe", schema, conversationUnsubscribeDoc, (ctx, params) => setSubscription(ctx, params.cid, false));
