import { revokeDevice } from "../../services/auth";
import { touchRecentActivity } from "../../services/users";
import { anyObject } from "../fields";
import { authedRequest } from "../request";

/** Revokes every token of this device and signs the socket out; the socket stays open. */
export const userLogout = authedRequest("user_logout", anyObject, async (ctx) => {
  await revokeDevice(ctx, ctx.session.userId, ctx.session.deviceId);
  await touchRecentActivity(ctx, ctx.session.userId);
  ctx.signOut();
  return { success: true };
});
