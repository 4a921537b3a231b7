import { z } from "zod";
import { messageDelete, messageDeleteSchema } from "../../../protocol/requests/message_delete";
import { deleteMessages } from "../../../services/messages";
import { documented } from "../../documented";
import { ADMIN_ERRORS, successResponse, withErrors } from "../../responses";
import { organizationId, readActing, senderId } from "./acting";

const schema = z.strictObject({ organizationId, senderId, messageDelete: messageDeleteSchema });

/** DELETE /admin/message: the `message_delete` request, as `senderId`. */
export const adminMessageDelete = documented({
  method: "delete",
  path: "/admin/message",
  tag: "Admin messages",
  admin: true,
  summary: "Delete messages as a user",
  description:
    "The WebSocket `message_delete` request on behalf of `senderId`: `myself` hides the messages from that user, " +
    "`all` deletes them for everyone and is allowed for the author, or an owner or admin of a group or channel. Unknown ids are ignored.",
  body: schema,
  example: { organizationId: "default", senderId: "<user id>", messageDelete: { cid: "<conversation id>", ids: ["<message id>"], type: "all" } },
  responses: withErrors({ 200: { description: "Deleted", json: successResponse } }, [...ADMIN_ERRORS, ...messageDelete.doc.errors]),
  handle: async (c) => {
    const { body, actor } = await readActing(c, schema);
    await deleteMessages(actor, body.messageDelete.cid, body.messageDelete.ids, body.messageDelete.type);
    return c.json({ success: true });
  },
});
