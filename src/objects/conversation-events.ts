// What a Conversation sends out: the packets of its events, their pushes and the announcement of a
// new message, as plain functions over `Room` (the part of the object they use).
import type { ServerPackets } from "../domain/packets";
import type { ConversationMeta, ConversationView } from "../domain/conversation";
import type { Actor, SendInput } from "../domain/conversation-calls";
import type { FanoutOptions, IndexPatch } from "../domain/delivery";
import { lastMessageView, messageBody, type StoredMessage } from "../domain/message";
import type { PushPayload } from "../domain/push-payload";
import type { MessageRow } from "./conversation-rows";
import type { ConversationStore } from "./conversation-store";

/** What the rules beside the Conversation class use of one object: its storage and its ways out. */
export interface Room {
  readonly store: ConversationStore;
  /** Queues a packet (or an index change alone) for the recipients' Inboxes, in commit order. */
  enqueue(recipients: string[], packet: Record<string, unknown> | null, options: FanoutOptions): void;
  /** A channel's content (posts, edits, deletions, reactions) also goes to its live sockets, once. */
  broadcastLive(meta: ConversationMeta, packet: Record<string, unknown>): void;
  /** A subscriber who left (or everyone, when null: the channel is deleted) loses the live sockets too. */
  closeLive(meta: ConversationMeta, userId: string | null): void;
  /** Waits until the fan-out of this request has been attempted (its caller reads the result right away). */
  settle(): Promise<void>;
}

/** The fields of a message that a bot reply or a system message leaves empty. */
export const noExtras: SendInput = { clientId: null, body: null, attachments: null, x: {}, repliedMessageId: null, forwardedMessageId: null, encryptedMessageType: null, deletedFor: [] };

export function conversationEvent(event: "conversation_created" | "conversation_updated" | "conversation_kicked", actorId: string, view: ConversationView): { system_message: ServerPackets["system_message"] } {
  return { system_message: { _id: view._id, from: actorId, t: Math.ceil(Date.now() / 1000), x: { [event]: view }, cid: view._id } };
}

/** SAMA's push for a conversation event: "<actor> <what>", titled with the conversation's name. */
export function eventPush(store: ConversationStore, actorId: string, what: string, names?: Map<string, string>): { payload: PushPayload; except: string } {
  const meta = store.storedMeta()!;
  const actor = store.participantRow(actorId)?.name ?? names?.get(actorId) ?? "";
  return { payload: { title: meta.name ?? actor, body: `${actor} ${what}`, cid: meta.id, firstAttachmentUrl: null, is_encrypted: meta.isEncrypted }, except: actorId };
}

/** When one of `mids` is the conversation's last message, its new status for the author's list. */
export function statusPatch(store: ConversationStore, mids: string[]): IndexPatch | null {
  const last = store.lastMessageFor(null);
  return last && mids.includes(last._id) ? { lastMessage: last } : null;
}

/** Message ids grouped by author (one `message_read` or `message_decryption_failed` per author). */
export function idsByAuthor(rows: MessageRow[]): Map<string, string[]> {
  const byAuthor = new Map<string, string[]>();
  for (const row of rows) byAuthor.set(row.from_id, [...(byAuthor.get(row.from_id) ?? []), row.id]);
  return byAuthor;
}

/** Fan-out of a new message to every participant (the sender's other sessions get carbons). */
export function announceMessage(room: Room, message: StoredMessage, excludeSession: string | null): void {
  const { store } = room;
  const meta = store.readMeta()!;
  const sender = store.participantRow(message.from)?.name ?? "";
  const packet = { message: messageBody(message, meta.type) };
  room.broadcastLive(meta, packet);
  room.enqueue(store.participantIds(), packet, {
    store: true,
    excludeSession,
    patch: {
      lastMessage: lastMessageView(message, "sent"),
      updatedAt: message.createdAt,
      ...(meta.type === "c" ? { conversation: store.view() } : {}),
    },
    message: { mid: message.id, from: message.from, deletedFor: message.deletedFor },
    // SAMA's payload: the sender for private chats, "sender | conversation" otherwise.
    push: {
      payload: {
        title: meta.type === "u" || meta.name === null ? sender : `${sender} | ${meta.name}`,
        body: message.body ?? "",
        cid: meta.id,
        firstAttachmentUrl: null,
        is_encrypted: meta.isEncrypted,
      },
      except: message.from,
      ...(typeof message.attachments?.[0]?.file_id === "string" ? { attachment: message.attachments[0].file_id } : {}),
    },
  });
}

/** A persisted message announcing a participant or image change (counted as unread, listed). */
export function appendSystemMessage(room: Room, actor: Actor, body: string, x: Record<string, unknown>): void {
  const message = room.store.insertMessage(actor.userId, { ...noExtras, body, x }, Date.now());
  announceMessage(room, message, actor.sessionId);
}
