import * as shapes from "../shapes";
import { z } from "zod";
import { inboxOf } from "../../objects/stubs";
import { authedRequest } from "../request";

const schema = z.strictObject({ isInactive: z.boolean().optional() });

const activityStatusDoc = {
  summary:
    "A mobile client going to the background: this socket still gets packets, and its user gets pushes too.",
  reply: shapes.success,
  errors: [],
};

export const activityStatus = authedRequest("activity_status", schema, activityStatusDoc, async (ctx, params) => {
  await inboxOf(ctx.env, ctx.session.organizationId, ctx.session.userId).setInactive(ctx.sessionId, params.isInactive ?? false);
  return { success: true };
});
