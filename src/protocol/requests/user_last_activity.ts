import * as shapes from "../shapes";
import { z } from "zod";
import { inboxOf } from "../../objects/stubs";
import { lastActivity } from "../../services/presence";
import { findUser } from "../../services/users";
import { Errors, SamaError } from "../../domain/errors";
import { anyObject } from "../fields";
import { authedRequest } from "../request";
import { samaMessage } from "../validation";

const userLastActivityDoc = {
  summary:
    "`0` for online users, else last-seen Unix seconds; only users of the caller's organization appear.",
  reply: z.strictObject({ last_activity: shapes.lastActivity }),
  errors: [],
};

export const userLastActivity = authedRequest("user_last_activity", z.strictObject({ ids: z.array(z.string()).max(100) }), userLastActivityDoc, async (ctx, params) => ({
  last_activity: await lastActivity(ctx, ctx.session.organizationId, params.ids),
}));

const subscribeSchema = z.strictObject({ id: z.string(samaMessage(Errors.USER_ID_MISSED)).min(1) });

const userLastActivitySubscribeDoc = {
  summary:
    "Watches one user's online/offline changes (a new subscription replaces the previous one).",
  reply: z.strictObject({ last_activity: shapes.lastActivity }),
  errors: [Errors.USER_ID_MISSED, Errors.INCORRECT_USER],
};

export const userLastActivitySubscribe = authedRequest("user_last_activity_subscribe", subscribeSchema, userLastActivitySubscribeDoc, async (ctx, params) => {
  const org = ctx.session.organizationId;
  if (!(await findUser(ctx, org, params.id))) throw new SamaError(Errors.INCORRECT_USER);
  await inboxOf(ctx.env, org, ctx.session.userId).subscribeTo({ userId: ctx.session.userId, organizationId: org }, params.id);
  return { last_activity: await lastActivity(ctx, org, [params.id]) };
});

const userLastActivityUnsubscribeDoc = {
  summary: "Stops watching the user watched with user_last_activity_subscribe.",
  reply: shapes.success,
  errors: [],
};

export const userLastActivityUnsubscribe = authedRequest("user_last_activity_unsubscribe", anyObject, userLastActivityUnsubscribeDoc, async (ctx) => {
  await inboxOf(ctx.env, ctx.session.organizationId, ctx.session.userId).unsubscribe();
  return { success: true };
});
