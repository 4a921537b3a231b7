// What one socket was sent of each conversation's stream, so it never sends a stream packet twice.
// A packet can reach a socket by two ways: straight from its Conversation through the Gateway, and
// from the user's Inbox. The Conversation tells the Inbox which sessions it reached (`liveTo`), but
// sometimes it cannot know: its instance died after the live send and resends the row from storage,
// or a Gateway answered after the deadline and delivered all the same. Dropping the second copy here
// costs the normal path no write, no call and no commit. Memory: 128 bytes (and a Map entry) per
// conversation of the Gateways' path that sent the socket something, at most 8 per socket, so about
// 1.5 KB for a socket in 8 busy large groups (48 MB for a Gateway's 32,000 such sockets); packets of
// the Inboxes' path (1:1, small groups) carry no key and cost nothing here.

import type { Delivery } from "./delivery";

/** A stream packet: its conversation and its fan-out row (row ids only grow within a conversation). */
export interface PacketKey {
  cid: string;
  seq: number;
}

/**
 * The key a delivery's packet travels with: only a row of the Gateways' path (its delivery has
 * `liveTo`) can reach a socket twice; the others (typing, 1:1 and small groups' rows) carry none.
 */
export function packetKey(delivery: Pick<Delivery, "cid" | "seq" | "liveTo">): PacketKey | null {
  return delivery.seq === null || delivery.liveTo === undefined ? null : { cid: delivery.cid, seq: delivery.seq };
}

/** Rows remembered per conversation, counted back from the newest sent (a busy group's last seconds). */
const WINDOW = 1024;
/** Conversations remembered per socket, the least recently sent to forgotten first. */
const CONVERSATIONS = 8;

/** The rows of one conversation sent lately: a ring of bits, one per row, up to `top`. */
class StreamWindow {
  private readonly bits = new Uint32Array(WINDOW / 32);
  private top = Number.NEGATIVE_INFINITY;

  /** Records the row; false when it was recorded already. */
  add(seq: number): boolean {
    if (seq > this.top) {
      if (seq - this.top >= WINDOW) this.bits.fill(0);
      else for (let s = this.top + 1; s < seq; s++) this.flip(s, false);
      this.top = seq;
      this.flip(seq, true);
      return true;
    }
    // Older than the window: not known, so it goes (a duplicate is possible there, a loss never is).
    if (seq <= this.top - WINDOW) return true;
    const i = seq % WINDOW;
    if ((this.bits[i >>> 5]! & (1 << (i & 31))) !== 0) return false;
    this.flip(seq, true);
    return true;
  }

  private flip(seq: number, on: boolean): void {
    const i = seq % WINDOW;
    const bit = 1 << (i & 31);
    this.bits[i >>> 5] = on ? this.bits[i >>> 5]! | bit : this.bits[i >>> 5]! & ~bit;
  }
}

/** One socket's memory of the stream packets it was sent, for the user it is signed in as. */
export class SentPackets {
  private readonly streams = new Map<string, StreamWindow>();
  private user: string | null = null;
  private lastCid: string | null = null;

  /** Whether the packet may go to the socket as `userId`'s: false when it went already (null key: not a stream packet, always). */
  first(userId: string, key: PacketKey | null): boolean {
    if (key === null) return true;
    if (this.user !== userId) {
      // Another user's packets share no rows with what this socket was sent before.
      this.streams.clear();
      this.user = userId;
      this.lastCid = null;
    }
    let window = this.streams.get(key.cid);
    if (key.cid !== this.lastCid) {
      // Most recently sent to last (a Map keeps insertion order): the first is the one to forget.
      if (window) this.streams.delete(key.cid);
      else if (this.streams.size >= CONVERSATIONS) this.streams.delete(this.streams.keys().next().value!);
      window ??= new StreamWindow();
      this.streams.set(key.cid, window);
      this.lastCid = key.cid;
    }
    return window!.add(key.seq);
  }
}
