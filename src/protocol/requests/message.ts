import * as shapes from "../shapes";
import { z } from "zod";
import { ATTACHMENT_LIMITS, MAX_BODY } from "../../domain/message";
import type { SendInput } from "../../domain/conversation-calls";
import { sendMessage } from "../../services/messages";
import { Errors } from "../../domain/errors";
import { cid } from "../fields";
import { authedSend } from "../request";
import { samaMessage } from "../validation";

export { MAX_BODY };

const bodyOrAttachments = samaMessage(Errors.MESSAGE_BODY_AND_ATTACHMENTS_EMPTY);

// Every problem inside an attachment is reported with SAMA's one message for attachments.
const text = (max: number) => z.string(bodyOrAttachments).max(max).optional();
const size = (max: number) => z.number(bodyOrAttachments).max(max).optional();
const attachment = z.looseObject(
  {
    file_id: text(ATTACHMENT_LIMITS.file_id),
    file_url: text(ATTACHMENT_LIMITS.file_url),
    file_name: text(ATTACHMENT_LIMITS.file_name),
    file_blur_hash: text(ATTACHMENT_LIMITS.file_blur_hash),
    file_content_type: text(ATTACHMENT_LIMITS.file_content_type),
    file_size: size(ATTACHMENT_LIMITS.file_size),
    file_width: size(ATTACHMENT_LIMITS.file_width),
    file_height: size(ATTACHMENT_LIMITS.file_height),
  },
  bodyOrAttachments,
);

export const messageSchema = z
  .strictObject({
    id: z.string(samaMessage(Errors.INCORRECT_MESSAGE_ID)).min(1).optional(),
    cid,
    body: z.string(bodyOrAttachments).max(MAX_BODY).optional(),
    attachments: z.array(attachment, bodyOrAttachments).min(1).optional(),
    x: z.looseObject({}).optional(),
    replied_message_id: z.string().optional(),
    forwarded_message_id: z.string().optional(),
    deleted_for: z.array(z.string()).max(100).optional(),
    encrypted_message_type: z.number().int().optional(),
  })
  .superRefine((p, ctx) => {
    if (p.body === undefined && p.attachments === undefined) {
      ctx.addIssue({ code: "custom", message: '"value" must contain at least one of [body, attachments]' });
    }
  });

/** The message as the Conversation object stores it (the admin API sends the same params). */
export function sendInputOf(params: z.output<typeof messageSchema>): SendInput {
  return {
    clientId: params.id ?? null,
    body: params.body ?? null,
    attachments: params.attachments ?? null,
    x: params.x ?? {},
    repliedMessageId: params.replied_message_id ?? null,
    forwardedMessageId: params.forwarded_message_id ?? null,
    encryptedMessageType: params.encrypted_message_type ?? null,
    deletedFor: params.deleted_for ?? [],
  };
}

const messageDoc = {
  summary:
    "Sends a message; answered with `ask` once it is stored. A repeated client id returns the first `ask`.",
  reply: z.strictObject({ ask: shapes.ask }),
  errors: [
    Errors.INCORRECT_MESSAGE_ID,
    Errors.CID_REQUIRED,
    Errors.MESSAGE_BODY_AND_ATTACHMENTS_EMPTY,
    Errors.CONVERSATION_NOT_FOUND,
    Errors.FORBIDDEN,
    Errors.USER_BLOCKED,
    Errors.INCORRECT_REPLY_MESSAGE_ID,
    Errors.HANDLER_FAILED,
    Errors.INCORRECT_TYPE_OF_BODY,
    Errors.INVALID_ATTACHMENT_FIELDS,
    Errors.MESSAGE_BLOCKED_BY_HANDLER,
  ],
};

export const message = authedSend("message", messageSchema, messageDoc, async (ctx, params) => ({
  ask: await sendMessage(ctx, params.cid, sendInputOf(params)),
}));
