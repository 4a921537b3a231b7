import * as shapes from "../shapes";
import { z } from "zod";
import { withAvatarUrls } from "../../services/avatar-urls";
import { asSeenBy } from "../../services/contacts";
import { searchUsers } from "../../services/users";
import { date } from "../fields";
import { authedRequest } from "../request";

const schema = z.strictObject({
  keyword: z.string().min(1).max(255),
  limit: z.number().int().min(1).max(100).optional(),
  updated_at: z.strictObject({ gt: date.optional() }).optional(),
  // Optional here (SAMA crashes without it); capped so a request stays cheap.
  ignore_ids: z.array(z.string()).max(500).optional(),
});

const userSearchDoc = {
  summary:
    "Users of the caller's organization whose login or name contains the keyword. Email and phone only where the caller already has them (a matched contact).",
  reply: z.strictObject({ users: z.array(shapes.userWithAvatar) }),
  errors: [],
};

export const userSearch = authedRequest("user_search", schema, userSearchDoc, async (ctx, params) => {
  const excludeIds = new Set(params.ignore_ids ?? []);
  excludeIds.add(ctx.session.userId);
  const found = await searchUsers(ctx, {
    organizationId: ctx.session.organizationId,
    keyword: params.keyword,
    limit: Math.min(params.limit ?? ctx.config.searchPreloadCount, ctx.config.searchPreloadCount),
    updatedAfter: params.updated_at?.gt,
    excludeIds,
  });
  return { users: await withAvatarUrls(ctx, ctx.session.organizationId, await asSeenBy(ctx, ctx.session, found)) };
});
