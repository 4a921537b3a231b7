import * as shapes from "../shapes";
import { z } from "zod";
import { listOnlineUsers } from "../../services/presence";
import { authedRequest } from "../request";

export const onlineListSchema = z.strictObject({
  count: z.boolean().optional(),
  idsOnly: z.boolean().optional(),
  limit: z.number().int().min(1).max(100).optional(),
  offset: z.number().int().min(0).optional(),
});

const onlineListDoc = {
  summary:
    "Online users of the caller's organization: a count, ids, or public user fields (never secrets; email and phone only where the caller already has them).",
  reply: z.union([z.strictObject({ count: z.number().int() }), z.strictObject({ users: z.array(z.string()).meta({ description: "idsOnly: user ids" }) }), z.strictObject({ users: z.array(shapes.publicUser) })]),
  errors: [],
};

export const onlineList = authedRequest("online_list", onlineListSchema, onlineListDoc, (ctx, params) => listOnlineUsers(ctx, ctx.session.organizationId, params, ctx.session));
