import { z } from "zod";
import * as shapes from "../../../protocol/shapes";
import { message, messageSchema, sendInputOf } from "../../../protocol/requests/message";
import { sendMessage } from "../../../services/messages";
import { documented } from "../../documented";
import { ADMIN_ERRORS, withErrors } from "../../responses";
import { organizationId, readActing, senderId } from "./acting";

const schema = z.strictObject({ organizationId, senderId, message: messageSchema });

const askResponse = z.strictObject({ ask: shapes.ask });

/** POST /admin/message: the `message` request, sent as `senderId`. */
export const adminMessage = documented({
  method: "post",
  path: "/admin/message",
  tag: "Admin messages",
  admin: true,
  summary: "Send a message as a user",
  description:
    "The WebSocket `message` request on behalf of `senderId`, with its rules: the sender must be a participant " +
    "(an owner or admin in a channel), a block in a private chat refuses it, a repeated `message.id` returns the first `ask`. " +
    "The message is delivered live to every participant's devices, the sender's included.",
  body: schema,
  example: { organizationId: "default", senderId: "<user id>", message: { id: "m1", cid: "<conversation id>", body: "hi" } },
  responses: withErrors({ 201: { description: "Stored (SAMA answers 201 here)", json: askResponse } }, [...ADMIN_ERRORS, ...message.doc.errors]),
  handle: async (c) => {
    const { body, actor } = await readActing(c, schema);
    return c.json({ ask: await sendMessage(actor, body.message.cid, sendInputOf(body.message)) }, 201);
  },
});
