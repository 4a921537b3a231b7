// A conversation's history moved from SAMA. Messages and read statuses arrive in batches, in any
// order, and wait in a staging table (keyed by SAMA's _id, so a batch sent twice stages nothing
// twice); the history step then stores them in _id order (SAMA's order) with the next seqs, applies
// the statuses, and tells every participant's Inbox through the ordinary fan-out what sending them
// through Parley would have left there: the messages within the feed's retention as logged packets,
// then the conversation with its last message and unread count per participant. Reactions come after
// the history (they name only a message). Nothing here pushes to devices.
import type { ConversationMeta, Participant } from "../domain/conversation";
import { lastMessageView, messageBody, type LastMessage } from "../domain/message";
import type { HistoryOutcome, ImportedMessage, ImportedReaction, ImportedStatus, StageOutcome } from "../domain/sama-import";
import type { Room } from "./conversation-events";
import type { ConversationStore } from "./conversation-store";
import { LOG_RETENTION_MS } from "./inbox-log";

export interface HistoryInput {
  meta: ConversationMeta;
  /** Current participants, roles, display names and when they joined (from the directory). */
  participants: Array<Participant & { addedAt: number }>;
  /** Private chats: whether either member blocks the other. */
  blocked: boolean;
}

type StagedKind = "message" | "status";

/** Messages stored per history call: each call is one bounded commit. */
const MESSAGES_PER_CALL = 2000;
/** A staging row that says the participants' state must be announced when the history is complete. */
const ANNOUNCE = "announce";

export class ImportStage {
  private ready = false;

  constructor(private readonly sql: SqlStorage) {}

  /** Messages: those already stored or staged count as there; the rest are staged (not in a dry run). */
  stageMessages(store: ConversationStore, messages: ImportedMessage[], dryRun: boolean): StageOutcome {
    const outcome: StageOutcome = { imported: [], existing: [], skipped: [] };
    for (const m of messages) {
      if (store.messageById(m.id) !== null || this.has(m.id)) outcome.existing.push(m.id);
      else {
        if (!dryRun) this.put(m.id, "message", m);
        outcome.imported.push(m.id);
      }
    }
    return outcome;
  }

  /** Read statuses: their message must be stored, staged, or (dry run) accepted earlier in the run. */
  stageStatuses(store: ConversationStore, statuses: ImportedStatus[], dryRun: boolean, knownMids: string[]): StageOutcome {
    const outcome: StageOutcome = { imported: [], existing: [], skipped: [] };
    const known = new Set(knownMids);
    for (const s of statuses) {
      const stored = store.messageById(s.mid);
      const staged = stored === null ? this.message(s.mid) : null;
      const author = stored?.from ?? staged?.from ?? null;
      if (author === null && !known.has(s.mid)) outcome.skipped.push({ id: s.id, reason: `"mid" names a message of this conversation that was not imported (${s.mid})` });
      else if (author === s.userId) outcome.skipped.push({ id: s.id, reason: "a read status of the reader's own message" });
      else if (this.has(s.id) || (stored !== null && store.hasStatus(stored, s.userId, s.status))) outcome.existing.push(s.id);
      else if (s.status === "delivered" && this.deliveredStaged(s.mid)) outcome.skipped.push({ id: s.id, reason: "the message has a delivered status already (Parley keeps the first)" });
      else {
        if (!dryRun) this.put(s.id, "status", s);
        outcome.imported.push(s.id);
      }
    }
    return outcome;
  }

  /**
   * Stores what is staged and announces it (see the file comment). A long history takes several
   * calls, MESSAGES_PER_CALL messages each (`more` until the last); the state is announced once,
   * after the last, and a call cut short by a failure is simply made again.
   */
  async commit(room: Room, input: HistoryInput, now: number): Promise<HistoryOutcome> {
    const { store } = room;
    if (store.storedMeta() === null) store.writeMeta(input.meta);
    else if (store.readMeta() === null) return { messages: 0, statuses: 0, more: false }; // deleted here since: nothing to restore
    const meta = store.readMeta()!;
    const before = new Set(store.participantIds());
    const newcomers = input.participants.filter((p) => !before.has(p.userId));
    for (const { addedAt, ...p } of newcomers) store.insertParticipant(p, addedAt);
    if (meta.type === "u") store.setBlocked(input.blocked, now);

    const recipients = store.participantIds();
    const batch = this.staged<ImportedMessage>("message", MESSAGES_PER_CALL);
    for (const imported of batch) {
      const m = store.insertImported(imported);
      this.sql.exec("DELETE FROM import_staged WHERE id = ?", m.id);
      // What a device syncing from its oldest retained event would have got: the recent messages.
      if (m.createdAt <= now - LOG_RETENTION_MS) continue;
      const to = recipients.filter((id) => !m.deletedFor.includes(id));
      room.enqueue(to, { message: messageBody(m, meta.type) }, { store: true, excludeSession: null, patch: { lastMessage: lastMessageView(m, "sent"), updatedAt: m.createdAt } });
    }
    if (newcomers.length > 0 || batch.length > 0) this.put(ANNOUNCE, "announce", null);
    if (batch.length === MESSAGES_PER_CALL && this.staged("message", 1).length > 0) {
      await room.settle();
      return { messages: batch.length, statuses: 0, more: true };
    }

    let statuses = 0;
    const readUpTo = new Map<string, number>();
    // Delivered before read: Parley records a delivery only while the message has no status, as it happens live.
    const staged = this.staged<ImportedStatus>("status");
    for (const s of [...staged.filter((d) => d.status === "delivered"), ...staged.filter((r) => r.status === "read")]) {
      const message = store.messageById(s.mid);
      if (message === null) continue; // deleted here after it was staged
      statuses++;
      if (s.status === "delivered") {
        if (store.writeDelivered(message.seq, s.userId, s.at)) store.d1.message(message.seq); // the D1 copy carries it
        continue;
      }
      store.markReadBy(message.seq, s.userId, s.at);
      store.d1.queue("status", { cid: meta.id, mid: s.mid, user_id: s.userId, status: "read", at: s.at });
      readUpTo.set(s.userId, Math.max(readUpTo.get(s.userId) ?? 0, message.seq));
    }
    for (const [userId, seq] of readUpTo) {
      const p = store.participantRow(userId);
      if (p && seq > p.read_seq) store.setReadSeq(userId, seq);
    }
    const announce = statuses > 0 || this.has(ANNOUNCE);
    this.sql.exec("DELETE FROM import_staged");
    if (announce) announceState(room, recipients);
    await room.settle();
    return { messages: batch.length, statuses, more: false };
  }

  /** Reactions to stored messages (state only: SAMA clients read them with message_list). */
  importReactions(store: ConversationStore, cid: string, reactions: ImportedReaction[], dryRun: boolean): StageOutcome {
    const outcome: StageOutcome = { imported: [], existing: [], skipped: [] };
    for (const r of reactions) {
      const message = store.messageById(r.mid);
      if (message === null) {
        outcome.skipped.push({ id: r.id, reason: `"mid" names a message that was not imported (${r.mid})` });
        continue;
      }
      const had = store.reactionRows(message.seq).some((row) => row.userId === r.userId && row.reaction === r.reaction);
      if (had) outcome.existing.push(r.id);
      else {
        if (!dryRun) {
          store.addReaction(message.seq, r.userId, r.reaction, r.at);
          store.d1.queue("reaction", { cid, mid: r.mid, user_id: r.userId, reaction: r.reaction, at: r.at, op: "add" });
        }
        outcome.imported.push(r.id);
      }
    }
    return outcome;
  }

  /** Staged records of a kind in _id order (SAMA's), at most `limit`. */
  private staged<T>(kind: StagedKind, limit = -1): T[] {
    this.ensureTable();
    return this.sql
      .exec<{ doc: string }>("SELECT doc FROM import_staged WHERE kind = ? ORDER BY id LIMIT ?", kind, limit)
      .toArray()
      .map((row) => JSON.parse(row.doc) as T);
  }

  private message(id: string): ImportedMessage | null {
    this.ensureTable();
    const row = this.sql.exec<{ doc: string }>("SELECT doc FROM import_staged WHERE id = ? AND kind = 'message'", id).toArray()[0];
    return row ? (JSON.parse(row.doc) as ImportedMessage) : null;
  }

  private deliveredStaged(mid: string): boolean {
    this.ensureTable();
    return this.sql.exec("SELECT 1 FROM import_staged WHERE kind = 'status' AND doc ->> '$.mid' = ? AND doc ->> '$.status' = 'delivered'", mid).toArray().length > 0;
  }

  private has(id: string): boolean {
    this.ensureTable();
    return this.sql.exec("SELECT 1 FROM import_staged WHERE id = ?", id).toArray().length > 0;
  }

  private put(id: string, kind: StagedKind | "announce", doc: ImportedMessage | ImportedStatus | null): void {
    this.ensureTable();
    this.sql.exec("INSERT OR IGNORE INTO import_staged (id, kind, doc) VALUES (?, ?, ?)", id, kind, JSON.stringify(doc));
  }

  /** Only objects that take an import get the table. */
  private ensureTable(): void {
    if (this.ready) return;
    this.sql.exec("CREATE TABLE IF NOT EXISTS import_staged (id TEXT PRIMARY KEY, kind TEXT NOT NULL, doc TEXT NOT NULL)");
    this.ready = true;
  }
}

/**
 * Each participant's conversation row as the history leaves it: the conversation, the last message
 * they can see (deleted_for hides some) and their unread count, one fan-out row per distinct last message.
 */
function announceState(room: Room, recipients: string[]): void {
  const { store } = room;
  const view = store.view();
  const groups = new Map<string, { lastMessage: LastMessage | null; users: string[]; unread: Record<string, number> }>();
  for (const userId of recipients) {
    const lastMessage = store.lastMessageFor(userId);
    // The author sees its own delivered tick, the others "sent" (lastMessageFor): one row per view.
    const key = lastMessage === null ? "" : `${lastMessage._id}:${lastMessage.status}`;
    const group = groups.get(key) ?? { lastMessage, users: [], unread: {} };
    group.users.push(userId);
    group.unread[userId] = store.unreadCount(userId, store.participantRow(userId)?.read_seq ?? 0);
    groups.set(key, group);
  }
  for (const { lastMessage, users, unread } of groups.values()) {
    room.enqueue(users, null, { store: false, excludeSession: null, patch: { conversation: view, lastMessage, updatedAt: Date.parse(view.updated_at) }, unread });
  }
}
