import * as shapes from "../shapes";
import { z } from "zod";
import { actorOf, conversationFor, deleteFromDirectory, syncDirectory, unwrap, userCards } from "../../services/conversations";
import { Errors } from "../../domain/errors";
import { authedRequest } from "../request";

const schema = z.strictObject({ id: z.string() });

const conversationDeleteDoc = {
  summary:
    "Leaves the conversation; the last participant out deletes it (messages stay, as in SAMA).",
  reply: shapes.success,
  errors: [Errors.BAD_REQUEST, Errors.PARTICIPANT_NOT_FOUND],
};

export const conversationDelete = authedRequest("conversation_delete", schema, conversationDeleteDoc, async (ctx, params) => {
  const conversation = conversationFor(ctx, params.id, Errors.BAD_REQUEST);
  const org = ctx.session.organizationId;
  const [card] = await userCards(ctx, org, [ctx.session.userId]);
  const result = unwrap(await conversation.leave(actorOf(ctx), card ?? { userId: ctx.session.userId, name: "", view: {} }));
  if (result.deleted) await deleteFromDirectory(ctx, params.id);
  else await syncDirectory(ctx, result.meta, result.participants);
  return { success: true };
});
