// The one way to reach the state engines: a typed stub per object, every call counted (metrics.ts).
import type { Conversation } from "./conversation";
import type { Inbox } from "./inbox";
import type { Db } from "../db/client";
import type { FileAccessDeps } from "../files/access";
import { meteredStub } from "./metrics";
import type { Session } from "./session";

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

export type SessionStub = DurableObjectStub<Session>;

export function sessionStub(env: Env, sessionId: string): SessionStub {
  return meteredStub(env.SESSION.get(env.SESSION.idFromString(sessionId)), "Session");
}

/** A Session for a new socket (the upgrade). */
export function newSessionStub(env: Env): SessionStub {
  return meteredStub(env.SESSION.get(env.SESSION.newUniqueId()), "Session");
}
