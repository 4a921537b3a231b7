// D1 schema: the directory, plus the queryable copy of messages, statuses and reactions
// (the Conversation Durable Objects are authoritative for those three).
// Times are Unix milliseconds unless the column says seconds; ids are 24-hex ObjectId-style strings.
import { index, integer, primaryKey, sqliteTable, text, uniqueIndex } from "drizzle-orm/sqlite-core";

const timestamps = {
  createdAt: integer("created_at").notNull(),
  updatedAt: integer("updated_at").notNull(),
};

export const organizations = sqliteTable("organizations", {
  id: text("id").primaryKey(),
  name: text("name").notNull().unique(),
  ...timestamps,
});

export const users = sqliteTable(
  "users",
  {
    id: text("id").primaryKey(),
    organizationId: text("organization_id")
      .notNull()
      .references(() => organizations.id),
    login: text("login").notNull(),
    // Lower-cased copies carry the case-insensitive uniqueness rules (SAMA uses a strength-2 collation).
    loginKey: text("login_key").notNull(),
    email: text("email"),
    emailKey: text("email_key"),
    phone: text("phone"),
    phoneKey: text("phone_key"),
    firstName: text("first_name"),
    lastName: text("last_name"),
    // "pbkdf2-sha256$<iterations>$<salt b64>$<hash b64>" or, for imported SAMA users, "sama$<salt>$<hex>".
    // Null for users who cannot log in (the organization's bot).
    passwordHash: text("password_hash"),
    avatarObject: text("avatar_object", { mode: "json" }).$type<AvatarObject>(),
    recentActivity: integer("recent_activity").notNull(), // Unix seconds
    deviceId: text("device_id"),
    isBot: integer("is_bot", { mode: "boolean" }).notNull().default(false),
    // Lower-cased "login first last", searched with instr() so keywords need no escaping.
    searchText: text("search_text").notNull(),
    ...timestamps,
  },
  (t) => [
    uniqueIndex("users_org_login_key").on(t.organizationId, t.loginKey),
    uniqueIndex("users_org_email_key").on(t.organizationId, t.emailKey),
    uniqueIndex("users_org_phone_key").on(t.organizationId, t.phoneKey),
    index("users_org_updated").on(t.organizationId, t.updatedAt),
  ],
);

export const userTokens = sqliteTable(
  "user_tokens",
  {
    id: text("id").primaryKey(),
    organizationId: text("organization_id").notNull(),
    userId: text("user_id").notNull(),
    deviceId: text("device_id").notNull(),
    type: text("type", { enum: ["access", "refresh", "otp"] }).notNull(),
    // SHA-256 of the token: a leaked table does not leak usable tokens.
    tokenHash: text("token_hash").notNull(),
    // Set when a refresh token was exchanged for a new one (rotation); reuse after the grace window revokes the device.
    replacedAt: integer("replaced_at"),
    expiresAt: integer("expires_at").notNull(),
    ...timestamps,
  },
  (t) => [
    uniqueIndex("user_tokens_hash").on(t.tokenHash),
    index("user_tokens_user_device").on(t.userId, t.deviceId),
  ],
);

// Who is online: a row per user with at least one signed-in socket, kept by the user's Inbox on
// every online/offline transition (online_list and user_last_activity read it).
export const presence = sqliteTable(
  "presence",
  {
    userId: text("user_id").primaryKey(),
    organizationId: text("organization_id").notNull(),
    onlineSince: integer("online_since").notNull(),
  },
  (t) => [index("presence_org_since").on(t.organizationId, t.onlineSince)],
);

// Failed password logins, keyed by account or by account+device (never by IP).
export const authFailures = sqliteTable("auth_failures", {
  key: text("key").primaryKey(),
  failures: integer("failures").notNull(),
  windowStart: integer("window_start").notNull(),
  lockedUntil: integer("locked_until"),
});

export const conversations = sqliteTable(
  "conversations",
  {
    id: text("id").primaryKey(),
    organizationId: text("organization_id").notNull(),
    name: text("name"),
    description: text("description"),
    type: text("type", { enum: ["u", "g", "c"] }).notNull(),
    ownerId: text("owner_id").notNull(),
    opponentId: text("opponent_id"),
    imageObject: text("image_object", { mode: "json" }).$type<AvatarObject>(),
    isEncrypted: integer("is_encrypted", { mode: "boolean" }),
    subscribersCount: integer("subscribers_count"),
    // Private chats only: "<lower id>:<higher id>:<e|p>", unique, so a pair never gets two chats.
    pairKey: text("pair_key"),
    ...timestamps,
  },
  (t) => [
    uniqueIndex("conversations_org_pair_key").on(t.organizationId, t.pairKey),
    index("conversations_org_name").on(t.organizationId, t.name),
    index("conversations_org_updated").on(t.organizationId, t.updatedAt),
  ],
);

export const conversationParticipants = sqliteTable(
  "conversation_participants",
  {
    id: text("id").primaryKey(),
    organizationId: text("organization_id").notNull(),
    conversationId: text("conversation_id").notNull(),
    userId: text("user_id").notNull(),
    role: text("role", { enum: ["owner", "admin"] }),
    ...timestamps,
  },
  (t) => [
    uniqueIndex("participants_conversation_user").on(t.conversationId, t.userId),
    index("participants_user").on(t.userId),
  ],
);

export const messages = sqliteTable(
  "messages",
  {
    id: text("id").primaryKey(),
    organizationId: text("organization_id").notNull(),
    cid: text("cid").notNull(),
    seq: integer("seq").notNull(),
    from: text("from_id").notNull(),
    body: text("body"),
    attachments: text("attachments", { mode: "json" }).$type<unknown[]>(),
    x: text("x", { mode: "json" }).$type<Record<string, unknown>>(),
    t: integer("t").notNull(), // Unix seconds
    deletedFor: text("deleted_for", { mode: "json" }).$type<string[]>(),
    repliedMessageId: text("replied_message_id"),
    forwardedMessageId: text("forwarded_message_id"),
    encryptedMessageType: integer("encrypted_message_type"),
    ...timestamps,
  },
  (t) => [uniqueIndex("messages_cid_seq").on(t.cid, t.seq), index("messages_cid_updated").on(t.cid, t.updatedAt)],
);

export const messageStatuses = sqliteTable(
  "message_statuses",
  {
    cid: text("cid").notNull(),
    mid: text("mid").notNull(),
    userId: text("user_id").notNull(),
    status: text("status", { enum: ["delivered", "read", "decryption_failed"] }).notNull(),
    ...timestamps,
  },
  (t) => [primaryKey({ columns: [t.mid, t.userId] }), index("message_statuses_cid_user").on(t.cid, t.userId)],
);

export const messageReactions = sqliteTable(
  "message_reactions",
  {
    cid: text("cid").notNull(),
    mid: text("mid").notNull(),
    userId: text("user_id").notNull(),
    reaction: text("reaction").notNull(),
    createdAt: integer("created_at").notNull(),
  },
  (t) => [primaryKey({ columns: [t.mid, t.userId, t.reaction] })],
);

export const files = sqliteTable(
  "files",
  {
    id: text("id").primaryKey(),
    organizationId: text("organization_id").notNull(),
    userId: text("user_id").notNull(),
    name: text("name").notNull(),
    size: integer("size").notNull(),
    contentType: text("content_type").notNull(),
    objectId: text("object_id").notNull(),
    ...timestamps,
  },
  (t) => [uniqueIndex("files_object_id").on(t.objectId)],
);

// Which conversations may see a file: one row per (file, conversation) in which a message carrying
// it was posted by someone who could see it. Written when the Conversation's outbox copies the
// message to D1 (conversation-outbox.ts), read by files/access.ts visibleFileIds.
export const fileGrants = sqliteTable(
  "file_grants",
  {
    organizationId: text("organization_id").notNull(),
    objectId: text("object_id").notNull(),
    conversationId: text("conversation_id").notNull(),
    createdAt: integer("created_at").notNull(),
  },
  (t) => [primaryKey({ columns: [t.objectId, t.conversationId] })],
);

export const contacts = sqliteTable(
  "contacts",
  {
    id: text("id").primaryKey(),
    organizationId: text("organization_id").notNull(),
    userId: text("user_id").notNull(),
    firstName: text("first_name"),
    lastName: text("last_name"),
    company: text("company"),
    email: text("email", { mode: "json" }).$type<ContactPoint[]>(),
    phone: text("phone", { mode: "json" }).$type<ContactPoint[]>(),
    ...timestamps,
  },
  // contacts_user_id serves contact_list's newest-first order without sorting the whole address book.
  (t) => [index("contacts_user_updated").on(t.userId, t.updatedAt), index("contacts_user_id").on(t.userId, t.id)],
);

// One row per email/phone entry of a contact, its value lower-cased as users.email_key/phone_key are:
// the index that finds the contacts to re-match when a user's email or phone changes without reading
// every contact of the organization. `idx` is the entry's position in the contact's array.
export const contactPoints = sqliteTable(
  "contact_points",
  {
    contactId: text("contact_id").notNull(),
    organizationId: text("organization_id").notNull(),
    kind: text("kind", { enum: ["email", "phone"] }).notNull(),
    idx: integer("idx").notNull(),
    key: text("key").notNull(),
  },
  (t) => [primaryKey({ columns: [t.contactId, t.kind, t.idx] }), index("contact_points_org_key").on(t.organizationId, t.kind, t.key)],
);

export const blockedUsers = sqliteTable(
  "blocked_users",
  {
    id: text("id").primaryKey(),
    organizationId: text("organization_id").notNull(),
    userId: text("user_id").notNull(),
    blockedUserId: text("blocked_user_id").notNull(),
    enabled: integer("enabled", { mode: "boolean" }).notNull().default(true),
    ...timestamps,
  },
  (t) => [uniqueIndex("blocked_users_pair").on(t.userId, t.blockedUserId), index("blocked_users_blocked").on(t.blockedUserId)],
);

export const pushSubscriptions = sqliteTable(
  "push_subscriptions",
  {
    id: text("id").primaryKey(),
    organizationId: text("organization_id").notNull(),
    userId: text("user_id").notNull(),
    platform: text("platform", { enum: ["web", "ios", "android"] }).notNull(),
    webEndpoint: text("web_endpoint"),
    webKeyAuth: text("web_key_auth"),
    webKeyP256dh: text("web_key_p256dh"),
    deviceUdid: text("device_udid").notNull(),
    deviceToken: text("device_token"),
    ...timestamps,
  },
  (t) => [uniqueIndex("push_subscriptions_user_udid").on(t.userId, t.deviceUdid)],
);

export const pushEvents = sqliteTable("push_events", {
  id: text("id").primaryKey(),
  organizationId: text("organization_id").notNull(),
  userId: text("user_id").notNull(),
  userIds: text("user_ids", { mode: "json" }).notNull().$type<string[]>(),
  message: text("message").notNull(), // base64 of the JSON payload, as SAMA stores it
  ...timestamps,
});

export const conversationHandlers = sqliteTable("conversation_handlers", {
  id: text("id").primaryKey(),
  organizationId: text("organization_id").notNull(),
  conversationId: text("conversation_id").notNull().unique(),
  content: text("content").notNull(),
  updatedBy: text("updated_by").notNull(),
  /** Set when the handler was switched off after repeated failures (Unix ms); null while it runs. */
  disabledAt: integer("disabled_at"),
  ...timestamps,
});

// Password reset (user_send_otp / user_reset_password): one row per user. The code is kept only as
// an HMAC; it dies when used, when it expires, or after OTP_MAX_ATTEMPTS wrong guesses. The row
// stays after use to carry the resend cooldown and the daily send count.
export const passwordResetCodes = sqliteTable("password_reset_codes", {
  userId: text("user_id").primaryKey(),
  organizationId: text("organization_id").notNull(),
  // Hex HMAC-SHA256 of the code; null once the code was used.
  codeHash: text("code_hash"),
  expiresAt: integer("expires_at").notNull(),
  attempts: integer("attempts").notNull(),
  sentAt: integer("sent_at").notNull(),
  // Codes sent since windowStart (a day long), capped so guessing cannot go on for ever.
  windowStart: integer("window_start").notNull(),
  windowSends: integer("window_sends").notNull(),
});

// E2EE device key bundles (SAMA's encrypted_devices): public keys of one (user, device), valid for
// 30 days from registration. The server never sees private keys or message plaintext.
export const encryptedDevices = sqliteTable(
  "encrypted_devices",
  {
    userId: text("user_id").notNull(),
    deviceId: text("device_id").notNull(),
    organizationId: text("organization_id").notNull(),
    identityKey: text("identity_key").notNull(),
    signedKey: text("signed_key").notNull(),
    expiresAt: integer("expires_at").notNull(),
    ...timestamps,
  },
  (t) => [primaryKey({ columns: [t.userId, t.deviceId] }), index("encrypted_devices_expires").on(t.expiresAt)],
);

// One-time pre-keys of a device, in upload order (id); request_keys deletes the oldest one per
// device in a single statement, so no key is ever handed out twice. keyId is the key's name when
// the device uploaded an object ({"<id>": "<key>"}), null for a plain array.
export const encryptedPreKeys = sqliteTable(
  "encrypted_pre_keys",
  {
    id: integer("id").primaryKey(),
    userId: text("user_id").notNull(),
    deviceId: text("device_id").notNull(),
    keyId: text("key_id"),
    preKey: text("pre_key").notNull(),
  },
  (t) => [index("encrypted_pre_keys_device").on(t.userId, t.deviceId, t.id)],
);

export interface AvatarObject {
  file_id: string;
  file_name?: string;
  file_blur_hash?: string;
}

export interface ContactPoint {
  type?: string;
  value: string;
  matched_user_id?: string;
}

export type UserRow = typeof users.$inferSelect;
export type OrganizationRow = typeof organizations.$inferSelect;
export type UserTokenRow = typeof userTokens.$inferSelect;

