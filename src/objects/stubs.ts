// The one way to reach the state engines: a typed stub per object, every call counted (metrics.ts).
import type { Conversation } from "./conversation";
import type { Inbox } from "./inbox";
import type { Db } from "../db/client";
import type { PacketKey } from "../domain/sent-packets";
import type { FileAccessDeps } from "../files/access";
import { meteredStub } from "./metrics";

export type ConversationStub = DurableObjectStub<Conversation>;

/** Each user's Inbox is named "<organization>:<user>". */
export function inboxName(organizationId: string, userId: string): string {
  return `${organizationId}:${userId}`;
}

export function inboxOf(env: Env, organizationId: string, userId: string): DurableObjectStub<Inbox> {
  return meteredStub(env.INBOX.get(env.INBOX.idFromName(inboxName(organizationId, userId))), "Inbox");
}

/** A conversation's object, or one of a channel's live-socket shards (by its own name). */
export function conversationStub(env: Env, name: string): ConversationStub {
  return meteredStub(env.CONVERSATION.get(env.CONVERSATION.idFromName(name)), "Conversation");
}

/** What files/access.ts reads: D1, and the Conversations' outboxes (a post's files before D1 shows them). */
export function fileAccess(env: Env, db: Db): FileAccessDeps {
  return { db, outboxFiles: (cid, from, objectIds) => conversationStub(env, cid).unflushedAttachments(from, objectIds) };
}

/** One socket of a Gateway, for the user it must still be signed in as. */
export interface SocketTarget {
  socket: string;
  userId: string;
}

/**
 * What is called on a Gateway object (gateway.ts implements it). Named here rather than imported:
 * the Gateway is the transport, above the state engines, so the Inbox and the Conversation hold its
 * stub by these calls. Its sockets are named by their tag.
 */
export interface GatewayCalls extends Rpc.DurableObjectBranded {
  fetch(request: Request): Promise<Response>;
  /** Signs the socket out if it is signed in as `userId` (on `deviceId`, or any device when null). */
  signOutIf(socket: string, userId: string, deviceId: string | null): Promise<boolean>;
  isSignedInAs(socket: string, userId: string): Promise<boolean>;
  /** Sends each batch's frames to its targets still signed in as their user; answers the targets that were not. */
  push(batches: SocketBatch[]): Promise<SocketTarget[]>;
  /** Test-only (TEST_HOOKS=1): waits at the "credential" latch as a sign-in of a socket here would (POST /login's hold point). */
  testPassCredential(): Promise<void>;
}

/** Frames for some sockets of one Gateway, in order. */
export interface SocketBatch {
  targets: SocketTarget[];
  frames: string[];
  /** Per frame, the stream packet it carries (null: none): a socket sent it already drops it (domain/sent-packets.ts). */
  keys: Array<PacketKey | null>;
}

export type GatewayStub = DurableObjectStub<GatewayCalls>;

/** A session's id, everywhere outside its Gateway: "<gateway id>.<socket tag>". */
export function sessionAddress(gatewayId: string, tag: string): string {
  return `${gatewayId}.${tag}`;
}

export function parseSessionAddress(sessionId: string): { gateway: string; socket: string } {
  const cut = sessionId.indexOf(".");
  return { gateway: sessionId.slice(0, cut), socket: sessionId.slice(cut + 1) };
}

export function gatewayStub(env: Env, gatewayId: string): GatewayStub {
  return meteredStub(env.GATEWAY.get(env.GATEWAY.idFromString(gatewayId)), "Gateway");
}

/**
 * One stub per object, kept: calls on the same stub arrive in order, and no object name is hashed
 * again per call (a new stub's call costs the same: measured). After a failed call the stub is forgotten (a stub of
 * an object that was reset fails every later call), so the next gets a new one. At most `max` are
 * kept, the oldest made forgotten first.
 */
export class StubCache<T> {
  private readonly stubs = new Map<string, T>();

  constructor(
    private readonly make: (id: string) => T,
    private readonly max = Number.POSITIVE_INFINITY,
  ) {}

  get(id: string): T {
    let stub = this.stubs.get(id);
    if (!stub) {
      stub = this.make(id);
      if (this.stubs.size >= this.max) this.stubs.delete(this.stubs.keys().next().value!);
      this.stubs.set(id, stub);
    }
    return stub;
  }

  forget(id: string): void {
    this.stubs.delete(id);
  }
}

/**
 * The Gateway a new socket goes to: one of `perLocation` near the client (the Worker's location), at
 * random, so a location's sockets spread evenly and a conversation's members share few Gateways.
 */
export function placeSocket(env: Env, location: string, perLocation: number): GatewayStub {
  const name = `${location}:${Math.floor(Math.random() * perLocation)}`;
  return meteredStub(env.GATEWAY.get(env.GATEWAY.idFromName(name)), "Gateway");
}
