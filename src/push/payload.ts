// Push payloads: SAMA's normalisation, and cutting to a service's size limit. A long text is truncated
// (on a code point, with "…"), never rejected: body first, then the push_event `message`, the title
// and the topic; the attachment URL is dropped only if the texts alone cannot make it fit.
import { toBase64, utf8 } from "../auth/encoding";
import type { PushPayload } from "../domain/push-payload";

const ELLIPSIS = "…";
const TEXT_FIELDS = ["body", "message", "title", "topic"] as const;
type TextField = (typeof TEXT_FIELDS)[number];

const encoder = new TextEncoder();

export function byteLength(text: string): number {
  return encoder.encode(text).byteLength;
}

/** A copy with only the set fields; an encrypted message's body becomes "New message" (as SAMA's daemon does). */
export function normalizePayload(payload: PushPayload): PushPayload {
  const out: PushPayload = {};
  if (payload.title !== undefined) out.title = payload.title;
  if (payload.body !== undefined) out.body = payload.body;
  if (payload.cid !== undefined) out.cid = payload.cid;
  if (payload.firstAttachmentUrl !== undefined) out.firstAttachmentUrl = payload.firstAttachmentUrl;
  if (payload.is_encrypted !== undefined) out.is_encrypted = payload.is_encrypted;
  if (payload.topic !== undefined) out.topic = payload.topic;
  if (payload.message !== undefined) out.message = payload.message;
  if (out.is_encrypted === true && out.body !== undefined) out.body = "New message";
  return out;
}

function withText(payload: PushPayload, field: TextField, value: string): PushPayload {
  const next = { ...payload };
  next[field] = value;
  return next;
}

/**
 * The payload, cut until `size(payload) <= limit`. `size` measures the transport's own encoding
 * (the Web Push plaintext, the FCM message, the APNs body), so each service gets the most it takes.
 */
export function fitPayload(payload: PushPayload, size: (p: PushPayload) => number, limit: number): PushPayload {
  let current = payload;
  if (size(current) <= limit) return current;
  for (const field of TEXT_FIELDS) {
    const text = current[field];
    if (text === undefined || text === "") continue;
    const chars = Array.from(text);
    const cut = (n: number) => withText(current, field, chars.slice(0, n).join("") + ELLIPSIS);
    if (size(cut(0)) > limit) {
      current = withText(current, field, "");
      continue;
    }
    // Largest prefix that fits: size is monotonic in the prefix length.
    let lo = 0;
    let hi = chars.length - 1;
    while (lo < hi) {
      const mid = Math.ceil((lo + hi) / 2);
      if (size(cut(mid)) <= limit) lo = mid;
      else hi = mid - 1;
    }
    return cut(lo);
  }
  if (current.firstAttachmentUrl) current = { ...current, firstAttachmentUrl: null };
  return current;
}

/** SAMA stores push_events.message as base64 of the payload's JSON (UTF-8). */
export function encodeEventMessage(message: object): string {
  return toBase64(utf8(JSON.stringify(message)));
}
