// The one way to reach the state engines: a typed stub per object, every call counted (metrics.ts).
import type { Conversation } from "./conversation";
import type { Inbox } from "./inbox";
import type { Db } from "../db/client";
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

/**
 * What is called on a Session object (session.ts implements it). Named here rather than imported:
 * the Session is the transport, above the state engines, so the Inbox holds its stub by these calls.
 */
export interface SessionCalls extends Rpc.DurableObjectBranded {
  fetch(request: Request): Promise<Response>;
  /** Closes the socket if it is signed in as `userId` (on `deviceId`, or any device when null). */
  signOutIf(userId: string, deviceId: string | null): Promise<boolean>;
  isSignedInAs(userId: string): Promise<boolean>;
  /** Sends packets to the socket if it is still signed in as `userId`. */
  push(userId: string, frames: string[]): Promise<boolean>;
}

export type SessionStub = DurableObjectStub<SessionCalls>;

export function sessionStub(env: Env, sessionId: string): SessionStub {
  return meteredStub(env.SESSION.get(env.SESSION.idFromString(sessionId)), "Session");
}

/** A Session for a new socket (the upgrade). */
export function newSessionStub(env: Env): SessionStub {
  return meteredStub(env.SESSION.get(env.SESSION.newUniqueId()), "Session");
}
