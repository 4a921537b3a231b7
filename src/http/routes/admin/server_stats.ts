import { z } from "zod";
import { formatUptime } from "../../../domain/server-stats";
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

const statsResponse = z.object({
  uptime: z.union([z.number().int(), z.string()]).meta({ description: "Seconds since the running Worker version was uploaded (text with `format`)" }),
  online_users: z.number().int().meta({ description: "Users with at least one signed-in socket, all organizations" }),
  messages_per_minute: count("minute"),
  messages_per_hour: count("hour"),
  messages_per_day: count("UTC day"),
});

/** Seconds since this Worker version was uploaded: the closest a Worker has to a process start. */
function uptimeSeconds(env: Env, now: number): number {
  return Math.max(0, Math.floor((now - Date.parse(env.CF_VERSION_METADATA.timestamp)) / 1000));
}

/** GET /admin/server-stats: uptime, online users and message counts. */
export const adminServerStats = documented({
  method: "get",
  path: "/admin/server-stats",
  tag: "Admin",
  admin: true,
  summary: "Uptime, online users and messages per minute, hour and day",
  description:
    "Message counts are the messages stored in the previous completed minute, hour and UTC day, all organizations " +
    "(messages since deleted for everyone are not counted). Uptime counts from the upload of the running Worker version " +
    "(locally: from the start of `wrangler dev`).",
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
    });
  },
});
