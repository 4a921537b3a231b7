import { z } from "zod";
import { formatUptime } from "../../../domain/server-stats";
import { operatorCounters } from "../../../operator-counters";
import { Errors } from "../../../domain/errors";
import { parseParams } from "../../../protocol/validation";
import { serverStats } from "../../../services/server-stats";
import { documented } from "../../documented";
import { withErrors } from "../../responses";
import { serviceDeps } from "../../types";

const query = z.looseObject({
  format: z.string().optional().meta({ description: "Any non-empty value (as SAMA): `uptime` as text, e.g. \"20m 34s\"" }),
});

const count = (window: string) => z.number().int().meta({ description: `Messages created in the previous completed ${window}` });

const counter = (description: string) => z.number().int().meta({ description });

const countersResponse = z
  .object({
    messages_stored: counter("Messages written by Conversations (sent, system and handler-bot messages)"),
    deliveries: counter("Deliveries Inboxes accepted from the fan-out, one per recipient and message (a resend counts again)"),
    push_sent: counter("Pushes a push service accepted"),
    push_failed: counter("Pushes that failed after their retries (gone subscriptions are removed, not counted)"),
    handler_failures: counter("Conversation-handler runs that failed"),
    request_failures: counter("WebSocket requests and HTTP routes answered with 500"),
    fanout_retries_pending: counter("Fan-out lanes (deliveries to one recipient) that failed and wait for their Conversation's alarm (a gauge)"),
  })
  .meta({ description: "Counted in the isolate that answers, since it started (locally: the whole server; on Cloudflare: what that isolate ran). Reset by a deploy." });

const statsResponse = z.object({
  uptime: z.union([z.number().int(), z.string()]).meta({ description: "Seconds since the running Worker version was uploaded (text with `format`)" }),
  online_users: z.number().int().meta({ description: "Users with at least one signed-in socket, all organizations" }),
  messages_per_minute: count("minute"),
  messages_per_hour: count("hour"),
  messages_per_day: count("UTC day"),
  counters: countersResponse,
});

function snakeCase(c: ReturnType<typeof operatorCounters>): z.infer<typeof countersResponse> {
  return {
    messages_stored: c.messagesStored,
    deliveries: c.deliveries,
    push_sent: c.pushSent,
    push_failed: c.pushFailed,
    handler_failures: c.handlerFailures,
    request_failures: c.requestFailures,
    fanout_retries_pending: c.fanoutRetriesPending,
  };
}

/** Seconds since this Worker version was uploaded: the closest a Worker has to a process start. */
function uptimeSeconds(env: Env, now: number): number {
  return Math.max(0, Math.floor((now - Date.parse(env.CF_VERSION_METADATA.timestamp)) / 1000));
}

/** GET /admin/server-stats: uptime, online users and message counts, and the operator's counters of this isolate. */
export const adminServerStats = documented({
  method: "get",
  path: "/admin/server-stats",
  tag: "Admin",
  admin: true,
  summary: "Uptime, online users, messages per minute, hour and day, and operator counters",
  description:
    "Message counts are the messages stored in the previous completed minute, hour and UTC day, all organizations " +
    "(messages since deleted for everyone are not counted). Uptime counts from the upload of the running Worker version " +
    "(locally: from the start of `wrangler dev`). `counters` (Parley's addition) are counted in the answering isolate since it started.",
  query,
  responses: withErrors({ 200: { description: "The numbers", json: statsResponse } }, [Errors.UNAUTHORIZED]),
  handle: async (c) => {
    const { format } = parseParams(query, c.req.query());
    const deps = serviceDeps(c);
    const stats = await serverStats(deps);
    const uptime = uptimeSeconds(c.env, deps.now);
    return c.json({
      uptime: format ? formatUptime(uptime) : uptime,
      online_users: stats.onlineUsers,
      messages_per_minute: stats.messagesPerMinute,
      messages_per_hour: stats.messagesPerHour,
      messages_per_day: stats.messagesPerDay,
      counters: snakeCase(operatorCounters()),
    });
  },
});
