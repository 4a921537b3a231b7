import { z } from "zod";
import { withAvatarUrls } from "../../services/avatar-urls";
import { asSeenBy } from "../../services/contacts";
import { usersByIds } from "../../services/users";
import { authedRequest } from "../request";

const schema = z.strictObject({
  ids: z.array(z.string()).min(1).max(100),
});

/** Users of the caller's organization by id, newest first; unknown or foreign ids are skipped (email and phone: see asSeenBy). */
export const getUsersByIds = authedRequest("get_users_by_ids", schema, async (ctx, params) => {
  const found = await usersByIds(ctx, ctx.session.organizationId, params.ids);
  return { users: await withAvatarUrls(ctx, ctx.session.organizationId, await asSeenBy(ctx, ctx.session, found)) };
});
