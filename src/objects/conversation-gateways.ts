// The Conversation's live path for packets with many recipients: the packet goes straight to the
// recipients' sessions, one call per Gateway holding any of them (a guild sends once per gateway, not
// once per session), and their Inboxes are told behind it (conversation-fanout.ts). Where a user's
// sessions are, the user's Inbox says: each answer names them when they differ from the sessions
// the Conversation sent to. A user it knows nothing about yet gets the packet through the Inbox.
//
// Each Gateway has one call in flight; what arrives meanwhile waits and goes in the next call, so
// under load one call carries many packets. A session a Gateway did not reach (closed, signed out)
// or a call that failed or did not answer in time is taken out of the sessions a delivery claims
// were reached, so the Inbox, told behind, forwards the packet there itself, and the user's sessions
// are asked for again. The Inbox is told only once the packet's calls have settled (LiveCall): told
// earlier, it would skip a session the Gateway then fails to reach.
import type { Delivery } from "../domain/delivery";
import { packetKey } from "../domain/sent-packets";
import { logError } from "../log";
import { EXPIRED, SharedDeadline } from "./deadline";
import { StubCache, parseSessionAddress, sessionAddress, type GatewayStub, type SocketBatch, type SocketTarget } from "./stubs";

/** Delivered messages remembered, so a message's other Gateways' answers cost nothing (a busy group's last few seconds). */
const COUNTED_KEPT = 2000;
/**
 * A Gateway that has not answered within half to all of this counts as failed for what it was sent
 * (the Inboxes forward it; should it answer later, a socket that got the packet both ways sends it
 * once: domain/sent-packets.ts), so the recipients' lanes, which wait for the answer, are not held for long.
 */
const LIVE_TIMEOUT_MS = 5000;

/**
 * A packet's live calls, one per Gateway it went to. Settled once each Gateway answered, failed or
 * ran out of time: its deliveries' `liveTo` then names only sessions a Gateway reached.
 */
export class LiveCall {
  private pending = 0;
  private waiters: Array<() => void> = [];

  get settled(): boolean {
    return this.pending === 0;
  }

  /** Runs `then` once settled (at once if it is). */
  whenSettled(then: () => void): void {
    if (this.pending === 0) then();
    else this.waiters.push(then);
  }

  add(): void {
    this.pending++;
  }

  /** One Gateway's call settled: true when it was the last (then `wake` runs the waiters). */
  answered(): boolean {
    return --this.pending === 0;
  }

  wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const then of waiters) {
      // One waiter's failure must not leave the others' lanes blocked until the alarm.
      try {
        then();
      } catch (err) {
        logError("a lane waiting for a live call failed to start", { kind: "Conversation", id: null }, err);
      }
    }
  }
}

/** What `send` did with a row: the recipients whose Inbox may be told behind, and the live call to wait for (null: none made). */
export interface LiveSent {
  behind: Set<string>;
  call: LiveCall | null;
}

interface Pending {
  batch: SocketBatch;
  mid: string | null;
  /** Per user, the sessions this packet was sent to: what the user's delivery claims (`liveTo`). */
  claims: Map<string, string[]>;
  /** Null for typing's packet: nothing waits for it. */
  call: LiveCall | null;
}

export class GatewayLive {
  /** userId → its sessions, as its Inbox last reported them (absent: not known yet). */
  private readonly routes = new Map<string, string[]>();
  private readonly waiting = new Map<string, Pending[]>();
  private readonly busy = new Set<string>();
  private readonly stubs: StubCache<GatewayStub>;
  /** Messages a Gateway's answer already made delivered (oldest first, bounded): later answers skip them. */
  private readonly counted = new Set<string>();
  private readonly deadline = new SharedDeadline(LIVE_TIMEOUT_MS);

  /**
   * @param minRecipients packets for fewer recipients go through their Inboxes (and carry each
   *   recipient's event_seq): below it, a call per Gateway saves nothing.
   */
  constructor(
    stubOf: (gateway: string) => GatewayStub,
    /** A message reached these users' sessions; true once it counted as delivered (not for its author). */
    private readonly delivered: (mid: string, users: string[]) => boolean,
    readonly minRecipients: number,
  ) {
    this.stubs = new StubCache(stubOf);
  }

  /** What a user's Inbox reported: its live sessions. */
  learn(userId: string, sessions: string[]): void {
    this.routes.set(userId, sessions);
  }

  /**
   * Sends a row's packet to the known sessions of its recipients (the session that caused it gets
   * none: it got the reply), and marks each such recipient's delivery with the sessions it went to
   * (`liveTo`). Recipients whose sessions are not known get `liveTo: []`: their Inbox forwards the
   * packet and reports the sessions. Answers the recipients reached here, whose Inbox may be told
   * behind once the call has settled (a delivery's `liveTo` is final then).
   */
  send(frame: string | null, deliveries: Map<string, Delivery>): LiveSent {
    return this.route(frame, deliveries, true);
  }

  /** Typing's packet, sent as a row's is, with no LiveCall: nothing waits for its calls (best effort). Answers the recipients reached here. */
  sendTyping(frame: string, deliveries: Map<string, Delivery>): Set<string> {
    return this.route(frame, deliveries, false).behind;
  }

  /** See send; `waited`: the caller waits for the calls to settle (a LiveCall counts them). */
  private route(frame: string | null, deliveries: Map<string, Delivery>, waited: boolean): LiveSent {
    const behind = new Set<string>();
    if (deliveries.size < this.minRecipients) return { behind, call: null };
    const first = deliveries.values().next().value;
    const claims = new Map<string, string[]>();
    const byGateway = new Map<string, SocketTarget[]>();
    for (const [userId, delivery] of deliveries) {
      const sessions = this.routes.get(userId);
      if (sessions === undefined) {
        delivery.liveTo = [];
        continue;
      }
      behind.add(userId);
      const mine = frame === null ? [] : sessions.filter((id) => id !== delivery.excludeSession);
      delivery.liveTo = mine;
      if (mine.length === 0) continue;
      claims.set(userId, mine);
      for (const id of mine) {
        const { gateway, socket } = parseSessionAddress(id);
        const targets = byGateway.get(gateway);
        if (targets) targets.push({ socket, userId });
        else byGateway.set(gateway, [{ socket, userId }]);
      }
    }
    if (frame === null || byGateway.size === 0) return { behind, call: null };
    const call = waited ? new LiveCall() : null;
    // A row's packet (not typing's): the socket drops it if its Inbox forwarded it too (a resend after this instance died, a late answer).
    const key = first === undefined ? null : packetKey(first);
    for (const [gateway, targets] of byGateway) {
      const queue = this.waiting.get(gateway);
      const item = { batch: { targets, frames: [frame], keys: [key] }, mid: first?.mid ?? null, claims, call };
      call?.add();
      if (queue) queue.push(item);
      else this.waiting.set(gateway, [item]);
      this.start(gateway);
    }
    return { behind, call };
  }

  private start(gateway: string): void {
    const items = this.waiting.get(gateway);
    if (this.busy.has(gateway) || !items) return;
    this.waiting.delete(gateway);
    this.busy.add(gateway);
    this.deadline
      // Started in a promise: a call that throws at once fails like one that rejects (the lanes waiting on it are released).
      .race(Promise.resolve().then(() => this.stubs.get(gateway).push(items.map((i) => i.batch))))
      .then(
        (missed) => {
          if (missed !== EXPIRED) return this.settled(gateway, items, missed);
          logError("live packets to a gateway had no answer in time; the Inboxes forward them", { kind: "Conversation", id: null, gateway });
          this.settled(gateway, items, items.flatMap((i) => i.batch.targets));
        },
        (err: unknown) => {
          logError("live packets to a gateway failed; the Inboxes forward them", { kind: "Conversation", id: null, gateway }, err);
          this.stubs.forget(gateway);
          this.settled(gateway, items, items.flatMap((i) => i.batch.targets));
        },
      )
      .finally(() => {
        this.busy.delete(gateway);
        this.start(gateway);
      });
  }

  /** After a Gateway's answer: what reached a session counts as delivered; what did not goes through the Inbox. */
  private settled(gateway: string, items: Pending[], missed: SocketTarget[]): void {
    try {
      const lost = new Set(missed.map((t) => sessionAddress(gateway, t.socket)));
      for (const { batch, mid, claims } of items) {
        const got = new Set<string>();
        for (const { socket, userId } of batch.targets) {
          const id = sessionAddress(gateway, socket);
          if (!lost.has(id)) got.add(userId);
          else {
            const claimed = claims.get(userId);
            const at = claimed?.indexOf(id) ?? -1;
            if (at >= 0) claimed!.splice(at, 1); // the Inbox forwards it there
          }
        }
        // Only the first report of a message counts: the Gateways' other answers need not be heard.
        if (mid !== null && got.size > 0 && !this.counted.has(mid) && this.delivered(mid, [...got])) this.count(mid);
      }
      // The sessions a Gateway did not reach are known no longer: the next Inbox answer says where they are.
      for (const id of lost) {
        for (const [userId, sessions] of this.routes) if (sessions.includes(id)) this.routes.delete(userId);
      }
    } finally {
      // Only now may the Inboxes be told (the claims above are final), and of all this answer at
      // once, so a lane waiting for its oldest packet takes the newer ones along in the same call.
      const done: LiveCall[] = [];
      for (const { call } of items) if (call?.answered()) done.push(call);
      for (const call of done) call.wake();
    }
  }

  private count(mid: string): void {
    this.counted.add(mid);
    if (this.counted.size > COUNTED_KEPT) this.counted.delete(this.counted.values().next().value!);
  }
}
