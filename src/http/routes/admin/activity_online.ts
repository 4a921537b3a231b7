import { z } from "zod";
import { onlineListSchema } from "../../../protocol/requests/online_list";
import { parseParams } from "../../../protocol/validation";
import { listOnlineUsers } from "../../../services/presence";
import { readJsonBody } from "../../body";
import { documented } from "../../documented";
import { ADMIN_ERRORS, publicUser, withErrors } from "../../responses";
import { serviceDeps } from "../../types";
import { organizationId, requireMember } from "./acting";

const schema = onlineListSchema.extend({
  organizationId,
  userId: z.string().min(1).optional().meta({ description: "Only this user: listed (or counted) when online, else an empty answer" }),
});

const onlineResponse = z.union([
  z.object({ count: z.number().int() }),
  z.object({ users: z.array(z.string()).meta({ description: "With idsOnly" }) }),
  z.object({ users: z.array(publicUser) }),
]);

/** POST /admin/activity/online: the `online_list` request for an organization, or for one user. */
export const adminActivityOnline = documented({
  method: "post",
  path: "/admin/activity/online",
  tag: "Admin",
  admin: true,
  summary: "Online users of an organization, or whether one user is online",
  description:
    "The WebSocket `online_list` request for `organizationId`: a `count`, ids (`idsOnly`) or public user fields, " +
    "most recently online first, with `limit` (1–100) and `offset`. With `userId` the answer covers only that user " +
    "(`{\"count\":1}` or `{\"users\":[…]}` when online, `0` or `[]` when not).",
  body: schema,
  example: { organizationId: "default", idsOnly: true, limit: 10, offset: 0 },
  responses: withErrors({ 200: { description: "The online users", json: onlineResponse } }, ADMIN_ERRORS),
  handle: async (c) => {
    const body = parseParams(schema, await readJsonBody(c));
    const deps = serviceDeps(c);
    await requireMember(deps, body.organizationId, body.userId);
    return c.json(await listOnlineUsers(deps, body.organizationId, body, null));
  },
});
