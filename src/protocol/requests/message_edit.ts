import * as shapes from "../shapes";
import { z } from "zod";
import { editMessage } from "../../services/messages";
import { Errors } from "../../domain/errors";
import { authedRequest } from "../request";
import { samaMessage } from "../validation";
import { MAX_BODY } from "./message";

export const messageEditSchema = z.strictObject({
  // SAMA: without an id the message is not found; an id of the wrong kind is incorrect.
  id: z
    .string({ error: (issue) => (issue.input === undefined ? Errors.MESSAGE_ID_NOT_FOUND.message : Errors.INCORRECT_MESSAGE_ID.message) })
    .min(1, samaMessage(Errors.INCORRECT_MESSAGE_ID)),
  body: z.string(samaMessage(Errors.MESSAGE_BODY_AND_ATTACHMENTS_EMPTY)).min(1).max(MAX_BODY),
});

const messageEditDoc = {
  summary: "Changes the body of the caller's own message.",
  reply: shapes.success,
  errors: [
    Errors.MESSAGE_ID_NOT_FOUND,
    Errors.INCORRECT_MESSAGE_ID,
    Errors.MESSAGE_BODY_AND_ATTACHMENTS_EMPTY,
    Errors.FORBIDDEN,
  ],
};

export const messageEdit = authedRequest("message_edit", messageEditSchema, messageEditDoc, async (ctx, params) => {
  await editMessage(ctx, params.id, params.body);
  return { success: true };
});
