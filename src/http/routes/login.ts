// POST /login: password, Bearer access token, or the signed refresh cookie → a new access token,
// a rotated refresh cookie and the user. It signs no socket in: the client sends `connect` next.
import { z } from "zod";
import { readCookie, refreshCookieHeader, REFRESH_COOKIE, signCookieValue, unsignCookieValue } from "../../auth/cookie";
import { toPublicUser } from "../../domain/user-view";
import { Errors, SamaError } from "../../domain/errors";
import { deviceId } from "../../protocol/fields";
import { parseParams } from "../../protocol/validation";
import { accessTokenLogin, issueAccessToken, issueRefreshToken, passwordLogin, rotateRefreshToken, type SignedIn } from "../../services/auth";
import { readJsonBody } from "../body";
import { documented } from "../documented";
import { publicUser, withErrors } from "../responses";
import type { ServiceDeps } from "../../services/context";
import { placeSocket } from "../../objects/stubs";
import { serviceDeps, testGateway, type AppContext } from "../types";

const schema = z
  .looseObject({
    device_id: deviceId,
    organization_id: z.string().min(1).optional(),
    login: z.string().optional(),
    password: z.string().optional(),
  })
  .superRefine((body, ctx) => {
    if (body.login !== undefined && body.password !== undefined && body.organization_id === undefined) {
      ctx.addIssue({ code: "custom", message: '"organization_id" is required' });
    }
  });

export function bearerToken(c: AppContext): string | null {
  const header = c.req.header("Authorization") ?? "";
  const match = /^Bearer\s+(\S+)$/i.exec(header);
  return match?.[1] ?? null;
}

export async function refreshCookie(c: AppContext, secret: string): Promise<string | null> {
  const signed = readCookie(c.req.header("Cookie"), REFRESH_COOKIE);
  return signed === null ? null : unsignCookieValue(signed, secret);
}

// SAMA's order: credentials in the body, then the Bearer access token, then the refresh cookie (retired).
async function authenticate(c: AppContext, deps: ServiceDeps, body: z.output<typeof schema>): Promise<SignedIn> {
  const device = body.device_id;
  const cookie = await refreshCookie(c, deps.config.cookieSecret);
  if (body.login !== undefined && body.password !== undefined && body.organization_id !== undefined) {
    return passwordLogin(deps, { organizationId: body.organization_id, login: body.login, password: body.password, deviceId: device });
  }
  const bearer = bearerToken(c);
  if (bearer !== null) {
    try {
      return await accessTokenLogin(deps, bearer, device);
    } catch (err) {
      // An expired access token next to a valid refresh cookie still logs in (the SAMA web app sends both).
      if (cookie === null || !(err instanceof SamaError)) throw err;
    }
  }
  if (cookie !== null) return rotateRefreshToken(deps, cookie, device);
  throw new SamaError(Errors.MISSING_AUTH_CREDENTIALS);
}

export const login = documented({
  method: "post",
  path: "/login",
  tag: "Accounts",
  summary: "Sign in: password, Bearer access token or refresh cookie",
  description:
    "Credentials in the body, else `Authorization: Bearer <access token>`, else the signed `refresh_token` cookie. " +
    "Answers a new access token and sets a new refresh cookie (the presented one is retired). Signs no socket in: " +
    "the client sends `connect` with the token next.",
  body: schema,
  example: { organization_id: "default", login: "alice", password: "secret", device_id: "browser-1" },
  headers: { Authorization: "Bearer <access token> (instead of a password)", Cookie: "refresh_token=<signed refresh token> (instead of a password)" },
  responses: withErrors(
    {
      200: {
        description: "Signed in; Set-Cookie carries the refresh token",
        json: z.object({ user: publicUser, access_token: z.string(), expired_at: z.number().int().meta({ description: "Unix ms" }) }),
      },
    },
    [Errors.DEVICE_ID_MISSED, Errors.MISSING_AUTH_CREDENTIALS, Errors.INCORRECT_LOGIN_OR_PASSWORD, Errors.TOKEN_EXPIRED, Errors.INCORRECT_TOKEN, Errors.TOO_MANY_LOGIN_ATTEMPTS],
  ),
  handle: async (c) => {
    const deps = serviceDeps(c);
    const body = parseParams(schema, await readJsonBody(c));
    const { user, proof } = await authenticate(c, deps, body);
    // Test-only (TEST_HOOKS=1): held between the credential check and the tokens at the named Gateway's latch.
    const held = testGateway(c);
    if (held !== undefined) await placeSocket(c.env, held, 1).testPassCredential();
    // Both issued on what was checked: refused (as it would be now) if it was revoked meanwhile.
    const refresh = await issueRefreshToken(deps, user, body.device_id, proof);
    const access = await issueAccessToken(deps, user, body.device_id, proof);

    const signed = await signCookieValue(refresh.token, deps.config.cookieSecret);
    c.header("Set-Cookie", refreshCookieHeader(signed, deps.config.refreshTokenTtlSeconds));
    c.header("Cache-Control", "no-store");
    return c.json({ user: toPublicUser(user), access_token: access.token, expired_at: access.expiresAt });
  },
});
