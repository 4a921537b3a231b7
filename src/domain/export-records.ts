// An organization's export (GET /admin/organizations/:id/export/:collection): records in the shapes of
// SAMA's MongoDB collections (sama-database-records.txt, SAMA-PROTOCOL.md §3.13), written as relaxed
// MongoDB Extended JSON, one document per line, so `mongoimport` and Parley's SAMA importer read them.
import { sha256Hex } from "../auth/encoding";
import type { AvatarObject, ContactPoint } from "../db/schema";
import type { StoredMessage } from "./message";
import { OBJECT_ID } from "./object-id";

/** Collections read from D1 (the directory), each paged by its id. */
export const DIRECTORY_COLLECTIONS = [
  "organizations",
  "users",
  "conversations",
  "conversations_participants",
  "files",
  "contacts",
  "blocked_users",
  "conversation_handlers",
  "push_subscriptions",
] as const;

/** Collections read from the Conversation objects (their record; D1 holds a copy that may lag). */
export const CONVERSATION_COLLECTIONS = ["messages", "message_statuses", "message_reactions"] as const;

export const EXPORTED_COLLECTIONS = [...DIRECTORY_COLLECTIONS, ...CONVERSATION_COLLECTIONS] as const;

export type DirectoryCollection = (typeof DIRECTORY_COLLECTIONS)[number];
export type ConversationCollection = (typeof CONVERSATION_COLLECTIONS)[number];
export type ExportedCollection = (typeof EXPORTED_COLLECTIONS)[number];

/** What an export leaves out unless asked: password hashes, and push subscriptions (push tokens and keys). */
export const EXPORT_INCLUDES = ["password_hashes", "push_subscriptions"] as const;
export type ExportInclude = (typeof EXPORT_INCLUDES)[number];

export type ExportRecord = Record<string, unknown>;

/** Where a page ends inside one ordered source: the sort key of its last record. */
export type Position = Array<string | number>;

/** An ObjectId-shaped id as `{"$oid"}`; any other id (the `default` organization) stays a string, as SAMA stores it. */
export function oid(id: string): string | { $oid: string } {
  return OBJECT_ID.test(id) ? { $oid: id } : id;
}

export function date(ms: number): { $date: string } {
  return { $date: new Date(ms).toISOString() };
}

function dates(row: { createdAt: number; updatedAt: number }): { created_at: { $date: string }; updated_at: { $date: string } } {
  return { created_at: date(row.createdAt), updated_at: date(row.updatedAt) };
}

/**
 * An ObjectId-shaped `_id` for a record Parley keys otherwise (a participant by conversation and
 * user, a status by message and user, a reaction by message, user and emoji): the time's seconds,
 * then 8 bytes of SHA-256 of the collection and the key. The same record gets the same id in every
 * export, so re-importing one is idempotent.
 */
export async function derivedId(collection: ExportedCollection, key: ReadonlyArray<string | number>, atMs: number): Promise<string> {
  const hash = (await sha256Hex(JSON.stringify([collection, ...key]))).slice(0, 16);
  return Math.floor(atMs / 1000).toString(16).padStart(8, "0").slice(-8) + hash;
}

/** Copies the fields of `source` that are set (not null or undefined): SAMA leaves absent fields out. */
function setFields(target: ExportRecord, source: Record<string, unknown>): ExportRecord {
  for (const [k, v] of Object.entries(source)) if (v !== null && v !== undefined) target[k] = v;
  return target;
}

/**
 * An organization; `bot_user_id` (Parley's addition) names its bot, the author of handler replies,
 * so that an import gives the bot the same id (its user record and its messages then still match).
 */
export function organizationRecord(o: { id: string; name: string; createdAt: number; updatedAt: number }, botUserId: string | null): ExportRecord {
  return setFields({ _id: oid(o.id), name: o.name }, { bot_user_id: botUserId, ...dates(o) });
}

export interface UserFields {
  id: string;
  organizationId: string;
  login: string;
  email: string | null;
  phone: string | null;
  firstName: string | null;
  lastName: string | null;
  avatarObject: AvatarObject | null;
  recentActivity: number;
  deviceId: string | null;
  createdAt: number;
  updatedAt: number;
}

/** A user; `password` (SAMA's `password_salt` / `encrypted_password`) only when the export asked for hashes. */
export function userRecord(u: UserFields, password: { password_salt?: string; encrypted_password: string } | null): ExportRecord {
  return setFields(
    { _id: oid(u.id), organization_id: u.organizationId },
    {
      ...password,
      recent_activity: u.recentActivity,
      login: u.login,
      first_name: u.firstName,
      last_name: u.lastName,
      email: u.email,
      phone: u.phone,
      avatar_object: u.avatarObject,
      device_id: u.deviceId,
      ...dates(u),
    },
  );
}

export function conversationRecord(c: {
  id: string;
  organizationId: string;
  name: string | null;
  description: string | null;
  type: string;
  ownerId: string;
  opponentId: string | null;
  imageObject: AvatarObject | null;
  isEncrypted: boolean | null;
  subscribersCount: number | null;
  createdAt: number;
  updatedAt: number;
}): ExportRecord {
  return setFields(
    { _id: oid(c.id), organization_id: c.organizationId },
    {
      name: c.name,
      description: c.description,
      type: c.type,
      image_object: c.imageObject,
      owner_id: c.ownerId,
      opponent_id: c.opponentId,
      is_encrypted: c.isEncrypted === true ? true : null,
      subscribers_count: c.subscribersCount,
      ...dates(c),
    },
  );
}

/** A participant; a plain member's role is `""`, as SAMA stores it. */
export async function participantRecord(p: {
  organizationId: string;
  conversationId: string;
  userId: string;
  role: string | null;
  createdAt: number;
  updatedAt: number;
}): Promise<ExportRecord> {
  return {
    _id: oid(await derivedId("conversations_participants", [p.conversationId, p.userId], p.createdAt)),
    organization_id: p.organizationId,
    conversation_id: p.conversationId,
    user_id: p.userId,
    role: p.role ?? "",
    ...dates(p),
  };
}

export function fileRecord(f: {
  id: string;
  organizationId: string;
  userId: string;
  name: string;
  size: number;
  contentType: string;
  objectId: string;
  createdAt: number;
  updatedAt: number;
}): ExportRecord {
  return {
    _id: oid(f.id),
    organization_id: f.organizationId,
    name: f.name,
    size: f.size,
    content_type: f.contentType,
    object_id: f.objectId,
    user_id: f.userId,
    ...dates(f),
  };
}

export function contactRecord(c: {
  id: string;
  organizationId: string;
  userId: string;
  firstName: string | null;
  lastName: string | null;
  company: string | null;
  email: ContactPoint[] | null;
  phone: ContactPoint[] | null;
  createdAt: number;
  updatedAt: number;
}): ExportRecord {
  return setFields(
    { _id: oid(c.id), organization_id: c.organizationId, user_id: c.userId },
    // A contact without phones has none, not an empty list: a re-import keeps what contact_list showed.
    { first_name: c.firstName, last_name: c.lastName, company: c.company, email: c.email, phone: c.phone, ...dates(c) },
  );
}

export function blockedUserRecord(b: {
  id: string;
  organizationId: string;
  userId: string;
  blockedUserId: string;
  enabled: boolean;
  createdAt: number;
  updatedAt: number;
}): ExportRecord {
  return { _id: oid(b.id), organization_id: b.organizationId, user_id: b.userId, blocked_user_id: b.blockedUserId, enabled: b.enabled, ...dates(b) };
}

export function conversationHandlerRecord(h: {
  id: string;
  organizationId: string;
  conversationId: string;
  content: string;
  updatedBy: string;
  createdAt: number;
  updatedAt: number;
}): ExportRecord {
  return { _id: oid(h.id), organization_id: h.organizationId, conversation_id: h.conversationId, content: h.content, updated_by: h.updatedBy, ...dates(h) };
}

export function pushSubscriptionRecord(s: {
  id: string;
  organizationId: string;
  userId: string;
  platform: string;
  webEndpoint: string | null;
  webKeyAuth: string | null;
  webKeyP256dh: string | null;
  deviceUdid: string;
  deviceToken: string | null;
  createdAt: number;
  updatedAt: number;
}): ExportRecord {
  return setFields(
    { _id: oid(s.id), organization_id: s.organizationId },
    {
      platform: s.platform,
      web_endpoint: s.webEndpoint,
      web_key_auth: s.webKeyAuth,
      web_key_p256dh: s.webKeyP256dh,
      device_token: s.deviceToken,
      user_id: s.userId,
      device_udid: s.deviceUdid,
      ...dates(s),
    },
  );
}

/** A message as stored in its Conversation; `seq` is Parley's addition (its place in the conversation). */
export function messageRecord(m: StoredMessage, organizationId: string): ExportRecord {
  return setFields(
    { _id: oid(m.id), organization_id: organizationId, cid: m.cid },
    {
      body: m.body,
      attachments: m.attachments,
      x: m.x,
      replied_message_id: m.repliedMessageId,
      forwarded_message_id: m.forwardedMessageId,
      encrypted_message_type: m.encryptedMessageType,
      deleted_for: m.deletedFor,
      from: m.from,
      t: m.t,
      seq: m.seq,
      created_at: date(m.createdAt),
      updated_at: date(m.updatedAt),
    },
  );
}

/** A message status: `read` as SAMA has it, or Parley's `delivered` (the first recipient whose device got it). */
export async function statusRecord(s: { cid: string; mid: string; userId: string; status: string; at: number }): Promise<ExportRecord> {
  return {
    _id: oid(await derivedId("message_statuses", [s.mid, s.userId], s.at)),
    cid: s.cid,
    mid: s.mid,
    user_id: s.userId,
    status: s.status,
    created_at: date(s.at),
    updated_at: date(s.at),
  };
}

export async function reactionRecord(r: { organizationId: string; cid: string; mid: string; userId: string; reaction: string; at: number }): Promise<ExportRecord> {
  return {
    _id: oid(await derivedId("message_reactions", [r.mid, r.userId, r.reaction], r.at)),
    organization_id: r.organizationId,
    cid: r.cid,
    mid: r.mid,
    user_id: r.userId,
    reaction: r.reaction,
    created_at: date(r.at),
    updated_at: date(r.at),
  };
}

/** One NDJSON line. */
export function ndjsonLine(record: ExportRecord): string {
  return `${JSON.stringify(record)}\n`;
}
