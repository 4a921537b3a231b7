import { z } from "zod";
import { inboxOf } from "../../objects/stubs";
import { authedRequest } from "../request";

const schema = z.strictObject({ isInactive: z.boolean().optional() });

/** A mobile client going to the background: this socket still gets packets, and its user gets pushes too. */
export const activityStatus = authedRequest("activity_status", schema, async (ctx, params) => {
  await inboxOf(ctx.env, ctx.session.organizationId, ctx.session.userId).setInactive(ctx.sessionId, params.isInactive ?? false);
  return { success: true };
});
