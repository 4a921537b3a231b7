// Messages as plain data: the stored form, SAMA's wire packets (§1.3) and list views.
import type { ConversationType } from "./conversation";

/** Longest message body, in characters (SAMA's limit). */
export const MAX_BODY = 65536;

export interface Attachment {
  [key: string]: unknown;
}

/** The most each attachment field may hold (SAMA's limits): characters for the text fields, the value itself for the numbers. */
export const ATTACHMENT_LIMITS = {
  file_id: 255,
  file_url: 2048,
  file_name: 255,
  file_blur_hash: 255,
  file_content_type: 255,
  file_size: 104857601,
  file_width: 10000,
  file_height: 10000,
} as const;

/** A message's content as its sender wrote it (SendInput adds the client id and deleted_for). */
export interface SentContent {
  body: string | null;
  attachments: Attachment[] | null;
  x: Record<string, unknown>;
  repliedMessageId: string | null;
  forwardedMessageId: string | null;
  encryptedMessageType: number | null;
}

export interface StoredMessage {
  id: string;
  seq: number;
  cid: string;
  from: string;
  body: string | null;
  attachments: Attachment[] | null;
  x: Record<string, unknown>;
  /** Unix seconds. */
  t: number;
  createdAt: number;
  updatedAt: number;
  repliedMessageId: string | null;
  forwardedMessageId: string | null;
  encryptedMessageType: number | null;
  deletedFor: string[];
}

export type MessageStatus = "sent" | "delivered" | "read";

/** The body of a `message` packet (messageBody builds it); `seq` is Parley's gap-free counter. */
export type MessagePacketBody = {
  _id: string;
  cid: string;
  c_type?: ConversationType;
  from: string;
  t: number;
  body?: string;
  attachments?: Attachment[];
  x: Record<string, unknown>;
  encrypted_message_type?: number;
  replied_message_id?: string;
  forwarded_message_id?: string;
  updated_at: string;
  created_at: string;
  seq: number;
}

/** A message as message_list lists it: the packet, the caller's own messages with their status, and reactions. */
export type ListedMessage = MessagePacketBody & {
  status?: MessageStatus;
  /** `{}` when none, else the caller's own reactions and a count per emoji. */
  reactions: { own?: string[]; total?: Record<string, number> };
};


/** A message's content in SAMA's field names; absent fields are left out, `x` is always there. */
export function contentFields(m: SentContent): Pick<MessagePacketBody, "body" | "attachments" | "x" | "encrypted_message_type" | "replied_message_id" | "forwarded_message_id"> {
  // SAMA's key order: body, attachments, x, then the rest.
  return {
    ...(m.body !== null ? { body: m.body } : {}),
    ...(m.attachments !== null ? { attachments: m.attachments } : {}),
    x: m.x,
    ...(m.encryptedMessageType !== null ? { encrypted_message_type: m.encryptedMessageType } : {}),
    ...(m.repliedMessageId !== null ? { replied_message_id: m.repliedMessageId } : {}),
    ...(m.forwardedMessageId !== null ? { forwarded_message_id: m.forwardedMessageId } : {}),
  };
}

/** The body of a `message` packet; `seq` is Parley's addition (gap-free per conversation). */
export function messageBody(m: StoredMessage, cType: ConversationType | null): MessagePacketBody {
  return {
    _id: m.id,
    cid: m.cid,
    ...(cType !== null ? { c_type: cType } : {}),
    from: m.from,
    t: m.t,
    ...contentFields(m),
    updated_at: new Date(m.updatedAt).toISOString(),
    created_at: new Date(m.createdAt).toISOString(),
    seq: m.seq,
  };
}

/** `last_message` of a conversation (§1.4). */
export interface LastMessage {
  _id: string;
  from: string;
  t: number;
  body?: string;
  attachments?: Attachment[];
  status: MessageStatus;
}

export function lastMessageView(m: StoredMessage, status: MessageStatus): LastMessage {
  const view: LastMessage = { _id: m.id, from: m.from, t: m.t, status };
  if (m.body !== null) view.body = m.body;
  if (m.attachments !== null) view.attachments = m.attachments;
  return view;
}

/** Reactions as SAMA lists them on a message: {own:[…], total:{emoji:count}} or {}. */
export function reactionSummary(rows: ReadonlyArray<{ userId: string; reaction: string }>, viewer: string): ListedMessage["reactions"] {
  if (rows.length === 0) return {};
  const total: Record<string, number> = {};
  const own: string[] = [];
  for (const row of rows) {
    total[row.reaction] = (total[row.reaction] ?? 0) + 1;
    if (row.userId === viewer) own.push(row.reaction);
  }
  return { own: own.sort(), total };
}

/** Reactions by emoji with sorted user ids (message_reactions_list). */
export function reactionsByEmoji(rows: ReadonlyArray<{ userId: string; reaction: string }>): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const row of rows) (out[row.reaction] ??= []).push(row.userId);
  for (const users of Object.values(out)) users.sort();
  return out;
}
