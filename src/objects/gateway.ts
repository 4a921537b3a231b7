// Gateway: one Durable Object holding many sockets (Discord's gateway: one process, many sessions).
// SAMA clients sign in *after* the socket opens, so a socket cannot be routed to a per-user object
// at upgrade time; the Worker places it in one of a few Gateways near the client instead (placement.ts).
// Each socket is a session (session.ts): its identity and rate-limit bucket live in the socket's
// attachment, so both survive hibernation and eviction; its frames are answered one at a time in
// arrival order, the sessions of one Gateway side by side. Packets reach a session through this
// object: from the user's Inbox (push), or from a Conversation once for every session of its
// participants held here (pushMany), so a message costs one call per Gateway, not one per socket.
import { DurableObject } from "cloudflare:workers";
import { getConfig, type Config } from "../config";
import { Session, type SessionHost, type SignInPoint } from "./session";
import { sessionAddress, type GatewayCalls, type SocketBatch, type SocketTarget } from "./stubs";
import { finishClose, isBenignSocketError } from "./sockets";
import { abortForTest, requireTestHooks } from "./test-hooks";
import { TestLatches } from "./test-latch";
import { logError } from "../log";
import { started } from "./metrics";

/** Where a test can hold a call here (testHold). */
type GatewayHold = SignInPoint | "signOutAnswer" | "push";

export class Gateway extends DurableObject<Env> implements GatewayCalls {
  private readonly config: Config;
  /** The sessions woken since this instance started, by socket tag (the rest wake from their attachment). */
  private readonly sessions = new Map<string, Session>();
  private readonly host: SessionHost;
  /** Test-only (testHoldSignIn): the next sign-in here waits for this, which the next call about a socket answered resolves. */
  private signInHold: PromiseWithResolvers<void> | null = null;
  /** Test-only: what testHold holds (see GatewayHold). */
  private readonly latches = new TestLatches<GatewayHold>();

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    started("Gateway");
    this.config = getConfig(env);
    this.host = { env, config: this.config, address: (tag) => sessionAddress(ctx.id.toString(), tag), report: (what, err) => this.report(what, err), signInHeld: async () => this.signInHold?.promise, heldAt: (point) => this.latches.pass(point) };
    // Plain-text keep-alive answered by the runtime without waking the object.
    ctx.setWebSocketAutoResponse(new WebSocketRequestResponsePair("ping", "pong"));
  }

  override async fetch(request: Request): Promise<Response> {
    if (request.headers.get("Upgrade")?.toLowerCase() !== "websocket") {
      return new Response("Expected a WebSocket upgrade", { status: 426 });
    }
    const { 0: client, 1: server } = new WebSocketPair();
    const tag = crypto.randomUUID();
    this.ctx.acceptWebSocket(server, [tag]);
    this.sessions.set(tag, Session.open(this.host, server, tag, new URL(request.url).origin));
    return new Response(null, { status: 101, webSocket: client });
  }

  override async webSocketMessage(ws: WebSocket, message: string | ArrayBuffer): Promise<void> {
    await this.sessionOf(ws).receive(message);
  }

  override async webSocketClose(ws: WebSocket, code: number, reason: string): Promise<void> {
    finishClose(ws, code, reason);
    await this.gone(ws);
  }

  override async webSocketError(ws: WebSocket, error: unknown): Promise<void> {
    if (!isBenignSocketError(error)) this.report("socket error", error);
    await this.gone(ws);
  }

  /** RPC from the Inbox: signs the socket out if it is still signed in as that user (and device). */
  async signOutIf(socket: string, userId: string, deviceId: string | null): Promise<boolean> {
    const signedOut = this.find(socket)?.signOutIf(userId, deviceId) ?? false;
    this.releaseSignInHold();
    await this.latches.pass("signOutAnswer");
    return signedOut;
  }

  /** RPC from the Inbox's liveness check: a socket signing in as the user counts (its Inbox registered it first). */
  async isSignedInAs(socket: string, userId: string): Promise<boolean> {
    const alive = this.find(socket)?.isOrBecoming(userId) ?? false;
    this.releaseSignInHold();
    return alive;
  }

  /**
   * Packets for sockets signed in as the user each target names: from an Inbox (its user's sockets
   * here) or a Conversation (its participants' sockets here, many packets at once under load).
   * Answers the targets not reached: their socket closed, or is someone else's now (one signing in
   * as the target's user is reached: its packets follow the sign-in's answer, see Session.signingIn).
   */
  async push(batches: SocketBatch[]): Promise<SocketTarget[]> {
    if (this.latches.armed("push")) await this.latches.pass("push");
    const missed: SocketTarget[] = [];
    for (const { targets, frames, keys } of batches) {
      for (const target of targets) {
        if (!this.find(target.socket)?.offer(target.userId, frames, keys)) missed.push(target);
      }
    }
    this.releaseSignInHold();
    return missed;
  }

  /**
   * Test-only (TEST_HOOKS=1): the next sign-in of a socket here waits, once its Inbox registered it,
   * until this Gateway answered a call about a socket (push, isSignedInAs, signOutIf): that call lands
   * in the middle of the sign-in (test/chat/sign-in-race.test.ts).
   */
  async testHoldSignIn(): Promise<void> {
    requireTestHooks(this.env);
    this.signInHold = Promise.withResolvers<void>();
  }

  /** Test-only (TEST_HOOKS=1): a sign-in elsewhere (POST /login, with x-test-gateway naming this Gateway) waits at "credential" here. */
  async testPassCredential(): Promise<void> {
    requireTestHooks(this.env);
    await this.host.heldAt("credential");
  }

  private releaseSignInHold(): void {
    this.signInHold?.resolve();
    this.signInHold = null;
  }

  /** Test-only (TEST_HOOKS=1): dies at once, as the runtime aborts an object (test/chat/chaos.test.ts). */
  async testAbort(): Promise<void> {
    abortForTest(this.ctx, this.env);
  }


  /**
   * Test-only (TEST_HOOKS=1): the next call here that passes `point` waits until testRelease:
   * "credential", a sign-in right after its credential check (user_login: before its token is
   * issued; POST /login too, see testPassCredential); "registration", a sign-in after its token
   * check, before its Inbox registers it; "signOutAnswer", a signOutIf having signed the socket out
   * (or refused its sign-in), before it answers the Inbox; "push", a push before it sends anything.
   * A revocation, a reset or another delivery can then land in between (test/chat/sign-in-race,
   * gateway-fanout and inbox-lagging tests, test/ws/password-reset, test/http/login).
   */
  async testHold(point: GatewayHold): Promise<void> {
    this.latches.arm(point, this.env);
  }

  /** Test-only: resolves once a call waits at `point`. */
  async testReached(point: GatewayHold): Promise<void> {
    await this.latches.reached(point);
  }

  /** Test-only: the held call goes on, or (`fail`) fails having done nothing more. */
  async testRelease(point: GatewayHold, fail = false): Promise<void> {
    this.latches.release(point, fail);
  }

  /** The open socket tagged `tag`, as a session (a closed one is dropped from the map, and no longer listed by the runtime). */
  private find(tag: string): Session | undefined {
    const known = this.sessions.get(tag);
    if (known) return known;
    const ws = this.ctx.getWebSockets(tag)[0];
    return ws ? this.sessionOf(ws) : undefined;
  }

  /** The session of a socket, restored from its attachment after hibernation or eviction. */
  private sessionOf(ws: WebSocket): Session {
    const tag = this.ctx.getTags(ws)[0] ?? "";
    let session = this.sessions.get(tag);
    if (!session) {
      session = Session.restore(this.host, ws, tag);
      this.sessions.set(tag, session);
    }
    return session;
  }

  private async gone(ws: WebSocket): Promise<void> {
    const session = this.sessionOf(ws);
    this.sessions.delete(session.tag);
    await session.close();
  }

  private report(what: string, err: unknown): void {
    logError(`gateway ${what}`, { kind: "Gateway", id: this.ctx.id.toString() }, err);
  }
}
