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
import { botUserId } from "./conversation-handlers";
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

/**
 * The organization's rows of `table` after the id `after`, by id, at most `n`. (drizzle cannot type
 * select().from() over a union of tables: the query is typed on one, the rows as the table given.)
 */
function rowsAfter<T extends typeof users | typeof conversations | typeof conversationParticipants | typeof files | typeof contacts | typeof blockedUsers | typeof conversationHandlers | typeof pushSubscriptions>(
  { db }: ServiceDeps,
  table: T,
  organizationId: string,
  after: string,
  n: number,
) {
  return db.select().from(table as typeof users).where(and(eq(table.organizationId, organizationId), gt(table.id, after))).orderBy(asc(table.id)).limit(n).all() as Promise<Array<T["$inferSelect"]>>;
}

/** Up to limit + 1 rows of the organization after the id `after` (the extra row tells there is more). */
async function directoryRows(deps: ServiceDeps, req: ExportRequest, collection: DirectoryCollection, after: string): Promise<KeyedRecord[]> {
  const org = req.organizationId;
  const n = req.limit + 1;
  const keyed = <R extends { id: string }>(rows: R[], record: (row: R) => ExportRecord | Promise<ExportRecord>): KeyedRecord[] =>
    rows.map((row) => ({ id: row.id, record: () => record(row) }));
  switch (collection) {
    case "organizations": {
      const bot = await botUserId(deps, org);
      return keyed(await deps.db.select().from(organizations).where(and(eq(organizations.id, org), gt(organizations.id, after))).all(), (o) => organizationRecord(o, bot));
    }
    case "users": {
      const withHashes = req.include.has("password_hashes");
      return keyed(await rowsAfter(deps, users, org, after, n), (u) => userRecord(u, withHashes && u.passwordHash !== null ? exportedPasswordFields(u.passwordHash) : null));
    }
    case "conversations":
      return keyed(await rowsAfter(deps, conversations, org, after, n), conversationRecord);
    case "conversations_participants":
      return keyed(await rowsAfter(deps, conversationParticipants, org, after, n), participantRecord);
    case "files":
      return keyed(await rowsAfter(deps, files, org, after, n), fileRecord);
    case "contacts":
      return keyed(await rowsAfter(deps, contacts, org, after, n), contactRecord);
    case "blocked_users":
      return keyed(await rowsAfter(deps, blockedUsers, org, after, n), blockedUserRecord);
    case "conversation_handlers":
      return keyed(await rowsAfter(deps, conversationHandlers, org, after, n), conversationHandlerRecord);
    case "push_subscriptions":
      return keyed(await rowsAfter(deps, pushSubscriptions, org, after, n), pushSubscriptionRecord);
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
