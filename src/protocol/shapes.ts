// The shapes of what Parley sends over the WebSocket: the objects in replies and pushed packets.
// They feed the AsyncAPI document (src/protocol/asyncapi.ts) and are checked against real replies and
// packets in test/ws/asyncapi.test.ts, so a field added to a view without its shape fails a test.
import { z } from "zod";

export const isoDate = z.string().meta({ format: "date-time" });
const unixSeconds = z.number().int().meta({ description: "Unix seconds" });
const id = z.string().meta({ description: "24-hex object id" });

export const success = z.strictObject({ success: z.literal(true) });

export const imageObject = z.looseObject({ file_id: z.string(), file_name: z.string().optional(), file_blur_hash: z.string().optional() });

/** What other users see of a user (src/domain/user-view.ts). Email and phone: only to the user and to whoever already has them. */
export const publicUser = z.strictObject({
  _id: id,
  native_id: z.string().meta({ description: "Same as _id" }),
  login: z.string(),
  email: z.string().optional().meta({ description: "Only to the user themself and to a user who has this address in a contact" }),
  phone: z.string().optional().meta({ description: "Only to the user themself and to a user who has this number in a contact" }),
  first_name: z.string().optional(),
  last_name: z.string().optional(),
  avatar_object: imageObject.optional(),
  recent_activity: unixSeconds.meta({ description: "Last seen, Unix seconds" }),
  created_at: isoDate,
  updated_at: isoDate,
});

/** A user with the download URL of their avatar (null when the file is unknown), as user_search and get_users_by_ids answer. */
export const userWithAvatar = publicUser.extend({ avatar_url: z.string().nullable().optional() });

const attachment = z.looseObject({
  file_id: z.string().optional(),
  file_url: z.string().optional(),
  file_name: z.string().optional(),
  file_blur_hash: z.string().optional(),
  file_content_type: z.string().optional(),
  file_size: z.number().optional(),
  file_width: z.number().optional(),
  file_height: z.number().optional(),
});

const messageStatus = z.enum(["sent", "delivered", "read"]);

export const lastMessage = z.strictObject({
  _id: id,
  from: z.string(),
  t: unixSeconds,
  body: z.string().optional(),
  attachments: z.array(attachment).optional(),
  status: messageStatus,
});

/** SAMA's conversation object; `last_message` and `unread_messages_count` come from the caller's index. */
export const conversation = z.strictObject({
  _id: id,
  organization_id: z.string(),
  type: z.enum(["u", "g", "c"]).meta({ description: "u: private chat, g: group, c: channel" }),
  name: z.string().optional(),
  description: z.string().optional(),
  image_object: imageObject.optional(),
  image_url: z.string().nullable().optional().meta({ description: "Download URL of image_object; null when the file is unknown" }),
  owner_id: z.string(),
  opponent_id: z.string().optional().meta({ description: "Private chats: the other member" }),
  is_encrypted: z.boolean().optional(),
  subscribers_count: z.number().int().optional().meta({ description: "Channels only" }),
  last_message: lastMessage.optional(),
  unread_messages_count: z.number().int().optional(),
  created_at: isoDate,
  updated_at: isoDate,
});

/** The fields of a message as its `message` packet carries them (src/domain/message.ts messageBody). */
const messageFields = {
  _id: id,
  cid: z.string(),
  c_type: z.enum(["u", "g", "c"]).optional(),
  from: z.string(),
  t: unixSeconds,
  body: z.string().optional(),
  attachments: z.array(attachment).optional(),
  x: z.looseObject({}).meta({ description: "Free-form extras; system messages about members carry type and user here" }),
  encrypted_message_type: z.number().int().optional(),
  replied_message_id: z.string().optional(),
  forwarded_message_id: z.string().optional(),
  created_at: isoDate,
  updated_at: isoDate,
  seq: z.number().int().meta({ description: "Parley: 1, 2, 3 … gap-free per conversation" }),
};

export const pushedMessage = z.strictObject(messageFields);

const reactionSummary = z.strictObject({ own: z.array(z.string()).optional(), total: z.record(z.string(), z.number().int()).optional() });

/** A message in message_list: the packet's fields, its status (the caller's own messages) and reactions. */
export const listedMessage = z.strictObject({
  ...messageFields,
  status: messageStatus.optional().meta({ description: "On the caller's own messages" }),
  reactions: reactionSummary,
});

export const ask = z.strictObject({
  mid: z.string().optional().meta({ description: "The client's message id, when it sent one" }),
  server_mid: id,
  t: unixSeconds,
  modified: z.looseObject({ body: z.string().optional(), attachments: z.array(attachment).optional() }).nullable().meta({ description: "What a conversation handler changed, else null" }),
  bot_message: z.looseObject({}).nullable().meta({ description: "A conversation handler's reply, as its message packet, else null" }),
});

export const systemAsk = z.strictObject({ mid: z.string(), t: unixSeconds });

const contactPoint = z.looseObject({ type: z.string().optional(), value: z.string(), matched_user_id: z.string().optional() });

export const contact = z.strictObject({
  _id: id,
  organization_id: z.string(),
  user_id: z.string().optional().meta({ description: "The owner; in batch add, update and list answers" }),
  first_name: z.string().optional(),
  last_name: z.string().optional(),
  company: z.string().optional(),
  email: z.array(contactPoint).optional(),
  phone: z.array(contactPoint).optional(),
  created_at: isoDate,
  updated_at: isoDate,
});

export const file = z.strictObject({
  _id: id,
  organization_id: z.string(),
  user_id: z.string(),
  name: z.string(),
  size: z.number().int(),
  content_type: z.string(),
  object_id: z.string().meta({ description: "The id used everywhere else as file_id" }),
  upload_url: z.string().optional().meta({ description: "create_files: PUT the bytes here" }),
  created_at: isoDate,
  updated_at: isoDate,
});

export const pushSubscription = z.strictObject({
  _id: id,
  organization_id: z.string(),
  user_id: z.string(),
  platform: z.enum(["web", "ios", "android"]),
  web_endpoint: z.string().optional(),
  web_key_auth: z.string().optional(),
  web_key_p256dh: z.string().optional(),
  device_udid: z.string(),
  device_token: z.string().optional(),
  created_at: isoDate,
  updated_at: isoDate,
});

export const pushEvent = z.strictObject({
  _id: id,
  user_id: z.string(),
  user_ids: z.array(z.string()),
  message: z.string().meta({ description: "Base64 of the JSON payload" }),
  created_at: isoDate,
  updated_at: isoDate,
});

export const deviceKeys = z.strictObject({
  identity_key: z.string(),
  signed_key: z.string(),
  device_id: z.string(),
  one_time_pre_key: z.union([z.string(), z.record(z.string(), z.string())]).optional().meta({ description: "request_keys: one pre-key nobody else gets" }),
});

/** user id → 0 when online, else last seen (Unix seconds). */
export const lastActivity = z.record(z.string(), z.number().int());

export const logEntry = z.strictObject({ _id: id, user_id: z.string(), packet: z.string().meta({ description: "The logged packet, JSON text" }), created_at: isoDate, updated_at: isoDate });

export const conversationHandler = z.strictObject({
  content: z.string(),
  updated_by: z.string(),
  updated_at: isoDate,
  disabled_at: isoDate.optional().meta({ description: "Parley: when it was switched off after repeated failures" }),
});
