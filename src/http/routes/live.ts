// GET /api/conversations/:cid/live: a receive-only WebSocket attached straight to a channel's
// Conversation object (see src/objects/conversation-live.ts). Browsers cannot set headers on a
// WebSocket, so the access token may come as `?token=`; `Authorization: Bearer` works too. The
// token's own device claim is the device it is checked against, as `connect` does.
import { z } from "zod";
import { peekClaims } from "../../auth/jwt";
import { OBJECT_ID } from "../../domain/object-id";
import { liveRequest } from "../../objects/conversation-live";
import { Errors, SamaError } from "../../domain/errors";
import { authenticateAccessToken } from "../../services/auth";
import { conversationStub } from "../../objects/stubs";
import { documented } from "../documented";
import { withErrors } from "../responses";
import { serviceDeps } from "../types";
import { bearerToken } from "./login";

const UPGRADE_REQUIRED = { status: 426, message: "Expected a WebSocket upgrade." } as const;

export const live = documented({
  method: "get",
  path: "/api/conversations/:cid/live",
  tag: "Channels",
  summary: "Live channel socket",
  description:
    "A WebSocket upgrade: a receive-only socket that gets the channel's posts, edits, deletions and reactions as SAMA packets. Subscribers of a channel only. Errors before the upgrade are JSON.",
  query: z.object({ token: z.string().optional().describe("Access token, when no Authorization header can be sent") }),
  headers: { Upgrade: "websocket", Authorization: "Bearer <access token> (or ?token=)" },
  responses: withErrors({ 101: { description: "Switching protocols: the live socket" } }, [
    UPGRADE_REQUIRED,
    Errors.UNAUTHORIZED,
    Errors.FORBIDDEN,
    Errors.CONVERSATION_NOT_FOUND,
  ]),
  handle: async (c) => {
    if (c.req.header("Upgrade")?.toLowerCase() !== "websocket") throw new SamaError(UPGRADE_REQUIRED);
    const token = bearerToken(c) ?? c.req.query("token") ?? "";
    const deviceId = peekClaims(token)?.device_id;
    if (token === "" || typeof deviceId !== "string") throw new SamaError(Errors.UNAUTHORIZED);
    const user = await authenticateAccessToken(serviceDeps(c), token, deviceId).catch(() => {
      throw new SamaError(Errors.UNAUTHORIZED);
    });
    const cid = c.req.param("cid") ?? "";
    if (!OBJECT_ID.test(cid)) throw new SamaError(Errors.CONVERSATION_NOT_FOUND);
    const res = await conversationStub(c.env, cid).fetch(liveRequest(c.req.raw, user.id, user.organizationId));
    // A refusal comes back with immutable headers; copy it so the CORS middleware can add its own.
    return res.status === 101 ? res : new Response(res.body, res);
  },
});
