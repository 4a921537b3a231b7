// An organization's data, one collection at a time, in pages (GET /admin/organizations/:id/export/:collection).
// The directory comes from D1, paged by id; messages, statuses and reactions come from each
// Conversation object, which holds their record (D1's copy trails it), conversation by conversation
// in id order. A cursor says where a page ended, so no request holds more than one page.
import { and, asc, eq, gt } from "drizzle-orm";
import { exportedPasswordFields } from "../auth/password";
import {
  blockedUsers,
  contacts,
  conversationHandlers,
  conversationParticipants,
  conversations,
  files,
  organizations,
  pushSubscriptions,
  users,
} from "../db/schema";
import {
  blockedUserRecord,
  contactRecord,
  conversationHandlerRecord,
  conversationRecord,
  fileRecord,
  ndjsonLine,
  organizationRecord,
  participantRecord,
  pushSubscriptionRecord,
  userRecord,
  type ConversationCollection,
  type DirectoryCollection,
  type ExportedCollection,
  type ExportInclude,
  type ExportRecord,
  type Position,
} from "../domain/export-records";
import { Errors, SamaError } from "../domain/errors";
import { conversationStub } from "../objects/stubs";
import type { ServiceDeps } from "./context";
import { requireOrganization } from "./organizations";

/** Where the next page starts: after `after` in the conversation `cid` (conversation collections), or after the id `after[0]`. */
export interface ExportCursor {
  cid?: string;
  after?: Position;
}

export interface ExportRequest {
  organizationId: string;
  collection: ExportedCollection;
  cursor: ExportCursor;
  limit: number;
  include: ReadonlySet<ExportInclude>;
}

export interface ExportResult {
  /** One NDJSON line per record. */
  lines: string[];
  /** Null when this was the last page. */
  next: ExportCursor | null;
}

/** Conversation ids read from D1 per step of a conversation collection's walk. */
const CONVERSATION_STEP = 50;

export async function exportCollection(deps: ServiceDeps, env: Env, req: ExportRequest): Promise<ExportResult> {
  await requireOrganization(deps, req.organizationId);
  if (req.collection === "push_subscriptions" && !req.include.has("push_subscriptions")) {
    throw new SamaError({ status: 422, message: "push_subscriptions hold push tokens and keys: ask for them with include=push_subscriptions" });
  }
  if (isConversationCollection(req.collection)) return conversationPage(deps, env, req, req.collection);
  const rows = await directoryRows(deps, req, req.collection, String(req.cursor.after?.[0] ?? ""));
  const kept = rows.slice(0, req.limit);
  return { lines: (await Promise.all(kept.map((r) => r.record()))).map(ndjsonLine), next: rows.length > req.limit ? { after: [kept.at(-1)!.id] } : null };
}

function isConversationCollection(c: ExportedCollection): c is ConversationCollection {
  return c === "messages" || c === "message_statuses" || c === "message_reactions";
}

interface KeyedRecord {
  id: string;
  record: () => ExportRecord | Promise<ExportRecord>;
}

/** Up to limit + 1 rows of the organization after the id `after` (the extra row tells there is more). */
async function directoryRows({ db }: ServiceDeps, req: ExportRequest, collection: DirectoryCollection, after: string): Promise<KeyedRecord[]> {
  const org = req.organizationId;
  const n = req.limit + 1;
  const keyed = <R extends { id: string }>(rows: R[], record: (row: R) => ExportRecord | Promise<ExportRecord>): KeyedRecord[] =>
    rows.map((row) => ({ id: row.id, record: () => record(row) }));
  switch (collection) {
    case "organizations":
      return keyed(await db.select().from(organizations).where(and(eq(organizations.id, org), gt(organizations.id, after))).all(), organizationRecord);
    case "users": {
      const rows = await db.select().from(users).where(and(eq(users.organizationId, org), gt(users.id, after))).orderBy(asc(users.id)).limit(n).all();
      const withHashes = req.include.has("password_hashes");
      return keyed(rows, (u) => userRecord(u, withHashes && u.passwordHash !== null ? exportedPasswordFields(u.passwordHash) : null));
    }
    case "conversations":
      return keyed(
        await db.select().from(conversations).where(and(eq(conversations.organizationId, org), gt(conversations.id, after))).orderBy(asc(conversations.id)).limit(n).all(),
        conversationRecord,
      );
    case "conversations_participants":
      return keyed(
        await db
          .select()
          .from(conversationParticipants)
          .where(and(eq(conversationParticipants.organizationId, org), gt(conversationParticipants.id, after)))
          .orderBy(asc(conversationParticipants.id))
          .limit(n)
          .all(),
        participantRecord,
      );
    case "files":
      return keyed(await db.select().from(files).where(and(eq(files.organizationId, org), gt(files.id, after))).orderBy(asc(files.id)).limit(n).all(), fileRecord);
    case "contacts":
      return keyed(await db.select().from(contacts).where(and(eq(contacts.organizationId, org), gt(contacts.id, after))).orderBy(asc(contacts.id)).limit(n).all(), contactRecord);
    case "blocked_users":
      return keyed(
        await db.select().from(blockedUsers).where(and(eq(blockedUsers.organizationId, org), gt(blockedUsers.id, after))).orderBy(asc(blockedUsers.id)).limit(n).all(),
        blockedUserRecord,
      );
    case "conversation_handlers":
      return keyed(
        await db
          .select()
          .from(conversationHandlers)
          .where(and(eq(conversationHandlers.organizationId, org), gt(conversationHandlers.id, after)))
          .orderBy(asc(conversationHandlers.id))
          .limit(n)
          .all(),
        conversationHandlerRecord,
      );
    case "push_subscriptions":
      return keyed(
        await db
          .select()
          .from(pushSubscriptions)
          .where(and(eq(pushSubscriptions.organizationId, org), gt(pushSubscriptions.id, after)))
          .orderBy(asc(pushSubscriptions.id))
          .limit(n)
          .all(),
        pushSubscriptionRecord,
      );
  }
}

/** Walks the organization's conversations in id order, asking each object for its records until the page is full. */
async function conversationPage({ db }: ServiceDeps, env: Env, req: ExportRequest, collection: ConversationCollection): Promise<ExportResult> {
  const lines: string[] = [];
  /** Adds one conversation's records; the result when that filled the page. */
  const fill = async (cid: string, after: Position | null): Promise<ExportResult | null> => {
    const page = await conversationStub(env, cid).exportRecords(req.organizationId, collection, after, req.limit - lines.length);
    lines.push(...page.lines);
    if (page.next !== null) return { lines, next: { cid, after: page.next } };
    return lines.length >= req.limit ? { lines, next: { cid } } : null;
  };
  // A cursor inside a conversation resumes there; one without `after` starts past that conversation.
  let afterCid = req.cursor.cid ?? "";
  if (req.cursor.cid !== undefined && req.cursor.after !== undefined) {
    const done = await fill(req.cursor.cid, req.cursor.after);
    if (done) return done;
  }
  for (;;) {
    const cids = await db
      .select({ id: conversations.id })
      .from(conversations)
      .where(and(eq(conversations.organizationId, req.organizationId), gt(conversations.id, afterCid)))
      .orderBy(asc(conversations.id))
      .limit(CONVERSATION_STEP)
      .all();
    for (const { id } of cids) {
      const done = await fill(id, null);
      if (done) return done;
    }
    if (cids.length < CONVERSATION_STEP) return { lines, next: null };
    afterCid = cids.at(-1)!.id;
  }
}
