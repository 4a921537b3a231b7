// Conversation: one Durable Object per conversation, the single writer of its messages. It keeps
// what the send path needs in its own SQLite (meta, participants and roles, block state, display
// names), assigns each message its `_id`, gap-free `seq` and `t`, and commits the message together
// with its fan-out row and its D1 outbox row before acknowledging. Fan-out then carries every
// packet to the participants' Inboxes in commit order; a row is deleted only once every recipient
// stored it, and an alarm retries the rest. The outbox is copied to D1 in batches by the same alarm.
// This class keeps the object's lifecycle, its storage (conversation-store.ts) and the order of
// things: sends, fan-out, alarms, live sockets. The rules are plain functions beside it:
// conversation-membership.ts, conversation-messages.ts, conversation-events.ts.
import type { ListedMessage, ServerPackets } from "../domain/packets";
import { DurableObject } from "cloudflare:workers";
import { AlarmSchedule } from "./conversation-alarm";
import { getConfig } from "../config";
import type { ConversationMeta, ConversationView, Participant } from "../domain/conversation";
import { fail, ok, type Actor, type Ask, type ConversationChange, type Membership, type MessageQuery, type Result, type SendInput, type SummaryFilter, type SummaryLine, type UserCard } from "../domain/conversation-calls";
import { liveDelivery, rowDeliveries, type Delivery, type DeliveryReceipt } from "../domain/delivery";
import { ENCRYPTION_TTL_MS } from "../domain/encryption";
import type { ConversationCollection, Position } from "../domain/export-records";
import { Errors } from "../domain/errors";
import { handlerMessage, MAX_CONSECUTIVE_FAILURES, type ResolvedContent } from "../domain/handler-outcome";
import { messageBody } from "../domain/message";
import type { HandlerFetch } from "../handlers";
import { isShardRequest, LiveSockets, LIVE_ORG_HEADER, LIVE_USER_HEADER, RECEIVE_ONLY, refusal } from "./conversation-live";
import { announceMessage, noExtras, type Room } from "./conversation-events";
import { ConversationHandlerHost, type HandlerConfig } from "./conversation-handler";
import { ImportStage, type HistoryInput } from "./conversation-import";
import type { HistoryOutcome, ImportedMessage, ImportedReaction, ImportedStatus, StageOutcome } from "../domain/sama-import";
import { Fanout } from "./conversation-fanout";
import { GatewayLive } from "./conversation-gateways";
import * as membership from "./conversation-membership";
import * as messages from "./conversation-messages";
import type { ExportPage } from "./conversation-export";
import { DeliveredReports } from "./conversation-receipts";
import { toParticipant } from "./conversation-rows";
import { ConversationStore } from "./conversation-store";
import { summaryMessages } from "./conversation-summary";
import { meteredStorage, started } from "./metrics";
import { StubCache, gatewayStub, inboxOf } from "./stubs";
import { finishClose, isBenignSocketError } from "./sockets";
import { abortForTest, requireTestHooks } from "./test-hooks";
import { logError } from "../log";

// The D1 copy trails the conversation by up to this much: one D1 batch carries every change of those
// seconds (D1 serves search and statistics, never the message path, so a lag there costs nothing,
// and D1 is one writer for the whole system: fewer, larger batches). Each flush is also an alarm
// and a commit here: at 2 s a conversation of SAMA's load test paid one of each per message, and
// at 10 s the alarms (their D1 batch most) still took a quarter of Parley's CPU in that test.
// Each object takes its own delay within ±25% of it: conversations started together (a deploy, a load
// test's rooms) would otherwise copy together every 30 s, one burst of D1 batches and commits.
const OUTBOX_DELAY_MS = 30_000;
const RETRY_DELAY_MS = 2000;
const CONFIRM_MARGIN_MS = 2000;
/**
 * An answered delivery is resent with `durable` (which makes its Inbox write at once) when it is still
 * unconfirmed this many Inbox windows (and the margin) later. An Inbox confirms with its next answer
 * after its window's write, so under steady load (SAMA's test: a delivery every 5 s, 10 s windows)
 * that can take up to two windows; at one window the resends forced a third of the Inboxes' commits.
 */
const CONFIRM_WINDOWS = 2;
/** Inbox stubs kept (no name hashed per call, calls to one Inbox in order on one stub); a channel's audience beyond it gets new ones. */
const MAX_INBOX_STUBS = 1000;

export class Conversation extends DurableObject<Env> {
  private readonly copyDelayMs = OUTBOX_DELAY_MS * (0.75 + Math.random() / 2);
  private readonly store: ConversationStore;
  private readonly fanout: Fanout;
  private readonly receipts: DeliveredReports;
  /** What the rule functions use of this object. */
  private readonly room: Room;
  private readonly alarms: AlarmSchedule;
  private readonly live: LiveSockets;
  /** Packets of many recipients straight to their sessions' Gateways (messages through the fan-out, typing directly). */
  private readonly gateways: GatewayLive;
  /** Participants' Inboxes, one kept stub each: the fan-out's calls to one Inbox arrive in order. */
  private readonly inboxes: StubCache<ReturnType<typeof inboxOf>>;
  private readonly handler: ConversationHandlerHost;
  /** How long an answered delivery may stay unwritten by its Inbox before it is resent (CONFIRM_WINDOWS). */
  private readonly confirmAfterMs: number;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    started("Conversation");
    this.confirmAfterMs = CONFIRM_WINDOWS * getConfig(env).inboxWriteWindowMs + CONFIRM_MARGIN_MS;
    const storage = meteredStorage(ctx.storage, "Conversation");
    this.alarms = new AlarmSchedule(() => ctx.storage.getAlarm(), storage.setAlarm, ctx.id);
    const config = getConfig(env);
    this.live = new LiveSockets(ctx, env, config.liveSocketsPerObject);
    ctx.setWebSocketAutoResponse(new WebSocketRequestResponsePair("ping", "pong"));
    // Called with props: a loopback binding that can be handed to the loader isolate (the bare stub cannot).
    this.handler = new ConversationHandlerHost(storage.sql, env, ctx.exports.HandlerOutbound({ props: {} }));
    this.receipts = new DeliveredReports();
    this.store = new ConversationStore(storage.sql, (seq) => this.receipts.has(seq));
    this.imports = new ImportStage(storage.sql); // metered like every other write of this object
    this.inboxes = new StubCache((userId) => inboxOf(env, this.store.storedMeta()!.organizationId, userId), MAX_INBOX_STUBS);
    this.gateways = new GatewayLive((gateway) => gatewayStub(env, gateway), (mid, users) => users.some((userId) => this.markDelivered(userId, [mid])), config.gatewayFanoutMinRecipients);
    this.fanout = new Fanout(
      storage.sql,
      {
        deliveries: (row, only) => {
          const meta = this.store.storedMeta(); // read even after deletion: the last packets still go out
          return meta ? rowDeliveries(row, meta.id, only) : new Map();
        },
        deliver: (userId, deliveries, options) => this.deliverTo(userId, deliveries, options),
        delivered: (userId, mids) => this.markDelivered(userId, mids),
        // A confirmation check may wait for an alarm that comes anyway within its delay again.
        retryLater: (at) => (at === undefined ? this.alarms.ensure(RETRY_DELAY_MS) : this.alarms.ensure(Math.max(0, at - Date.now()), this.confirmAfterMs)),
      },
      this.confirmAfterMs,
      this.gateways,
      config.inboxTellBehindMs,
    );
    this.room = {
      store: this.store,
      enqueue: (recipients, packet, options) => this.fanout.enqueue(recipients, packet, options),
      broadcastLive: (meta, packet) => this.broadcastLive(meta, packet),
      closeLive: (meta, userId) => this.closeLive(meta, userId),
      settle: () => this.settle(),
    };
  }

  // ---------------------------------------------------------------- membership (conversation-membership.ts)

  async setup(meta: ConversationMeta, participants: Participant[], actor: Actor, pushed: boolean): Promise<ConversationView> {
    return membership.setup(this.room, meta, participants, actor, pushed);
  }

  /** Meta and participants, for requests that read them (participants by cids, admins). */
  async membership(organizationId: string): Promise<Membership | null> {
    const meta = this.store.readMeta();
    if (!meta || meta.organizationId !== organizationId) return null;
    return { meta, participants: this.store.participants().map(toParticipant) };
  }

  /**
   * Which of `objectIds` a message from `from` carries among the messages not yet copied to D1: the
   * outbox's lag, for files/access.ts (a file posted a moment ago is visible before its D1 grant exists).
   */
  async unflushedAttachments(from: string, objectIds: string[]): Promise<string[]> {
    return this.store.d1.uncopiedAttachments(from, objectIds);
  }

  /** An organization export's page of this conversation's messages, statuses or reactions (none for another organization). */
  async exportRecords(organizationId: string, collection: ConversationCollection, after: Position | null, limit: number): Promise<ExportPage> {
    const meta = this.store.readMeta();
    if (!meta || meta.organizationId !== organizationId) return { lines: [], next: null };
    // The export has what message_list shows: delivered reports still waiting for a commit are written first.
    if (collection === "message_statuses") this.receipts.write(this.store);
    return this.store.exportPage(meta, collection, after, limit);
  }

  /** Re-adds the two members of a private chat who left (on create or message, as SAMA restores). */
  async restore(actor: Actor, cards: UserCard[]): Promise<ConversationView | null> {
    const meta = this.store.readMeta();
    if (!meta || meta.organizationId !== actor.organizationId || meta.type !== "u") return null;
    membership.restorePrivate(this.room, cards, actor);
    await this.settle();
    return this.store.view();
  }

  /**
   * The private chat's block state, as read from D1 at `readAt` (Unix ms). A report read earlier than
   * the one already applied is ignored, so concurrent block and unblock requests end in the state
   * D1 ended in.
   */
  async setBlocked(blocked: boolean, readAt: number): Promise<void> {
    this.store.setBlocked(blocked, readAt);
  }

  async update(actor: Actor, change: ConversationChange): Promise<Result<{ view: ConversationView | null } & Membership>> {
    return membership.update(this.room, actor, change);
  }

  async leave(actor: Actor, card: UserCard): Promise<Result<{ deleted: boolean } & Membership>> {
    return membership.leave(this.room, actor, card);
  }

  async subscribe(actor: Actor, card: UserCard, join: boolean, maxSubscribers: number | null): Promise<Result<{ deleted: boolean } & Membership>> {
    return membership.subscribe(this.room, actor, card, join, maxSubscribers);
  }

  // ---------------------------------------------------------------- live channel sockets

  /** The upgrade of /api/conversations/:cid/live, already authenticated by the Worker. */
  override async fetch(request: Request): Promise<Response> {
    if (isShardRequest(request)) return this.live.acceptAsShard(request);
    const userId = request.headers.get(LIVE_USER_HEADER) ?? "";
    const meta = this.store.readMeta();
    if (!meta || meta.organizationId !== request.headers.get(LIVE_ORG_HEADER) || meta.type !== "c") return refusal(Errors.CONVERSATION_NOT_FOUND);
    if (this.store.roleOf(userId) === undefined) return refusal(Errors.FORBIDDEN);
    const here = this.live.accept(userId);
    if (here) return here;
    const { response, shard } = await this.live.acceptOnShards(meta.id, request);
    if (shard > this.store.liveShards()) this.store.setLiveShards(shard);
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
      if (!isBenignSocketError(err)) logError("live socket send failed", { kind: "Conversation", id: this.ctx.id.toString() }, err);
    }
  }

  override async webSocketClose(ws: WebSocket, code: number, reason: string): Promise<void> {
    finishClose(ws, code, reason);
  }

  override async webSocketError(_ws: WebSocket, error: unknown): Promise<void> {
    if (!isBenignSocketError(error)) logError("live socket error", { kind: "Conversation", id: this.ctx.id.toString() }, error);
  }

  private broadcastLive(meta: ConversationMeta, packet: Record<string, unknown>): void {
    if (meta.type === "c") this.live.broadcast(meta.id, this.store.liveShards(), JSON.stringify(packet));
  }

  private closeLive(meta: ConversationMeta, userId: string | null): void {
    if (meta.type === "c") this.live.close(meta.id, this.store.liveShards(), userId, userId === null ? "conversation deleted" : "no longer a subscriber");
  }

  // ---------------------------------------------------------------- messages (conversation-messages.ts)

  async send(actor: Actor, input: SendInput, restoreCards: UserCard[] | null): Promise<Result<Ask>> {
    if (this.handler.active() === null) return messages.checkSend(this.room, actor, input, restoreCards) ?? ok(this.storeSend(actor, input, null, null));
    // env.USER is the sender's public card, which the caller fetches (rarely: it is kept a minute).
    if (this.store.roleOf(actor.userId) !== undefined && this.handler.senderCard(actor.userId, restoreCards) === null) {
      return { ok: false, error: Errors.FORBIDDEN, needsCards: [actor.userId] };
    }
    return this.handler.serial(() => this.sendThroughHandler(actor, input, restoreCards));
  }

  /** A send in a conversation with a handler: checks, the handler's verdict, then the checks again (the conversation may have changed meanwhile). */
  private async sendThroughHandler(actor: Actor, input: SendInput, restoreCards: UserCard[] | null): Promise<Result<Ask>> {
    const refused = messages.checkSend(this.room, actor, input, restoreCards);
    if (refused) return refused;
    const handler = this.handler.active();
    if (handler === null) return ok(this.storeSend(actor, input, null, null));
    const card = this.handler.senderCard(actor.userId, restoreCards);
    if (card === null) return { ok: false, error: Errors.FORBIDDEN, needsCards: [actor.userId] };
    const cid = this.store.readMeta()!.id;
    const { verdict, disabled } = await this.handler.run(handler, cid, { message: handlerMessage(cid, input), user: card.view });
    if (disabled) this.noticeHandlerDisabled(handler, disabled.reason);
    const changed = messages.checkSend(this.room, actor, input, restoreCards);
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

  /** Commits the message (and the handler's bot reply after it), remembers its ask for retries, and starts the fan-out. */
  private storeSend(actor: Actor, input: SendInput, modified: ResolvedContent | null, reply: { botId: string; content: ResolvedContent } | null): Ask {
    const now = Date.now();
    // Ride with this commit: the delivered statuses and the D1 copy's progress.
    this.receipts.write(this.store);
    this.store.d1.writeProgress();
    const message = this.store.insertMessage(actor.userId, input, now);
    const botMessage = reply === null ? null : this.store.insertMessage(reply.botId, { ...noExtras, body: reply.content.body ?? null, attachments: reply.content.attachments ?? null }, now);
    const ask: Ask = {
      ...(input.clientId !== null ? { mid: input.clientId } : {}),
      server_mid: message.id,
      t: message.t,
      modified,
      bot_message: botMessage === null ? null : messageBody(botMessage, this.store.readMeta()!.type),
    };
    // The message row keeps its client id (a retry finds it there); only an ask with a handler's
    // additions needs a row of its own.
    if (input.clientId !== null && (modified !== null || botMessage !== null)) this.store.rememberAsk(actor.userId, input.clientId, ask, now);
    announceMessage(this.room, message, actor.sessionId);
    if (botMessage !== null) announceMessage(this.room, botMessage, null);
    this.kick();
    return ask;
  }

  /** conversation_handler_create / _delete keep the object's copy of the handler. */
  async configureHandler(config: HandlerConfig | null): Promise<void> {
    this.handler.configure(config);
  }

  /** Tells the owner (all their devices, logged for sync) that the handler was switched off. */
  private noticeHandlerDisabled(handler: HandlerConfig, reason: string): void {
    const meta = this.store.readMeta()!;
    const notice = { conversation_handler_disabled: { cid: meta.id, failures: MAX_CONSECUTIVE_FAILURES, reason } };
    this.fanout.enqueue([meta.ownerId], { system_message: { _id: meta.id, from: handler.botId ?? meta.ownerId, t: Math.ceil(Date.now() / 1000), x: notice, cid: meta.id } }, {
      store: true,
      excludeSession: null,
      patch: null,
    });
    this.kick();
  }

  async listMessages(actor: Actor, query: MessageQuery): Promise<Result<ListedMessage[]>> {
    return messages.listMessages(this.store, actor, query);
  }

  /** message_summary's input: what the caller may read in the filter's window, with the authors' names. */
  async summaryMessages(actor: Actor, filter: SummaryFilter, now: number): Promise<Result<SummaryLine[]>> {
    return summaryMessages(this.store, actor, filter, now);
  }

  async markRead(actor: Actor, ids: string[] | null): Promise<Result<true>> {
    return messages.markRead(this.room, actor, ids);
  }

  async decryptionFailed(actor: Actor, ids: string[]): Promise<Result<true>> {
    return messages.decryptionFailed(this.room, actor, ids);
  }

  async editMessage(actor: Actor, mid: string, body: string): Promise<Result<true>> {
    return messages.editMessage(this.room, actor, mid, body);
  }

  async deleteMessages(actor: Actor, ids: string[], type: "all" | "myself"): Promise<Result<true>> {
    return messages.deleteMessages(this.room, actor, ids, type);
  }

  async react(actor: Actor, mid: string, add: string | null, remove: string | null): Promise<Result<true>> {
    return messages.react(this.room, actor, mid, add, remove);
  }

  async reactions(actor: Actor, mid: string): Promise<Result<Record<string, string[]>>> {
    return messages.reactions(this.store, actor, mid);
  }

  /** typing: delivered live only, never logged, never retried, never awaited. */
  async typing(actor: Actor, status: string | null): Promise<Result<true>> {
    const meta = this.store.readMeta();
    if (!meta || meta.organizationId !== actor.organizationId) return fail(Errors.CONVERSATION_NOT_FOUND);
    const role = this.store.roleOf(actor.userId);
    if (meta.type === "c" || role === undefined) return fail(Errors.FORBIDDEN);
    if (meta.type === "u" && this.store.isBlocked()) return fail(Errors.USER_BLOCKED);
    const packet = { typing: { cid: meta.id, c_type: meta.type, from: actor.userId, t: Math.round(Date.now() / 1000), ...(status !== null ? { status } : {}) } satisfies ServerPackets["typing"] };
    const deliveries = new Map(this.store.participantIds().map((userId) => [userId, liveDelivery(meta.id, packet, { store: false, excludeSession: actor.sessionId })]));
    // A large group's members whose sessions are known get it once per Gateway; the others through
    // their Inboxes, whose answers say where their sessions are. Best effort, like the rest of typing:
    // a session a Gateway misses does not get it again. Not awaited: a slow Inbox must not hold up
    // the sender's next frame.
    const reached = this.gateways.sendTyping(JSON.stringify(packet), deliveries);
    void Promise.allSettled(
      [...deliveries].filter(([userId]) => !reached.has(userId)).map(async ([userId, delivery]) => {
        const receipt = await this.deliverTo(userId, [delivery]);
        if (receipt.sessions !== undefined) this.gateways.learn(userId, receipt.sessions);
      }),
    );
    return ok(true);
  }

  async systemMessage(actor: Actor, clientId: string, x: Record<string, unknown>): Promise<Result<{ mid: string; t: number }>> {
    return messages.systemMessage(this.room, actor, clientId, x);
  }

  // ---------------------------------------------------------------- history moved from SAMA (conversation-import.ts)

  private readonly imports: ImportStage;

  async importMessages(messages: ImportedMessage[], dryRun: boolean): Promise<StageOutcome> {
    return this.imports.stageMessages(this.store, messages, dryRun);
  }

  async importStatuses(statuses: ImportedStatus[], dryRun: boolean, knownMids: string[]): Promise<StageOutcome> {
    return this.imports.stageStatuses(this.store, statuses, dryRun, knownMids);
  }

  /** Stores the staged history; the D1 copy is written before the answer (reactions find their messages there). */
  async importHistory(input: HistoryInput, handler: HandlerConfig | null): Promise<HistoryOutcome> {
    if (handler !== null && this.handler.active() === null) this.handler.configure(handler);
    const outcome = await this.imports.commit(this.room, input, Date.now());
    const meta = this.store.storedMeta();
    if (meta && outcome.messages + outcome.statuses > 0) {
      await this.store.d1.flush(this.env.DB, { cid: meta.id, organizationId: meta.organizationId });
      this.store.d1.writeProgress();
    }
    return outcome;
  }

  async importReactions(reactions: ImportedReaction[], dryRun: boolean): Promise<StageOutcome> {
    const meta = this.store.readMeta();
    if (!meta) return { imported: [], existing: [], skipped: reactions.map((r) => ({ id: r.id, reason: "the conversation's history was not imported" })) };
    const outcome = this.imports.importReactions(this.store, meta.id, reactions, dryRun);
    if (outcome.imported.length > 0 && !dryRun) this.alarms.ensure(this.copyDelayMs);
    return outcome;
  }

  // ---------------------------------------------------------------- delivered receipts

  /** Recipients' Inboxes (or Gateways) report messages that reached a live device (conversation-receipts.ts). */
  private markDelivered(userId: string, mids: string[]): boolean {
    const told = this.receipts.report(this.store, userId, mids, (author, delivery) => this.fanout.sendBehind(author, delivery));
    // The send armed the alarm already; this only matters for a report that comes after it ran.
    if (told) this.alarms.ensure(this.copyDelayMs);
    return told;
  }

  // ---------------------------------------------------------------- fan-out, outbox and alarm

  /** One call to a participant's Inbox on its kept stub; a failed call's stub is not used again. */
  private deliverTo(userId: string, deliveries: Delivery[], options?: { durable?: boolean }): Promise<DeliveryReceipt> {
    return this.inboxes
      .get(userId)
      .deliver(userId, deliveries, options)
      .catch((err: unknown) => {
        this.inboxes.forget(userId);
        throw err;
      });
  }

  async testHoldFanout(hold: boolean): Promise<void> {
    requireTestHooks(this.env);
    this.fanout.testHold(hold);
  }

  /** Test-only: handlers' FETCH goes to `fetchFn` (a fake in the test) instead of the network. */
  async testHandlerFetch(fetchFn: HandlerFetch | null): Promise<void> {
    requireTestHooks(this.env);
    this.handler.useFetch(fetchFn);
  }

  /** Test-only (TEST_HOOKS=1): dies at once, as the runtime aborts an object (test/chat/chaos.test.ts). */
  async testAbort(): Promise<void> {
    abortForTest(this.ctx, this.env);
  }

  override async alarm(): Promise<void> {
    this.alarms.fired();
    const nextExpiry = this.purgeExpired();
    // Deliveries first: a D1 outage must never hold up fan-out retries.
    await this.fanout.retry(Date.now());
    let copied = true;
    try {
      const meta = this.store.storedMeta();
      if (meta) await this.store.d1.flush(this.env.DB, { cid: meta.id, organizationId: meta.organizationId });
    } catch (err) {
      copied = false;
      logError("outbox flush to D1 failed; the alarm retries", { kind: "Conversation", id: this.ctx.id.toString() }, err);
    }
    this.store.forgetOldAsks();
    // A failed copy is retried soon; what was stored during a good one waits for the next copy's
    // delay (coming back every 2 s under steady load cost an alarm and its commits per message).
    const now = Date.now();
    const copyAt = this.store.d1.pending() ? now + (copied ? this.copyDelayMs : RETRY_DELAY_MS) : null;
    const fanout = this.fanout.nextRetry(now, RETRY_DELAY_MS);
    // A confirmation check that is not urgent waits for the next copy: one alarm instead of two.
    const fanoutAt = fanout === null ? null : !fanout.urgent && copyAt !== null ? Math.max(fanout.at, copyAt) : fanout.at;
    const next = [copyAt, fanoutAt, nextExpiry].filter((at) => at !== null).reduce((a, b) => Math.min(a, b), Number.POSITIVE_INFINITY);
    // One commit at most, in one stretch: the next alarm, with what waited for a commit (delivered
    // statuses, the copy's progress, rows every recipient wrote). With nothing to come back for and no
    // status to keep, the rest waits for the next send (an eviction meanwhile repeats work, loses nothing).
    if (next === Number.POSITIVE_INFINITY && this.receipts.size === 0) return;
    this.receipts.write(this.store);
    this.store.d1.writeProgress();
    this.fanout.deleteFinished();
    if (next !== Number.POSITIVE_INFINITY) this.alarms.ensure(next - now);
  }

  /**
   * SAMA's 30-day TTL on encrypted messages: deletes the expired ones (here, and in D1 through the
   * outbox) and updates the participants' last message and unread counts. Returns when the next
   * message expires, for the alarm; every send schedules an alarm, so each message gets one.
   */
  private purgeExpired(): number | null {
    const meta = this.store.readMeta();
    if (!meta?.isEncrypted) return null;
    const expired = this.store.expiredMessages();
    if (expired.length > 0) {
      messages.removeMessages(this.store, meta, expired);
      this.fanout.enqueue(this.store.participantIds(), null, {
        store: false,
        excludeSession: null,
        patch: { lastMessage: this.store.lastMessageFor(null) },
        unread: this.store.recountUnread(meta),
      });
    }
    const oldest = this.store.oldestCreatedAt();
    return oldest === null ? null : oldest + ENCRYPTION_TTL_MS;
  }

  /** After a commit: start delivering now, and make sure the alarm will retry and copy to D1. */
  private kick(): void {
    this.fanout.pump();
    this.alarms.ensure(this.copyDelayMs);
  }

  /**
   * Like kick(), but waits until the fan-out has been attempted: for requests whose caller reads the
   * result right away (conversation_list after a create, unread after message_read).
   */
  private async settle(): Promise<void> {
    this.alarms.ensure(this.copyDelayMs);
    // Waits for this request's own rows only, not for a busy conversation's later traffic.
    await this.fanout.settle();
  }
}
