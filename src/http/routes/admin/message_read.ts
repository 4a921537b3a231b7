import { z } from "zod";
import { messageRead, messageReadSchema } from "../../../protocol/requests/message_read";
import { markRead } from "../../../services/messages";
import { documented } from "../../documented";
import { ADMIN_ERRORS, successResponse, withErrors } from "../../responses";
import { organizationId, readActing, senderId } from "./acting";

const schema = z.strictObject({ organizationId, senderId, messageRead: messageReadSchema });

/** PUT /admin/message/read: the `message_read` request, as `senderId` (the reader). */
export const adminMessageRead = documented({
  method: "put",
  path: "/admin/message/read",
  tag: "Admin messages",
  admin: true,
  summary: "Mark messages read as a user",
  description:
    "The WebSocket `message_read` request on behalf of `senderId`, the reader: the listed messages, or without `ids` " +
    "everything unread (up to 100). Each author gets `message_read`. Not in channels.",
  body: schema,
  example: { organizationId: "default", senderId: "<reader id>", messageRead: { cid: "<conversation id>", ids: ["<message id>"] } },
  responses: withErrors({ 200: { description: "Marked", json: successResponse } }, [...ADMIN_ERRORS, ...messageRead.doc.errors]),
  handle: async (c) => {
    const { body, actor } = await readActing(c, schema);
    await markRead(actor, body.messageRead.cid, body.messageRead.ids ?? null);
    return c.json({ success: true });
  },
});
