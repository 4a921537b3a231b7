// POST /logout: needs the Bearer access token and the refresh cookie of the same device (as SAMA),
// then revokes every token of that device and clears the cookie.
import { clearedRefreshCookieHeader } from "../../auth/cookie";
import { peekClaims } from "../../auth/jwt";
import { Errors, SamaError } from "../../domain/errors";
import { authenticateAccessToken, isLiveRefreshToken, revokeDevice } from "../../services/auth";
import { touchRecentActivity } from "../../services/users";
import { documented } from "../documented";
import { successResponse, withErrors } from "../responses";
import { serviceDeps } from "../types";
import { bearerToken, refreshCookie } from "./login";

export const logout = documented({
  method: "post",
  path: "/logout",
  tag: "Accounts",
  summary: "Sign a device out",
  description: "Needs the Bearer access token and the refresh cookie of the same device; revokes every token of that device and signs out its sockets.",
  headers: { Authorization: "Bearer <access token>", Cookie: "refresh_token=<signed refresh token>" },
  responses: withErrors({ 200: { description: "Signed out; the cookie is cleared", json: successResponse } }, [
    Errors.MISSING_AUTH_CREDENTIALS,
    Errors.INCORRECT_TOKEN,
  ]),
  handle: async (c) => {
    const deps = serviceDeps(c);
    const bearer = bearerToken(c);
    const device = bearer === null ? undefined : peekClaims(bearer)?.device_id;
    if (bearer === null || typeof device !== "string") throw new SamaError(Errors.MISSING_AUTH_CREDENTIALS);
    const user = await authenticateAccessToken(deps, bearer, device).catch((err: unknown) => {
      if (err instanceof SamaError) throw new SamaError(Errors.MISSING_AUTH_CREDENTIALS);
      throw err;
    });
    const cookie = await refreshCookie(c, deps.config.cookieSecret);
    if (cookie === null || !(await isLiveRefreshToken(deps, cookie, user.id, device))) {
      throw new SamaError(Errors.INCORRECT_TOKEN);
    }
    await revokeDevice(deps, user, device);
    await touchRecentActivity(deps, user.id);
    c.header("Set-Cookie", clearedRefreshCookieHeader());
    return c.json({ success: true });
  },
});
