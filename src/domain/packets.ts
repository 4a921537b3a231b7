// The packets the server sends without being asked, as types. Every site that builds one is checked
// against them (`satisfies`), and the client SDK reads them through src/protocol/wire.ts.
import type { ConversationType, ConversationView } from "./conversation";
import type { LastMessage, MessagePacketBody } from "./message";

export type { ListedMessage, MessagePacketBody } from "./message";

/** A conversation event: SAMA's system_message with x.conversation_created|updated|kicked. */
export type ConversationEventBody = {
  _id: string;
  from: string;
  t: number;
  /** A `system_message` request's own `x` too, whatever it holds. */
  x: { conversation_created?: ConversationView; conversation_updated?: ConversationView; conversation_kicked?: ConversationView; [key: string]: unknown };
  cid: string;
}

type ByAuthor = {
  ids: string[];
  cid: string;
  from: string;
}

/**
 * What the server sends without being asked, by key. Packets that went through a user's Inbox also
 * carry that user's `event_seq` (the cursor `sync` continues from).
 */
export type ServerPackets = {
  message: MessagePacketBody;
  message_edit: { id: string; cid: string; c_type: ConversationType; from: string; body: string };
  message_delete: { ids: string[]; cid: string; c_type: ConversationType; from: string; type: "all" };
  message_read: ByAuthor;
  message_delivered: ByAuthor;
  message_decryption_failed: ByAuthor;
  message_reactions_update: { mid: string; cid: string; c_type: ConversationType; from: string; add?: string; remove?: string };
  typing: { cid: string; c_type: ConversationType; from: string; t: number; status?: string };
  system_message: ConversationEventBody;
  /** `0`: online; else last seen, Unix seconds. */
  last_activity: Record<string, number>;
}
export type PacketName = keyof ServerPackets;

/** A conversation as conversation_list lists it, from the caller's Inbox. */
export type ListedConversation = ConversationView & { last_message?: LastMessage; unread_messages_count: number };
