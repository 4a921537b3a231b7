import { z } from "zod";
import { messageEdit, messageEditSchema } from "../../../protocol/requests/message_edit";
import { editMessage } from "../../../services/messages";
import { documented } from "../../documented";
import { ADMIN_ERRORS, successResponse, withErrors } from "../../responses";
import { organizationId, readActing, senderId } from "./acting";

const schema = z.strictObject({ organizationId, senderId, messageEdit: messageEditSchema });

/** PUT /admin/message: the `message_edit` request, as `senderId`. */
export const adminMessageEdit = documented({
  method: "put",
  path: "/admin/message",
  tag: "Admin messages",
  admin: true,
  summary: "Edit a message as its author",
  description:
    "The WebSocket `message_edit` request on behalf of `senderId`: only the author edits, only while a participant. " +
    "Participants' devices get `message_edit`.",
  body: schema,
  example: { organizationId: "default", senderId: "<user id>", messageEdit: { id: "<message id>", body: "new text" } },
  responses: withErrors({ 200: { description: "Edited", json: successResponse } }, [...ADMIN_ERRORS, ...messageEdit.doc.errors]),
  handle: async (c) => {
    const { body, actor } = await readActing(c, schema);
    await editMessage(actor, body.messageEdit.id, body.messageEdit.body);
    return c.json({ success: true });
  },
});
