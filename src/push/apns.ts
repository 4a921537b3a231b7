// APNs with token-based auth: an ES256 provider JWT {iss: team id, iat} with the key id in `kid`,
// reused for up to 50 minutes (Apple rejects tokens older than an hour and throttles refreshes).
//
// APNs speaks only HTTP/2. A Worker's fetch goes out through Cloudflare, which is not guaranteed to
// reach api.push.apple.com over HTTP/2, so iOS goes through FCM by default (PUSH_IOS_VIA empty or
// "fcm"); set PUSH_IOS_VIA="apns" to send this request directly (see README "Push").
import { SignJWT, importPKCS8 } from "jose";
import type { ApnsConfig, PushConfig } from "./config";
import { byteLength, fitPayload, normalizePayload } from "./payload";
import { REQUEST_TIMEOUT_MS, classifyResponse, responseExcerpt, withRetries, type AttemptResult, type TransportResult } from "./retry";
import type { PushPayload } from "../domain/push-payload";
import type { PushTarget, SendDeps } from "./types";

/** APNs takes 4,096 bytes of JSON for an alert. */
export const APNS_MAX_BODY_BYTES = 4096;
const PROVIDER_TOKEN_MAX_AGE_MS = 50 * 60 * 1000;

export function apnsUrl(apns: ApnsConfig, deviceToken: string): string {
  return `https://${apns.host}/3/device/${encodeURIComponent(deviceToken)}`;
}

const providerTokens = new Map<string, { token: string; issuedAt: number }>();

export function clearApnsTokenCache(): void {
  providerTokens.clear();
}

export async function apnsProviderToken(apns: ApnsConfig, nowMs: number, refresh = false): Promise<string> {
  const cacheKey = `${apns.teamId}\n${apns.keyId}`;
  const cached = providerTokens.get(cacheKey);
  if (cached && !refresh && nowMs - cached.issuedAt < PROVIDER_TOKEN_MAX_AGE_MS) return cached.token;
  const key = await importPKCS8(apns.privateKey, "ES256");
  const token = await new SignJWT({})
    .setProtectedHeader({ alg: "ES256", kid: apns.keyId })
    .setIssuer(apns.teamId)
    .setIssuedAt(Math.floor(nowMs / 1000))
    .sign(key);
  providerTokens.set(cacheKey, { token, issuedAt: nowMs });
  return token;
}

/** The alert body: title and body in `aps.alert`, the rest of the payload as custom keys. */
export function apnsBody(payload: PushPayload): Record<string, unknown> {
  const build = (p: PushPayload): Record<string, unknown> => {
    const { title, body, ...custom } = p;
    const alert: Record<string, string> = {};
    if (title !== undefined) alert.title = title;
    if (body !== undefined) alert.body = body;
    return { aps: { alert, "mutable-content": 1, sound: "default" }, ...custom };
  };
  return build(fitPayload(normalizePayload(payload), (p) => byteLength(JSON.stringify(build(p))), APNS_MAX_BODY_BYTES));
}

export async function sendApns(deps: SendDeps, config: PushConfig, target: PushTarget, payload: PushPayload, sleep: (ms: number) => Promise<void>): Promise<TransportResult> {
  const apns = config.apns;
  if (!apns) return { result: { kind: "skipped", reason: "APNs is not configured" }, attempts: 0 };
  if (!target.deviceToken) return { result: { kind: "fail", reason: "subscription without device_token" }, attempts: 0 };
  const now = deps.now ?? Date.now;
  const body = JSON.stringify(apnsBody(payload));
  const url = apnsUrl(apns, target.deviceToken);
  let refresh = false;
  return withRetries(async (): Promise<AttemptResult> => {
    let token: string;
    try {
      token = await apnsProviderToken(apns, now(), refresh);
    } catch (err) {
      return { kind: "fail", reason: `APNs key: ${err instanceof Error ? err.message : String(err)}` };
    }
    refresh = false;
    const res = await deps.fetch(url, {
      method: "POST",
      headers: {
        authorization: `bearer ${token}`,
        "apns-topic": apns.topic,
        "apns-push-type": "alert",
        "apns-priority": "10",
        "apns-expiration": String(Math.floor(now() / 1000) + config.ttlSeconds),
        "content-type": "application/json",
      },
      body,
      redirect: "manual",
      signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
    });
    if (res.status === 403) {
      const reason = `HTTP 403 ${await responseExcerpt(res)}`.trim();
      if (reason.includes("ExpiredProviderToken")) {
        refresh = true;
        return { kind: "retry", status: 403, reason };
      }
      return { kind: "fail", status: 403, reason };
    }
    return classifyResponse(res, now());
  }, sleep);
}
