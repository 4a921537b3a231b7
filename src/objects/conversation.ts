// Conversation: one Durable Object per conversation, the single writer of its messages. It keeps
// what the send path needs in its own SQLite (meta, participants and roles, block state, display
// names), assigns each message its `_id`, gap-free `seq` and `t`, and commits the message together
// with its fan-out row and its D1 outbox row before acknowledging. Fan-out then carries every
// packet to the participants' Inboxes in commit order; a row is deleted only once every recipient
// stored it, and an alarm retries the rest. The outbox is copied to D1 in batches by the same alarm.
import { DurableObject } from "cloudflare:workers";
import { getConfig } from "../config";
import {
  conversationView,
  isManager,
  mayPost,
  type ConversationMeta,
  type ConversationView,
  type Participant,
  type Role,
} from "../domain/conversation";
import { liveDelivery, type Delivery, type IndexPatch } from "../domain/delivery";
import { ENCRYPTION_TTL_MS } from "../domain/encryption";
import { handlerMessage, MAX_CONSECUTIVE_FAILURES, type ResolvedContent } from "../domain/handler-outcome";
import {
  lastMessageView,
  messageBody,
  reactionsByEmoji,
  reactionSummary,
  type Attachment,
  type MessageStatus,
  type StoredMessage,
} from "../domain/message";
import { nextObjectId } from "../domain/object-id";
import { fail, ok, type Actor, type Ask, type ConversationChange, type Membership, type MessageQuery, type Result, type SendInput, type UserCard } from "../domain/conversation-calls";
import type { HandlerFetch } from "../handlers";
import { Errors, type ErrorBody } from "../domain/errors";
import type { PushPayload } from "../domain/push-payload";
import { isShardRequest, LiveSockets, LIVE_ORG_HEADER, LIVE_USER_HEADER, RECEIVE_ONLY, refusal } from "./conversation-live";
import { ConversationHandlerHost, type HandlerConfig } from "./conversation-handler";
import { Fanout, type FanoutRow } from "./conversation-fanout";
import { DeliveredReports } from "./conversation-receipts";
import { D1Copy, type OutboxRow } from "./conversation-outbox";
import { meteredStorage } from "./metrics";
import { inboxOf } from "./stubs";
import { finishClose, isBenignSocketError } from "./sockets";
import { abortForTest } from "./test-abort";

interface ParticipantRow {
  user_id: string;
  role: string | null;
  name: string;
  joined_seq: number;
  read_seq: number;
  [key: string]: SqlStorageValue;
}

interface MessageRow {
  seq: number;
  id: string;
  from_id: string;
  body: string | null;
  attachments: string | null;
  x: string;
  t: number;
  created_at: number;
  updated_at: number;
  replied_message_id: string | null;
  forwarded_message_id: string | null;
  encrypted_message_type: number | null;
  deleted_for: string;
  client_id: string | null;
  delivered_at: number | null;
  [key: string]: SqlStorageValue;
}

/** What a retried send is answered with: its first ask. */
interface SentRecord {
  serverMid: string;
  t: number;
  createdAt: number;
}

/** How a fan-out row is turned into per-recipient deliveries. */
interface FanoutOptions {
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

const IDEMPOTENCY_MS = 24 * 3600 * 1000;
/** The fields of a message that a bot reply or a system message leaves empty. */
const noExtras: SendInput = { clientId: null, body: null, attachments: null, x: {}, repliedMessageId: null, forwardedMessageId: null, encryptedMessageType: null, deletedFor: [] };
// The D1 copy trails the conversation by up to this much: one D1 batch carries every change of those
// seconds (D1 serves search and statistics, never the message path, so a lag there costs nothing,
// and D1 is one writer for the whole system: fewer, larger batches). Each flush is also an alarm
// and a commit here: at 2 s a conversation of SAMA's load test paid one of each per message.
const OUTBOX_DELAY_MS = 10_000;
const RETRY_DELAY_MS = 2000;
const CONFIRM_MARGIN_MS = 2000;
/** A delivered report waits at most this long for a commit to ride with (the author's tick is that much later). */
const DELIVERED_WRITE_DELAY_MS = 1000;

export class Conversation extends DurableObject<Env> {
  private readonly sql: SqlStorage;
  private readonly setAlarm: (at: number) => Promise<void>;
  // In-memory copies of what every send and every delivery report reads (this object is the only
  // writer, so they stay true); rebuilt from SQLite after eviction.
  private metaCache: ConversationMeta | null | undefined = undefined;
  private deleted: boolean | undefined = undefined;
  private participantsCache: ParticipantRow[] | null = null;
  private seqCache: number | undefined = undefined;
  /** Client ids of the last 24 h ("<from>\n<client id>"), read from the messages once per instance. */
  private sentCache: Map<string, SentRecord> | null = null;
  private lastIdCache: string | null | undefined = undefined;
  /** Recent messages (id → seq, author) and which of them already count as delivered. */
  private readonly recent = new Map<string, { seq: number; from: string; delivered: boolean }>();
  private readonly fanout: Fanout;
  private readonly receipts: DeliveredReports;
  private readonly d1: D1Copy;
  private alarmAt: number | null | undefined = undefined;
  /** Alarm scheduling runs one call at a time (getAlarm, then maybe setAlarm). */
  private alarmChain: Promise<void> = Promise.resolve();
  private readonly live: LiveSockets;
  private liveShardsCache: number | undefined = undefined;
  private readonly handler: ConversationHandlerHost;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    const storage = meteredStorage(ctx.storage, "Conversation");
    this.sql = storage.sql;
    this.setAlarm = storage.setAlarm;
    this.live = new LiveSockets(ctx, env, getConfig(env).liveSocketsPerObject);
    ctx.setWebSocketAutoResponse(new WebSocketRequestResponsePair("ping", "pong"));
    // Called with props: a loopback binding that can be handed to the loader isolate (the bare stub cannot).
    this.handler = new ConversationHandlerHost(this.sql, env, ctx.exports.HandlerOutbound({ props: {} }));
    this.receipts = new DeliveredReports(() => {
      if (this.writeDelivered()) this.kick();
    }, DELIVERED_WRITE_DELAY_MS);
    this.fanout = new Fanout(
      this.sql,
      {
        deliveries: (row) => this.deliveriesOf(row),
        deliver: (userId, deliveries, options) => inboxOf(this.env, this.storedMeta()!.organizationId, userId).deliver(userId, deliveries, options),
        delivered: (userId, mids) => this.markDelivered(userId, mids),
        retryLater: (at) => this.ensureAlarm(at === undefined ? RETRY_DELAY_MS : Math.max(0, at - Date.now())),
      },
      // An Inbox writes within its window: what is still unwritten a little after that is resent.
      getConfig(env).inboxWriteWindowMs + CONFIRM_MARGIN_MS,
    );
    this.sql.exec(`
      CREATE TABLE IF NOT EXISTS meta (k TEXT PRIMARY KEY, v TEXT NOT NULL);
      CREATE TABLE IF NOT EXISTS participants (
        user_id TEXT PRIMARY KEY, role TEXT, name TEXT NOT NULL,
        joined_seq INTEGER NOT NULL, read_seq INTEGER NOT NULL DEFAULT 0, added_at INTEGER NOT NULL);
      CREATE TABLE IF NOT EXISTS messages (
        seq INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, from_id TEXT NOT NULL, body TEXT, attachments TEXT,
        x TEXT NOT NULL, t INTEGER NOT NULL, created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL,
        replied_message_id TEXT, forwarded_message_id TEXT, encrypted_message_type INTEGER,
        deleted_for TEXT NOT NULL DEFAULT '[]', client_id TEXT, delivered_by TEXT, delivered_at INTEGER);
      CREATE TABLE IF NOT EXISTS sends (from_id TEXT NOT NULL, client_id TEXT NOT NULL, ask TEXT NOT NULL,
        created_at INTEGER NOT NULL, PRIMARY KEY (from_id, client_id));
      CREATE TABLE IF NOT EXISTS statuses (seq INTEGER NOT NULL, user_id TEXT NOT NULL, status TEXT NOT NULL,
        updated_at INTEGER NOT NULL, PRIMARY KEY (seq, user_id));
      CREATE TABLE IF NOT EXISTS reactions (seq INTEGER NOT NULL, user_id TEXT NOT NULL, reaction TEXT NOT NULL,
        created_at INTEGER NOT NULL, PRIMARY KEY (seq, user_id, reaction));
      CREATE TABLE IF NOT EXISTS fanout (id INTEGER PRIMARY KEY, packet TEXT, recipients TEXT NOT NULL, options TEXT NOT NULL);
      CREATE TABLE IF NOT EXISTS outbox (id INTEGER PRIMARY KEY, kind TEXT NOT NULL, payload TEXT NOT NULL);
    `);
    upgradeSchema(this.sql);
    this.d1 = new D1Copy(this.sql);
  }

  // ---------------------------------------------------------------- lifecycle

  /**
   * Creates the conversation (idempotent) with its first participants, announced to all of them
   * (SAMA's clients need the event to show a new chat); `pushed`: also pushed (SAMA: groups and channels).
   */
  async setup(meta: ConversationMeta, participants: Participant[], actor: Actor, pushed: boolean): Promise<ConversationView> {
    if (this.readMeta() === null) {
      this.writeMeta(meta);
      for (const p of participants) this.insertParticipant(p, meta.createdAt);
      const view = this.view();
      const recipients = this.participantIds();
      const packet = this.conversationEvent("conversation_created", actor.userId, view);
      this.enqueue(recipients, packet, {
        store: true,
        excludeSession: actor.sessionId,
        patch: { conversation: view, updatedAt: meta.updatedAt },
        ...(pushed ? { push: this.eventPush(actor.userId, "created a new conversation") } : {}),
      });
      await this.settle();
    }
    return this.view();
  }

  private currentMembership(): Membership {
    return { meta: this.readMeta()!, participants: this.readParticipants().map(toParticipant) };
  }

  /** Meta and participants, for requests that read them (participants by cids, admins). */
  async membership(organizationId: string): Promise<Membership | null> {
    const meta = this.readMeta();
    if (!meta || meta.organizationId !== organizationId) return null;
    return { meta, participants: this.readParticipants().map(toParticipant) };
  }

  /**
   * Which of `objectIds` a message from `from` carries among the messages not yet copied to D1: the
   * outbox's lag, for files/access.ts (a file posted a moment ago is visible before its D1 grant exists).
   */
  async unflushedAttachments(from: string, objectIds: string[]): Promise<string[]> {
    return this.d1.uncopiedAttachments(from, objectIds);
  }

  /** Re-adds the two members of a private chat who left (on create or message, as SAMA restores). */
  async restore(actor: Actor, cards: UserCard[]): Promise<ConversationView | null> {
    const meta = this.readMeta();
    if (!meta || meta.organizationId !== actor.organizationId || meta.type !== "u") return null;
    this.restorePrivate(cards, actor);
    await this.settle();
    return this.view();
  }

  /**
   * The private chat's block state, as read from D1 at `readAt` (Unix ms). A report read earlier than
   * the one already applied is ignored, so concurrent block and unblock requests end in the state
   * D1 ended in.
   */
  async setBlocked(blocked: boolean, readAt: number): Promise<void> {
    const applied = Number(this.sql.exec<{ v: string }>("SELECT v FROM meta WHERE k = 'blocked_at'").toArray()[0]?.v ?? 0);
    if (readAt < applied) return;
    this.sql.exec("INSERT OR REPLACE INTO meta (k, v) VALUES ('blocked', ?), ('blocked_at', ?)", blocked ? "1" : "0", String(readAt));
  }

  /** conversation_update for groups and channels: fields, participants, admins; SAMA's event order. */
  async update(actor: Actor, change: ConversationChange): Promise<Result<{ view: ConversationView | null } & Membership>> {
    const meta = this.readMeta();
    if (!meta || meta.organizationId !== actor.organizationId) return fail(Errors.BAD_REQUEST);
    const role = this.roleOf(actor.userId);
    if (meta.type === "u") {
      if (role === undefined) return fail(Errors.FORBIDDEN);
    } else if (!isManager(role ?? null)) {
      return fail(Errors.FORBIDDEN);
    }
    // Owners and admins change admins (an admin may step down, as SAMA); only the owner is never removed.
    if (role !== "owner" && change.remove.includes(meta.ownerId)) return fail(Errors.FORBIDDEN);
    const now = Date.now();
    const existing = new Set(this.participantIds());
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
    this.writeMeta(meta);
    if (meta.type === "u") {
      this.enqueue(this.participantIds(), this.conversationEvent("conversation_updated", actor.userId, this.view()), {
        store: true,
        excludeSession: actor.sessionId,
        patch: { conversation: this.view(), updatedAt: now },
      });
      await this.settle();
      return ok({ view: this.view(), ...this.currentMembership() });
    }

    for (const card of adding) this.insertParticipant({ userId: card.userId, role: null, name: card.name }, now);
    for (const id of change.addAdmins) this.writeParticipants("UPDATE participants SET role = 'admin' WHERE user_id = ? AND role IS NULL", id);
    for (const id of change.removeAdmins) this.writeParticipants("UPDATE participants SET role = NULL WHERE user_id = ? AND role = 'admin'", id);
    const removedNames = new Map(this.readParticipants().map((p) => [p.user_id, p.name]));
    for (const id of removing) {
      this.writeParticipants("DELETE FROM participants WHERE user_id = ?", id);
      this.closeLive(meta, id);
    }
    this.ensureOwner(meta);

    if (this.participantIds().length === 0) {
      this.enqueue(removing, this.conversationEvent("conversation_kicked", actor.userId, this.view()), {
        store: true,
        excludeSession: actor.sessionId,
        patch: { remove: true },
      });
      this.markDeleted();
      await this.settle();
      return ok({ view: null, meta: this.storedMeta()!, participants: [] });
    }

    const view = this.view();
    const addedIds = adding.map((c) => c.userId);
    if (addedIds.length > 0) {
      const welcome = { ...view, last_message: this.lastMessageFor(null), unread_messages_count: 1 };
      this.enqueue(addedIds, this.conversationEvent("conversation_updated", actor.userId, welcome), {
        store: true,
        excludeSession: actor.sessionId,
        push: this.eventPush(actor.userId, "added you to conversation"),
        patch: { conversation: view, updatedAt: now, lastMessage: this.lastMessageFor(null) },
      });
    }
    for (const card of adding) this.appendSystemMessage(actor, `${card.name} has been added to the conversation`, { type: "added_participant", user: card.view });
    for (const card of change.removedCards.filter((c) => removing.includes(c.userId))) {
      this.appendSystemMessage(actor, `${card.name} has been removed from the conversation`, { type: "removed_participant", user: card.view });
    }
    if (removing.length > 0) {
      this.enqueue(removing, this.conversationEvent("conversation_kicked", actor.userId, view), {
        store: true,
        excludeSession: actor.sessionId,
        push: this.eventPush(actor.userId, "removed you from conversation", removedNames),
        patch: { remove: true },
      });
    }
    if (fieldsChanged || adding.length > 0 || removing.length > 0 || change.addAdmins.length > 0 || change.removeAdmins.length > 0) {
      const others = this.participantIds().filter((id) => !addedIds.includes(id));
      this.enqueue(others, this.conversationEvent("conversation_updated", actor.userId, view), {
        store: true,
        excludeSession: actor.sessionId,
        patch: { conversation: view, updatedAt: now },
      });
    }
    if (imageChanged) this.appendSystemMessage(actor, "Group chat image was updated", { type: "update_image", conversation: view });
    await this.settle();
    return ok({ view: this.view(), ...this.currentMembership() });
  }

  /** conversation_delete: the caller leaves; the last one out deletes the conversation. */
  async leave(actor: Actor, card: UserCard): Promise<Result<{ deleted: boolean } & Membership>> {
    const meta = this.readMeta();
    if (!meta || meta.organizationId !== actor.organizationId) return fail(Errors.BAD_REQUEST);
    if (this.roleOf(actor.userId) === undefined) return fail(Errors.PARTICIPANT_NOT_FOUND);
    this.removeMember(meta, actor.userId);
    if (this.participantIds().length === 0 && meta.type !== "u") {
      this.markDeleted();
      await this.settle();
      return ok({ deleted: true, meta, participants: [] });
    }
    this.ensureOwner(meta);
    if (meta.type !== "c") {
      this.appendSystemMessage(actor, `${card.name} has left the conversation`, { type: "left_participants", user: card.view });
    }
    await this.settle();
    return ok({ deleted: false, ...this.currentMembership() });
  }

  /** conversation_subscribe / conversation_unsubscribe for channels. */
  async subscribe(actor: Actor, card: UserCard, join: boolean, maxSubscribers: number | null): Promise<Result<{ deleted: boolean } & Membership>> {
    const meta = this.readMeta();
    if (!meta || meta.organizationId !== actor.organizationId || meta.type !== "c") return fail(Errors.BAD_REQUEST);
    const member = this.roleOf(actor.userId) !== undefined;
    if (join && !member) {
      if (maxSubscribers !== null && this.participantIds().length >= maxSubscribers) return fail(Errors.PARTICIPANTS_LIMIT);
      this.insertParticipant({ userId: card.userId, role: null, name: card.name }, Date.now());
      this.enqueue([actor.userId], null, { store: false, excludeSession: null, patch: { conversation: this.view(), lastMessage: this.lastMessageFor(null) } });
      this.refreshManagersView();
    } else if (!join && member) {
      this.removeMember(meta, actor.userId);
      if (this.participantIds().length === 0) {
        this.markDeleted();
        await this.settle();
        return ok({ deleted: true, meta, participants: [] });
      }
      this.ensureOwner(meta);
      this.refreshManagersView();
    }
    await this.settle();
    return ok({ deleted: false, ...this.currentMembership() });
  }

  // ---------------------------------------------------------------- live channel sockets

  /** The upgrade of /api/conversations/:cid/live, already authenticated by the Worker. */
  override async fetch(request: Request): Promise<Response> {
    if (isShardRequest(request)) return this.live.acceptAsShard(request);
    const userId = request.headers.get(LIVE_USER_HEADER) ?? "";
    const meta = this.readMeta();
    if (!meta || meta.organizationId !== request.headers.get(LIVE_ORG_HEADER) || meta.type !== "c") return refusal(Errors.CONVERSATION_NOT_FOUND);
    if (this.roleOf(userId) === undefined) return refusal(Errors.FORBIDDEN);
    const here = this.live.accept(userId);
    if (here) return here;
    const { response, shard } = await this.live.acceptOnShards(meta.id, request);
    if (shard > this.liveShards()) {
      this.liveShardsCache = shard;
      this.sql.exec("INSERT OR REPLACE INTO meta (k, v) VALUES ('live_shards', ?)", String(shard));
    }
    return response;
  }

  /** RPC to a shard: relay a post to its sockets. */
  async liveBroadcast(text: string): Promise<void> {
    this.live.sendLocal(text);
  }

  /** RPC to a shard: close one user's sockets (null: all). */
  async liveClose(userId: string | null, reason: string): Promise<void> {
    this.live.closeLocal(userId, reason);
  }

  override async webSocketMessage(ws: WebSocket): Promise<void> {
    try {
      ws.send(RECEIVE_ONLY);
    } catch (err) {
      if (!isBenignSocketError(err)) console.error("live socket send failed", err);
    }
  }

  override async webSocketClose(ws: WebSocket, code: number, reason: string): Promise<void> {
    finishClose(ws, code, reason);
  }

  override async webSocketError(_ws: WebSocket, error: unknown): Promise<void> {
    if (!isBenignSocketError(error)) console.error("live socket error", error);
  }

  private liveShards(): number {
    this.liveShardsCache ??= Number(this.sql.exec<{ v: string }>("SELECT v FROM meta WHERE k = 'live_shards'").toArray()[0]?.v ?? 0);
    return this.liveShardsCache;
  }

  /** A channel's content (posts, edits, deletions, reactions) also goes to its live sockets, once. */
  private broadcastLive(meta: ConversationMeta, packet: Record<string, unknown>): void {
    if (meta.type === "c") this.live.broadcast(meta.id, this.liveShards(), JSON.stringify(packet));
  }

  /** A subscriber who left (or everyone, when the channel is deleted) loses the live sockets too. */
  private closeLive(meta: ConversationMeta, userId: string | null): void {
    if (meta.type === "c") this.live.close(meta.id, this.liveShards(), userId, userId === null ? "conversation deleted" : "no longer a subscriber");
  }

  // ---------------------------------------------------------------- messages

  async send(actor: Actor, input: SendInput, restoreCards: UserCard[] | null): Promise<Result<Ask>> {
    if (this.handler.active() === null) return this.checkSend(actor, input, restoreCards) ?? ok(this.storeSend(actor, input, null, null));
    // env.USER is the sender's public card, which the caller fetches (rarely: it is kept a minute).
    if (this.roleOf(actor.userId) !== undefined && this.handler.senderCard(actor.userId, restoreCards) === null) {
      return { ok: false, error: Errors.FORBIDDEN, needsCards: [actor.userId] };
    }
    return this.handler.serial(() => this.sendThroughHandler(actor, input, restoreCards));
  }

  /** A send in a conversation with a handler: checks, the handler's verdict, then the checks again (the conversation may have changed meanwhile). */
  private async sendThroughHandler(actor: Actor, input: SendInput, restoreCards: UserCard[] | null): Promise<Result<Ask>> {
    const refused = this.checkSend(actor, input, restoreCards);
    if (refused) return refused;
    const handler = this.handler.active();
    if (handler === null) return ok(this.storeSend(actor, input, null, null));
    const card = this.handler.senderCard(actor.userId, restoreCards);
    if (card === null) return { ok: false, error: Errors.FORBIDDEN, needsCards: [actor.userId] };
    const cid = this.readMeta()!.id;
    const { verdict, disabled } = await this.handler.run(handler, cid, { message: handlerMessage(cid, input), user: card.view });
    if (disabled) this.noticeHandlerDisabled(handler, disabled.reason);
    const changed = this.checkSend(actor, input, restoreCards);
    if (changed) return changed;
    const decision = verdict.decision;
    switch (decision.action) {
      case "accept":
        return ok(this.storeSend(actor, input, null, null));
      case "reject":
        return fail(decision.error);
      case "replace":
        return ok(this.storeSend(actor, { ...input, ...decision.content }, decision.content, null));
      case "reply":
        return ok(this.storeSend(actor, input, null, handler.botId === null ? null : { botId: handler.botId, content: decision.content }));
    }
  }

  /** Why the send cannot be stored (or the first ask of a repeated client id); null when it can. */
  private checkSend(actor: Actor, input: SendInput, restoreCards: UserCard[] | null): Result<Ask> | null {
    const meta = this.readMeta();
    if (!meta || meta.organizationId !== actor.organizationId) return fail(Errors.CONVERSATION_NOT_FOUND);
    // A retry of a stored message gets its first ask, whatever changed since (a block, a removal).
    if (input.clientId !== null) {
      const seen = this.firstAsk(actor.userId, input.clientId);
      if (seen) return ok(seen);
    }
    if (meta.type === "u" && (actor.userId === meta.ownerId || actor.userId === meta.opponentId)) {
      // Writing to a private chat brings back whichever member had left it (as SAMA restores it).
      const missing = [meta.ownerId, meta.opponentId ?? ""].filter((id) => id !== "" && this.roleOf(id) === undefined);
      if (missing.length > 0) {
        if (restoreCards === null) return { ok: false, error: Errors.FORBIDDEN, needsCards: missing };
        this.restorePrivate(restoreCards, actor);
      }
    }
    const role = this.roleOf(actor.userId);
    if (meta.type === "c" && !mayPost(meta.type, role ?? null)) return fail(Errors.FORBIDDEN);
    if (role === undefined) return fail(Errors.FORBIDDEN);
    if (meta.type === "u" && this.isBlocked()) return fail(Errors.USER_BLOCKED);

    if (input.repliedMessageId !== null) {
      const replied = this.messageById(input.repliedMessageId);
      if (!replied || replied.deletedFor.includes(actor.userId)) return fail(Errors.INCORRECT_REPLY_MESSAGE_ID);
    }
    return null;
  }

  /** Commits the message (and the handler's bot reply after it), remembers its ask for retries, and starts the fan-out. */
  private storeSend(actor: Actor, input: SendInput, modified: ResolvedContent | null, reply: { botId: string; content: ResolvedContent } | null): Ask {
    const now = Date.now();
    this.writeDelivered(); // rides with this commit
    const message = this.insertMessage(actor.userId, input, now);
    const botMessage = reply === null ? null : this.insertMessage(reply.botId, { ...noExtras, body: reply.content.body ?? null, attachments: reply.content.attachments ?? null }, now);
    const ask: Ask = {
      ...(input.clientId !== null ? { mid: input.clientId } : {}),
      server_mid: message.id,
      t: message.t,
      modified,
      bot_message: botMessage === null ? null : messageBody(botMessage, this.readMeta()!.type),
    };
    // The message row keeps its client id (a retry finds it there); only an ask with a handler's
    // additions needs a row of its own.
    if (input.clientId !== null && (modified !== null || botMessage !== null)) this.rememberAsk(actor.userId, input.clientId, ask, now);
    this.announceMessage(message, actor.sessionId);
    if (botMessage !== null) this.announceMessage(botMessage, null);
    this.kick();
    return ask;
  }

  /** The ask of a message this sender already sent with this client id in the last 24 h, or null. */
  private firstAsk(from: string, clientId: string): Ask | null {
    const kept = this.sql
      .exec<{ ask: string }>("SELECT ask FROM sends WHERE from_id = ? AND client_id = ? AND created_at > ?", from, clientId, Date.now() - IDEMPOTENCY_MS)
      .toArray()[0];
    if (kept) return JSON.parse(kept.ask) as Ask;
    const sent = this.sentIds().get(`${from}\n${clientId}`);
    if (!sent || sent.createdAt <= Date.now() - IDEMPOTENCY_MS) return null;
    return { mid: clientId, server_mid: sent.serverMid, t: sent.t, modified: null, bot_message: null };
  }

  private rememberAsk(from: string, clientId: string, ask: Ask, at: number): void {
    this.sql.exec("INSERT OR REPLACE INTO sends (from_id, client_id, ask, created_at) VALUES (?, ?, ?, ?)", from, clientId, JSON.stringify(ask), at);
  }

  /** Client ids of the last 24 h, newest messages first until one is older (ids and times grow with seq). */
  private sentIds(): Map<string, SentRecord> {
    if (this.sentCache) return this.sentCache;
    const cutoff = Date.now() - IDEMPOTENCY_MS;
    const rows: Array<[string, SentRecord]> = [];
    for (const row of this.sql.exec<{ id: string; from_id: string; client_id: string | null; t: number; created_at: number }>(
      "SELECT id, from_id, client_id, t, created_at FROM messages ORDER BY seq DESC",
    )) {
      if (row.created_at <= cutoff) break;
      if (row.client_id !== null) rows.push([`${row.from_id}\n${row.client_id}`, { serverMid: row.id, t: row.t, createdAt: row.created_at }]);
    }
    this.sentCache = new Map(rows.reverse());
    return this.sentCache;
  }

  /** conversation_handler_create / _delete keep the object's copy of the handler. */
  async configureHandler(config: HandlerConfig | null): Promise<void> {
    this.handler.configure(config);
  }

  /** Tells the owner (all their devices, logged for sync) that the handler was switched off. */
  private noticeHandlerDisabled(handler: HandlerConfig, reason: string): void {
    const meta = this.readMeta()!;
    const notice = { conversation_handler_disabled: { cid: meta.id, failures: MAX_CONSECUTIVE_FAILURES, reason } };
    this.enqueue([meta.ownerId], { system_message: { _id: meta.id, from: handler.botId ?? meta.ownerId, t: Math.ceil(Date.now() / 1000), x: notice, cid: meta.id } }, {
      store: true,
      excludeSession: null,
      patch: null,
    });
    this.kick();
  }

  async listMessages(actor: Actor, query: MessageQuery): Promise<Result<Record<string, unknown>[]>> {
    const denied = this.checkMember(actor);
    if (denied) return fail(denied);
    const where: string[] = ["NOT EXISTS (SELECT 1 FROM json_each(deleted_for) WHERE value = ?)"];
    const args: SqlStorageValue[] = [actor.userId];
    if (query.ids) {
      where.push("id IN (SELECT value FROM json_each(?))");
      args.push(JSON.stringify(query.ids));
    }
    const meta = this.readMeta()!;
    if (meta.isEncrypted) {
      // Encrypted conversations keep 30 days; the alarm deletes what is older (purgeExpired).
      where.push("created_at > ?");
      args.push(Date.now() - ENCRYPTION_TTL_MS);
    }
    let order = "seq DESC";
    if (query.gt !== undefined) {
      where.push("updated_at > ?");
      args.push(query.gt);
      order = "seq ASC";
    } else if (query.lt !== undefined) {
      where.push("updated_at < ?");
      args.push(query.lt);
    }
    const rows = this.sql.exec<MessageRow>(`SELECT * FROM messages WHERE ${where.join(" AND ")} ORDER BY ${order} LIMIT ?`, ...args, query.limit).toArray();
    return ok(
      rows.map((row) => {
        const m = toMessage(row, meta.id);
        const body = messageBody(m, meta.type);
        if (m.from === actor.userId) body.status = this.statusOf(row);
        body.reactions = reactionSummary(this.reactionRows(m.seq), actor.userId);
        return body;
      }),
    );
  }

  async markRead(actor: Actor, ids: string[] | null): Promise<Result<true>> {
    const meta = this.readMeta();
    if (!meta || meta.organizationId !== actor.organizationId) return fail(Errors.CONVERSATION_NOT_FOUND);
    if (meta.type === "c") return fail(Errors.FORBIDDEN);
    const me = this.participantRow(actor.userId);
    if (!me) return fail(Errors.FORBIDDEN);
    const rows =
      ids === null
        ? this.sql.exec<MessageRow>("SELECT * FROM messages WHERE seq > ? AND from_id != ? ORDER BY seq LIMIT 100", me.read_seq, actor.userId).toArray()
        : this.othersMessages(ids, actor.userId);
    const now = Date.now();
    for (const row of rows) {
      this.sql.exec("INSERT OR REPLACE INTO statuses (seq, user_id, status, updated_at) VALUES (?, ?, 'read', ?)", row.seq, actor.userId, now);
      this.outbox("status", { cid: meta.id, mid: row.id, user_id: actor.userId, status: "read", at: now });
    }
    const maxSeq = rows.reduce((max, row) => Math.max(max, row.seq), me.read_seq);
    this.writeParticipants("UPDATE participants SET read_seq = ? WHERE user_id = ?", maxSeq, actor.userId);
    for (const [author, mids] of idsByAuthor(rows)) {
      this.enqueue([author], { message_read: { ids: mids, cid: meta.id, from: actor.userId } }, { store: true, excludeSession: null, patch: this.statusPatch(mids) });
    }
    this.enqueue([actor.userId], null, { store: false, excludeSession: null, patch: null, unread: { [actor.userId]: this.unreadCount(actor.userId, maxSeq) } });
    await this.settle();
    return ok(true);
  }

  /**
   * message_decryption_failed: the D1 copy records it per reporter, and each author gets
   * `message_decryption_failed` (SAMA builds that packet but never delivers it).
   */
  async decryptionFailed(actor: Actor, ids: string[]): Promise<Result<true>> {
    const denied = this.checkMember(actor);
    if (denied) return fail(denied);
    const meta = this.readMeta()!;
    const rows = this.othersMessages(ids, actor.userId);
    const now = Date.now();
    for (const row of rows) this.outbox("status", { cid: meta.id, mid: row.id, user_id: actor.userId, status: "decryption_failed", at: now });
    for (const [author, mids] of idsByAuthor(rows)) {
      this.enqueue([author], { message_decryption_failed: { ids: mids, cid: meta.id, from: actor.userId } }, { store: true, excludeSession: null, patch: null });
    }
    await this.settle();
    return ok(true);
  }

  async editMessage(actor: Actor, mid: string, body: string): Promise<Result<true>> {
    const meta = this.readMeta();
    if (!meta || meta.organizationId !== actor.organizationId || this.roleOf(actor.userId) === undefined) return fail(Errors.MESSAGE_ID_NOT_FOUND);
    const message = this.messageById(mid);
    if (!message || message.deletedFor.includes(actor.userId)) return fail(Errors.MESSAGE_ID_NOT_FOUND);
    if (message.from !== actor.userId) return fail(Errors.FORBIDDEN);
    const now = Date.now();
    this.sql.exec("UPDATE messages SET body = ?, updated_at = ? WHERE seq = ?", body, now, message.seq);
    this.outboxMessage(message.seq);
    const last = this.lastMessageFor(null);
    const packet = { message_edit: { id: mid, cid: meta.id, c_type: meta.type, from: actor.userId, body } };
    this.broadcastLive(meta, packet);
    this.enqueue(this.participantIds(), packet, {
      store: true,
      excludeSession: actor.sessionId,
      patch: last && last._id === mid ? { lastMessage: last } : null,
    });
    await this.settle();
    return ok(true);
  }

  async deleteMessages(actor: Actor, ids: string[], type: "all" | "myself"): Promise<Result<true>> {
    const denied = this.checkMember(actor);
    if (denied) return fail(denied);
    const meta = this.readMeta()!;
    const rows = this.sql.exec<MessageRow>("SELECT * FROM messages WHERE id IN (SELECT value FROM json_each(?))", JSON.stringify(ids)).toArray();
    if (rows.length === 0) return ok(true);
    if (type === "myself") {
      for (const row of rows) {
        const deletedFor = new Set(JSON.parse(row.deleted_for) as string[]).add(actor.userId);
        this.sql.exec("UPDATE messages SET deleted_for = ? WHERE seq = ?", JSON.stringify([...deletedFor]), row.seq);
        this.outboxMessage(row.seq);
      }
      const me = this.participantRow(actor.userId)!;
      this.enqueue([actor.userId], null, {
        store: false,
        excludeSession: null,
        patch: { lastMessage: this.lastMessageFor(actor.userId) },
        unread: { [actor.userId]: this.unreadCount(actor.userId, me.read_seq) },
      });
      await this.settle();
      return ok(true);
    }
    // In a private chat "owner" only means who created it: nobody deletes the other's messages there.
    const manager = meta.type !== "u" && isManager(this.roleOf(actor.userId) ?? null);
    if (!manager && rows.some((row) => row.from_id !== actor.userId)) return fail(Errors.FORBIDDEN);
    this.removeMessages(meta, rows);
    const packet = { message_delete: { ids: rows.map((r) => r.id), cid: meta.id, c_type: meta.type, from: actor.userId, type: "all" } };
    this.broadcastLive(meta, packet);
    this.enqueue(this.participantIds(), packet, {
      store: true,
      excludeSession: actor.sessionId,
      patch: { lastMessage: this.lastMessageFor(null) },
      unread: this.recountUnread(meta),
    });
    await this.settle();
    return ok(true);
  }

  async react(actor: Actor, mid: string, add: string | null, remove: string | null): Promise<Result<true>> {
    const meta = this.readMeta();
    if (!meta || meta.organizationId !== actor.organizationId || this.roleOf(actor.userId) === undefined) return fail(Errors.MESSAGE_ID_NOT_FOUND);
    const message = this.messageById(mid);
    if (!message || message.deletedFor.includes(actor.userId)) return fail(Errors.MESSAGE_ID_NOT_FOUND);
    const now = Date.now();
    const change: Record<string, string> = {};
    if (add !== null && this.sql.exec("INSERT OR IGNORE INTO reactions (seq, user_id, reaction, created_at) VALUES (?, ?, ?, ?)", message.seq, actor.userId, add, now).rowsWritten > 0) {
      change.add = add;
      this.outbox("reaction", { cid: meta.id, mid, user_id: actor.userId, reaction: add, at: now, op: "add" });
    }
    if (remove !== null && this.sql.exec("DELETE FROM reactions WHERE seq = ? AND user_id = ? AND reaction = ?", message.seq, actor.userId, remove).rowsWritten > 0) {
      change.remove = remove;
      this.outbox("reaction", { cid: meta.id, mid, user_id: actor.userId, reaction: remove, at: now, op: "remove" });
    }
    if (Object.keys(change).length > 0) {
      const packet = { message_reactions_update: { mid, cid: meta.id, c_type: meta.type, from: actor.userId, ...change } };
      // A channel's reactions reach its live sockets (one broadcast), not every subscriber's log.
      if (meta.type === "c") this.broadcastLive(meta, packet);
      else this.enqueue(this.participantIds(), packet, { store: true, excludeSession: actor.sessionId, patch: null });
    }
    await this.settle();
    return ok(true);
  }

  async reactions(actor: Actor, mid: string): Promise<Result<Record<string, string[]>>> {
    const meta = this.readMeta();
    if (!meta || meta.organizationId !== actor.organizationId || this.roleOf(actor.userId) === undefined) return fail(Errors.MESSAGE_ID_NOT_FOUND);
    const message = this.messageById(mid);
    if (!message || message.deletedFor.includes(actor.userId)) return fail(Errors.MESSAGE_ID_NOT_FOUND);
    return ok(reactionsByEmoji(this.reactionRows(message.seq)));
  }

  /** typing: delivered live only, never logged, never retried, never awaited. */
  async typing(actor: Actor, status: string | null): Promise<Result<true>> {
    const meta = this.readMeta();
    if (!meta || meta.organizationId !== actor.organizationId) return fail(Errors.CONVERSATION_NOT_FOUND);
    const role = this.roleOf(actor.userId);
    if (meta.type === "c" || role === undefined) return fail(Errors.FORBIDDEN);
    if (meta.type === "u" && this.isBlocked()) return fail(Errors.USER_BLOCKED);
    const packet = { typing: { cid: meta.id, c_type: meta.type, from: actor.userId, t: Math.round(Date.now() / 1000), ...(status !== null ? { status } : {}) } };
    // Not awaited: a slow Inbox must not hold up the sender's next frame.
    void Promise.allSettled(
      this.participantIds().map((userId) =>
        inboxOf(this.env, meta.organizationId, userId).deliver(userId, [liveDelivery(meta.id, packet, { store: false, excludeSession: actor.sessionId })]),
      ),
    );
    return ok(true);
  }

  /** A user-sent system_message to the conversation: logged and forwarded, never persisted as a message. */
  async systemMessage(actor: Actor, clientId: string, x: Record<string, unknown>): Promise<Result<{ mid: string; t: number }>> {
    const meta = this.readMeta();
    if (!meta || meta.organizationId !== actor.organizationId) return fail(Errors.CONVERSATION_NOT_FOUND);
    if (this.roleOf(actor.userId) === undefined) return fail(Errors.FORBIDDEN);
    const t = Math.ceil(Date.now() / 1000);
    this.enqueue(this.participantIds(), { system_message: { _id: clientId, from: actor.userId, t, x, cid: meta.id } }, {
      store: true,
      excludeSession: actor.sessionId,
      patch: null,
    });
    await this.settle();
    return ok({ mid: clientId, t });
  }

  /**
   * Recipients' Inboxes report messages that reached a live device. Only the first report per
   * message counts (that is when the author's status turns "delivered"), so a group of 50 costs one
   * status row per message, not 49; it is written behind (conversation-receipts.ts).
   */
  private markDelivered(userId: string, mids: string[]): void {
    if (mids.length === 0 || !this.readMeta()) return;
    const now = Date.now();
    for (const mid of mids) {
      const known = this.recent.get(mid);
      if (known?.delivered) continue;
      const row = known
        ? { seq: known.seq, from_id: known.from, delivered_at: null }
        : this.sql.exec<{ seq: number; from_id: string; delivered_at: number | null }>("SELECT seq, from_id, delivered_at FROM messages WHERE id = ?", mid).toArray()[0];
      if (!row || row.from_id === userId) continue;
      if (known) known.delivered = true;
      else if (row.delivered_at !== null || this.sql.exec("SELECT 1 FROM statuses WHERE seq = ? AND status = 'delivered'", row.seq).toArray().length > 0) continue;
      this.receipts.add({ seq: row.seq, mid, author: row.from_id, by: userId, at: now });
    }
  }

  /** Writes the pending delivered reports in the current turn, and tells each author (one receipt per author and reporter). */
  private writeDelivered(): boolean {
    const meta = this.readMeta();
    const reports = this.receipts.take();
    if (!meta || reports.length === 0) return false;
    const receipts = new Map<string, { author: string; by: string; ids: string[] }>();
    for (const r of reports) {
      const first = this.sql.exec(
        "UPDATE messages SET delivered_by = ?, delivered_at = ? WHERE seq = ? AND delivered_at IS NULL AND NOT EXISTS (SELECT 1 FROM statuses WHERE seq = ?)",
        r.by,
        r.at,
        r.seq,
        r.seq,
      ).rowsWritten;
      if (first === 0) continue;
      this.outboxMessage(r.seq); // the D1 copy carries the message's delivered status
      const key = `${r.author}:${r.by}`;
      const receipt = receipts.get(key) ?? { author: r.author, by: r.by, ids: [] };
      receipt.ids.push(r.mid);
      receipts.set(key, receipt);
    }
    for (const { author, by, ids } of receipts.values()) {
      this.enqueue([author], { message_delivered: { ids, cid: meta.id, from: by } }, { store: true, excludeSession: null, patch: this.statusPatch(ids) });
    }
    return receipts.size > 0;
  }

  // ---------------------------------------------------------------- fan-out and outbox

  async testHoldFanout(hold: boolean): Promise<void> {
    if ((this.env.TEST_HOOKS as string) !== "1") throw new Error("test hooks are disabled");
    this.fanout.testHold(hold);
  }

  /** Test-only: handlers' FETCH goes to `fetchFn` (a fake in the test) instead of the network. */
  async testHandlerFetch(fetchFn: HandlerFetch | null): Promise<void> {
    if ((this.env.TEST_HOOKS as string) !== "1") throw new Error("test hooks are disabled");
    this.handler.useFetch(fetchFn);
  }

  /** Test-only (TEST_HOOKS=1): dies at once, as the runtime aborts an object (test/chat/chaos.test.ts). */
  async testAbort(): Promise<void> {
    abortForTest(this.ctx, this.env);
  }

  override async alarm(): Promise<void> {
    this.alarmAt = null;
    const nextExpiry = this.purgeExpired();
    // Deliveries first: a D1 outage must never hold up fan-out retries.
    await this.fanout.retry(Date.now());
    try {
      const meta = this.storedMeta();
      if (meta) await this.d1.flush(this.env.DB, { cid: meta.id, organizationId: meta.organizationId });
    } catch (err) {
      console.error("outbox flush to D1 failed; retrying", err);
    }
    this.sql.exec("DELETE FROM sends WHERE created_at < ?", Date.now() - IDEMPOTENCY_MS);
    // Counted after the flush: rows stored meanwhile are not a reason to come back in RETRY_DELAY_MS.
    if (this.d1.pending()) await this.scheduleAlarm(RETRY_DELAY_MS);
    const fanoutAt = this.fanout.nextRetry(Date.now(), RETRY_DELAY_MS);
    if (fanoutAt !== null) await this.scheduleAlarm(fanoutAt - Date.now());
    if (nextExpiry !== null) await this.scheduleAlarm(nextExpiry - Date.now());
  }

  /**
   * SAMA's 30-day TTL on encrypted messages: deletes the expired ones (here, and in D1 through the
   * outbox) and updates the participants' last message and unread counts. Returns when the next
   * message expires, for the alarm; every send schedules an alarm, so each message gets one.
   */
  private purgeExpired(): number | null {
    const meta = this.readMeta();
    if (!meta?.isEncrypted) return null;
    const expired = this.sql.exec<MessageRow>("SELECT * FROM messages WHERE created_at <= ?", Date.now() - ENCRYPTION_TTL_MS).toArray();
    if (expired.length > 0) {
      this.removeMessages(meta, expired);
      this.enqueue(this.participantIds(), null, { store: false, excludeSession: null, patch: { lastMessage: this.lastMessageFor(null) }, unread: this.recountUnread(meta) });
    }
    const oldest = this.sql.exec<{ at: number | null }>("SELECT min(created_at) AS at FROM messages").one().at;
    return oldest === null ? null : oldest + ENCRYPTION_TTL_MS;
  }

  /** After a commit: start delivering now, and make sure the alarm will retry and copy to D1. */
  private kick(): void {
    this.fanout.pump();
    this.ensureAlarm(OUTBOX_DELAY_MS);
  }

  private ensureAlarm(delayMs: number): void {
    this.alarmChain = this.alarmChain
      .then(() => this.scheduleAlarm(delayMs))
      .catch((err: unknown) => console.error("scheduling the alarm failed", err));
  }

  /**
   * Like kick(), but waits until the fan-out has been attempted: for requests whose caller reads the
   * result right away (conversation_list after a create, unread after message_read).
   */
  private async settle(): Promise<void> {
    this.ensureAlarm(OUTBOX_DELAY_MS);
    // Waits for this request's own rows only, not for a busy conversation's later traffic.
    await this.fanout.settle();
  }

  private async scheduleAlarm(delayMs: number): Promise<void> {
    if (this.alarmAt === undefined) this.alarmAt = await this.ctx.storage.getAlarm();
    const at = Date.now() + delayMs;
    if (this.alarmAt !== null && this.alarmAt <= at) return;
    this.alarmAt = at;
    await this.setAlarm(at);
  }

  /** A fan-out row as one delivery per recipient (read even after deletion: the last packets still go out). */
  private deliveriesOf(row: FanoutRow): Map<string, Delivery> {
    const byRecipient = new Map<string, Delivery>();
    const meta = this.storedMeta();
    if (!meta) return byRecipient;
    const options = JSON.parse(row.options) as FanoutOptions;
    const packet = row.packet === null ? null : (JSON.parse(row.packet) as Record<string, unknown>);
    for (const userId of JSON.parse(row.recipients) as string[]) byRecipient.set(userId, toDelivery(row.id, meta.id, packet, options, userId));
    return byRecipient;
  }

  private enqueue(recipients: string[], packet: Record<string, unknown> | null, options: FanoutOptions): void {
    this.fanout.enqueue(recipients, packet, options);
  }

  private outbox(kind: OutboxRow["kind"], payload: unknown): void {
    this.d1.queue(kind, payload);
  }

  /** A message changed (sent, edited, delivered, hidden): D1's copy follows (see D1Copy). */
  private outboxMessage(seq: number): void {
    this.d1.message(seq);
  }

  // ---------------------------------------------------------------- storage helpers

  /** The live conversation; null if it never existed or was deleted. */
  private readMeta(): ConversationMeta | null {
    this.deleted ??= this.sql.exec("SELECT 1 FROM meta WHERE k = 'deleted'").toArray().length > 0;
    return this.deleted ? null : this.storedMeta();
  }

  /** The conversation's meta, deleted or not (a copy: callers may change it before writeMeta). */
  private storedMeta(): ConversationMeta | null {
    if (this.metaCache === undefined) {
      const row = this.sql.exec<{ v: string }>("SELECT v FROM meta WHERE k = 'conversation'").toArray()[0];
      this.metaCache = row ? (JSON.parse(row.v) as ConversationMeta) : null;
      // A message moves updated_at without writing the meta row: the newest message tells.
      const newest = this.sql.exec<{ at: number | null }>("SELECT max(created_at) AS at FROM messages").one().at;
      if (this.metaCache && newest !== null) this.metaCache.updatedAt = Math.max(this.metaCache.updatedAt, newest);
    }
    return this.metaCache === null ? null : { ...this.metaCache };
  }

  private writeMeta(meta: ConversationMeta): void {
    this.metaCache = { ...meta };
    this.sql.exec("INSERT OR REPLACE INTO meta (k, v) VALUES ('conversation', ?)", JSON.stringify(meta));
  }

  /** A tombstone: requests see no conversation, the pending fan-out still knows where to go. */
  private markDeleted(): void {
    this.deleted = true;
    this.sql.exec("INSERT OR REPLACE INTO meta (k, v) VALUES ('deleted', '1')");
  }

  private writeParticipants(query: string, ...args: SqlStorageValue[]): void {
    this.participantsCache = null;
    this.sql.exec(query, ...args);
  }

  private isBlocked(): boolean {
    return this.sql.exec<{ v: string }>("SELECT v FROM meta WHERE k = 'blocked'").toArray()[0]?.v === "1";
  }

  private view(): ConversationView {
    return conversationView(this.readMeta()!, this.participantIds().length);
  }

  private readParticipants(): ParticipantRow[] {
    this.participantsCache ??= this.sql.exec<ParticipantRow>("SELECT * FROM participants ORDER BY added_at, user_id").toArray();
    return this.participantsCache;
  }

  private participantIds(): string[] {
    return this.readParticipants().map((p) => p.user_id);
  }

  private participantRow(userId: string): ParticipantRow | null {
    return this.readParticipants().find((p) => p.user_id === userId) ?? null;
  }

  /** The participant's role, or undefined when not a participant. */
  private roleOf(userId: string): Role | undefined {
    const row = this.participantRow(userId);
    return row ? ((row.role as Role) ?? null) : undefined;
  }

  private checkMember(actor: Actor): ErrorBody | null {
    const meta = this.readMeta();
    if (!meta || meta.organizationId !== actor.organizationId) return Errors.CONVERSATION_NOT_FOUND;
    return this.roleOf(actor.userId) === undefined ? Errors.FORBIDDEN : null;
  }

  /** A member who leaves: off the list, out of their conversation list, off the live sockets. */
  private removeMember(meta: ConversationMeta, userId: string): void {
    this.writeParticipants("DELETE FROM participants WHERE user_id = ?", userId);
    this.enqueue([userId], null, { store: false, excludeSession: null, patch: { remove: true } });
    this.closeLive(meta, userId);
  }

  private insertParticipant(p: Participant, at: number): void {
    const seq = this.lastSeq();
    this.writeParticipants(
      "INSERT OR IGNORE INTO participants (user_id, role, name, joined_seq, read_seq, added_at) VALUES (?, ?, ?, ?, ?, ?)",
      p.userId,
      p.role,
      p.name,
      seq,
      seq,
      at,
    );
  }

  /** Ownership passes to the longest-standing participant when the owner is gone. */
  private ensureOwner(meta: ConversationMeta): void {
    if (this.roleOf(meta.ownerId) !== undefined) return;
    const next = this.readParticipants()[0];
    if (!next) return;
    this.writeParticipants("UPDATE participants SET role = 'owner' WHERE user_id = ?", next.user_id);
    this.writeMeta({ ...(this.readMeta() ?? meta), ownerId: next.user_id });
  }

  private restorePrivate(cards: UserCard[], actor: Actor): void {
    const meta = this.readMeta()!;
    const missing = cards.filter((c) => (c.userId === meta.ownerId || c.userId === meta.opponentId) && this.roleOf(c.userId) === undefined);
    if (missing.length === 0) return;
    for (const card of missing) this.insertParticipant({ userId: card.userId, role: card.userId === meta.ownerId ? "owner" : null, name: card.name }, Date.now());
    const view = this.view();
    this.enqueue(missing.map((c) => c.userId), this.conversationEvent("conversation_created", actor.userId, view), {
      store: true,
      excludeSession: actor.sessionId,
      patch: { conversation: view, lastMessage: this.lastMessageFor(null) },
    });
  }

  /**
   * A channel's subscribers_count changes with every join and leave: owner and admins see it at
   * once; subscribers get the fresh view with the next post (one RPC per join, not one per subscriber).
   */
  private refreshManagersView(): void {
    const managers = this.readParticipants().filter((p) => isManager((p.role as Role) ?? null)).map((p) => p.user_id);
    this.enqueue(managers, null, { store: false, excludeSession: null, patch: { conversation: this.view() } });
  }

  private remember(id: string, seq: number, from: string): void {
    this.recent.set(id, { seq, from, delivered: false });
    if (this.recent.size > 2000) this.recent.delete(this.recent.keys().next().value!);
  }

  /** When one of `mids` is the conversation's last message, its new status for the author's list. */
  private statusPatch(mids: string[]): IndexPatch | null {
    const last = this.lastMessageFor(null);
    return last && mids.includes(last._id) ? { lastMessage: last } : null;
  }

  private lastSeq(): number {
    this.seqCache ??= Math.max(
      Number(this.sql.exec<{ v: string }>("SELECT v FROM meta WHERE k = 'seq'").toArray()[0]?.v ?? 0),
      this.sql.exec<{ s: number | null }>("SELECT max(seq) AS s FROM messages").one().s ?? 0,
    );
    return this.seqCache;
  }

  /** The newest message id ever given (ids grow: a new one is made after it). */
  private lastId(): string | null {
    if (this.lastIdCache === undefined) {
      const floor = this.sql.exec<{ v: string }>("SELECT v FROM meta WHERE k = 'last_id'").toArray()[0]?.v ?? null;
      const newest = this.sql.exec<{ id: string }>("SELECT id FROM messages ORDER BY seq DESC LIMIT 1").toArray()[0]?.id ?? null;
      this.lastIdCache = floor === null || (newest !== null && newest > floor) ? newest : floor;
    }
    return this.lastIdCache;
  }

  private insertMessage(from: string, input: SendInput, now: number): StoredMessage {
    const meta = this.readMeta()!;
    const seq = this.lastSeq() + 1;
    const lastId = this.lastId();
    const message: StoredMessage = {
      id: nextObjectId(lastId, now),
      seq,
      cid: meta.id,
      from,
      body: input.body,
      attachments: input.attachments,
      x: input.x,
      t: Math.ceil(now / 1000),
      createdAt: now,
      updatedAt: now,
      repliedMessageId: input.repliedMessageId,
      forwardedMessageId: input.forwardedMessageId,
      encryptedMessageType: input.encryptedMessageType,
      deletedFor: input.deletedFor,
    };
    this.sql.exec(
      `INSERT INTO messages (seq, id, from_id, body, attachments, x, t, created_at, updated_at, replied_message_id,
         forwarded_message_id, encrypted_message_type, deleted_for, client_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      seq,
      message.id,
      from,
      message.body,
      message.attachments === null ? null : JSON.stringify(message.attachments),
      JSON.stringify(message.x),
      message.t,
      now,
      now,
      message.repliedMessageId,
      message.forwardedMessageId,
      message.encryptedMessageType,
      JSON.stringify(message.deletedFor),
      input.clientId,
    );
    // No counter rows: seq, the last id and updated_at are read back from the messages at start
    // (floors are written only when messages are deleted), so a message costs its own row.
    this.seqCache = seq;
    this.lastIdCache = message.id;
    if (this.metaCache) this.metaCache.updatedAt = now;
    if (input.clientId !== null) this.sentIds().set(`${from}\n${input.clientId}`, { serverMid: message.id, t: message.t, createdAt: now });
    this.remember(message.id, seq, from);
    this.outboxMessage(seq);
    return message;
  }

  /** Fan-out of a new message to every participant (the sender's other sessions get carbons). */
  private announceMessage(message: StoredMessage, excludeSession: string | null): void {
    const meta = this.readMeta()!;
    const sender = this.participantRow(message.from)?.name ?? "";
    const packet = { message: messageBody(message, meta.type) };
    this.broadcastLive(meta, packet);
    this.enqueue(this.participantIds(), packet, {
      store: true,
      excludeSession,
      patch: {
        lastMessage: lastMessageView(message, "sent"),
        updatedAt: message.createdAt,
        ...(meta.type === "c" ? { conversation: this.view() } : {}),
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
  private appendSystemMessage(actor: Actor, body: string, x: Record<string, unknown>): void {
    const message = this.insertMessage(actor.userId, { ...noExtras, body, x }, Date.now());
    this.announceMessage(message, actor.sessionId);
  }

  /** SAMA's push for a conversation event: "<actor> <what>", titled with the conversation's name. */
  private eventPush(actorId: string, what: string, names?: Map<string, string>): { payload: PushPayload; except: string } {
    const meta = this.storedMeta()!;
    const actor = this.participantRow(actorId)?.name ?? names?.get(actorId) ?? "";
    return { payload: { title: meta.name ?? actor, body: `${actor} ${what}`, cid: meta.id, firstAttachmentUrl: null, is_encrypted: meta.isEncrypted }, except: actorId };
  }

  private conversationEvent(event: string, actorId: string, view: ConversationView): Record<string, unknown> {
    return { system_message: { _id: view._id, from: actorId, t: Math.ceil(Date.now() / 1000), x: { [event]: view }, cid: view._id } };
  }

  /** Messages among `ids` written by someone other than `userId`, oldest first, at most 100. */
  private othersMessages(ids: string[], userId: string): MessageRow[] {
    return this.sql
      .exec<MessageRow>("SELECT * FROM messages WHERE id IN (SELECT value FROM json_each(?)) AND from_id != ? ORDER BY seq LIMIT 100", JSON.stringify(ids), userId)
      .toArray();
  }

  /** Deletes messages with their statuses and reactions, here and (through the outbox) in D1. */
  private removeMessages(meta: ConversationMeta, rows: MessageRow[]): void {
    // What the deleted rows told at start (the last seq and id, a retried client id) is kept apart.
    this.sql.exec("INSERT OR REPLACE INTO meta (k, v) VALUES ('seq', ?), ('last_id', ?)", String(this.lastSeq()), this.lastId() ?? "");
    for (const row of rows) {
      if (row.client_id !== null && row.created_at > Date.now() - IDEMPOTENCY_MS) {
        this.rememberAsk(row.from_id, row.client_id, { mid: row.client_id, server_mid: row.id, t: row.t, modified: null, bot_message: null }, row.created_at);
      }
      this.recent.delete(row.id);
      this.sql.exec("DELETE FROM messages WHERE seq = ?", row.seq);
      this.sql.exec("DELETE FROM statuses WHERE seq = ?", row.seq);
      this.sql.exec("DELETE FROM reactions WHERE seq = ?", row.seq);
    }
    this.outbox("delete", { cid: meta.id, ids: rows.map((r) => r.id) });
  }

  /**
   * Every participant's unread count after messages went away. Channels have no read marks
   * (subscribers cannot mark as read): recounting every subscriber there would cost subscribers ×
   * messages for nothing.
   */
  private recountUnread(meta: ConversationMeta): Record<string, number> {
    const unread: Record<string, number> = {};
    if (meta.type !== "c") for (const p of this.readParticipants()) unread[p.user_id] = this.unreadCount(p.user_id, p.read_seq);
    return unread;
  }

  private messageById(mid: string): StoredMessage | null {
    const row = this.sql.exec<MessageRow>("SELECT * FROM messages WHERE id = ?", mid).toArray()[0];
    return row ? toMessage(row, this.readMeta()?.id ?? "") : null;
  }

  private statusOf(row: MessageRow): MessageStatus {
    // Read marks are rows per reader; delivered is a column (older objects may have a row).
    const rows = this.sql.exec<{ status: string }>("SELECT DISTINCT status FROM statuses WHERE seq = ?", row.seq).toArray();
    if (rows.some((r) => r.status === "read")) return "read";
    return row.delivered_at !== null || rows.some((r) => r.status === "delivered") || this.receipts.has(row.seq) ? "delivered" : "sent";
  }

  private reactionRows(seq: number): Array<{ userId: string; reaction: string }> {
    return this.sql
      .exec<{ user_id: string; reaction: string }>("SELECT user_id, reaction FROM reactions WHERE seq = ? ORDER BY created_at", seq)
      .toArray()
      .map((r) => ({ userId: r.user_id, reaction: r.reaction }));
  }

  /** The newest message `viewer` can see (all viewers when null). */
  private lastMessageFor(viewer: string | null) {
    const row =
      viewer === null
        ? this.sql.exec<MessageRow>("SELECT * FROM messages ORDER BY seq DESC LIMIT 1").toArray()[0]
        : this.sql
            .exec<MessageRow>("SELECT * FROM messages WHERE NOT EXISTS (SELECT 1 FROM json_each(deleted_for) WHERE value = ?) ORDER BY seq DESC LIMIT 1", viewer)
            .toArray()[0];
    return row ? lastMessageView(toMessage(row, this.readMeta()?.id ?? ""), this.statusOf(row)) : null;
  }

  private unreadCount(userId: string, readSeq: number): number {
    return this.sql
      .exec<{ n: number }>(
        "SELECT count(*) AS n FROM messages WHERE seq > ? AND from_id != ? AND NOT EXISTS (SELECT 1 FROM json_each(deleted_for) WHERE value = ?)",
        readSeq,
        userId,
        userId,
      )
      .one().n;
  }
}

/**
 * Objects created before the store-once path: every index and counter row is a row written per
 * message, so the updated_at index goes (message_list scans), and the columns that replace the
 * per-send idempotency row and the delivered status row are added. (Their AUTOINCREMENT tables stay:
 * correct, one counter row dearer.)
 */
function upgradeSchema(sql: SqlStorage): void {
  const columns = new Set(sql.exec<{ name: string }>("SELECT name FROM pragma_table_info('messages')").toArray().map((c) => c.name));
  if (columns.has("client_id")) return;
  sql.exec("DROP INDEX IF EXISTS messages_updated");
  sql.exec("ALTER TABLE messages ADD COLUMN client_id TEXT");
  sql.exec("ALTER TABLE messages ADD COLUMN delivered_by TEXT");
  sql.exec("ALTER TABLE messages ADD COLUMN delivered_at INTEGER");
  // Earlier versions queued every message whole in the outbox: the copy cursor starts past them.
  const newest = sql.exec<{ s: number | null }>("SELECT max(seq) AS s FROM messages").one().s;
  if (newest !== null) sql.exec("INSERT OR REPLACE INTO meta (k, v) VALUES ('copied_seq', ?)", String(newest));
}

/** Message ids grouped by author (one `message_read` or `message_decryption_failed` per author). */
function idsByAuthor(rows: MessageRow[]): Map<string, string[]> {
  const byAuthor = new Map<string, string[]>();
  for (const row of rows) byAuthor.set(row.from_id, [...(byAuthor.get(row.from_id) ?? []), row.id]);
  return byAuthor;
}

function toParticipant(row: ParticipantRow): Participant {
  return { userId: row.user_id, role: (row.role as Role) ?? null, name: row.name };
}

function toMessage(row: MessageRow, cid: string): StoredMessage {
  return {
    id: row.id,
    seq: row.seq,
    cid,
    from: row.from_id,
    body: row.body,
    attachments: row.attachments === null ? null : (JSON.parse(row.attachments) as Attachment[]),
    x: JSON.parse(row.x) as Record<string, unknown>,
    t: row.t,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    repliedMessageId: row.replied_message_id,
    forwardedMessageId: row.forwarded_message_id,
    encryptedMessageType: row.encrypted_message_type,
    deletedFor: JSON.parse(row.deleted_for) as string[],
  };
}

function toDelivery(seq: number, cid: string, packet: Record<string, unknown> | null, options: FanoutOptions, userId: string): Delivery {
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
