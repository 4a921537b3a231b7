import { revokeDevice } from "../../services/auth";
import { touchRecentActivity } from "../../services/users";
import { anyObject } from "../fields";
import { authedRequest } from "../request";

/** Revokes every token of this device and signs the socket out; the socket stays open. */
export const userLogout = authedRequest("user_logout", anyObject, async (ctx) => {
  const { userId, organizationId, deviceId } = ctx.session;
  await revokeDevice(ctx, { id: userId, organizationId }, deviceId);
  await touchRecentActivity(ctx, ctx.session.userId);
  await ctx.signOut();
  return { success: true };
});
