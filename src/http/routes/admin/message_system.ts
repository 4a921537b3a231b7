import { z } from "zod";
import * as shapes from "../../../protocol/shapes";
import { systemMessage, systemMessageSchema, systemMessageTarget } from "../../../protocol/requests/system_message";
import { sendSystemMessage } from "../../../services/messages";
import { documented } from "../../documented";
import { ADMIN_ERRORS, withErrors } from "../../responses";
import { organizationId, readActing, senderId } from "./acting";

const schema = z.strictObject({ organizationId, senderId, messageSystem: systemMessageSchema });

const askResponse = z.strictObject({ ask: shapes.systemAsk });

/** POST /admin/message/system: the `system_message` request, as `senderId`. */
export const adminMessageSystem = documented({
  method: "post",
  path: "/admin/message/system",
  tag: "Admin messages",
  admin: true,
  summary: "Send a system message as a user",
  description:
    "The WebSocket `system_message` request on behalf of `senderId`: a custom event (`x`) to a conversation's participants " +
    "(`cid`, the sender must be one) or to up to 20 users of the organization (`uids`). Never stored as a message.",
  body: schema,
  example: { organizationId: "default", senderId: "<user id>", messageSystem: { id: "s1", cid: "<conversation id>", x: { event: "ping" } } },
  responses: withErrors({ 201: { description: "Sent (SAMA answers 201 here)", json: askResponse } }, [...ADMIN_ERRORS, ...systemMessage.doc.errors]),
  handle: async (c) => {
    const { body, actor } = await readActing(c, schema);
    const system = body.messageSystem;
    return c.json({ ask: await sendSystemMessage(actor, system.id, systemMessageTarget(system), system.x) }, 201);
  },
});
