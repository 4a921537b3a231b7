// 24-hex ids shaped like MongoDB ObjectIds (4-byte seconds, 5 random bytes, 3-byte counter), because
// SAMA clients sort and compare ids as time-ordered strings.

export const OBJECT_ID = /^[0-9a-f]{24}$/;

// Workers forbid randomness at global scope, so the per-isolate part is drawn on first use.
let isolateRandom: string | null = null;
let counter = 0;

function hex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

export function newObjectId(nowMs: number = Date.now()): string {
  if (isolateRandom === null) {
    isolateRandom = hex(crypto.getRandomValues(new Uint8Array(5)));
    counter = crypto.getRandomValues(new Uint32Array(1))[0]! & 0xffffff;
  }
  counter = (counter + 1) & 0xffffff;
  const seconds = Math.floor(nowMs / 1000).toString(16).padStart(8, "0");
  return seconds + isolateRandom + counter.toString(16).padStart(6, "0");
}

/** A new id strictly greater than `lastId` (message ids must increase within a conversation). */
export function nextObjectId(lastId: string | null, nowMs: number = Date.now()): string {
  const id = newObjectId(nowMs);
  if (lastId === null || id > lastId) return id;
  return (BigInt(`0x${lastId}`) + 1n).toString(16).padStart(24, "0");
}
