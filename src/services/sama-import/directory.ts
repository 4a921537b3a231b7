// The collections that live in D1 (DESIGN.md, "Where each SAMA collection lives"): organizations,
// users, files, conversations, participants, handlers, contacts, blocks and push subscriptions. Each
// batch: records already there are counted, records that break a rule are skipped with the reason,
// the rest are inserted as they were (ids and times kept), never overwriting anything.
import { and, eq, sql } from "drizzle-orm";
import type { SQLiteColumn } from "drizzle-orm/sqlite-core";
import type { BatchItem } from "drizzle-orm/batch";
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
} from "../../db/schema";
import { pairKey } from "../../domain/conversation";
import { newObjectId } from "../../domain/object-id";
import { emptyOutcome, type BatchOutcome, type FileUpload } from "../../domain/sama-import";
import { searchTextOf } from "../../domain/user-view";
import { fileUrlSigner } from "../../files/signer";
import { importedContacts } from "../contacts";
import { BOT_LOGIN } from "../organizations";
import { inList, type ImportContext } from "./context";
import type {
  BlockRecord,
  ContactRecord,
  ConversationRecord,
  FileRecord,
  HandlerRecord,
  OrganizationRecord,
  ParticipantRecord,
  PushSubscriptionRecord,
  UserRecord,
} from "./records";

type Batch = BatchItem<"sqlite">;
/** Statements per D1 batch: each is a transaction, and a big one holds the single writer up. */
const STATEMENTS_PER_BATCH = 50;

interface Spec<R extends { id: string }> {
  /** Ids of records whose row is already there (by id, or by the key Parley stores them under). */
  existing(records: R[]): Promise<Set<string>>;
  /** Why records break a rule (unknown references, a unique value another record holds). */
  refusals(records: R[]): Promise<Map<string, string>>;
  insert(records: R[]): Batch[];
  /** A rule D1 enforces that a record may still break at insert time (a race with another writer). */
  conflict: string;
}

/** The importer's loop for one D1 batch (see the file comment). */
async function importRows<R extends { id: string }>(ctx: ImportContext, records: R[], spec: Spec<R>): Promise<BatchOutcome> {
  const outcome = emptyOutcome();
  const seen = new Set<string>();
  const unique = records.filter((r) => {
    const repeated = seen.has(r.id);
    if (repeated) outcome.skipped.push({ id: r.id, reason: "the same _id appears twice in the batch" });
    seen.add(r.id);
    return !repeated;
  });
  const already = await spec.existing(unique);
  outcome.existing = already.size;
  outcome.accepted.push(...already);
  const candidates = unique.filter((r) => !already.has(r.id));
  const refused = await spec.refusals(candidates);
  for (const [id, reason] of refused) outcome.skipped.push({ id, reason });
  const fresh = candidates.filter((r) => !refused.has(r.id));
  if (!ctx.dryRun && fresh.length > 0) {
    const statements = spec.insert(fresh);
    for (let i = 0; i < statements.length; i += STATEMENTS_PER_BATCH) {
      const [first, ...rest] = statements.slice(i, i + STATEMENTS_PER_BATCH);
      if (first) await ctx.deps.db.batch([first, ...rest]);
    }
    // Inserts never overwrite: a record another writer beat us to is not there now.
    const stored = await spec.existing(fresh);
    for (const r of fresh) if (!stored.has(r.id)) outcome.skipped.push({ id: r.id, reason: spec.conflict });
    const done = fresh.filter((r) => stored.has(r.id));
    outcome.imported = done.length;
    outcome.accepted.push(...done.map((r) => r.id));
  } else {
    outcome.imported = fresh.length;
    outcome.accepted.push(...fresh.map((r) => r.id));
  }
  return outcome;
}

// ---------------------------------------------------------------- references

async function idsIn(ctx: ImportContext, table: typeof organizations | typeof users | typeof conversations | typeof files, ids: string[]): Promise<Set<string>> {
  if (ids.length === 0) return new Set();
  const rows = await ctx.deps.db.select({ id: table.id }).from(table).where(inList(table.id, ids)).all();
  return new Set(rows.map((r) => r.id));
}

/** Organizations among `ids` that exist (or were accepted earlier in this dry run). */
async function presentOrganizations(ctx: ImportContext, ids: string[]): Promise<Set<string>> {
  const found = await idsIn(ctx, organizations, ids);
  for (const id of ids) if (ctx.known.has(id)) found.add(id);
  return found;
}

/** Users among `ids` with their organization (null: accepted earlier in this dry run, organization unchecked). */
export async function presentUsers(ctx: ImportContext, ids: string[]): Promise<Map<string, string | null>> {
  const found = new Map<string, string | null>();
  if (ids.length > 0) {
    const rows = await ctx.deps.db.select({ id: users.id, org: users.organizationId }).from(users).where(inList(users.id, ids)).all();
    for (const r of rows) found.set(r.id, r.org);
  }
  for (const id of ids) if (!found.has(id) && ctx.known.has(id)) found.set(id, null);
  return found;
}

export interface ConversationRef {
  organizationId: string | null;
}

/** Conversations among `ids` with their organization (null: accepted earlier in this dry run). */
export async function presentConversations(ctx: ImportContext, ids: string[]): Promise<Map<string, ConversationRef>> {
  const found = new Map<string, ConversationRef>();
  if (ids.length > 0) {
    const rows = await ctx.deps.db
      .select({ id: conversations.id, org: conversations.organizationId })
      .from(conversations)
      .where(inList(conversations.id, ids))
      .all();
    for (const r of rows) found.set(r.id, { organizationId: r.org });
  }
  for (const id of ids) if (!found.has(id) && ctx.known.has(id)) found.set(id, { organizationId: null });
  return found;
}

/** The reason a user reference fails, or null: unknown, or of another organization. */
function userProblem(users: Map<string, string | null>, id: string, organizationId: string | null, field: string): string | null {
  if (!users.has(id)) return `"${field}" names a user that was not imported (${id})`;
  const org = users.get(id);
  return org != null && organizationId !== null && org !== organizationId ? `"${field}" names a user of another organization (${id})` : null;
}

/** Records whose organization_id is unknown. */
async function organizationProblems<R extends { id: string; organizationId: string }>(ctx: ImportContext, records: R[], into: Map<string, string>): Promise<void> {
  const present = await presentOrganizations(ctx, records.map((r) => r.organizationId));
  for (const r of records) if (!present.has(r.organizationId)) into.set(r.id, `"organization_id" names an organization that was not imported (${r.organizationId})`);
}

/** Records of `records` that share a unique value with an earlier one of the batch, or with another row in D1. */
function duplicates<R extends { id: string }>(records: R[], keyOf: (r: R) => string | null, taken: Map<string, string>, what: string, into: Map<string, string>): void {
  const mine = new Map(taken);
  for (const r of records) {
    const k = keyOf(r);
    if (k === null || into.has(r.id)) continue;
    const holder = mine.get(k);
    if (holder !== undefined && holder !== r.id) into.set(r.id, `${what} is already used by ${holder}`);
    else mine.set(k, r.id);
  }
}

// ---------------------------------------------------------------- collections

export function importOrganizations(ctx: ImportContext, records: OrganizationRecord[]): Promise<BatchOutcome> {
  const { db } = ctx.deps;
  /** Each new organization's bot id: the one the dump names, unless another user has it. */
  const botIds = new Map<string, string>();
  return importRows(ctx, records, {
    existing: async (rs) => idsIn(ctx, organizations, rs.map((r) => r.id)),
    refusals: async (rs) => {
      const names = rs.map((r) => r.name);
      const rows = names.length === 0 ? [] : await db.select({ id: organizations.id, name: organizations.name }).from(organizations).where(inList(organizations.name, names)).all();
      const refused = new Map<string, string>();
      duplicates(rs, (r) => r.name, new Map(rows.map((r) => [r.name, r.id])), "the organization name", refused);
      const taken = await idsIn(ctx, users, rs.flatMap((r) => (r.botUserId === null ? [] : [r.botUserId])));
      for (const r of rs) botIds.set(r.id, r.botUserId !== null && !taken.has(r.botUserId) ? r.botUserId : newObjectId(ctx.deps.now));
      return refused;
    },
    // Every organization has the bot that authors handler replies (as a new one gets in createOrganization).
    insert: (rs) =>
      rs.flatMap(({ botUserId: _, ...org }) => [
        db.insert(organizations).values(org).onConflictDoNothing(),
        db
          .insert(users)
          .values({
            id: botIds.get(org.id) ?? newObjectId(ctx.deps.now),
            organizationId: org.id,
            login: BOT_LOGIN,
            loginKey: BOT_LOGIN,
            passwordHash: null,
            recentActivity: Math.floor(ctx.deps.now / 1000),
            isBot: true,
            searchText: searchTextOf({ login: BOT_LOGIN, firstName: null, lastName: null }),
            createdAt: ctx.deps.now,
            updatedAt: ctx.deps.now,
          })
          .onConflictDoNothing(),
      ]),
    conflict: "the organization name is already taken",
  });
}

export function importUsers(ctx: ImportContext, records: UserRecord[]): Promise<BatchOutcome> {
  const { db } = ctx.deps;
  return importRows(ctx, records, {
    existing: async (rs) => idsIn(ctx, users, rs.map((r) => r.id)),
    refusals: async (rs) => {
      const refused = new Map<string, string>();
      await organizationProblems(ctx, rs, refused);
      // SAMA's unique indexes, case-insensitive and per organization: login, email, phone.
      for (const [field, column, keyOf] of [
        ["login", users.loginKey, (r: UserRecord) => r.loginKey],
        ["email", users.emailKey, (r: UserRecord) => r.emailKey],
        ["phone", users.phoneKey, (r: UserRecord) => r.phoneKey],
      ] as const) {
        const keys = rs.map(keyOf).filter((k): k is string => k !== null);
        const rows = keys.length === 0 ? [] : await db.select({ id: users.id, org: users.organizationId, k: column }).from(users).where(inList(column, keys)).all();
        const taken = new Map(rows.map((row) => [`${row.org}\n${row.k ?? ""}`, row.id]));
        duplicates(rs, (r) => (keyOf(r) === null ? null : `${r.organizationId}\n${keyOf(r) ?? ""}`), taken, `the ${field}`, refused);
      }
      return refused;
    },
    insert: (rs) => rs.map((r) => db.insert(users).values(r).onConflictDoNothing()),
    conflict: "the login, email or phone is already used by another user",
  });
}

export async function importFiles(ctx: ImportContext, records: FileRecord[]): Promise<BatchOutcome> {
  const { db } = ctx.deps;
  const outcome = await importRows(ctx, records, {
    existing: async (rs) => idsIn(ctx, files, rs.map((r) => r.id)),
    refusals: async (rs) => {
      const refused = new Map<string, string>();
      await organizationProblems(ctx, rs, refused);
      const owners = await presentUsers(ctx, rs.map((r) => r.userId));
      for (const r of rs) {
        const problem = userProblem(owners, r.userId, r.organizationId, "user_id");
        if (problem && !refused.has(r.id)) refused.set(r.id, problem);
      }
      const objectIds = rs.map((r) => r.objectId);
      const rows = await db.select({ id: files.id, objectId: files.objectId }).from(files).where(inList(files.objectId, objectIds)).all();
      duplicates(rs, (r) => r.objectId, new Map(rows.map((row) => [row.objectId, row.id])), "the object_id", refused);
      return refused;
    },
    insert: (rs) => rs.map((r) => db.insert(files).values(r).onConflictDoNothing()),
    conflict: "the object_id is already used by another file",
  });
  if (!ctx.dryRun) outcome.uploads = await missingBytes(ctx, records.filter((r) => outcome.accepted.includes(r.id)));
  return outcome;
}

/** Upload URLs for the files whose bytes are not in R2 yet (the CLI PUTs them from --files-dir). */
async function missingBytes(ctx: ImportContext, records: FileRecord[]): Promise<FileUpload[]> {
  const signer = fileUrlSigner({ config: ctx.deps.config, now: ctx.deps.now }, ctx.origin);
  const uploads: FileUpload[] = [];
  for (const r of records) {
    if ((await ctx.env.FILES.head(r.objectId)) !== null) continue;
    const url = await signer.uploadUrl({ objectId: r.objectId, size: r.size, contentType: r.contentType });
    uploads.push({ object_id: r.objectId, url, size: r.size, content_type: r.contentType });
  }
  return uploads;
}

export function importConversations(ctx: ImportContext, records: ConversationRecord[]): Promise<BatchOutcome> {
  const { db } = ctx.deps;
  const keyOf = (r: ConversationRecord) => (r.type === "u" && r.opponentId !== null ? `${r.organizationId}\n${pairKey(r.ownerId, r.opponentId, r.isEncrypted)}` : null);
  return importRows(ctx, records, {
    existing: async (rs) => idsIn(ctx, conversations, rs.map((r) => r.id)),
    refusals: async (rs) => {
      const refused = new Map<string, string>();
      await organizationProblems(ctx, rs, refused);
      // Parley keeps one private chat per pair (and encryption), as SAMA's create does.
      const keys = rs.map(keyOf).filter((k): k is string => k !== null).map((k) => k.split("\n")[1]!);
      const rows = keys.length === 0 ? [] : await db.select({ id: conversations.id, org: conversations.organizationId, k: conversations.pairKey }).from(conversations).where(inList(conversations.pairKey, keys)).all();
      duplicates(rs, keyOf, new Map(rows.map((row) => [`${row.org}\n${row.k ?? ""}`, row.id])), "the private chat between these two users", refused);
      return refused;
    },
    insert: (rs) =>
      rs.map((r) =>
        db
          .insert(conversations)
          .values({
            id: r.id,
            organizationId: r.organizationId,
            name: r.name,
            description: r.description,
            type: r.type,
            ownerId: r.ownerId,
            opponentId: r.opponentId,
            imageObject: r.imageObject,
            isEncrypted: r.isEncrypted,
            subscribersCount: r.type === "c" ? 0 : null,
            pairKey: keyOf(r)?.split("\n")[1] ?? null,
            createdAt: r.createdAt,
            updatedAt: r.updatedAt,
          })
          .onConflictDoNothing(),
      ),
    conflict: "a private chat between these two users already exists",
  });
}

type PairTable = typeof conversationParticipants | typeof blockedUsers | typeof pushSubscriptions;

/**
 * Records stored under a pair of columns rather than their _id (participants: conversation and
 * user; blocks; push subscriptions per device): those whose pair has a row count as there. The pairs
 * travel as one JSON parameter (D1 binds at most 100 per statement).
 */
async function existingPairs<R extends { id: string }>(
  ctx: ImportContext,
  rs: R[],
  table: PairTable,
  columns: [SQLiteColumn, SQLiteColumn],
  pairOf: (r: R) => [string, string],
): Promise<Set<string>> {
  if (rs.length === 0) return new Set();
  const key = ([a, b]: [string, string]) => `${a}\n${b}`;
  const joined = sql<string>`(${columns[0]} || char(10) || ${columns[1]})`;
  const rows = await ctx.deps.db
    .select({ key: joined })
    .from(table)
    .where(sql`${joined} IN (SELECT value FROM json_each(${JSON.stringify(rs.map((r) => key(pairOf(r))))}))`)
    .all();
  const keys = new Set(rows.map((row) => row.key));
  return new Set(rs.filter((r) => keys.has(key(pairOf(r)))).map((r) => r.id));
}

export function importParticipants(ctx: ImportContext, records: ParticipantRecord[]): Promise<BatchOutcome> {
  const { db } = ctx.deps;
  const orgOf = new Map<string, string>();
  return importRows(ctx, records, {
    existing: (rs) =>
      existingPairs(ctx, rs, conversationParticipants, [conversationParticipants.conversationId, conversationParticipants.userId], (r) => [r.conversationId, r.userId]),
    refusals: async (rs) => {
      const refused = new Map<string, string>();
      const convs = await presentConversations(ctx, rs.map((r) => r.conversationId));
      const members = await presentUsers(ctx, rs.map((r) => r.userId));
      for (const r of rs) {
        const conv = convs.get(r.conversationId);
        if (!conv) {
          refused.set(r.id, `"conversation_id" names a conversation that was not imported (${r.conversationId})`);
          continue;
        }
        const org = conv.organizationId ?? r.organizationId;
        if (org !== null) orgOf.set(r.id, org);
        const problem = userProblem(members, r.userId, org, "user_id");
        if (problem) refused.set(r.id, problem);
      }
      return refused;
    },
    insert: (rs) =>
      rs.map((r) =>
        db
          .insert(conversationParticipants)
          .values({
            id: `${r.conversationId}:${r.userId}`,
            organizationId: orgOf.get(r.id) ?? r.organizationId ?? "",
            conversationId: r.conversationId,
            userId: r.userId,
            role: r.role,
            createdAt: r.createdAt,
            updatedAt: r.updatedAt,
          })
          .onConflictDoNothing(),
      ),
    conflict: "the user is already a participant",
  });
}

export function importHandlers(ctx: ImportContext, records: HandlerRecord[]): Promise<BatchOutcome> {
  const { db } = ctx.deps;
  const orgOf = new Map<string, string>();
  return importRows(ctx, records, {
    existing: async (rs) => {
      if (rs.length === 0) return new Set();
      const rows = await db.select({ cid: conversationHandlers.conversationId }).from(conversationHandlers).where(inList(conversationHandlers.conversationId, rs.map((r) => r.conversationId))).all();
      const cids = new Set(rows.map((r) => r.cid));
      return new Set(rs.filter((r) => cids.has(r.conversationId)).map((r) => r.id));
    },
    refusals: async (rs) => {
      const refused = new Map<string, string>();
      const convs = await presentConversations(ctx, rs.map((r) => r.conversationId));
      for (const r of rs) {
        const conv = convs.get(r.conversationId);
        if (!conv) refused.set(r.id, `"conversation_id" names a conversation that was not imported (${r.conversationId})`);
        else if (conv.organizationId !== null) orgOf.set(r.id, conv.organizationId);
      }
      duplicates(rs, (r) => r.conversationId, new Map(), "the conversation's handler", refused);
      return refused;
    },
    insert: (rs) =>
      rs.map((r) =>
        db
          .insert(conversationHandlers)
          .values({ ...r, organizationId: orgOf.get(r.id) ?? "", disabledAt: null })
          .onConflictDoNothing(),
      ),
    conflict: "the conversation already has a handler",
  });
}

/** Records whose user_id (and, for blocks, blocked_user_id) names no imported user of their organization. */
async function ownerProblems<R extends { id: string; organizationId: string; userId: string }>(ctx: ImportContext, rs: R[], other?: (r: R) => string): Promise<Map<string, string>> {
  const refused = new Map<string, string>();
  await organizationProblems(ctx, rs, refused);
  const found = await presentUsers(ctx, [...rs.map((r) => r.userId), ...(other ? rs.map(other) : [])]);
  for (const r of rs) {
    if (refused.has(r.id)) continue;
    const problem = userProblem(found, r.userId, r.organizationId, "user_id") ?? (other ? userProblem(found, other(r), r.organizationId, "blocked_user_id") : null);
    if (problem) refused.set(r.id, problem);
  }
  return refused;
}

export function importContacts(ctx: ImportContext, records: ContactRecord[]): Promise<BatchOutcome> {
  return importRows(ctx, records, {
    existing: async (rs) => {
      if (rs.length === 0) return new Set();
      const rows = await ctx.deps.db.select({ id: contacts.id }).from(contacts).where(inList(contacts.id, rs.map((r) => r.id))).all();
      return new Set(rows.map((r) => r.id));
    },
    refusals: (rs) => ownerProblems(ctx, rs),
    insert: (rs) => importedContacts(ctx.deps.db, rs),
    conflict: "the contact could not be stored",
  });
}

export function importBlocks(ctx: ImportContext, records: BlockRecord[]): Promise<BatchOutcome> {
  const { db } = ctx.deps;
  return importRows(ctx, records, {
    existing: (rs) =>
      existingPairs(ctx, rs, blockedUsers, [blockedUsers.userId, blockedUsers.blockedUserId], (r) => [r.userId, r.blockedUserId]),
    refusals: async (rs) => {
      const refused = await ownerProblems(ctx, rs, (r) => r.blockedUserId);
      duplicates(rs, (r) => `${r.userId}\n${r.blockedUserId}`, new Map(), "the same block", refused);
      return refused;
    },
    insert: (rs) => rs.map((r) => db.insert(blockedUsers).values(r).onConflictDoNothing()),
    conflict: "the block already exists",
  });
}

export function importPushSubscriptions(ctx: ImportContext, records: PushSubscriptionRecord[]): Promise<BatchOutcome> {
  const { db } = ctx.deps;
  return importRows(ctx, records, {
    existing: (rs) =>
      existingPairs(ctx, rs, pushSubscriptions, [pushSubscriptions.userId, pushSubscriptions.deviceUdid], (r) => [r.userId, r.deviceUdid]),
    refusals: async (rs) => {
      const refused = await ownerProblems(ctx, rs);
      duplicates(rs, (r) => `${r.userId}\n${r.deviceUdid}`, new Map(), "the user's device_udid", refused);
      for (const r of rs) {
        if (refused.has(r.id)) continue;
        if (r.platform === "web" && (r.webEndpoint === null || r.webKeyAuth === null || r.webKeyP256dh === null)) refused.set(r.id, "a web subscription needs web_endpoint, web_key_auth and web_key_p256dh");
        else if (r.platform !== "web" && r.deviceToken === null) refused.set(r.id, `"device_token" is required for ${r.platform}`);
      }
      return refused;
    },
    insert: (rs) => rs.map((r) => db.insert(pushSubscriptions).values(r).onConflictDoNothing()),
    conflict: "the user already has a subscription for this device",
  });
}

/** A channel's subscriber count follows its participants (the history step sets it once they are in). */
export function channelCountStatement(ctx: ImportContext, cid: string, count: number): Batch {
  return ctx.deps.db.update(conversations).set({ subscribersCount: count }).where(and(eq(conversations.id, cid), eq(conversations.type, "c")));
}
