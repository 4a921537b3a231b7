import { z } from "zod";
import { listOnlineUsers } from "../../services/presence";
import { authedRequest } from "../request";

export const onlineListSchema = z.strictObject({
  count: z.boolean().optional(),
  idsOnly: z.boolean().optional(),
  limit: z.number().int().min(1).max(100).optional(),
  offset: z.number().int().min(0).optional(),
});

/** Online users of the caller's organization: a count, ids, or public user fields (never secrets; email and phone: see asSeenBy). */
export const onlineList = authedRequest("online_list", onlineListSchema, (ctx, params) => listOnlineUsers(ctx, ctx.session.organizationId, params, ctx.session));
