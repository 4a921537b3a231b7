// Access and refresh tokens: HS256 JWTs. SAMA clients decode the access token for `_id`.
import { SignJWT, errors, jwtVerify } from "jose";
import { utf8 } from "./encoding";

export type TokenType = "access" | "refresh";

export interface TokenClaims {
  _id: string;
  native_id: string;
  login: string;
  type: TokenType;
  org: string;
  device_id: string;
}

export interface SignedToken {
  token: string;
  /** Unix ms. */
  expiresAt: number;
}

export async function signToken(claims: TokenClaims, secret: string, ttlSeconds: number, nowMs: number): Promise<SignedToken> {
  const iat = Math.floor(nowMs / 1000);
  const exp = iat + ttlSeconds;
  const token = await new SignJWT({ ...claims })
    .setProtectedHeader({ alg: "HS256", typ: "JWT" })
    .setIssuedAt(iat)
    .setExpirationTime(exp)
    .setJti(crypto.randomUUID())
    .sign(utf8(secret));
  return { token, expiresAt: exp * 1000 };
}

function isClaims(payload: Record<string, unknown>, type: TokenType): payload is Record<string, unknown> & TokenClaims {
  return (
    payload.type === type &&
    typeof payload._id === "string" &&
    typeof payload.login === "string" &&
    typeof payload.org === "string" &&
    typeof payload.device_id === "string"
  );
}

/** Claims of a valid, unexpired token of the given type, or null. */
export async function verifyToken(token: string, secret: string, type: TokenType, nowMs: number): Promise<TokenClaims | null> {
  try {
    const { payload } = await jwtVerify(token, utf8(secret), {
      algorithms: ["HS256"],
      currentDate: new Date(nowMs),
    });
    return isClaims(payload, type) ? payload : null;
  } catch (err) {
    if (err instanceof errors.JOSEError) return null;
    throw err;
  }
}

/**
 * A token's unverified `type` and `device_id` claims: only to choose which secret or device to
 * verify it against, never to trust.
 */
export function peekClaims(token: string): { type?: unknown; device_id?: unknown } | null {
  const part = token.split(".")[1];
  if (!part) return null;
  try {
    const json: unknown = JSON.parse(atob(part.replace(/-/g, "+").replace(/_/g, "/")));
    return typeof json === "object" && json !== null ? (json as { type?: unknown; device_id?: unknown }) : null;
  } catch {
    return null;
  }
}
