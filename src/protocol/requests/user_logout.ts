import * as shapes from "../shapes";
import { revokeDevice } from "../../services/auth";
import { anyObject } from "../fields";
import { authedRequest } from "../request";

const userLogoutDoc = {
  summary:
    "Revokes every token of this device and signs its sockets out (this one stays open); the last socket out takes the user offline.",
  reply: shapes.success,
  errors: [],
};

export const userLogout = authedRequest("user_logout", anyObject, userLogoutDoc, async (ctx) => {
  const { userId, organizationId, deviceId } = ctx.session;
  await revokeDevice(ctx, { id: userId, organizationId }, deviceId);
  await ctx.signOut();
  return { success: true };
});
