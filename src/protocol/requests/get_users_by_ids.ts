import * as shapes from "../shapes";
import { z } from "zod";
import { withAvatarUrls } from "../../services/avatar-urls";
import { asSeenBy } from "../../services/contacts";
import { usersByIds } from "../../services/users";
import { authedRequest } from "../request";

const schema = z.strictObject({
  ids: z.array(z.string()).min(1).max(100),
});

const getUsersByIdsDoc = {
  summary:
    "Users of the caller's organization by id, newest first; unknown or foreign ids are skipped. Email and phone only where the caller already has them (a matched contact).",
  reply: z.strictObject({ users: z.array(shapes.userWithAvatar) }),
  errors: [],
};

export const getUsersByIds = authedRequest("get_users_by_ids", schema, getUsersByIdsDoc, async (ctx, params) => {
  const found = await usersByIds(ctx, ctx.session.organizationId, params.ids);
  return { users: await withAvatarUrls(ctx, ctx.session.organizationId, await asSeenBy(ctx, ctx.session, found)) };
});
