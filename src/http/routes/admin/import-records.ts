// The schema of each SAMA collection's documents (field names as SAMA's records page and
// SAMA-PROTOCOL.md §3.13 give them), mapped to the records the importer writes. Documents arrive as
// mongoexport writes them; Extended JSON wrappers are unwrapped before these schemas see them.
import { z } from "zod";
import type { AvatarObject, ContactPoint } from "../../../db/schema";
import type { Role } from "../../../domain/conversation";
import { OBJECT_ID } from "../../../domain/object-id";
import { searchTextOf } from "../../../domain/user-view";
import { importedSamaHash } from "../../../auth/password";
import { BOT_LOGIN } from "../../../services/organizations";
import type {
  BlockRecord,
  ContactRecord,
  ConversationRecord,
  FileRecord,
  HandlerRecord,
  MessageRecord,
  OrganizationRecord,
  ParticipantRecord,
  PushSubscriptionRecord,
  ReactionRecord,
  StatusRecord,
  UserRecord,
} from "../../../services/sama-import/records";

const objectId = z.string().regex(OBJECT_ID);
/** SAMA's organization ids: ObjectIds, and the string "default". */
const organizationId = z.string().refine((v) => v === "default" || OBJECT_ID.test(v), { message: "must be an ObjectId or \"default\"" });
/** Unix ms from an ISO date (what the Extended JSON reader makes of `$date`) or a number of ms. */
const date = z.union([z.string(), z.number()]).transform((v, ctx) => {
  const ms = typeof v === "number" ? v : Date.parse(v);
  if (Number.isNaN(ms)) ctx.addIssue({ code: "invalid_type", expected: "date", input: v });
  return ms;
});
/** An optional text field; SAMA writes "" for "not set". */
const text = z
  .string()
  .nullish()
  .transform((v) => (v === undefined || v === null || v === "" ? null : v));
const imageObject = z.looseObject({ file_id: z.string(), file_name: z.string().optional(), file_blur_hash: z.string().optional() }).nullish();
/** The time of an ObjectId (its first 4 bytes are Unix seconds): a record without created_at was made then. */
const idTime = (id: string): number => (OBJECT_ID.test(id) ? parseInt(id.slice(0, 8), 16) * 1000 : Date.now());

const stamps = { created_at: date.optional(), updated_at: date.optional() };
function times(id: string, r: { created_at?: number | undefined; updated_at?: number | undefined }): { createdAt: number; updatedAt: number } {
  const createdAt = r.created_at ?? idTime(id);
  return { createdAt, updatedAt: r.updated_at ?? createdAt };
}
const avatar = (v: z.output<typeof imageObject>): AvatarObject | null => (v ? { ...v, file_id: v.file_id } : null);
const key = (v: string | null): string | null => (v === null ? null : v.toLowerCase());

/** The stored hash: SAMA's (20 rounds of SHA-512 over password + salt) or one Parley wrote (an export of Parley's). */
function passwordHashOf(r: { password_salt: string | null; encrypted_password: string }): string | null {
  if (/^[0-9a-f]{128}$/.test(r.encrypted_password) && r.password_salt !== null) return importedSamaHash(r.password_salt, r.encrypted_password);
  return /^pbkdf2-sha256\$\d+\$[^$]+\$[^$]+$/.test(r.encrypted_password) ? r.encrypted_password : null;
}

export const organizationSchema = z.looseObject({ _id: organizationId, name: z.string().min(1).max(255), bot_user_id: objectId.optional(), ...stamps }).transform(
  (r): OrganizationRecord => ({ id: r._id, name: r.name, botUserId: r.bot_user_id ?? null, ...times(r._id, r) }),
);

export const userSchema = z
  .looseObject({
    _id: objectId,
    organization_id: organizationId,
    login: z.string().min(1).max(255),
    email: text,
    phone: text,
    first_name: text,
    last_name: text,
    password_salt: text,
    // Only the organization's bot (in an export of Parley's) has none: it cannot sign in.
    encrypted_password: z.string().min(1).optional(),
    recent_activity: z.number().int().nonnegative().optional(),
    avatar_object: imageObject,
    device_id: text,
    ...stamps,
  })
  .superRefine((r, ctx) => {
    if (r.encrypted_password === undefined) {
      if (r.login !== BOT_LOGIN) ctx.addIssue({ code: "invalid_type", expected: "string", input: undefined, path: ["encrypted_password"] });
    } else if (passwordHashOf({ ...r, encrypted_password: r.encrypted_password }) === null) ctx.addIssue({ code: "custom", path: ["encrypted_password"], message: '"encrypted_password" must be SAMA\'s hash (128 hex digits, with password_salt) or Parley\'s' });
  })
  .transform(
    (r): UserRecord => ({
      id: r._id,
      organizationId: r.organization_id,
      login: r.login,
      loginKey: r.login.toLowerCase(),
      email: r.email,
      emailKey: key(r.email),
      phone: r.phone,
      phoneKey: key(r.phone),
      firstName: r.first_name,
      lastName: r.last_name,
      passwordHash: r.encrypted_password === undefined ? null : passwordHashOf({ ...r, encrypted_password: r.encrypted_password }),
      avatarObject: avatar(r.avatar_object),
      recentActivity: r.recent_activity ?? Math.floor(times(r._id, r).updatedAt / 1000),
      deviceId: r.device_id,
      isBot: r.encrypted_password === undefined,
      searchText: searchTextOf({ login: r.login, firstName: r.first_name, lastName: r.last_name }),
      ...times(r._id, r),
    }),
  );

export const fileSchema = z
  .looseObject({
    _id: objectId,
    organization_id: organizationId,
    user_id: objectId,
    name: z.string().min(1).max(255),
    size: z.number().int().nonnegative(),
    content_type: z.string().min(1).max(255),
    object_id: objectId,
    ...stamps,
  })
  .transform(
    (r): FileRecord => ({
      id: r._id,
      organizationId: r.organization_id,
      userId: r.user_id,
      name: r.name,
      size: r.size,
      contentType: r.content_type,
      objectId: r.object_id,
      ...times(r._id, r),
    }),
  );

export const conversationSchema = z
  .looseObject({
    _id: objectId,
    organization_id: organizationId,
    type: z.enum(["u", "g", "c"]),
    name: text,
    description: text,
    owner_id: objectId,
    opponent_id: text.pipe(objectId.nullable()),
    image_object: imageObject,
    is_encrypted: z.boolean().nullish(),
    ...stamps,
  })
  .superRefine((r, ctx) => {
    if (r.type === "u" && r.opponent_id === null) ctx.addIssue({ code: "invalid_type", expected: "string", input: undefined, path: ["opponent_id"] });
  })
  .transform(
    (r): ConversationRecord => ({
      id: r._id,
      organizationId: r.organization_id,
      type: r.type,
      name: r.name,
      description: r.description,
      ownerId: r.owner_id,
      opponentId: r.type === "u" ? r.opponent_id : null,
      imageObject: avatar(r.image_object),
      isEncrypted: r.is_encrypted ?? false,
      ...times(r._id, r),
    }),
  );

export const participantSchema = z
  .looseObject({
    _id: objectId,
    organization_id: organizationId.optional(),
    conversation_id: objectId,
    user_id: objectId,
    role: z.enum(["owner", "admin", "participant", ""]).nullish(),
    ...stamps,
  })
  .transform(
    (r): ParticipantRecord => ({
      id: r._id,
      organizationId: r.organization_id ?? null,
      conversationId: r.conversation_id,
      userId: r.user_id,
      role: (r.role === "owner" || r.role === "admin" ? r.role : null) satisfies Role,
      ...times(r._id, r),
    }),
  );

export const handlerSchema = z
  .looseObject({ _id: objectId, conversation_id: objectId, content: z.string().min(1), updated_by: objectId, ...stamps })
  .transform((r): HandlerRecord => ({ id: r._id, conversationId: r.conversation_id, content: r.content, updatedBy: r.updated_by, ...times(r._id, r) }));

const contactPoints = z
  .array(z.looseObject({ type: z.string().optional(), value: z.string().min(1), matched_user_id: objectId.nullish() }))
  .nullish()
  .transform((v): ContactPoint[] | null =>
    v ? v.map((p) => ({ ...(p.type !== undefined ? { type: p.type } : {}), value: p.value, ...(p.matched_user_id ? { matched_user_id: p.matched_user_id } : {}) })) : null,
  );

export const contactSchema = z
  .looseObject({
    _id: objectId,
    organization_id: organizationId,
    user_id: objectId,
    first_name: text,
    last_name: text,
    company: text,
    email: contactPoints,
    phone: contactPoints,
    ...stamps,
  })
  .transform(
    (r): ContactRecord => ({
      id: r._id,
      organizationId: r.organization_id,
      userId: r.user_id,
      firstName: r.first_name,
      lastName: r.last_name,
      company: r.company,
      email: r.email,
      phone: r.phone,
      ...times(r._id, r),
    }),
  );

export const blockSchema = z
  .looseObject({ _id: objectId, organization_id: organizationId, user_id: objectId, blocked_user_id: objectId, enabled: z.boolean().optional(), ...stamps })
  .transform(
    (r): BlockRecord => ({
      id: r._id,
      organizationId: r.organization_id,
      userId: r.user_id,
      blockedUserId: r.blocked_user_id,
      enabled: r.enabled ?? true,
      ...times(r._id, r),
    }),
  );

export const pushSubscriptionSchema = z
  .looseObject({
    _id: objectId,
    organization_id: organizationId,
    user_id: objectId,
    platform: z.enum(["web", "ios", "android"]),
    web_endpoint: text,
    web_key_auth: text,
    web_key_p256dh: text,
    device_token: text,
    device_udid: z.string().min(1),
    ...stamps,
  })
  .transform(
    (r): PushSubscriptionRecord => ({
      id: r._id,
      organizationId: r.organization_id,
      userId: r.user_id,
      platform: r.platform,
      webEndpoint: r.web_endpoint,
      webKeyAuth: r.web_key_auth,
      webKeyP256dh: r.web_key_p256dh,
      deviceToken: r.device_token,
      deviceUdid: r.device_udid,
      ...times(r._id, r),
    }),
  );

export const messageSchema = z
  .looseObject({
    _id: objectId,
    organization_id: organizationId.optional(),
    cid: objectId,
    from: objectId,
    body: z.string().nullish(),
    attachments: z.array(z.looseObject({ file_id: z.string().min(1) })).nullish(),
    x: z.record(z.string(), z.unknown()).nullish(),
    t: z.number().int().nonnegative().optional(),
    deleted_for: z.array(objectId).nullish(),
    replied_message_id: text.pipe(objectId.nullable()),
    forwarded_message_id: text.pipe(objectId.nullable()),
    encrypted_message_type: z.number().int().nullish(),
    ...stamps,
  })
  .transform((r): MessageRecord => {
    const { createdAt, updatedAt } = times(r._id, r);
    return {
      id: r._id,
      organizationId: r.organization_id ?? null,
      cid: r.cid,
      from: r.from,
      body: r.body ?? null,
      attachments: r.attachments && r.attachments.length > 0 ? r.attachments : null,
      x: r.x ?? {},
      t: r.t ?? Math.ceil(createdAt / 1000),
      createdAt,
      updatedAt,
      repliedMessageId: r.replied_message_id,
      forwardedMessageId: r.forwarded_message_id,
      encryptedMessageType: r.encrypted_message_type ?? null,
      deletedFor: r.deleted_for ?? [],
    };
  });

export const statusSchema = z
  .looseObject({ _id: objectId, cid: objectId, mid: objectId, user_id: objectId, status: z.enum(["read", "delivered"]), ...stamps })
  .transform((r): StatusRecord => ({ id: r._id, cid: r.cid, mid: r.mid, userId: r.user_id, status: r.status, at: times(r._id, r).updatedAt }));

export const reactionSchema = z
  .looseObject({ _id: objectId, cid: objectId.optional(), mid: objectId, user_id: objectId, reaction: z.string().min(1).max(32), ...stamps })
  .transform((r): ReactionRecord => ({ id: r._id, cid: r.cid ?? null, mid: r.mid, userId: r.user_id, reaction: r.reaction, at: times(r._id, r).createdAt }));

/** The history step names conversations by id. */
export const historySchema = objectId;
