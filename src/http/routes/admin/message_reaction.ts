import { z } from "zod";
import { messageReactionsUpdate, messageReactionsUpdateSchema } from "../../../protocol/requests/message_reactions";
import { updateReactions } from "../../../services/messages";
import { documented } from "../../documented";
import { ADMIN_ERRORS, successResponse, withErrors } from "../../responses";
import { organizationId, readActing, senderId } from "./acting";

const schema = z.strictObject({ organizationId, senderId, messageReaction: messageReactionsUpdateSchema });

/** PUT /admin/message/reaction: the `message_reactions_update` request, as `senderId`. */
export const adminMessageReaction = documented({
  method: "put",
  path: "/admin/message/reaction",
  tag: "Admin messages",
  admin: true,
  summary: "Add or remove a reaction as a user",
  description:
    "The WebSocket `message_reactions_update` request on behalf of `senderId`, who must be a participant. " +
    "Participants get `message_reactions_update` when something changed (not in channels, as over the WebSocket).",
  body: schema,
  example: { organizationId: "default", senderId: "<user id>", messageReaction: { mid: "<message id>", add: "👍" } },
  responses: withErrors({ 200: { description: "Updated", json: successResponse } }, [...ADMIN_ERRORS, ...messageReactionsUpdate.doc.errors]),
  handle: async (c) => {
    const { body, actor } = await readActing(c, schema);
    const { mid, add, remove } = body.messageReaction;
    await updateReactions(actor, mid, add ?? null, remove ?? null);
    return c.json({ success: true });
  },
});
