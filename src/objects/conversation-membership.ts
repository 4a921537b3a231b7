// Who is in a conversation: creation, conversation_update, leaving, channel subscriptions and the
// private-chat restore, with SAMA's events in SAMA's order. Plain functions over the object's Room.
import { isManager, type ConversationMeta, type ConversationView, type Participant, type Role } from "../domain/conversation";
import { fail, ok, type Actor, type ConversationChange, type Membership, type Result, type UserCard } from "../domain/conversation-calls";
import { Errors } from "../domain/errors";
import { appendSystemMessage, conversationEvent, eventPush, type Room } from "./conversation-events";
import { toParticipant } from "./conversation-rows";

/**
 * Creates the conversation (idempotent) with its first participants, announced to all of them
 * (SAMA's clients need the event to show a new chat); `pushed`: also pushed (SAMA: groups and channels).
 */
export async function setup(room: Room, meta: ConversationMeta, participants: Participant[], actor: Actor, pushed: boolean): Promise<ConversationView> {
  const { store } = room;
  if (store.readMeta() === null) {
    store.writeMeta(meta);
    for (const p of participants) store.insertParticipant(p, meta.createdAt);
    const view = store.view();
    const recipients = store.participantIds();
    const packet = conversationEvent("conversation_created", actor.userId, view);
    room.enqueue(recipients, packet, {
      store: true,
      excludeSession: actor.sessionId,
      patch: { conversation: view, updatedAt: meta.updatedAt },
      ...(pushed ? { push: eventPush(store, actor.userId, "created a new conversation") } : {}),
    });
    await room.settle();
  }
  return store.view();
}

export function currentMembership(room: Room): Membership {
  return { meta: room.store.readMeta()!, participants: room.store.participants().map(toParticipant) };
}

/** conversation_update for groups and channels: fields, participants, admins; SAMA's event order. */
export async function update(room: Room, actor: Actor, change: ConversationChange): Promise<Result<{ view: ConversationView | null } & Membership>> {
  const { store } = room;
  const meta = store.readMeta();
  if (!meta || meta.organizationId !== actor.organizationId) return fail(Errors.BAD_REQUEST);
  const role = store.roleOf(actor.userId);
  if (meta.type === "u") {
    if (role === undefined) return fail(Errors.FORBIDDEN);
  } else if (!isManager(role ?? null)) {
    return fail(Errors.FORBIDDEN);
  }
  // Owners and admins change admins (an admin may step down, as SAMA); only the owner is never removed.
  if (role !== "owner" && change.remove.includes(meta.ownerId)) return fail(Errors.FORBIDDEN);
  const now = Date.now();
  const existing = new Set(store.participantIds());
  const adding = change.add.filter((c) => !existing.has(c.userId));
  const removing = change.remove.filter((id) => existing.has(id));
  if (meta.type === "g" && existing.size + adding.length - removing.length > change.maxGroupParticipants) {
    return fail(Errors.PARTICIPANTS_LIMIT);
  }
  const fieldsChanged = change.name !== undefined || change.description !== undefined || change.imageObject !== undefined;
  const imageChanged = change.imageObject !== undefined && JSON.stringify(change.imageObject) !== JSON.stringify(meta.imageObject);
  meta.name = change.name ?? meta.name;
  meta.description = change.description ?? meta.description;
  meta.imageObject = change.imageObject ?? meta.imageObject;
  meta.updatedAt = now;
  store.writeMeta(meta);
  if (meta.type === "u") {
    room.enqueue(store.participantIds(), conversationEvent("conversation_updated", actor.userId, store.view()), {
      store: true,
      excludeSession: actor.sessionId,
      patch: { conversation: store.view(), updatedAt: now },
    });
    await room.settle();
    return ok({ view: store.view(), ...currentMembership(room) });
  }

  for (const card of adding) store.insertParticipant({ userId: card.userId, role: null, name: card.name }, now);
  for (const id of change.addAdmins) store.setAdmin(id, true);
  for (const id of change.removeAdmins) store.setAdmin(id, false);
  const removedNames = new Map(store.participants().map((p) => [p.user_id, p.name]));
  for (const id of removing) {
    store.deleteParticipant(id);
    room.closeLive(meta, id);
  }
  ensureOwner(room, meta);

  if (store.participantIds().length === 0) {
    room.enqueue(removing, conversationEvent("conversation_kicked", actor.userId, store.view()), {
      store: true,
      excludeSession: actor.sessionId,
      patch: { remove: true },
    });
    store.markDeleted();
    await room.settle();
    return ok({ view: null, meta: store.storedMeta()!, participants: [] });
  }

  const view = store.view();
  const addedIds = adding.map((c) => c.userId);
  if (addedIds.length > 0) {
    const welcome = { ...view, last_message: store.lastMessageFor(null), unread_messages_count: 1 };
    room.enqueue(addedIds, conversationEvent("conversation_updated", actor.userId, welcome), {
      store: true,
      excludeSession: actor.sessionId,
      push: eventPush(store, actor.userId, "added you to conversation"),
      patch: { conversation: view, updatedAt: now, lastMessage: store.lastMessageFor(null) },
    });
  }
  for (const card of adding) appendSystemMessage(room, actor, `${card.name} has been added to the conversation`, { type: "added_participant", user: card.view });
  for (const card of change.removedCards.filter((c) => removing.includes(c.userId))) {
    appendSystemMessage(room, actor, `${card.name} has been removed from the conversation`, { type: "removed_participant", user: card.view });
  }
  if (removing.length > 0) {
    room.enqueue(removing, conversationEvent("conversation_kicked", actor.userId, view), {
      store: true,
      excludeSession: actor.sessionId,
      push: eventPush(store, actor.userId, "removed you from conversation", removedNames),
      patch: { remove: true },
    });
  }
  if (fieldsChanged || adding.length > 0 || removing.length > 0 || change.addAdmins.length > 0 || change.removeAdmins.length > 0) {
    const others = store.participantIds().filter((id) => !addedIds.includes(id));
    room.enqueue(others, conversationEvent("conversation_updated", actor.userId, view), {
      store: true,
      excludeSession: actor.sessionId,
      patch: { conversation: view, updatedAt: now },
    });
  }
  if (imageChanged) appendSystemMessage(room, actor, "Group chat image was updated", { type: "update_image", conversation: view });
  await room.settle();
  return ok({ view: store.view(), ...currentMembership(room) });
}

/** conversation_delete: the caller leaves; the last one out deletes the conversation. */
export async function leave(room: Room, actor: Actor, card: UserCard): Promise<Result<{ deleted: boolean } & Membership>> {
  const { store } = room;
  const meta = store.readMeta();
  if (!meta || meta.organizationId !== actor.organizationId) return fail(Errors.BAD_REQUEST);
  if (store.roleOf(actor.userId) === undefined) return fail(Errors.PARTICIPANT_NOT_FOUND);
  removeMember(room, meta, actor.userId);
  if (store.participantIds().length === 0 && meta.type !== "u") {
    store.markDeleted();
    await room.settle();
    return ok({ deleted: true, meta, participants: [] });
  }
  ensureOwner(room, meta);
  if (meta.type !== "c") {
    appendSystemMessage(room, actor, `${card.name} has left the conversation`, { type: "left_participants", user: card.view });
  }
  await room.settle();
  return ok({ deleted: false, ...currentMembership(room) });
}

/** conversation_subscribe / conversation_unsubscribe for channels. */
export async function subscribe(room: Room, actor: Actor, card: UserCard, join: boolean, maxSubscribers: number | null): Promise<Result<{ deleted: boolean } & Membership>> {
  const { store } = room;
  const meta = store.readMeta();
  if (!meta || meta.organizationId !== actor.organizationId || meta.type !== "c") return fail(Errors.BAD_REQUEST);
  const member = store.roleOf(actor.userId) !== undefined;
  if (join && !member) {
    if (maxSubscribers !== null && store.participantIds().length >= maxSubscribers) return fail(Errors.PARTICIPANTS_LIMIT);
    store.insertParticipant({ userId: card.userId, role: null, name: card.name }, Date.now());
    room.enqueue([actor.userId], null, { store: false, excludeSession: null, patch: { conversation: store.view(), lastMessage: store.lastMessageFor(null) } });
    refreshManagersView(room);
  } else if (!join && member) {
    removeMember(room, meta, actor.userId);
    if (store.participantIds().length === 0) {
      store.markDeleted();
      await room.settle();
      return ok({ deleted: true, meta, participants: [] });
    }
    ensureOwner(room, meta);
    refreshManagersView(room);
  }
  await room.settle();
  return ok({ deleted: false, ...currentMembership(room) });
}

/** Re-adds whichever member of a private chat left it (on create or message, as SAMA restores). */
export function restorePrivate(room: Room, cards: UserCard[], actor: Actor): void {
  const { store } = room;
  const meta = store.readMeta()!;
  const missing = cards.filter((c) => (c.userId === meta.ownerId || c.userId === meta.opponentId) && store.roleOf(c.userId) === undefined);
  if (missing.length === 0) return;
  for (const card of missing) store.insertParticipant({ userId: card.userId, role: card.userId === meta.ownerId ? "owner" : null, name: card.name }, Date.now());
  const view = store.view();
  room.enqueue(missing.map((c) => c.userId), conversationEvent("conversation_created", actor.userId, view), {
    store: true,
    excludeSession: actor.sessionId,
    patch: { conversation: view, lastMessage: store.lastMessageFor(null) },
  });
}

/** A member who leaves: off the list, out of their conversation list, off the live sockets. */
function removeMember(room: Room, meta: ConversationMeta, userId: string): void {
  room.store.deleteParticipant(userId);
  room.enqueue([userId], null, { store: false, excludeSession: null, patch: { remove: true } });
  room.closeLive(meta, userId);
}

/** Ownership passes to the longest-standing participant when the owner is gone. */
function ensureOwner(room: Room, meta: ConversationMeta): void {
  const { store } = room;
  if (store.roleOf(meta.ownerId) !== undefined) return;
  const next = store.participants()[0];
  if (!next) return;
  store.setOwnerRole(next.user_id);
  store.writeMeta({ ...(store.readMeta() ?? meta), ownerId: next.user_id });
}

/**
 * A channel's subscribers_count changes with every join and leave: owner and admins see it at
 * once; subscribers get the fresh view with the next post (one RPC per join, not one per subscriber).
 */
function refreshManagersView(room: Room): void {
  const managers = room.store.participants().filter((p) => isManager((p.role as Role) ?? null)).map((p) => p.user_id);
  room.enqueue(managers, null, { store: false, excludeSession: null, patch: { conversation: room.store.view() } });
}
