// FCM HTTP v1 (Android, and iOS by default). The OAuth2 access token comes from a service-account
// JWT (RS256, signed with jose) exchanged at the account's token_uri, and is cached until five minutes
// before it expires (per isolate; one exchange in flight at a time).
import { SignJWT, importPKCS8 } from "jose";
import type { FcmServiceAccount, PushConfig } from "./config";
import { byteLength, fitPayload, normalizePayload } from "./payload";
import { REQUEST_TIMEOUT_MS, classifyResponse, responseExcerpt, withRetries, type AttemptResult, type TransportResult } from "./retry";
import type { PushPayload } from "../domain/push-payload";
import type { FetchLike, PushTarget, SendDeps } from "./types";

export const FCM_SCOPE = "https://www.googleapis.com/auth/firebase.messaging";
export const FCM_JWT_TTL_SECONDS = 3600;
/** FCM takes 4,096 bytes of notification + data; keep a margin for what it counts differently. */
export const FCM_MAX_MESSAGE_BYTES = 4000;
const TOKEN_REFRESH_MARGIN_MS = 5 * 60 * 1000;

export function fcmSendUrl(projectId: string): string {
  return `https://fcm.googleapis.com/v1/projects/${encodeURIComponent(projectId)}/messages:send`;
}

interface CachedToken {
  token: string;
  expiresAt: number;
}

const tokens = new Map<string, Promise<CachedToken>>();

/** Forgets cached access tokens (tests, or after a credential change). */
export function clearFcmTokenCache(): void {
  tokens.clear();
}

class TokenError extends Error {
  constructor(
    message: string,
    readonly retriable: boolean,
  ) {
    super(message);
  }
}

/** The signed service-account assertion (RFC 7523) that buys an access token. */
export async function serviceAccountAssertion(account: FcmServiceAccount, nowMs: number): Promise<string> {
  const key = await importPKCS8(account.privateKey, "RS256");
  const iat = Math.floor(nowMs / 1000);
  const header: { alg: "RS256"; typ: "JWT"; kid?: string } = { alg: "RS256", typ: "JWT" };
  if (account.privateKeyId) header.kid = account.privateKeyId;
  return new SignJWT({ scope: FCM_SCOPE })
    .setProtectedHeader(header)
    .setIssuer(account.clientEmail)
    .setAudience(account.tokenUri)
    .setIssuedAt(iat)
    .setExpirationTime(iat + FCM_JWT_TTL_SECONDS)
    .sign(key);
}

async function exchangeToken(fetch: FetchLike, account: FcmServiceAccount, nowMs: number): Promise<CachedToken> {
  let assertion: string;
  try {
    assertion = await serviceAccountAssertion(account, nowMs);
  } catch (err) {
    throw new TokenError(`cannot sign the service-account JWT: ${err instanceof Error ? err.message : String(err)}`, false);
  }
  const res = await fetch(account.tokenUri, {
    method: "POST",
    headers: { "Content-Type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ grant_type: "urn:ietf:params:oauth:grant-type:jwt-bearer", assertion }).toString(),
    redirect: "manual",
    signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
  });
  if (!res.ok) {
    const retriable = res.status === 429 || res.status >= 500;
    throw new TokenError(`token exchange answered HTTP ${res.status} ${await responseExcerpt(res)}`.trim(), retriable);
  }
  const json: unknown = await res.json();
  const record = typeof json === "object" && json !== null ? (json as Record<string, unknown>) : {};
  const token = record.access_token;
  const expiresIn = typeof record.expires_in === "number" ? record.expires_in : 3600;
  if (typeof token !== "string" || token === "") throw new TokenError("token exchange answered without access_token", false);
  return { token, expiresAt: nowMs + Math.max(60_000, expiresIn * 1000 - TOKEN_REFRESH_MARGIN_MS) };
}

/** A valid access token: the cached one, or a fresh exchange (shared by concurrent callers). */
export async function fcmAccessToken(fetch: FetchLike, account: FcmServiceAccount, nowMs: number, refresh = false): Promise<string> {
  const cacheKey = `${account.clientEmail}\n${account.privateKeyId ?? ""}\n${account.tokenUri}`;
  const cached = tokens.get(cacheKey);
  if (cached && !refresh) {
    const hit = await cached.catch(() => null);
    if (hit && hit.expiresAt > nowMs) return hit.token;
    if (tokens.get(cacheKey) !== cached) return fcmAccessToken(fetch, account, nowMs); // someone refreshed meanwhile
  }
  const pending = exchangeToken(fetch, account, nowMs);
  tokens.set(cacheKey, pending);
  pending.catch(() => {
    if (tokens.get(cacheKey) === pending) tokens.delete(cacheKey);
  });
  return (await pending).token;
}

function dataOf(payload: PushPayload): Record<string, string> {
  const data: Record<string, string> = {};
  for (const [key, value] of Object.entries(payload)) {
    if (typeof value === "string") data[key] = value;
    else if (typeof value === "boolean") data[key] = String(value);
  }
  return data;
}

/** The HTTP v1 message for a device token: a visible notification plus the payload as string data. */
export function fcmMessage(target: PushTarget, payload: PushPayload): { message: Record<string, unknown> } {
  const build = (p: PushPayload): Record<string, unknown> => {
    const notification: Record<string, string> = {};
    if (p.title !== undefined) notification.title = p.title;
    if (p.body !== undefined) notification.body = p.body;
    return Object.keys(notification).length > 0 ? { notification, data: dataOf(p) } : { data: dataOf(p) };
  };
  const fitted = fitPayload(normalizePayload(payload), (p) => byteLength(JSON.stringify(build(p))), FCM_MAX_MESSAGE_BYTES);
  const message: Record<string, unknown> = { token: target.deviceToken, ...build(fitted) };
  if (target.platform === "android") message.android = { priority: "high" };
  if (target.platform === "ios") {
    message.apns = { headers: { "apns-push-type": "alert", "apns-priority": "10" }, payload: { aps: { "mutable-content": 1, sound: "default" } } };
  }
  return { message };
}

export async function sendFcm(deps: SendDeps, config: PushConfig, target: PushTarget, payload: PushPayload, sleep: (ms: number) => Promise<void>): Promise<TransportResult> {
  const account = config.fcm;
  if (!account) return { result: { kind: "skipped", reason: "FCM is not configured" }, attempts: 0 };
  if (!target.deviceToken) return { result: { kind: "fail", reason: "subscription without device_token" }, attempts: 0 };
  const now = deps.now ?? Date.now;
  const body = JSON.stringify(fcmMessage(target, payload));
  const url = fcmSendUrl(account.projectId);
  let refresh = false;
  return withRetries(async (): Promise<AttemptResult> => {
    let token: string;
    try {
      token = await fcmAccessToken(deps.fetch, account, now(), refresh);
    } catch (err) {
      const reason = `FCM auth: ${err instanceof Error ? err.message : String(err)}`;
      return err instanceof TokenError && !err.retriable ? { kind: "fail", reason } : { kind: "retry", reason };
    }
    refresh = false;
    const res = await deps.fetch(url, {
      method: "POST",
      headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json" },
      body,
      redirect: "manual",
      signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
    });
    if (res.status === 401) {
      // A revoked or expired access token: exchange a new one on the next attempt.
      refresh = true;
      return { kind: "retry", status: 401, reason: `HTTP 401 ${await responseExcerpt(res)}`.trim() };
    }
    if (res.status === 404) {
      // Only a token FCM calls UNREGISTERED is deleted: a wrong project id must not wipe every subscription.
      const text = await res.text().catch(() => "");
      const reason = `HTTP 404 ${text.replace(/\s+/g, " ").slice(0, 200)}`.trim();
      return text.includes("UNREGISTERED") ? { kind: "gone", status: 404, reason } : { kind: "fail", status: 404, reason };
    }
    return classifyResponse(res, now());
  }, sleep);
}
