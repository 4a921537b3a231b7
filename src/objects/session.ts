// Session: one signed-in (or not yet) WebSocket, held by a Gateway (gateway.ts) among many. SAMA
// clients sign in after the socket opens; the session answers its frames strictly in arrival order,
// keeps its identity and rate-limit bucket in the socket's attachment (both survive hibernation and
// eviction), and leaves every rule to src/protocol. While signed in it is registered with the user's
// Inbox, which can sign it out (logout elsewhere, token theft, user deleted).
import type { Config } from "../config";
import { getDb } from "../db/client";
import { fullBucket, take, type Bucket, type BucketLimits } from "../domain/token-bucket";
import type { RequestContext, SessionIdentity } from "../protocol/context";
import { answerFrame, refusalFrame } from "../protocol/dispatch";
import { Errors, SamaError } from "../domain/errors";
import { SentPackets, type PacketKey } from "../domain/sent-packets";
import { liveSessions } from "../services/live-sessions";
import { inboxOf } from "./stubs";
import { isBenignSocketError } from "./sockets";

/** What a session needs from the Gateway holding it. */
export interface SessionHost {
  env: Env;
  config: Config;
  /** The session's address, what the Inbox and deliveries name it by. */
  address(tag: string): string;
  report(what: string, err: unknown): void;
  /** Test-only (TEST_HOOKS=1, Gateway.testHoldSignIn): what a sign-in waits for once its Inbox registered it; resolved otherwise. */
  signInHeld(): Promise<void>;
  /** Test-only (TEST_HOOKS=1, Gateway.testHold): what a sign-in waits for at `point`; resolved otherwise. */
  heldAt(point: SignInPoint): Promise<void>;
}

/** Where a test can hold a sign-in: after its credential check, before its Inbox registers it. */
export type SignInPoint = "credential" | "registration";

/** A socket's attachment. */
interface SocketState {
  identity: SessionIdentity | null;
  bucket: Bucket;
  /** Origin of the upgrade request, e.g. "https://chat.example.com". */
  origin?: string;
}

/** A sign-in under way (see Session.signingIn). */
interface SignIn {
  userId: string;
  deviceId: string;
  /** Frames pushed for the user meanwhile, in order, with their stream packets. */
  held: Array<{ frame: string; key: PacketKey | null }>;
  /** The Inbox revoked the device meanwhile. */
  revoked: boolean;
}

const decoder = new TextDecoder();

/**
 * Requests a signed-in socket takes from its user's bucket (in the Inbox) at a time: one RPC per
 * this many frames, and a user's sockets can together run ahead of the bucket by at most this many each.
 */
const USER_BUDGET_SLICE = 10;

export class Session {
  /** Where this session is reached: its Gateway and socket (the Inbox's session id). */
  readonly id: string;
  private readonly limits: BucketLimits;
  /** The conversations of messages this socket sent or received lately (see RequestContext). */
  private readonly recentMessages = new Map<string, string>();
  /** Frames of this socket are answered strictly in arrival order. */
  private queue: Promise<void> = Promise.resolve();
  /** What is left of the slice of the signed-in user's request budget (memory only: after eviction a new slice is asked for). */
  private userBudget = { userId: "", left: 0 };
  /**
   * A sign-in in flight: its user, and the frames pushed for them meanwhile. The Inbox registers the
   * socket before the socket takes the identity (so revocation reaches it first), and a packet can
   * come in between: it counts as reached and waits here until the sign-in's answer is sent, then
   * follows it (dropped if the sign-in failed). Answering "missed" instead made the Inbox drop the
   * session it had just registered: the open socket got no live packet again until it reconnected.
   * The Inbox's other calls count it too: its liveness check as signed in, a revocation as stopping it.
   */
  private signingIn: SignIn | null = null;
  /** The stream packets this socket was sent (memory only): one that comes again by another way is dropped. */
  private readonly sent = new SentPackets();

  private constructor(
    private readonly host: SessionHost,
    private readonly ws: WebSocket,
    readonly tag: string,
    private readonly state: SocketState,
  ) {
    this.id = host.address(tag);
    this.limits = { perSecond: host.config.rateLimitPerSecond, burst: host.config.rateLimitBurst };
  }

  /** A new socket: signed out, with a full bucket. */
  static open(host: SessionHost, ws: WebSocket, tag: string, origin: string): Session {
    const limits = { perSecond: host.config.rateLimitPerSecond, burst: host.config.rateLimitBurst };
    const state: SocketState = { identity: null, bucket: fullBucket(limits, Date.now()), origin };
    ws.serializeAttachment(state);
    return new Session(host, ws, tag, state);
  }

  /** A socket the Gateway held before it hibernated or was evicted. */
  static restore(host: SessionHost, ws: WebSocket, tag: string): Session {
    const saved = ws.deserializeAttachment() as SocketState | null;
    const limits = { perSecond: host.config.rateLimitPerSecond, burst: host.config.rateLimitBurst };
    return new Session(host, ws, tag, saved ?? { identity: null, bucket: fullBucket(limits, Date.now()) });
  }

  receive(message: string | ArrayBuffer): Promise<void> {
    const text = typeof message === "string" ? message : decoder.decode(message);
    if (text.length === 0) return Promise.resolve(); // SAMA ignores empty frames
    const now = Date.now();
    const { allowed, bucket } = take(this.state.bucket, this.limits, now);
    this.state.bucket = bucket;
    // Saved only once it runs low: an eviction must not refill a flooding client's bucket, and an
    // ordinary client's frames skip the attachment write.
    if (bucket.tokens < this.limits.burst / 2) this.ws.serializeAttachment(this.state);
    if (!allowed) {
      this.send(refusalFrame(text, Errors.TOO_MANY_REQUESTS));
      return Promise.resolve();
    }
    if (exceedsBytes(text, this.host.config.maxFrameBytes)) {
      this.send(refusalFrame(text, Errors.FRAME_TOO_LARGE));
      return Promise.resolve();
    }
    const turn = this.queue.then(() => this.answer(text));
    this.queue = turn.catch(() => undefined);
    return turn;
  }

  /** Signs the socket out if it is signed in, or signing in, as `userId` (on `deviceId`, or any device when null). */
  signOutIf(userId: string, deviceId: string | null): boolean {
    // A sign-in on the revoked device, registered already, is refused when its registration returns.
    const pending = this.signingIn;
    const stopped = pending !== null && matches(pending, userId, deviceId);
    if (stopped) pending.revoked = true;
    const identity = this.state.identity;
    if (!identity || !matches(identity, userId, deviceId)) return stopped;
    this.setIdentity(null);
    return true;
  }

  isSignedInAs(userId: string): boolean {
    return this.state.identity?.userId === userId;
  }

  /** Signed in as `userId`, or signing in as them (the Inbox's liveness check: a session it just registered is alive). */
  isOrBecoming(userId: string): boolean {
    return this.signingIn?.userId === userId || this.isSignedInAs(userId);
  }

  /**
   * Packets for `userId`'s sockets (`keys`: the stream packet of each frame): sent or held (see
   * signingIn) when this is one, except a stream packet it was sent already; false when it is not.
   */
  offer(userId: string, frames: string[], keys: Array<PacketKey | null>): boolean {
    const pending = this.signingIn?.userId === userId ? this.signingIn : null;
    if (pending === null && !this.isSignedInAs(userId)) return false;
    frames.forEach((frame, i) => {
      const key = keys[i] ?? null;
      if (pending !== null) pending.held.push({ frame, key });
      else this.sendOnce(userId, frame, key);
    });
    return true;
  }

  private sendOnce(userId: string, frame: string, key: PacketKey | null): void {
    if (this.sent.first(userId, key)) this.send(frame);
  }

  send(frame: string): void {
    try {
      this.ws.send(frame);
    } catch (err) {
      // The peer went away while we were answering; its close event cleans up.
      if (!isBenignSocketError(err)) this.host.report("send failed", err);
    }
  }

  /** The socket closed: the user's Inbox forgets it (the last one takes the user offline). */
  async close(): Promise<void> {
    const identity = this.setIdentity(null);
    if (identity) await this.detach(identity);
  }

  private async answer(text: string): Promise<void> {
    if (!(await this.takeUserBudget())) {
      this.send(refusalFrame(text, Errors.TOO_MANY_REQUESTS));
      return;
    }
    try {
      const frame = await answerFrame(this.requestContext(), text);
      if (frame !== null) this.send(frame);
    } finally {
      this.endSignIn();
    }
  }

  /** After a sign-in's answer: what was held for its user follows it, if the socket is theirs now (a failed or revoked sign-in's never were). */
  private endSignIn(): void {
    const pending = this.signingIn;
    if (pending === null) return;
    this.signingIn = null;
    if (this.isSignedInAs(pending.userId)) for (const { frame, key } of pending.held) this.sendOnce(pending.userId, frame, key);
  }

  /** One request from the signed-in user's budget shared by all their sockets (signed-out sockets have only their own bucket). */
  private async takeUserBudget(): Promise<boolean> {
    const identity = this.state.identity;
    if (!identity) return true;
    if (this.userBudget.userId !== identity.userId || this.userBudget.left === 0) {
      const granted = await inboxOf(this.host.env, identity.organizationId, identity.userId).grantRequests(USER_BUDGET_SLICE);
      this.userBudget = { userId: identity.userId, left: granted };
      if (granted === 0) return false;
    }
    this.userBudget.left -= 1;
    return true;
  }

  private requestContext(): RequestContext {
    const { env, config } = this.host;
    return {
      db: getDb(env),
      config,
      sessions: liveSessions(env),
      now: Date.now(),
      env,
      sessionId: this.id,
      origin: this.state.origin ?? null,
      session: this.state.identity,
      recentMessages: this.recentMessages,
      signIn: async (identity, stillValid) => {
        // Registered with the Inbox first: a socket is never signed in where revocation cannot reach it.
        const owner = { userId: identity.userId, organizationId: identity.organizationId };
        const pending: SignIn = { userId: identity.userId, deviceId: identity.deviceId, held: [], revoked: false };
        this.signingIn = pending;
        await this.host.heldAt("registration");
        const inbox = inboxOf(env, identity.organizationId, identity.userId);
        let granted: number;
        try {
          // A registration that fails may have been made (its answer lost): undone as a refusal is.
          const attached = await inbox.attach(owner, this.id, identity.deviceId, USER_BUDGET_SLICE);
          granted = attached.granted;
          await this.host.signInHeld();
          // A revocation lately, before the registration, may have come after the token was checked.
          if (!pending.revoked && attached.recheck && !(await stillValid())) pending.revoked = true;
          if (pending.revoked) throw new SamaError(Errors.TOKEN_EXPIRED);
        } catch (err) {
          await this.unregister(identity);
          throw err;
        }
        this.userBudget = { userId: identity.userId, left: granted };
        const previous = this.setIdentity(identity);
        if (previous && previous.userId !== identity.userId) await this.detach(previous);
      },
      credentialChecked: () => this.host.heldAt("credential"),
      signOut: async () => {
        const previous = this.setIdentity(null);
        if (previous) await this.detach(previous);
      },
    };
  }

  /**
   * A sign-in refused after its registration (or whose registration failed, maybe made) leaves the
   * socket as it was, as one refused before it does: the Inbox holds it as before. Only its own user's Inbox changed (the registration replaced
   * the socket's row there when it was theirs already: it names the socket's own device again).
   * That device's credential cannot be checked again here: revoked lately, the socket signs out.
   * Should that Inbox not answer, a socket of its user signs out (its liveness check drops the row).
   */
  private async unregister(refused: SessionIdentity): Promise<void> {
    const own = this.state.identity;
    const inbox = inboxOf(this.host.env, refused.organizationId, refused.userId);
    try {
      if (own?.userId !== refused.userId) return await inbox.detach(this.id);
      const { recheck } = await inbox.attach({ userId: own.userId, organizationId: own.organizationId }, this.id, own.deviceId, 0);
      // Closed or revoked meanwhile (the socket's frames wait for this one, its Inbox's calls do not): that registration is stale.
      if (!recheck && this.state.identity === own) return;
      if (this.state.identity === own) this.setIdentity(null);
      await inbox.detach(this.id);
    } catch (err) {
      if (this.state.identity?.userId === refused.userId) this.setIdentity(null);
      this.host.report("undoing a refused sign-in failed", err);
    }
  }

  /** Replaces the socket's identity in its attachment; returns the one it had. */
  private setIdentity(identity: SessionIdentity | null): SessionIdentity | null {
    const previous = this.state.identity;
    this.state.identity = identity;
    this.ws.serializeAttachment(this.state);
    return previous;
  }

  private detach(identity: SessionIdentity): Promise<void> {
    return inboxOf(this.host.env, identity.organizationId, identity.userId).detach(this.id);
  }
}

function matches(who: { userId: string; deviceId: string }, userId: string, deviceId: string | null): boolean {
  return who.userId === userId && (deviceId === null || who.deviceId === deviceId);
}

function exceedsBytes(text: string, limit: number): boolean {
  // A UTF-16 unit is 1 to 3 UTF-8 bytes: only frames near the limit need an exact count.
  if (text.length * 3 <= limit) return false;
  if (text.length > limit) return true;
  return new TextEncoder().encode(text).byteLength > limit;
}
