// A conversation's messages: the checks before a send, message_list, read marks, edits, deletions,
// reactions and user system messages. Plain functions over the object's Room; the class keeps the
// send itself (its ordering with handlers and its commit).
import type { ListedMessage, ServerPackets } from "../domain/packets";
import { isManager, mayPost, type ConversationMeta } from "../domain/conversation";
import { fail, ok, type Actor, type Ask, type MessageQuery, type Result, type SendInput, type UserCard } from "../domain/conversation-calls";
import { Errors } from "../domain/errors";
import { messageBody, reactionsByEmoji, reactionSummary, type LastMessage } from "../domain/message";
import { idsByAuthor, statusPatch, type Room } from "./conversation-events";
import { restorePrivate } from "./conversation-membership";
import { toMessage, type MessageRow } from "./conversation-rows";
import type { ConversationStore } from "./conversation-store";

/** Why the send cannot be stored (or the first ask of a repeated client id); null when it can. */
export function checkSend(room: Room, actor: Actor, input: SendInput, restoreCards: UserCard[] | null): Result<Ask> | null {
  const { store } = room;
  const meta = store.readMeta();
  if (!meta || meta.organizationId !== actor.organizationId) return fail(Errors.CONVERSATION_NOT_FOUND);
  // A retry of a stored message gets its first ask, whatever changed since (a block, a removal).
  if (input.clientId !== null) {
    const seen = store.firstAsk(actor.userId, input.clientId);
    if (seen) return ok(seen);
  }
  if (meta.type === "u" && (actor.userId === meta.ownerId || actor.userId === meta.opponentId)) {
    // Writing to a private chat brings back whichever member had left it (as SAMA restores it).
    const missing = [meta.ownerId, meta.opponentId ?? ""].filter((id) => id !== "" && store.roleOf(id) === undefined);
    if (missing.length > 0) {
      if (restoreCards === null) return { ok: false, error: Errors.FORBIDDEN, needsCards: missing };
      restorePrivate(room, restoreCards, actor);
    }
  }
  const role = store.roleOf(actor.userId);
  if (meta.type === "c" && !mayPost(meta.type, role ?? null)) return fail(Errors.FORBIDDEN);
  if (role === undefined) return fail(Errors.FORBIDDEN);
  if (meta.type === "u" && store.isBlocked()) return fail(Errors.USER_BLOCKED);

  if (input.repliedMessageId !== null) {
    const replied = store.messageById(input.repliedMessageId);
    if (!replied || replied.deletedFor.includes(actor.userId)) return fail(Errors.INCORRECT_REPLY_MESSAGE_ID);
  }
  return null;
}

export function listMessages(store: ConversationStore, actor: Actor, query: MessageQuery): Result<ListedMessage[]> {
  const denied = store.memberError(actor);
  if (denied) return fail(denied);
  const meta = store.readMeta()!;
  return ok(
    store.listMessages(actor.userId, query, meta.isEncrypted).map((row) => {
      const m = toMessage(row, meta.id);
      return {
        ...messageBody(m, meta.type),
        ...(m.from === actor.userId ? { status: store.statusOf(row) } : {}),
        reactions: reactionSummary(store.reactionRows(m.seq), actor.userId),
      };
    }),
  );
}

export async function markRead(room: Room, actor: Actor, ids: string[] | null): Promise<Result<true>> {
  const { store } = room;
  const meta = store.readMeta();
  if (!meta || meta.organizationId !== actor.organizationId) return fail(Errors.CONVERSATION_NOT_FOUND);
  if (meta.type === "c") return fail(Errors.FORBIDDEN);
  const me = store.participantRow(actor.userId);
  if (!me) return fail(Errors.FORBIDDEN);
  const rows = ids === null ? store.othersMessagesAfter(me.read_seq, actor.userId) : store.othersMessages(ids, actor.userId);
  const lastBefore = store.lastMessageFor(null);
  const now = Date.now();
  for (const row of rows) {
    store.markReadBy(row.seq, actor.userId, now);
    store.d1.queue("status", { cid: meta.id, mid: row.id, user_id: actor.userId, status: "read", at: now });
  }
  const maxSeq = rows.reduce((max, row) => Math.max(max, row.seq), me.read_seq);
  store.setReadSeq(actor.userId, maxSeq);
  for (const [author, mids] of idsByAuthor(rows)) {
    room.enqueue([author], { message_read: { ids: mids, cid: meta.id, from: actor.userId } satisfies ServerPackets["message_read"] }, { store: true, excludeSession: null, patch: statusPatch(store, mids) });
  }
  room.enqueue([actor.userId], null, { store: false, excludeSession: null, patch: null, unread: { [actor.userId]: store.unreadCount(actor.userId, maxSeq) } });
  announceFirstRead(room, rows, lastBefore);
  await room.settle();
  return ok(true);
}

/**
 * SAMA's last_message is "read" once anyone read it, for every member: when this read turned the
 * conversation's last message read, the members who see it (not those it is deleted for) get it
 * again with its new status. Its author already has it, with `message_read`. Once per message.
 */
function announceFirstRead(room: Room, rows: MessageRow[], lastBefore: LastMessage | null): void {
  if (lastBefore === null || lastBefore.status === "read") return;
  const row = rows.find((r) => r.id === lastBefore._id);
  const lastMessage = row ? room.store.lastMessageFor(null) : null;
  if (!row || lastMessage === null) return;
  const hidden = new Set([row.from_id, ...(JSON.parse(row.deleted_for) as string[])]);
  const viewers = room.store.participantIds().filter((id) => !hidden.has(id));
  room.enqueue(viewers, null, { store: false, excludeSession: null, patch: { lastMessage } });
}

/**
 * message_decryption_failed: the D1 copy records it per reporter, and each author gets
 * `message_decryption_failed` (SAMA builds that packet but never delivers it).
 */
export async function decryptionFailed(room: Room, actor: Actor, ids: string[]): Promise<Result<true>> {
  const { store } = room;
  const denied = store.memberError(actor);
  if (denied) return fail(denied);
  const meta = store.readMeta()!;
  const rows = store.othersMessages(ids, actor.userId);
  const now = Date.now();
  for (const row of rows) store.d1.queue("status", { cid: meta.id, mid: row.id, user_id: actor.userId, status: "decryption_failed", at: now });
  for (const [author, mids] of idsByAuthor(rows)) {
    room.enqueue([author], { message_decryption_failed: { ids: mids, cid: meta.id, from: actor.userId } satisfies ServerPackets["message_decryption_failed"] }, { store: true, excludeSession: null, patch: null });
  }
  await room.settle();
  return ok(true);
}

export async function editMessage(room: Room, actor: Actor, mid: string, body: string): Promise<Result<true>> {
  const { store } = room;
  const meta = store.readMeta();
  if (!meta || meta.organizationId !== actor.organizationId || store.roleOf(actor.userId) === undefined) return fail(Errors.MESSAGE_ID_NOT_FOUND);
  const message = store.messageById(mid);
  if (!message || message.deletedFor.includes(actor.userId)) return fail(Errors.MESSAGE_ID_NOT_FOUND);
  if (message.from !== actor.userId) return fail(Errors.FORBIDDEN);
  store.editBody(message.seq, body, Date.now());
  store.d1.message(message.seq);
  const last = store.lastMessageFor(null);
  const packet = { message_edit: { id: mid, cid: meta.id, c_type: meta.type, from: actor.userId, body } satisfies ServerPackets["message_edit"] };
  room.broadcastLive(meta, packet);
  room.enqueue(store.participantIds(), packet, {
    store: true,
    excludeSession: actor.sessionId,
    patch: last && last._id === mid ? { lastMessage: last } : null,
  });
  await room.settle();
  return ok(true);
}

export async function deleteMessages(room: Room, actor: Actor, ids: string[], type: "all" | "myself"): Promise<Result<true>> {
  const { store } = room;
  const denied = store.memberError(actor);
  if (denied) return fail(denied);
  const meta = store.readMeta()!;
  const rows = store.messagesByIds(ids);
  if (rows.length === 0) return ok(true);
  if (type === "myself") {
    for (const row of rows) {
      store.hideFor(row, actor.userId);
      store.d1.message(row.seq);
    }
    const me = store.participantRow(actor.userId)!;
    room.enqueue([actor.userId], null, {
      store: false,
      excludeSession: null,
      patch: { lastMessage: store.lastMessageFor(actor.userId) },
      unread: { [actor.userId]: store.unreadCount(actor.userId, me.read_seq) },
    });
    await room.settle();
    return ok(true);
  }
  // In a private chat "owner" only means who created it: nobody deletes the other's messages there.
  const manager = meta.type !== "u" && isManager(store.roleOf(actor.userId) ?? null);
  if (!manager && rows.some((row) => row.from_id !== actor.userId)) return fail(Errors.FORBIDDEN);
  removeMessages(store, meta, rows);
  const packet = { message_delete: { ids: rows.map((r) => r.id), cid: meta.id, c_type: meta.type, from: actor.userId, type: "all" } satisfies ServerPackets["message_delete"] };
  room.broadcastLive(meta, packet);
  room.enqueue(store.participantIds(), packet, {
    store: true,
    excludeSession: actor.sessionId,
    patch: { lastMessage: store.lastMessageFor(null) },
    unread: store.recountUnread(meta),
  });
  await room.settle();
  return ok(true);
}

/** Deletes messages with their statuses and reactions, here and (through the outbox) in D1. */
export function removeMessages(store: ConversationStore, meta: ConversationMeta, rows: MessageRow[]): void {
  store.deleteMessages(rows);
  store.d1.queue("delete", { cid: meta.id, ids: rows.map((r) => r.id) });
}

export async function react(room: Room, actor: Actor, mid: string, add: string | null, remove: string | null): Promise<Result<true>> {
  const { store } = room;
  const meta = store.readMeta();
  if (!meta || meta.organizationId !== actor.organizationId || store.roleOf(actor.userId) === undefined) return fail(Errors.MESSAGE_ID_NOT_FOUND);
  const message = store.messageById(mid);
  if (!message || message.deletedFor.includes(actor.userId)) return fail(Errors.MESSAGE_ID_NOT_FOUND);
  const now = Date.now();
  const change: { add?: string; remove?: string } = {};
  if (add !== null && store.addReaction(message.seq, actor.userId, add, now)) {
    change.add = add;
    store.d1.queue("reaction", { cid: meta.id, mid, user_id: actor.userId, reaction: add, at: now, op: "add" });
  }
  if (remove !== null && store.removeReaction(message.seq, actor.userId, remove)) {
    change.remove = remove;
    store.d1.queue("reaction", { cid: meta.id, mid, user_id: actor.userId, reaction: remove, at: now, op: "remove" });
  }
  if (Object.keys(change).length > 0) {
    const packet = { message_reactions_update: { mid, cid: meta.id, c_type: meta.type, from: actor.userId, ...change } satisfies ServerPackets["message_reactions_update"] };
    // A channel's reactions reach its live sockets (one broadcast), not every subscriber's log.
    if (meta.type === "c") room.broadcastLive(meta, packet);
    else room.enqueue(store.participantIds(), packet, { store: true, excludeSession: actor.sessionId, patch: null });
  }
  await room.settle();
  return ok(true);
}

export function reactions(store: ConversationStore, actor: Actor, mid: string): Result<Record<string, string[]>> {
  const meta = store.readMeta();
  if (!meta || meta.organizationId !== actor.organizationId || store.roleOf(actor.userId) === undefined) return fail(Errors.MESSAGE_ID_NOT_FOUND);
  const message = store.messageById(mid);
  if (!message || message.deletedFor.includes(actor.userId)) return fail(Errors.MESSAGE_ID_NOT_FOUND);
  return ok(reactionsByEmoji(store.reactionRows(message.seq)));
}

/** A user-sent system_message to the conversation: logged and forwarded, never persisted as a message. */
export async function systemMessage(room: Room, actor: Actor, clientId: string, x: Record<string, unknown>): Promise<Result<{ mid: string; t: number }>> {
  const { store } = room;
  const meta = store.readMeta();
  if (!meta || meta.organizationId !== actor.organizationId) return fail(Errors.CONVERSATION_NOT_FOUND);
  if (store.roleOf(actor.userId) === undefined) return fail(Errors.FORBIDDEN);
  const t = Math.ceil(Date.now() / 1000);
  room.enqueue(store.participantIds(), { system_message: { _id: clientId, from: actor.userId, t, x, cid: meta.id } }, {
    store: true,
    excludeSession: actor.sessionId,
    patch: null,
  });
  await room.settle();
  return ok({ mid: clientId, t });
}
