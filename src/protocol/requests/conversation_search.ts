import { z } from "zod";
import { searchConversationIds } from "../../services/conversations";
import { date } from "../fields";
import { authedRequest } from "../request";

const schema = z.strictObject({
  name: z.string().min(1).max(255),
  limit: z.number().int().min(1).max(100).optional(),
  updated_at: z.looseObject({ gt: date.optional() }).optional(),
});

const conversationSearchDoc = {
  summary:
    "Ids of conversations by name: the organization's channels (public discovery) and the caller's own conversations.",
  reply: z.strictObject({ conversations: z.array(z.string()).meta({ description: "Conversation ids" }) }),
  errors: [],
};

export const conversationSearch = authedRequest("conversation_search", schema, conversationSearchDoc, async (ctx, params) => {
  const max = ctx.config.conversationPreloadCount;
  const ids = await searchConversationIds(ctx, ctx.session.organizationId, ctx.session.userId, params.name, Math.min(params.limit ?? max, max), params.updated_at?.gt);
  return { conversations: ids };
});
