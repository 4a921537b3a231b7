import { z } from "zod";
import { liveDelivery } from "../../domain/delivery";
import { inboxOf } from "../../objects/live-sessions";
import { actorOf, conversationFor, unwrap } from "../../services/conversations";
import { usersByIds } from "../../services/users";
import { Errors } from "../errors";
import { authedSend } from "../request";
import { samaMessage } from "../validation";

const schema = z
  .strictObject({
    id: z.string(samaMessage(Errors.INCORRECT_MESSAGE_ID)).min(1),
    cid: z.string().min(1).optional(),
    uids: z.array(z.string()).max(20, samaMessage(Errors.UIDS_MAX_LENGTH)).optional(),
    x: z.looseObject({}, samaMessage(Errors.X_REQUIRED)),
  })
  .superRefine((p, ctx) => {
    if ((p.cid === undefined) === (p.uids === undefined)) ctx.addIssue({ code: "custom", message: Errors.CID_OR_UIDS_REQUIRED.message });
  });

/** A custom event to a conversation's participants or to listed users of the organization; never persisted as a message. */
export const systemMessage = authedSend("system_message", schema, async (ctx, params) => {
  if (params.cid !== undefined) {
    return { ask: unwrap(await conversationFor(ctx, params.cid).systemMessage(actorOf(ctx), params.id, params.x)) };
  }
  const t = Math.ceil(ctx.now / 1000);
  const org = ctx.session.organizationId;
  const recipients = await usersByIds(ctx, org, params.uids ?? []);
  const packet = { system_message: { _id: params.id, from: ctx.session.userId, t, x: params.x } };
  await Promise.all(
    recipients.map((user) =>
      inboxOf(ctx.env, org, user.id).deliver(user.id, [liveDelivery("", packet, { store: true, excludeSession: ctx.sessionId })]),
    ),
  );
  return { ask: { mid: params.id, t } };
});
