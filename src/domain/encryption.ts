// End-to-end encryption rules that need no I/O (SAMA-PROTOCOL.md §1.5.11, §3.11).

/** SAMA keeps device key bundles and the messages of encrypted conversations for 30 days. */
export const ENCRYPTION_TTL_MS = 30 * 24 * 3600 * 1000;

/** A device's one-time pre-keys as uploaded: a list, or named keys ({"<key id>": "<key>"}). */
export type OneTimePreKeys = string[] | Record<string, string>;

export interface PreKey {
  keyId: string | null;
  preKey: string;
}

/** Upload order is hand-out order: array order, or the object's key order (integer-like ids ascending, as JavaScript orders them). */
export function preKeysOf(keys: OneTimePreKeys | undefined): PreKey[] {
  if (keys === undefined) return [];
  if (Array.isArray(keys)) return keys.map((preKey) => ({ keyId: null, preKey }));
  return Object.entries(keys).map(([keyId, preKey]) => ({ keyId, preKey }));
}

/** A handed-out pre-key in the form it was uploaded: the key, or {"<key id>": "<key>"}. */
export function preKeyView(key: PreKey): string | Record<string, string> {
  return key.keyId === null ? key.preKey : { [key.keyId]: key.preKey };
}
