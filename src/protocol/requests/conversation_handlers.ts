import * as shapes from "../shapes";
import { z } from "zod";
import { MAX_HANDLER_CODE } from "../../handlers/budgets";
import { conversationFor } from "../../services/conversations";
import { botUserId, deleteHandler, findHandler, requireOwnedConversation, saveHandler } from "../../services/conversation-handlers";
import { Errors, SamaError } from "../../domain/errors";
import { authedRequest } from "../request";

// SAMA validates `cid` with Joi's own messages here ("\"cid\" is required"), not with CID_REQUIRED.
const byCid = z.strictObject({ cid: z.string() });
const withContent = z.strictObject({ cid: z.string(), content: z.string().max(MAX_HANDLER_CODE) });

const conversationHandlerCreateDoc = {
  summary:
    "Creates or replaces the conversation's handler (owner only); the Conversation object gets its copy.",
  reply: shapes.success,
  errors: [Errors.BAD_REQUEST, Errors.FORBIDDEN],
};

export const conversationHandlerCreate = authedRequest("conversation_handler_create", withContent, conversationHandlerCreateDoc, async (ctx, params) => {
  const conversation = conversationFor(ctx, params.cid, Errors.BAD_REQUEST);
  await requireOwnedConversation(ctx, params.cid);
  const org = ctx.session.organizationId;
  await saveHandler(ctx, org, params.cid, params.content, ctx.session.userId);
  await conversation.configureHandler({ content: params.content, botId: await botUserId(ctx, org), version: ctx.now });
  return { success: true };
});

const getConversationHandlerDoc = {
  summary: "The conversation's handler code (owner only).",
  reply: z.strictObject({ conversation_handler: shapes.conversationHandler }),
  errors: [Errors.BAD_REQUEST, Errors.FORBIDDEN, Errors.HANDLER_NOT_FOUND],
};

export const getConversationHandler = authedRequest("get_conversation_handler", byCid, getConversationHandlerDoc, async (ctx, params) => {
  conversationFor(ctx, params.cid, Errors.BAD_REQUEST);
  await requireOwnedConversation(ctx, params.cid);
  const handler = await findHandler(ctx, params.cid);
  if (!handler) throw new SamaError(Errors.HANDLER_NOT_FOUND);
  return {
    conversation_handler: {
      content: handler.content,
      updated_by: handler.updatedBy,
      updated_at: new Date(handler.updatedAt).toISOString(),
      // Parley's addition: when the handler was switched off after repeated failures.
      ...(handler.disabledAt !== null ? { disabled_at: new Date(handler.disabledAt).toISOString() } : {}),
    },
  };
});

const conversationHandlerDeleteDoc = {
  summary: "Removes the conversation's handler (owner only).",
  reply: shapes.success,
  errors: [Errors.BAD_REQUEST, Errors.FORBIDDEN, Errors.HANDLER_NOT_FOUND],
};

export const conversationHandlerDelete = authedRequest("conversation_handler_delete", byCid, conversationHandlerDeleteDoc, async (ctx, params) => {
  const conversation = conversationFor(ctx, params.cid, Errors.BAD_REQUEST);
  await requireOwnedConversation(ctx, params.cid);
  if (!(await deleteHandler(ctx, params.cid))) throw new SamaError(Errors.HANDLER_NOT_FOUND);
  await conversation.configureHandler(null);
  return { success: true };
});
