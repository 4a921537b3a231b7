import { z } from "zod";
import { toPublicUser } from "../../domain/user-view";
import { onlineCount, onlineUsers } from "../../services/presence";
import { authedRequest } from "../request";

const schema = z.strictObject({
  count: z.boolean().optional(),
  idsOnly: z.boolean().optional(),
  limit: z.number().int().min(1).max(100).optional(),
  offset: z.number().int().min(0).optional(),
});

/** Online users of the caller's organization: a count, ids, or public user fields (never secrets). */
export const onlineList = authedRequest("online_list", schema, async (ctx, params) => {
  const org = ctx.session.organizationId;
  if (params.count) return { count: await onlineCount(ctx, org) };
  const users = await onlineUsers(ctx, org, params.limit ?? 100, params.offset ?? 0);
  return { users: params.idsOnly ? users.map((u) => u.id) : users.map(toPublicUser) };
});
