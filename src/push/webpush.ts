// Web Push: RFC 8291 (aes128gcm) encryption by @block65/webcrypto-web-push's encryptNotification,
// RFC 8292 VAPID signed here with jose. The library's own VAPID helper refuses http endpoints; signing
// here gives one code path for production (https, allow-listed hosts) and for the dev loopback fake.
import { encryptNotification } from "@block65/webcrypto-web-push";
import { SignJWT, base64url, importJWK } from "jose";
import type { PushConfig, VapidConfig } from "./config";
import { checkWebEndpoint } from "./endpoint";
import { byteLength, fitPayload, normalizePayload } from "./payload";
import { REQUEST_TIMEOUT_MS, classifyResponse, withRetries, type TransportResult } from "./retry";
import type { PushPayload } from "../domain/push-payload";
import type { PushTarget, SendDeps } from "./types";

/** The library pads every message to one 4,096-byte record: at most 3,993 bytes of plaintext. */
export const WEB_PUSH_MAX_PLAINTEXT = 3993;
/** VAPID JWT lifetime (RFC 8292 allows at most 24 h). */
export const VAPID_JWT_TTL_SECONDS = 12 * 60 * 60;

/** Accepts base64 or base64url (with or without padding), returns unpadded base64url. */
export function toBase64Url(text: string): string {
  return text.replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

const signingKeys = new Map<string, Promise<CryptoKey>>();

async function importVapidKey(vapid: VapidConfig): Promise<CryptoKey> {
  const point = base64url.decode(toBase64Url(vapid.publicKey));
  if (point.byteLength !== 65 || point[0] !== 0x04) throw new Error("VAPID_PUBLIC_KEY is not an uncompressed P-256 point");
  const key = await importJWK(
    {
      kty: "EC",
      crv: "P-256",
      x: base64url.encode(point.slice(1, 33)),
      y: base64url.encode(point.slice(33, 65)),
      d: toBase64Url(vapid.privateKey),
    },
    "ES256",
  );
  if (!(key instanceof CryptoKey)) throw new Error("VAPID key did not import as a CryptoKey");
  return key;
}

function vapidKey(vapid: VapidConfig): Promise<CryptoKey> {
  const cacheKey = `${vapid.publicKey}.${vapid.privateKey}`;
  let key = signingKeys.get(cacheKey);
  if (!key) {
    key = importVapidKey(vapid);
    key.catch(() => signingKeys.delete(cacheKey));
    signingKeys.set(cacheKey, key);
  }
  return key;
}

/** `vapid t=<ES256 JWT {aud: endpoint origin, exp, sub}>, k=<public key>` (RFC 8292 §3). */
export async function vapidAuthorization(vapid: VapidConfig, endpoint: URL, nowMs: number): Promise<string> {
  const iat = Math.floor(nowMs / 1000);
  const jwt = await new SignJWT({ sub: vapid.subject })
    .setProtectedHeader({ typ: "JWT", alg: "ES256" })
    .setAudience(endpoint.origin)
    .setIssuedAt(iat)
    .setExpirationTime(iat + VAPID_JWT_TTL_SECONDS)
    .sign(await vapidKey(vapid));
  return `vapid t=${jwt}, k=${toBase64Url(vapid.publicKey)}`;
}

/** The plaintext a web subscription receives: the payload's JSON, cut to fit one record. */
export function webPushPlaintext(payload: PushPayload): string {
  const fitted = fitPayload(normalizePayload(payload), (p) => byteLength(JSON.stringify(p)), WEB_PUSH_MAX_PLAINTEXT);
  return JSON.stringify(fitted);
}

export async function sendWebPush(deps: SendDeps, config: PushConfig, target: PushTarget, payload: PushPayload, sleep: (ms: number) => Promise<void>): Promise<TransportResult> {
  const vapid = config.vapid;
  if (!vapid) return { result: { kind: "skipped", reason: "VAPID keys are not configured" }, attempts: 0 };
  if (!target.webEndpoint || !target.webKeyAuth || !target.webKeyP256dh) {
    return { result: { kind: "fail", reason: "web subscription without endpoint or keys" }, attempts: 0 };
  }
  const check = checkWebEndpoint(target.webEndpoint, config);
  if (!check.ok) return { result: { kind: "skipped", reason: check.reason }, attempts: 0 };

  const now = deps.now ?? Date.now;
  let body: Uint8Array<ArrayBuffer>;
  try {
    body = await encryptNotification(
      { endpoint: target.webEndpoint, expirationTime: null, keys: { auth: target.webKeyAuth, p256dh: target.webKeyP256dh } },
      new TextEncoder().encode(webPushPlaintext(payload)),
    );
  } catch (err) {
    return { result: { kind: "fail", reason: `cannot encrypt for this subscription: ${err instanceof Error ? err.message : String(err)}` }, attempts: 0 };
  }
  let authorization: string;
  try {
    authorization = await vapidAuthorization(vapid, check.url, now());
  } catch (err) {
    return { result: { kind: "fail", reason: `cannot sign VAPID: ${err instanceof Error ? err.message : String(err)}` }, attempts: 0 };
  }
  const url = check.url.href;
  return withRetries(async () => {
    const res = await deps.fetch(url, {
      method: "POST",
      headers: {
        Authorization: authorization,
        TTL: String(config.ttlSeconds),
        Urgency: "high",
        "Content-Encoding": "aes128gcm",
        "Content-Type": "application/octet-stream",
      },
      body,
      redirect: "manual",
      signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
    });
    return classifyResponse(res, now());
  }, sleep);
}
