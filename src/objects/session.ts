// Session: one Durable Object per WebSocket connection. SAMA clients sign in *after* the socket
// opens, so the socket cannot be routed to a per-user object at upgrade time. The Session owns the
// hibernated socket and its state (identity and rate-limit bucket, in the socket attachment so both
// survive hibernation and eviction), answers frames one at a time in arrival order, and leaves
// every rule to src/protocol. While signed in it is registered with the user's Inbox, which can sign
// it out (logout elsewhere, token theft, user deleted).
import { DurableObject } from "cloudflare:workers";
import { getConfig, type Config } from "../config";
import { getDb } from "../db/client";
import { fullBucket, take, type Bucket, type BucketLimits } from "../domain/token-bucket";
import type { RequestContext, SessionIdentity } from "../protocol/context";
import { answerFrame, refusalFrame } from "../protocol/dispatch";
import { Errors } from "../domain/errors";
import type { ServiceDeps } from "../services/context";
import { liveSessions } from "../services/live-sessions";
import { inboxOf, type SessionCalls } from "./stubs";
import { finishClose, isBenignSocketError } from "./sockets";
import { abortForTest } from "./test-abort";
import { logError } from "../log";

interface SessionState {
  identity: SessionIdentity | null;
  bucket: Bucket;
  /** Origin of the upgrade request, e.g. "https://chat.example.com" (absent in attachments written before it was kept). */
  origin?: string;
}

const decoder = new TextDecoder();

/**
 * Requests a signed-in socket takes from its user's bucket (in the Inbox) at a time: one RPC per
 * this many frames, and a user's sockets can together run ahead of the bucket by at most this many each.
 */
const USER_BUDGET_SLICE = 10;

/** Close codes a peer may send that must not be echoed back (reserved for local use). */
export class Session extends DurableObject<Env> implements SessionCalls {
  private readonly config: Config;
  private readonly limits: BucketLimits;
  private state: SessionState | null = null;
  private readonly recentMessages = new Map<string, string>();
  /** Frames of this socket are answered strictly in arrival order. */
  private queue: Promise<void> = Promise.resolve();
  /** What is left of the slice of the signed-in user's request budget (memory only: after eviction a new slice is asked for). */
  private userBudget = { userId: "", left: 0 };
  /** This object's socket, once known: one lookup per wake instead of one per call. */
  private socket: WebSocket | undefined;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.config = getConfig(env);
    this.limits = { perSecond: this.config.rateLimitPerSecond, burst: this.config.rateLimitBurst };
    // Plain-text keep-alive answered by the runtime without waking the object.
    ctx.setWebSocketAutoResponse(new WebSocketRequestResponsePair("ping", "pong"));
  }

  override async fetch(request: Request): Promise<Response> {
    if (request.headers.get("Upgrade")?.toLowerCase() !== "websocket") {
      return new Response("Expected a WebSocket upgrade", { status: 426 });
    }
    const { 0: client, 1: server } = new WebSocketPair();
    this.ctx.acceptWebSocket(server);
    this.socket = server;
    this.state = { identity: null, bucket: fullBucket(this.limits, Date.now()), origin: new URL(request.url).origin };
    server.serializeAttachment(this.state);
    return new Response(null, { status: 101, webSocket: client });
  }

  override async webSocketMessage(ws: WebSocket, message: string | ArrayBuffer): Promise<void> {
    const text = typeof message === "string" ? message : decoder.decode(message);
    if (text.length === 0) return; // SAMA ignores empty frames
    this.socket = ws;
    const state = this.load(ws);
    const now = Date.now();
    const { allowed, bucket } = take(state.bucket, this.limits, now);
    state.bucket = bucket;
    // Saved only once it runs low: an eviction must not refill a flooding client's bucket, and an
    // ordinary client's frames skip the attachment write.
    if (bucket.tokens < this.limits.burst / 2) ws.serializeAttachment(state);
    if (!allowed) {
      this.send(ws, refusalFrame(text, Errors.TOO_MANY_REQUESTS));
      return;
    }
    if (exceedsBytes(text, this.config.maxFrameBytes)) {
      this.send(ws, refusalFrame(text, Errors.FRAME_TOO_LARGE));
      return;
    }
    const turn = this.queue.then(() => this.answer(ws, text));
    this.queue = turn.catch(() => undefined);
    return turn;
  }

  override async webSocketClose(ws: WebSocket, code: number, reason: string): Promise<void> {
    finishClose(ws, code, reason);
    await this.onGone(ws);
  }

  override async webSocketError(ws: WebSocket, error: unknown): Promise<void> {
    if (!isBenignSocketError(error)) logError("session socket error", { kind: "Session", id: this.ctx.id.toString() }, error);
    await this.onGone(ws);
  }

  /** RPC from the Inbox: signs the socket out if it is still signed in as that user (and device). */
  async signOutIf(userId: string, deviceId: string | null): Promise<boolean> {
    const ws = this.openSocket();
    if (!ws) return false;
    const state = this.load(ws);
    const identity = state.identity;
    if (!identity || identity.userId !== userId || (deviceId !== null && identity.deviceId !== deviceId)) return false;
    this.setIdentity(ws, null);
    return true;
  }

  /** RPC from the Inbox's liveness check. */
  async isSignedInAs(userId: string): Promise<boolean> {
    const ws = this.openSocket();
    return ws !== undefined && this.load(ws).identity?.userId === userId;
  }

  /** RPC from the Inbox: packets for the signed-in user. False when the socket is gone or is someone else's now. */
  async push(userId: string, frames: string[]): Promise<boolean> {
    const ws = this.openSocket();
    if (!ws || this.load(ws).identity?.userId !== userId) return false;
    for (const frame of frames) this.send(ws, frame);
    return true;
  }

  /** Test-only (TEST_HOOKS=1): dies at once, as the runtime aborts an object (test/chat/chaos.test.ts). */
  async testAbort(): Promise<void> {
    abortForTest(this.ctx, this.env);
  }

  private async answer(ws: WebSocket, text: string): Promise<void> {
    if (!(await this.takeUserBudget(ws))) {
      this.send(ws, refusalFrame(text, Errors.TOO_MANY_REQUESTS));
      return;
    }
    const frame = await answerFrame(this.requestContext(ws), text);
    if (frame !== null) this.send(ws, frame);
  }

  /** One request from the signed-in user's budget shared by all their sockets (signed-out sockets have only their own bucket). */
  private async takeUserBudget(ws: WebSocket): Promise<boolean> {
    const identity = this.load(ws).identity;
    if (!identity) return true;
    if (this.userBudget.userId !== identity.userId || this.userBudget.left === 0) {
      const granted = await inboxOf(this.env, identity.organizationId, identity.userId).grantRequests(USER_BUDGET_SLICE);
      this.userBudget = { userId: identity.userId, left: granted };
      if (granted === 0) return false;
    }
    this.userBudget.left -= 1;
    return true;
  }

  private deps(): ServiceDeps {
    return { db: getDb(this.env), config: this.config, sessions: liveSessions(this.env), now: Date.now() };
  }

  private requestContext(ws: WebSocket): RequestContext {
    return {
      ...this.deps(),
      env: this.env,
      sessionId: this.sessionId(),
      origin: this.load(ws).origin ?? null,
      session: this.load(ws).identity,
      recentMessages: this.recentMessages,
      signIn: async (identity) => {
        // Registered with the Inbox first: a socket is never signed in where revocation cannot reach it.
        const owner = { userId: identity.userId, organizationId: identity.organizationId };
        const granted = await inboxOf(this.env, identity.organizationId, identity.userId).attach(owner, this.sessionId(), identity.deviceId, USER_BUDGET_SLICE);
        this.userBudget = { userId: identity.userId, left: granted };
        const previous = this.setIdentity(ws, identity);
        if (previous && previous.userId !== identity.userId) await this.detach(previous);
      },
      signOut: async () => {
        const previous = this.setIdentity(ws, null);
        if (previous) await this.detach(previous);
      },
    };
  }

  /** Replaces the socket's identity in its attachment; returns the one it had. */
  private setIdentity(ws: WebSocket, identity: SessionIdentity | null): SessionIdentity | null {
    const state = this.load(ws);
    const previous = state.identity;
    state.identity = identity;
    ws.serializeAttachment(state);
    return previous;
  }

  private detach(identity: SessionIdentity): Promise<void> {
    return inboxOf(this.env, identity.organizationId, identity.userId).detach(this.sessionId());
  }

  private sessionId(): string {
    return this.ctx.id.toString();
  }

  /** The state of this object's socket, restored from its attachment after hibernation or eviction. */
  private load(ws: WebSocket): SessionState {
    if (!this.state) {
      const saved = ws.deserializeAttachment() as SessionState | null;
      this.state = saved ?? { identity: null, bucket: fullBucket(this.limits, Date.now()) };
    }
    return this.state;
  }

  private send(ws: WebSocket, frame: string): void {
    try {
      ws.send(frame);
    } catch (err) {
      // The peer went away while we were answering; its close event cleans up.
      if (!isBenignSocketError(err)) logError("session send failed", { kind: "Session", id: this.ctx.id.toString() }, err);
    }
  }

  /** The socket, unless it has closed (after hibernation the runtime hands it back once). */
  private openSocket(): WebSocket | undefined {
    this.socket ??= this.ctx.getWebSockets()[0];
    return this.socket;
  }

  private async onGone(ws: WebSocket): Promise<void> {
    if (this.socket === ws) this.socket = undefined;
    const identity = this.setIdentity(ws, null);
    if (identity) await this.detach(identity);
  }
}

function exceedsBytes(text: string, limit: number): boolean {
  // A UTF-16 unit is 1 to 3 UTF-8 bytes: only frames near the limit need an exact count.
  if (text.length * 3 <= limit) return false;
  if (text.length > limit) return true;
  return new TextEncoder().encode(text).byteLength > limit;
}
