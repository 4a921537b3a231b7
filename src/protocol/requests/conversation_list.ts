import * as shapes from "../shapes";
import { z } from "zod";
import type { ListedConversation } from "../../domain/packets";
import { withImageUrls } from "../../services/avatar-urls";
import { inboxOf } from "../../objects/stubs";
import { dateWindow } from "../fields";
import { authedRequest } from "../request";

const schema = z.strictObject({
  limit: z.number().int().min(1).optional(),
  updated_at: dateWindow.optional(),
  ids: z.array(z.string()).max(10).optional(),
});

const conversationListDoc = {
  summary: "The caller's conversations with last message and unread count, served from their Inbox.",
  reply: z.strictObject({ conversations: z.array(shapes.conversation) }),
  errors: [],
};

export const conversationList = authedRequest("conversation_list", schema, conversationListDoc, async (ctx, params) => {
  const max = ctx.config.conversationPreloadCount;
  const conversations = await inboxOf(ctx.env, ctx.session.organizationId, ctx.session.userId).conversationList({
    limit: Math.min(params.limit ?? max, max),
    gt: params.updated_at?.gt,
    lt: params.updated_at?.lt,
    ids: params.ids,
  });
  // The Inbox builds these views as plain records (inbox-log.ts, conversationList): ListedConversation is their shape.
  return { conversations: await withImageUrls(ctx, ctx.session.organizationId, conversations as ListedConversation[]) };
});
