// Channel subscribers attached straight to their Conversation (/api/conversations/:cid/live): a post
// costs one broadcast, not one RPC per subscriber. Sockets are hibernated and receive-only. Past
// the per-object cap (Cloudflare allows 32,768 hibernated sockets per object) they go to shard
// objects: instances of the Conversation class named "<cid>#live<k>" that hold sockets and relay.
import type { ErrorBody } from "../domain/errors";
import { conversationStub, type ConversationStub } from "./stubs";
import { logError } from "../log";

const LIVE_TAG = "live";
const userTag = (userId: string) => `u:${userId}`;

// Set by the Worker on the request it forwards; clients cannot reach an object's fetch directly.
export const LIVE_USER_HEADER = "X-Parley-Live-User";
export const LIVE_ORG_HEADER = "X-Parley-Live-Organization";
/** Marks a request the primary object hands on to shard k. */
const LIVE_SHARD_HEADER = "X-Parley-Live-Shard";

/** A shard's answer when it is full: the primary tries the next one. */
const SHARD_FULL = 409;

export const RECEIVE_ONLY = JSON.stringify({ error: { status: 405, message: "Live sockets are receive-only." } });

/** Refusals before the upgrade are JSON, like every /api/* route. */
export function refusal(error: ErrorBody): Response {
  return Response.json({ status: error.status, message: error.message }, { status: error.status });
}

export function liveShardName(cid: string, shard: number): string {
  return `${cid}#live${shard}`;
}

/** The upgrade as the Worker hands it on: the authenticated user, and no client-made shard mark. */
export function liveRequest(request: Request, userId: string, organizationId: string): Request {
  const forwarded = new Request(request, { headers: new Headers(request.headers) });
  forwarded.headers.delete(LIVE_SHARD_HEADER);
  forwarded.headers.set(LIVE_USER_HEADER, userId);
  forwarded.headers.set(LIVE_ORG_HEADER, organizationId);
  return forwarded;
}

export function isShardRequest(request: Request): boolean {
  return request.headers.has(LIVE_SHARD_HEADER);
}

/** The sockets of one object: its own, never its shards'. */
export class LiveSockets {
  private readonly shardStubs = new Map<number, ConversationStub>();

  constructor(
    private readonly ctx: DurableObjectState,
    private readonly env: Env,
    private readonly capacity: number,
  ) {}

  count(): number {
    return this.ctx.getWebSockets(LIVE_TAG).length;
  }

  /** Accepts the upgrade here if there is room, else null. */
  accept(userId: string): Response | null {
    if (this.count() >= this.capacity) return null;
    const [client, server] = Object.values(new WebSocketPair()) as [WebSocket, WebSocket];
    this.ctx.acceptWebSocket(server, [LIVE_TAG, userTag(userId)]);
    return new Response(null, { status: 101, webSocket: client });
  }

  /** A shard's own admission: the socket, or "full" so the primary tries the next shard. */
  acceptAsShard(request: Request): Response {
    return this.accept(request.headers.get(LIVE_USER_HEADER) ?? "") ?? new Response(null, { status: SHARD_FULL });
  }

  /** Hands the upgrade to shards 1, 2, … until one has room; returns the answer and the shard used. */
  async acceptOnShards(cid: string, request: Request): Promise<{ response: Response; shard: number }> {
    for (let shard = 1; ; shard++) {
      const forwarded = new Request(request, { headers: new Headers(request.headers) });
      forwarded.headers.set(LIVE_SHARD_HEADER, String(shard));
      const response = await this.shard(cid, shard).fetch(forwarded);
      if (response.status !== SHARD_FULL) return { response, shard };
    }
  }

  /** Sends one text to every live socket here and on shards 1…`shards`. */
  broadcast(cid: string, shards: number, text: string): void {
    this.sendLocal(text);
    for (let shard = 1; shard <= shards; shard++) {
      // Calls on one stub arrive in order, so each shard relays posts in commit order.
      this.shard(cid, shard)
        .liveBroadcast(text)
        .catch((err: unknown) => logError("live broadcast to shard failed", { kind: "Conversation", id: cid, shard }, err));
    }
  }

  sendLocal(text: string): void {
    for (const ws of this.ctx.getWebSockets(LIVE_TAG)) {
      try {
        ws.send(text);
      } catch {
        // closing; its close event cleans up
      }
    }
  }

  /** Closes one user's live sockets (null: everyone's) here and on the shards. */
  close(cid: string, shards: number, userId: string | null, reason: string): void {
    this.closeLocal(userId, reason);
    for (let shard = 1; shard <= shards; shard++) {
      this.shard(cid, shard)
        .liveClose(userId, reason)
        .catch((err: unknown) => logError("closing live sockets on shard failed", { kind: "Conversation", id: cid, shard }, err));
    }
  }

  closeLocal(userId: string | null, reason: string): void {
    for (const ws of this.ctx.getWebSockets(userId === null ? LIVE_TAG : userTag(userId))) {
      try {
        ws.close(4403, reason);
      } catch {
        // already closed
      }
    }
  }

  private shard(cid: string, shard: number): ConversationStub {
    let stub = this.shardStubs.get(shard);
    if (!stub) {
      stub = conversationStub(this.env, liveShardName(cid, shard));
      this.shardStubs.set(shard, stub);
    }
    return stub;
  }
}
