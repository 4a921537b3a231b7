// The refresh-token cookie, signed the way SAMA's cookie-parser does ("s:" + value + "." +
// base64 HMAC-SHA256 without padding), so cookies issued by either server are understood.
import { safeEqual, toBase64, utf8 } from "./encoding";

export const REFRESH_COOKIE = "refresh_token";

async function signature(value: string, secret: string): Promise<string> {
  const key = await crypto.subtle.importKey("raw", utf8(secret), { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
  return toBase64(await crypto.subtle.sign("HMAC", key, utf8(value))).replace(/=+$/, "");
}

export async function signCookieValue(value: string, secret: string): Promise<string> {
  return `s:${value}.${await signature(value, secret)}`;
}

/** The value inside a signed cookie, or null if it is unsigned or the signature is wrong. */
export async function unsignCookieValue(signed: string, secret: string): Promise<string | null> {
  if (!signed.startsWith("s:")) return null;
  const body = signed.slice(2);
  const dot = body.lastIndexOf(".");
  if (dot <= 0) return null;
  const value = body.slice(0, dot);
  return safeEqual(body.slice(dot + 1), await signature(value, secret)) ? value : null;
}

export function readCookie(header: string | null | undefined, name: string): string | null {
  if (!header) return null;
  for (const part of header.split(";")) {
    const eq = part.indexOf("=");
    if (eq < 0) continue;
    if (part.slice(0, eq).trim() !== name) continue;
    const raw = part.slice(eq + 1).trim();
    try {
      return decodeURIComponent(raw);
    } catch {
      return raw;
    }
  }
  return null;
}

export function refreshCookieHeader(signedValue: string, maxAgeSeconds: number): string {
  return `${REFRESH_COOKIE}=${encodeURIComponent(signedValue)}; Max-Age=${maxAgeSeconds}; Path=/; HttpOnly; Secure; SameSite=Lax`;
}

export function clearedRefreshCookieHeader(): string {
  return `${REFRESH_COOKIE}=; Max-Age=0; Path=/; HttpOnly; Secure; SameSite=Lax`;
}
