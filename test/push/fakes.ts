// Test-side push machinery: a browser-like Web Push subscription (its own P-256 key pair and auth
// secret), RFC 8291 decryption written here from the RFC (HKDF via crypto.subtle), VAPID header
// checks, and a recording fake fetch for the push services.
import { base64url, importJWK, jwtVerify, type JWTPayload } from "jose";
import { expect } from "vitest";

const encoder = new TextEncoder();
const utf8 = (text: string): Uint8Array<ArrayBuffer> => new Uint8Array(encoder.encode(text));

export interface RecordedRequest {
  url: string;
  method: string;
  headers: Headers;
  body: Uint8Array<ArrayBuffer>;
  text: string;
}

export type FakeAnswer = (request: RecordedRequest, index: number) => Response | Promise<Response>;

/** A fetch that records every request (body copied at once) and answers with `answer`. */
export function fakeFetch(answer: FakeAnswer = () => new Response(null, { status: 201 })) {
  const requests: RecordedRequest[] = [];
  const fetch = async (url: string, init: RequestInit): Promise<Response> => {
    const request = await record(url, init);
    requests.push(request);
    return answer(request, requests.length - 1);
  };
  return { fetch, requests };
}

export async function record(url: string, init: RequestInit | undefined): Promise<RecordedRequest> {
  const body = await bodyBytes(init?.body);
  return {
    url,
    method: (init?.method ?? "GET").toUpperCase(),
    headers: new Headers(init?.headers),
    body,
    text: new TextDecoder().decode(body),
  };
}

async function bodyBytes(body: RequestInit["body"] | undefined): Promise<Uint8Array<ArrayBuffer>> {
  if (body === undefined || body === null) return new Uint8Array(0);
  if (typeof body === "string") return utf8(body);
  if (body instanceof Uint8Array) return new Uint8Array(body); // a copy
  if (body instanceof ArrayBuffer) return new Uint8Array(body.slice(0));
  return new Uint8Array(await new Response(body).arrayBuffer());
}

export interface BrowserSubscription {
  endpoint: string;
  /** base64url, as PushSubscription.toJSON() gives them. */
  p256dh: string;
  auth: string;
  privateKey: CryptoKey;
  publicKeyBytes: Uint8Array<ArrayBuffer>;
  authBytes: Uint8Array<ArrayBuffer>;
}

/** What a browser's PushManager.subscribe() creates: a P-256 ECDH key pair and a 16-byte auth secret. */
export async function browserSubscription(endpoint: string): Promise<BrowserSubscription> {
  const pair = await crypto.subtle.generateKey({ name: "ECDH", namedCurve: "P-256" }, true, ["deriveBits"]);
  if (!("privateKey" in pair)) throw new Error("ECDH generateKey did not return a pair");
  const raw = await crypto.subtle.exportKey("raw", pair.publicKey);
  if (!(raw instanceof ArrayBuffer)) throw new Error("raw export is not an ArrayBuffer");
  const publicKeyBytes = new Uint8Array(raw);
  const authBytes = crypto.getRandomValues(new Uint8Array(16));
  return { endpoint, p256dh: base64url.encode(publicKeyBytes), auth: base64url.encode(authBytes), privateKey: pair.privateKey, publicKeyBytes, authBytes };
}

function concat(...parts: Uint8Array[]): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.byteLength;
  }
  return out;
}

/** HKDF-SHA-256 (extract then expand) with crypto.subtle. */
async function hkdf(salt: Uint8Array<ArrayBuffer>, ikm: Uint8Array<ArrayBuffer>, info: Uint8Array<ArrayBuffer>, bytes: number): Promise<Uint8Array<ArrayBuffer>> {
  const key = await crypto.subtle.importKey("raw", ikm, "HKDF", false, ["deriveBits"]);
  return new Uint8Array(await crypto.subtle.deriveBits({ name: "HKDF", hash: "SHA-256", salt, info }, key, bytes * 8));
}

export interface DecryptedPush {
  plaintext: string;
  recordSize: number;
  /** Plaintext bytes plus padding inside the single record. */
  paddedLength: number;
}

/** RFC 8291 §3.4 + RFC 8188: the user agent's side of aes128gcm. */
export async function decryptAes128gcm(sub: BrowserSubscription, body: Uint8Array<ArrayBuffer>): Promise<DecryptedPush> {
  const salt = body.slice(0, 16);
  const recordSize = new DataView(body.buffer, body.byteOffset + 16, 4).getUint32(0);
  const idLength = body[20] ?? 0;
  const serverPublic = body.slice(21, 21 + idLength);
  const ciphertext = body.slice(21 + idLength);
  expect(idLength).toBe(65);
  expect(ciphertext.byteLength).toBeLessThanOrEqual(recordSize);

  const serverKey = await crypto.subtle.importKey("raw", serverPublic, { name: "ECDH", namedCurve: "P-256" }, false, []);
  const ecdh = { name: "ECDH", public: serverKey };
  const ecdhSecret = new Uint8Array(await crypto.subtle.deriveBits(ecdh, sub.privateKey, 256));
  // key_info = "WebPush: info" || 0x00 || ua_public || as_public
  const keyInfo = concat(utf8("WebPush: info\0"), sub.publicKeyBytes, serverPublic);
  const ikm = await hkdf(sub.authBytes, ecdhSecret, keyInfo, 32);
  const cek = await hkdf(salt, ikm, utf8("Content-Encoding: aes128gcm\0"), 16);
  const nonce = await hkdf(salt, ikm, utf8("Content-Encoding: nonce\0"), 12);
  const aesKey = await crypto.subtle.importKey("raw", cek, "AES-GCM", false, ["decrypt"]);
  const padded = new Uint8Array(await crypto.subtle.decrypt({ name: "AES-GCM", iv: nonce }, aesKey, ciphertext));
  // RFC 8188 §2: the last record ends with 0x02 followed by zero or more zero bytes.
  let end = padded.byteLength - 1;
  while (end >= 0 && padded[end] === 0) end--;
  expect(padded[end]).toBe(0x02);
  return { plaintext: new TextDecoder().decode(padded.slice(0, end)), recordSize, paddedLength: padded.byteLength };
}

/** Checks `vapid t=<jwt>, k=<key>` (RFC 8292): key, signature, aud = origin, exp in (now, now + 24 h], sub. */
export async function verifyVapid(authorization: string | null, expected: { publicKey: string; audience: string; subject: string }): Promise<JWTPayload> {
  const match = /^vapid t=([^,\s]+),\s*k=([A-Za-z0-9_-]+)$/.exec(authorization ?? "");
  if (!match) throw new Error(`not a vapid Authorization header: ${authorization}`);
  const [, jwt = "", k = ""] = match;
  expect(k).toBe(expected.publicKey);
  const point = base64url.decode(k);
  expect(point.byteLength).toBe(65);
  const key = await importJWK({ kty: "EC", crv: "P-256", x: base64url.encode(point.slice(1, 33)), y: base64url.encode(point.slice(33, 65)) }, "ES256");
  const { payload, protectedHeader } = await jwtVerify(jwt, key, { algorithms: ["ES256"], audience: expected.audience });
  expect(protectedHeader.alg).toBe("ES256");
  const now = Math.floor(Date.now() / 1000);
  expect(payload.exp).toBeGreaterThan(now);
  expect(payload.exp).toBeLessThanOrEqual(now + 24 * 3600);
  expect(payload.aud).toBe(expected.audience);
  expect(payload.sub).toBe(expected.subject);
  return payload;
}
