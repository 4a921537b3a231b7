// The Conversation object's SQLite (tables and rows: conversation-rows.ts) behind named reads and
// writes, with in-memory copies of what every send and every delivery report reads (the object is
// the only writer, so they stay true; rebuilt from SQLite after eviction).
import { conversationView, type ConversationMeta, type ConversationView, type Participant, type Role } from "../domain/conversation";
import type { Actor, Ask, MessageQuery, SendInput } from "../domain/conversation-calls";
import { ENCRYPTION_TTL_MS } from "../domain/encryption";
import { Errors, type ErrorBody } from "../domain/errors";
import { lastMessageView, type LastMessage, type MessageStatus, type StoredMessage } from "../domain/message";
import type { ImportedMessage } from "../domain/sama-import";
import { nextObjectId } from "../domain/object-id";
import type { ConversationCollection, Position } from "../domain/export-records";
import { exportPage, type ExportPage } from "./conversation-export";
import { D1Copy } from "./conversation-outbox";
import { createSchema, toMessage, type MessageRow, type ParticipantRow } from "./conversation-rows";
import { count } from "../operator-counters";

/** What a retried send is answered with: its first ask. */
interface SentRecord {
  serverMid: string;
  t: number;
  createdAt: number;
}

const IDEMPOTENCY_MS = 24 * 3600 * 1000;

export class ConversationStore {
  /** The D1 copy's outbox, in the same SQLite (a change and its copy commit together). */
  readonly d1: D1Copy;
  private metaCache: ConversationMeta | null | undefined = undefined;
  private deleted: boolean | undefined = undefined;
  private participantsCache: ParticipantRow[] | null = null;
  private seqCache: number | undefined = undefined;
  /** Client ids of the last 24 h ("<from>\n<client id>"), read from the messages once per instance. */
  private sentCache: Map<string, SentRecord> | null = null;
  private lastIdCache: string | null | undefined = undefined;
  private liveShardsCache: number | undefined = undefined;
  /** Recent messages (id → seq, author) and which of them already count as delivered. */
  private readonly recent = new Map<string, { seq: number; from: string; delivered: boolean }>();

  /** `deliveredPending`: a delivered report not yet written (conversation-receipts.ts) already counts. */
  constructor(
    private readonly sql: SqlStorage,
    private readonly deliveredPending: (seq: number) => boolean,
  ) {
    createSchema(sql);
    this.d1 = new D1Copy(sql);
  }

  // ---------------------------------------------------------------- meta

  /** The live conversation; null if it never existed or was deleted. */
  readMeta(): ConversationMeta | null {
    this.deleted ??= this.sql.exec("SELECT 1 FROM meta WHERE k = 'deleted'").toArray().length > 0;
    return this.deleted ? null : this.storedMeta();
  }

  /** The conversation's meta, deleted or not (a copy: callers may change it before writeMeta). */
  storedMeta(): ConversationMeta | null {
    if (this.metaCache === undefined) {
      const row = this.sql.exec<{ v: string }>("SELECT v FROM meta WHERE k = 'conversation'").toArray()[0];
      this.metaCache = row ? (JSON.parse(row.v) as ConversationMeta) : null;
      // A message moves updated_at without writing the meta row: the newest message tells.
      const newest = this.sql.exec<{ at: number | null }>("SELECT max(created_at) AS at FROM messages").one().at;
      if (this.metaCache && newest !== null) this.metaCache.updatedAt = Math.max(this.metaCache.updatedAt, newest);
    }
    return this.metaCache === null ? null : { ...this.metaCache };
  }

  writeMeta(meta: ConversationMeta): void {
    this.metaCache = { ...meta };
    this.sql.exec("INSERT OR REPLACE INTO meta (k, v) VALUES ('conversation', ?)", JSON.stringify(meta));
  }

  /** A tombstone: requests see no conversation, the pending fan-out still knows where to go. */
  markDeleted(): void {
    this.deleted = true;
    this.sql.exec("INSERT OR REPLACE INTO meta (k, v) VALUES ('deleted', '1')");
  }

  isBlocked(): boolean {
    return this.sql.exec<{ v: string }>("SELECT v FROM meta WHERE k = 'blocked'").toArray()[0]?.v === "1";
  }

  /** A block state read from D1 at `readAt`; one read earlier than the one applied is ignored. */
  setBlocked(blocked: boolean, readAt: number): void {
    const applied = Number(this.sql.exec<{ v: string }>("SELECT v FROM meta WHERE k = 'blocked_at'").toArray()[0]?.v ?? 0);
    if (readAt < applied) return;
    this.sql.exec("INSERT OR REPLACE INTO meta (k, v) VALUES ('blocked', ?), ('blocked_at', ?)", blocked ? "1" : "0", String(readAt));
  }

  liveShards(): number {
    this.liveShardsCache ??= Number(this.sql.exec<{ v: string }>("SELECT v FROM meta WHERE k = 'live_shards'").toArray()[0]?.v ?? 0);
    return this.liveShardsCache;
  }

  setLiveShards(shards: number): void {
    this.liveShardsCache = shards;
    this.sql.exec("INSERT OR REPLACE INTO meta (k, v) VALUES ('live_shards', ?)", String(shards));
  }

  view(): ConversationView {
    return conversationView(this.readMeta()!, this.participantIds().length);
  }

  /** A page of this conversation's messages, statuses or reactions for an organization export. */
  exportPage(meta: ConversationMeta, collection: ConversationCollection, after: Position | null, limit: number): Promise<ExportPage> {
    return exportPage(this.sql, meta, collection, after, limit);
  }

  // ---------------------------------------------------------------- participants

  participants(): ParticipantRow[] {
    this.participantsCache ??= this.sql.exec<ParticipantRow>("SELECT * FROM participants ORDER BY added_at, user_id").toArray();
    return this.participantsCache;
  }

  participantIds(): string[] {
    return this.participants().map((p) => p.user_id);
  }

  participantRow(userId: string): ParticipantRow | null {
    return this.participants().find((p) => p.user_id === userId) ?? null;
  }

  /** The participant's role, or undefined when not a participant. */
  roleOf(userId: string): Role | undefined {
    const row = this.participantRow(userId);
    return row ? ((row.role as Role) ?? null) : undefined;
  }

  /** Why `actor` may not act here (no such conversation, not a participant), or null. */
  memberError(actor: Actor): ErrorBody | null {
    const meta = this.readMeta();
    if (!meta || meta.organizationId !== actor.organizationId) return Errors.CONVERSATION_NOT_FOUND;
    return this.roleOf(actor.userId) === undefined ? Errors.FORBIDDEN : null;
  }

  insertParticipant(p: Participant, at: number): void {
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

  deleteParticipant(userId: string): void {
    this.writeParticipants("DELETE FROM participants WHERE user_id = ?", userId);
  }

  /** Makes a member an admin or a member again (owners keep their role). */
  setAdmin(userId: string, admin: boolean): void {
    if (admin) this.writeParticipants("UPDATE participants SET role = 'admin' WHERE user_id = ? AND role IS NULL", userId);
    else this.writeParticipants("UPDATE participants SET role = NULL WHERE user_id = ? AND role = 'admin'", userId);
  }

  setOwnerRole(userId: string): void {
    this.writeParticipants("UPDATE participants SET role = 'owner' WHERE user_id = ?", userId);
  }

  setReadSeq(userId: string, seq: number): void {
    this.writeParticipants("UPDATE participants SET read_seq = ? WHERE user_id = ?", seq, userId);
  }

  private writeParticipants(query: string, ...args: SqlStorageValue[]): void {
    this.participantsCache = null;
    this.sql.exec(query, ...args);
  }

  // ---------------------------------------------------------------- messages

  lastSeq(): number {
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

  insertMessage(from: string, input: SendInput, now: number): StoredMessage {
    count("messagesStored");
    const meta = this.readMeta()!;
    const message: StoredMessage = {
      id: nextObjectId(this.lastId(), now),
      seq: this.lastSeq() + 1,
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
    this.writeMessage(message, input.clientId);
    if (input.clientId !== null) this.sentIds().set(`${from}\n${input.clientId}`, { serverMid: message.id, t: message.t, createdAt: now });
    return message;
  }

  /** A message moved from SAMA (conversation-import.ts): its id and times as they were, the next seq. */
  insertImported(imported: ImportedMessage): StoredMessage {
    const message: StoredMessage = { ...imported, cid: this.storedMeta()!.id, seq: this.lastSeq() + 1 };
    this.writeMessage(message, null);
    return message;
  }

  private writeMessage(message: StoredMessage, clientId: string | null): void {
    this.sql.exec(
      `INSERT INTO messages (seq, id, from_id, body, attachments, x, t, created_at, updated_at, replied_message_id,
         forwarded_message_id, encrypted_message_type, deleted_for, client_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      message.seq,
      message.id,
      message.from,
      message.body,
      message.attachments === null ? null : JSON.stringify(message.attachments),
      JSON.stringify(message.x),
      message.t,
      message.createdAt,
      message.updatedAt,
      message.repliedMessageId,
      message.forwardedMessageId,
      message.encryptedMessageType,
      JSON.stringify(message.deletedFor),
      clientId,
    );
    // No counter rows: seq, the last id and updated_at are read back from the messages at start
    // (floors are written only when messages are deleted), so a message costs its own row.
    this.seqCache = message.seq;
    const lastId = this.lastId();
    if (lastId === null || message.id > lastId) this.lastIdCache = message.id;
    if (this.metaCache) this.metaCache.updatedAt = Math.max(this.metaCache.updatedAt, message.createdAt);
    this.remember(message.id, message.seq, message.from);
    this.d1.message(message.seq);
  }

  private remember(id: string, seq: number, from: string): void {
    this.recent.set(id, { seq, from, delivered: false });
    if (this.recent.size > 2000) this.recent.delete(this.recent.keys().next().value!);
  }

  messageById(mid: string): StoredMessage | null {
    const row = this.sql.exec<MessageRow>("SELECT * FROM messages WHERE id = ?", mid).toArray()[0];
    return row ? toMessage(row, this.readMeta()?.id ?? "") : null;
  }

  messagesByIds(ids: string[]): MessageRow[] {
    return this.sql.exec<MessageRow>("SELECT * FROM messages WHERE id IN (SELECT value FROM json_each(?))", JSON.stringify(ids)).toArray();
  }

  /** Messages among `ids` written by someone other than `userId`, oldest first, at most 100. */
  othersMessages(ids: string[], userId: string): MessageRow[] {
    return this.sql
      .exec<MessageRow>("SELECT * FROM messages WHERE id IN (SELECT value FROM json_each(?)) AND from_id != ? ORDER BY seq LIMIT 100", JSON.stringify(ids), userId)
      .toArray();
  }

  /** Others' messages after `seq`, oldest first, at most 100 (message_read without ids). */
  othersMessagesAfter(seq: number, userId: string): MessageRow[] {
    return this.sql.exec<MessageRow>("SELECT * FROM messages WHERE seq > ? AND from_id != ? ORDER BY seq LIMIT 100", seq, userId).toArray();
  }

  /** message_list's page for `userId`: not deleted for them, within the encrypted TTL, by updated_at. */
  listMessages(userId: string, query: MessageQuery, isEncrypted: boolean): MessageRow[] {
    const where: string[] = ["NOT EXISTS (SELECT 1 FROM json_each(deleted_for) WHERE value = ?)"];
    const args: SqlStorageValue[] = [userId];
    if (query.ids) {
      where.push("id IN (SELECT value FROM json_each(?))");
      args.push(JSON.stringify(query.ids));
    }
    if (isEncrypted) {
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
    return this.sql.exec<MessageRow>(`SELECT * FROM messages WHERE ${where.join(" AND ")} ORDER BY ${order} LIMIT ?`, ...args, query.limit).toArray();
  }

  /**
   * The newest `limit` messages with a body that `userId` may read (not deleted for them), created
   * after `since` and past `afterSeq`, only others' when `othersOnly`; oldest first (message_summary).
   */
  readableMessages(userId: string, since: number, afterSeq: number, othersOnly: boolean, limit: number): MessageRow[] {
    return this.sql
      .exec<MessageRow>(
        `SELECT * FROM messages WHERE created_at > ? AND seq > ? AND (? = 0 OR from_id != ?) AND body IS NOT NULL
           AND NOT EXISTS (SELECT 1 FROM json_each(deleted_for) WHERE value = ?) ORDER BY seq DESC LIMIT ?`,
        since,
        afterSeq,
        othersOnly ? 1 : 0,
        userId,
        userId,
        limit,
      )
      .toArray()
      .reverse();
  }

  /** Encrypted messages past SAMA's 30-day TTL. */
  expiredMessages(): MessageRow[] {
    return this.sql.exec<MessageRow>("SELECT * FROM messages WHERE created_at <= ?", Date.now() - ENCRYPTION_TTL_MS).toArray();
  }

  oldestCreatedAt(): number | null {
    return this.sql.exec<{ at: number | null }>("SELECT min(created_at) AS at FROM messages").one().at;
  }

  editBody(seq: number, body: string, at: number): void {
    this.sql.exec("UPDATE messages SET body = ?, updated_at = ? WHERE seq = ?", body, at, seq);
  }

  hideFor(row: MessageRow, userId: string): void {
    const deletedFor = new Set(JSON.parse(row.deleted_for) as string[]).add(userId);
    this.sql.exec("UPDATE messages SET deleted_for = ? WHERE seq = ?", JSON.stringify([...deletedFor]), row.seq);
  }

  /** Whether `userId` read the message; for "delivered", whether it counts as delivered to anyone (only the first delivery is kept). */
  hasStatus(row: { seq: number }, userId: string, status: "read" | "delivered"): boolean {
    if (status === "read") return this.sql.exec("SELECT 1 FROM statuses WHERE seq = ? AND user_id = ? AND status = 'read'", row.seq, userId).toArray().length > 0;
    const message = this.sql.exec<{ delivered_at: number | null }>("SELECT delivered_at FROM messages WHERE seq = ?", row.seq).toArray()[0];
    return message?.delivered_at != null || this.sql.exec("SELECT 1 FROM statuses WHERE seq = ?", row.seq).toArray().length > 0;
  }

  markReadBy(seq: number, userId: string, at: number): void {
    this.sql.exec("INSERT OR REPLACE INTO statuses (seq, user_id, status, updated_at) VALUES (?, ?, 'read', ?)", seq, userId, at);
  }

  /** Deletes messages with their statuses and reactions (the caller queues D1's delete). */
  deleteMessages(rows: MessageRow[]): void {
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
  }

  // ---------------------------------------------------------------- idempotent sends

  /** The ask of a message this sender already sent with this client id in the last 24 h, or null. */
  firstAsk(from: string, clientId: string): Ask | null {
    const kept = this.sql
      .exec<{ ask: string }>("SELECT ask FROM sends WHERE from_id = ? AND client_id = ? AND created_at > ?", from, clientId, Date.now() - IDEMPOTENCY_MS)
      .toArray()[0];
    if (kept) return JSON.parse(kept.ask) as Ask;
    const sent = this.sentIds().get(`${from}\n${clientId}`);
    if (!sent || sent.createdAt <= Date.now() - IDEMPOTENCY_MS) return null;
    return { mid: clientId, server_mid: sent.serverMid, t: sent.t, modified: null, bot_message: null };
  }

  rememberAsk(from: string, clientId: string, ask: Ask, at: number): void {
    this.sql.exec("INSERT OR REPLACE INTO sends (from_id, client_id, ask, created_at) VALUES (?, ?, ?, ?)", from, clientId, JSON.stringify(ask), at);
  }

  forgetOldAsks(): void {
    const cutoff = Date.now() - IDEMPOTENCY_MS;
    this.sql.exec("DELETE FROM sends WHERE created_at < ?", cutoff);
    // The memory copy too, oldest first (insertion order): a long-lived object must not keep every id it saw.
    for (const [key, sent] of this.sentCache ?? []) {
      if (sent.createdAt > cutoff) break;
      this.sentCache!.delete(key);
    }
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

  // ---------------------------------------------------------------- statuses and reactions

  statusOf(row: MessageRow): MessageStatus {
    // Read marks are rows per reader; delivered is a column (older objects may have a row).
    const rows = this.sql.exec<{ status: string }>("SELECT DISTINCT status FROM statuses WHERE seq = ?", row.seq).toArray();
    if (rows.some((r) => r.status === "read")) return "read";
    return row.delivered_at !== null || rows.some((r) => r.status === "delivered") || this.deliveredPending(row.seq) ? "delivered" : "sent";
  }

  /**
   * A message not yet delivered to anyone but its author, as `userId` reports it: its seq and
   * author, or null when it already counts as delivered (or is unknown, or is the reporter's own).
   */
  firstDelivery(mid: string, userId: string): { seq: number; author: string } | null {
    const known = this.recent.get(mid);
    if (known?.delivered) return null;
    const row = known
      ? { seq: known.seq, from_id: known.from, delivered_at: null }
      : this.sql.exec<{ seq: number; from_id: string; delivered_at: number | null }>("SELECT seq, from_id, delivered_at FROM messages WHERE id = ?", mid).toArray()[0];
    if (!row || row.from_id === userId) return null;
    if (known) known.delivered = true;
    if (row.delivered_at !== null) return null;
    // A read (or an older object's delivered row) already outranks it: the author is not told "delivered" after "read".
    if (this.sql.exec("SELECT 1 FROM statuses WHERE seq = ?", row.seq).toArray().length > 0) return null;
    return { seq: row.seq, author: row.from_id };
  }

  /** Records who had the message first; false when it already had a delivered or read status. */
  writeDelivered(seq: number, by: string, at: number): boolean {
    return (
      this.sql.exec(
        "UPDATE messages SET delivered_by = ?, delivered_at = ? WHERE seq = ? AND delivered_at IS NULL AND NOT EXISTS (SELECT 1 FROM statuses WHERE seq = ?)",
        by,
        at,
        seq,
        seq,
      ).rowsWritten > 0
    );
  }

  reactionRows(seq: number): Array<{ userId: string; reaction: string }> {
    return this.sql
      .exec<{ user_id: string; reaction: string }>("SELECT user_id, reaction FROM reactions WHERE seq = ? ORDER BY created_at", seq)
      .toArray()
      .map((r) => ({ userId: r.user_id, reaction: r.reaction }));
  }

  /** False when the user already had this reaction. */
  addReaction(seq: number, userId: string, reaction: string, at: number): boolean {
    return this.sql.exec("INSERT OR IGNORE INTO reactions (seq, user_id, reaction, created_at) VALUES (?, ?, ?, ?)", seq, userId, reaction, at).rowsWritten > 0;
  }

  /** False when the user had no such reaction. */
  removeReaction(seq: number, userId: string, reaction: string): boolean {
    return this.sql.exec("DELETE FROM reactions WHERE seq = ? AND user_id = ? AND reaction = ?", seq, userId, reaction).rowsWritten > 0;
  }

  // ---------------------------------------------------------------- per-viewer summaries

  /** The newest message `viewer` can see (all viewers when null). */
  lastMessageFor(viewer: string | null): LastMessage | null {
    const row =
      viewer === null
        ? this.sql.exec<MessageRow>("SELECT * FROM messages ORDER BY seq DESC LIMIT 1").toArray()[0]
        : this.sql
            .exec<MessageRow>("SELECT * FROM messages WHERE NOT EXISTS (SELECT 1 FROM json_each(deleted_for) WHERE value = ?) ORDER BY seq DESC LIMIT 1", viewer)
            .toArray()[0];
    if (!row) return null;
    // "delivered" is the author's tick; live, other members hear only of reads (announceFirstRead).
    const status = this.statusOf(row);
    return lastMessageView(toMessage(row, this.readMeta()?.id ?? ""), status === "delivered" && viewer !== null && viewer !== row.from_id ? "sent" : status);
  }

  unreadCount(userId: string, readSeq: number): number {
    return this.sql
      .exec<{ n: number }>(
        "SELECT count(*) AS n FROM messages WHERE seq > ? AND from_id != ? AND NOT EXISTS (SELECT 1 FROM json_each(deleted_for) WHERE value = ?)",
        readSeq,
        userId,
        userId,
      )
      .one().n;
  }

  /**
   * Every participant's unread count after messages went away. Channels have no read marks
   * (subscribers cannot mark as read): recounting every subscriber there would cost subscribers ×
   * messages for nothing.
   */
  recountUnread(meta: ConversationMeta): Record<string, number> {
    const unread: Record<string, number> = {};
    if (meta.type !== "c") for (const p of this.participants()) unread[p.user_id] = this.unreadCount(p.user_id, p.read_seq);
    return unread;
  }
}
