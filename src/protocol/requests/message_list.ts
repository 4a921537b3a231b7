import { Errors } from "../../domain/errors";
import * as shapes from "../shapes";
import { z } from "zod";
import type { ListedMessage } from "../../domain/packets";
import { actorOf, conversationFor, unwrap } from "../../services/conversations";
import { cid, dateWindow } from "../fields";
import { authedRequest } from "../request";

const schema = z.strictObject({
  cid,
  limit: z.number().int().min(1).optional(),
  updated_at: dateWindow.optional(),
  ids: z.array(z.string()).max(100).optional(),
});

const messageListDoc = {
  summary:
    "A page of messages, newest first (oldest first after `updated_at.gt`), with status and reactions.",
  reply: z.strictObject({ messages: z.array(shapes.listedMessage) }),
  errors: [Errors.CID_REQUIRED, Errors.CONVERSATION_NOT_FOUND, Errors.FORBIDDEN],
};

export const messageList = authedRequest("message_list", schema, messageListDoc, async (ctx, params) => {
  const max = ctx.config.messagePreloadCount;
  const messages = unwrap(
    await conversationFor(ctx, params.cid).listMessages(actorOf(ctx), {
      limit: Math.min(params.limit ?? max, max),
      gt: params.updated_at?.gt,
      lt: params.updated_at?.lt,
      ids: params.ids,
    }),
  );
  // The RPC stub's type cannot carry `unknown` (a message's `x`); Conversation.listMessages returns ListedMessage[].
  return { messages: messages as ListedMessage[] };
});
