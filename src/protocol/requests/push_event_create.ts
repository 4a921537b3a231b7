// push_event_create (SAMA-PROTOCOL.md §1.5.10): a notification the caller sends to users of its
// organization. Stored in push_events (message = base64 of its JSON) and sent to every subscription
// of every recipient, online or not, as SAMA does. The answer does not wait for the push services:
// sending (with its retries) goes on in the background and never fails the request.
import { z } from "zod";
import * as shapes from "../shapes";
import { pushDeps, pushToUsers } from "../../push";
import type { PushPayload } from "../../domain/push-payload";
import { encodeEventMessage } from "../../push/payload";
import { createPushEvent, pushEventView } from "../../services/push-subscriptions";
import { usersByIds } from "../../services/users";
import { Errors, SamaError } from "../../domain/errors";
import { anyObject } from "../fields";
import { authedRequest } from "../request";

/** Recipients of one event (SAMA has no cap; this bounds the work one frame can start). */
export const MAX_PUSH_RECIPIENTS = 100;

function recipientsOf(value: unknown): string[] {
  if (!Array.isArray(value) || value.length === 0 || value.length > MAX_PUSH_RECIPIENTS) throw new SamaError(Errors.INCORRECT_RECIPIENTS_IDS);
  const ids: string[] = [];
  for (const id of value) {
    if (typeof id === "number" && Number.isFinite(id)) ids.push(String(id));
    else if (typeof id === "string" && id !== "") ids.push(id);
    else throw new SamaError(Errors.INCORRECT_RECIPIENTS_IDS);
  }
  return [...new Set(ids)];
}

/** {title?, topic?, body?, message?}, strings only, nothing else. */
function messageOf(value: unknown): PushPayload {
  if (typeof value !== "object" || value === null || Array.isArray(value)) throw new SamaError(Errors.NOTIFICATION_MESSAGE_MISSED);
  const message: PushPayload = {};
  for (const [key, field] of Object.entries(value)) {
    if (typeof field !== "string") throw new SamaError(Errors.NOTIFICATION_MESSAGE_MISSED);
    if (key === "title") message.title = field;
    else if (key === "topic") message.topic = field;
    else if (key === "body") message.body = field;
    else if (key === "message") message.message = field;
    else throw new SamaError(Errors.NOTIFICATION_MESSAGE_MISSED);
  }
  return message;
}

const pushEventCreateDoc = {
  summary:
    "Sends a notification to users of the organization, online or not. Params: `recipients_ids` (1–100 user ids), `message` ({title?, topic?, body?, message?}, strings).",
  reply: z.strictObject({ event: shapes.pushEvent }),
  errors: [
    Errors.INCORRECT_RECIPIENTS_IDS,
    Errors.NOTIFICATION_MESSAGE_MISSED,
    Errors.RECIPIENTS_NOT_FOUND,
  ],
};

export const pushEventCreate = authedRequest("push_event_create", anyObject, pushEventCreateDoc, async (ctx, params) => {
  const wanted = recipientsOf(params.recipients_ids);
  const message = messageOf(params.message);
  const found = new Set((await usersByIds(ctx, ctx.session.organizationId, wanted)).map((u) => u.id));
  const recipients = wanted.filter((id) => found.has(id));
  if (recipients.length === 0) throw new SamaError(Errors.RECIPIENTS_NOT_FOUND);
  const event = await createPushEvent(ctx, {
    organizationId: ctx.session.organizationId,
    userId: ctx.session.userId,
    userIds: recipients,
    message: encodeEventMessage(message),
  });
  // Not awaited: the push services' latency and retries must not hold this socket's next frames.
  void pushToUsers(pushDeps(ctx.env, ctx.db), ctx.session.organizationId, recipients, message);
  return { event: pushEventView(event) };
});
