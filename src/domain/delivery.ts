// What a Conversation object hands to a participant's Inbox: the packet to log and forward, and the
// change to the Inbox's conversation index that goes with it.
import type { PushPayload } from "./push-payload";
import type { ConversationView } from "./conversation";
import type { LastMessage } from "./message";

export interface IndexPatch {
  /** Insert or refresh the conversation in the index. */
  conversation?: ConversationView;
  /** Drop the conversation from the index (kicked, left, deleted). */
  remove?: boolean;
  lastMessage?: LastMessage | null;
  /** Unix ms; the conversation's updated_at. */
  updatedAt?: number;
  /** Absolute unread count for this recipient. */
  unread?: number;
  /** More unread messages for this recipient (added after `unread`, if both are set). */
  unreadIncrement?: number;
}

/**
 * One patch with the effect of `a` followed by `b` on a conversation's index row, so a batch of
 * deliveries costs one write per conversation; null when they must be applied one after the other.
 */
export function mergePatches(a: IndexPatch, b: IndexPatch): IndexPatch | null {
  if (a.remove || b.remove) return null;
  const merged: IndexPatch = {};
  const conversation = b.conversation ?? a.conversation;
  if (conversation) merged.conversation = conversation;
  const lastMessage = b.lastMessage !== undefined ? b.lastMessage : a.lastMessage;
  if (lastMessage !== undefined) merged.lastMessage = lastMessage;
  if (a.updatedAt !== undefined || b.updatedAt !== undefined) merged.updatedAt = Math.max(a.updatedAt ?? 0, b.updatedAt ?? 0);
  let increment: number;
  if (b.unread !== undefined) {
    merged.unread = b.unread;
    increment = b.unreadIncrement ?? 0;
  } else if (a.unread !== undefined) {
    merged.unread = a.unread + (a.unreadIncrement ?? 0);
    increment = b.unreadIncrement ?? 0;
  } else {
    increment = (a.unreadIncrement ?? 0) + (b.unreadIncrement ?? 0);
  }
  if (increment > 0) merged.unreadIncrement = increment;
  return merged;
}

export interface Delivery {
  /**
   * The fan-out row id, increasing within the conversation: a retried delivery (seq at or below
   * the last one applied for this conversation) is skipped. Null for live-only packets that are
   * never retried (typing, last_activity, system messages to listed users).
   */
  seq: number | null;
  /**
   * The stream position of the previous delivery to this recipient, which the Inbox must have
   * applied for this one to follow it (absent: the oldest this recipient still owes).
   */
  after?: number;
  /** Resent after the Inbox lost it, once its sessions already had it: state only, nothing forwarded, no push. */
  replay?: boolean;
  /**
   * The sessions the Conversation sent the packet to straight through their Gateways: the Inbox
   * forwards it only to its other sessions, and answers with all of them when they differ. Absent
   * when the packet goes through the Inbox alone.
   */
  liveTo?: string[];
  /**
   * Not from a stream, and may be lost with the Inbox's window (a delivered receipt): logged and
   * written behind like stream state, never forcing a write.
   */
  bestEffort?: boolean;
  cid: string;
  /** The packet, e.g. {"message":{…}}; null when only the index changes. */
  packet: Record<string, unknown> | null;
  /** False for packets that are never logged (typing). */
  store: boolean;
  /** The session that caused the packet gets no copy (it got the reply). */
  excludeSession: string | null;
  patch: IndexPatch | null;
  /** For messages: the id to index, and to report as delivered (the author's own reports are ignored). */
  mid: string | null;
  /** The notification for a recipient with no active device (messages and conversation events, SAMA §3.7). */
  push?: PushPayload;
  /** The message's first attachment, signed into `firstAttachmentUrl` when the push goes out. */
  pushAttachment?: string;
}

export interface DeliveryReceipt {
  /** Message ids that reached at least one live session of the recipient. */
  delivered: string[];
  /** The conversation's stream position that the Inbox has written (what may be forgotten). */
  durable: number;
  /** The Inbox lost deliveries before these (it has applied up to `gap`): nothing was applied; resend from there. */
  gap?: number;
  /** The user's live sessions, when a delivery's `liveTo` named others (the Conversation's routes: conversation-gateways.ts). */
  sessions?: string[];
}

/** A packet for live sessions only: never retried, never indexed (typing, last_activity, system messages to listed users). */
export function liveDelivery(cid: string, packet: Record<string, unknown>, options: { store: boolean; excludeSession: string | null }): Delivery {
  return { seq: null, cid, packet, store: options.store, excludeSession: options.excludeSession, patch: null, mid: null };
}

/** How a fan-out row (one packet, many recipients) is turned into each recipient's delivery. */
export interface FanoutOptions {
  store: boolean;
  excludeSession: string | null;
  patch: IndexPatch | null;
  /** For a new message: its id, author and deleted_for, so each recipient's unread count is right. */
  message?: { mid: string; from: string; deletedFor: string[] };
  /** Per-recipient absolute unread counts. */
  unread?: Record<string, number>;
  /** Sent as a push to recipients without an active device, except the one who caused it. */
  push?: { payload: PushPayload; except: string; attachment?: string };
}

/** A stored fan-out row (its packet, recipients and options as JSON), as the Conversation keeps it. */
export interface StoredFanoutRow {
  id: number;
  packet: string | null;
  recipients: string;
  options: string;
}

/** A fan-out row as one delivery per recipient (only `only`'s, when given). */
export function rowDeliveries(row: StoredFanoutRow, cid: string, only?: string): Map<string, Delivery> {
  const byRecipient = new Map<string, Delivery>();
  const options = JSON.parse(row.options) as FanoutOptions;
  const packet = row.packet === null ? null : (JSON.parse(row.packet) as Record<string, unknown>);
  for (const userId of JSON.parse(row.recipients) as string[]) {
    if (only === undefined || only === userId) byRecipient.set(userId, toDelivery(row.id, cid, packet, options, userId));
  }
  return byRecipient;
}

/** One recipient's delivery of fan-out row `seq`: its own unread count, and a push unless it caused it. */
export function toDelivery(seq: number, cid: string, packet: Record<string, unknown> | null, options: FanoutOptions, userId: string): Delivery {
  let patch = options.patch;
  const message = options.message;
  if (message && message.from !== userId && !message.deletedFor.includes(userId)) patch = { ...patch, unreadIncrement: 1 };
  const unread = options.unread?.[userId];
  if (unread !== undefined) patch = { ...patch, unread };
  return {
    seq,
    cid,
    packet,
    store: options.store,
    excludeSession: options.excludeSession,
    patch,
    // Every recipient indexes the message (the author too: edits and reactions find it by id).
    mid: message ? message.mid : null,
    ...(options.push && options.push.except !== userId
      ? { push: options.push.payload, ...(options.push.attachment ? { pushAttachment: options.push.attachment } : {}) }
      : {}),
  };
}
