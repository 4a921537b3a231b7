// The user's derived state, written behind: the event feed (every logged packet with its per-user
// `event_seq`), the conversation index that conversation_list reads, and how far each conversation's
// stream has been applied. None of it is the record of a message (the Conversation's is), so a
// delivery changes it in memory only and the whole window is written in one commit: one feed row for
// every event of the window, one index row and one applied row per conversation it touched.
// A Conversation keeps every event until the Inbox reports it durable, so an Inbox that dies in the
// middle of a window is rebuilt from the record.
//
// `event_seq` numbers handed out in memory may die with the object. They are never handed out again
// for something else: numbers are reserved in blocks (a durable ceiling written before a number past
// it leaves), and a new instance starts past the ceiling, recording the skipped range. A device whose
// cursor lies in a skipped range saw events that were lost and renumbered: `sync` tells it to reload
// (`truncated`), as it does for a cursor older than retention.
import { mergePatches, type IndexPatch } from "../domain/delivery";

export interface ConversationListQuery {
  limit: number;
  gt?: number | undefined;
  lt?: number | undefined;
  ids?: string[] | undefined;
}

export interface SyncPage {
  /** Packets as logged (JSON text), each already carrying its event_seq. */
  events: Array<{ event_seq: number; packet: string }>;
  event_seq: number;
  has_more: boolean;
  /** Identifies this log; a new epoch means the log was reset and cursors from before mean nothing. */
  epoch: string;
  truncated: boolean;
}

export interface LogRow {
  _id: string;
  user_id: string;
  packet: string;
  created_at: string;
  updated_at: string;
}

/** One logged packet: [event_seq, created_at (Unix ms), packet JSON]. */
type FeedEvent = [number, number, string];

interface IndexRow {
  cid: string;
  view: string;
  last_message: string | null;
  unread: number;
  updated_at: number;
  [key: string]: SqlStorageValue;
}

/** Events older than this are dropped (SAMA's OPERATIONS_LOG_EXPIRES_IN: 14 days). */
export const LOG_RETENTION_MS = 14 * 24 * 3600 * 1000;
const SYNC_PAGE = 500;
/** event_seq numbers reserved per durable ceiling write. */
const RESERVE = 10_000;
/** Message ids remembered in memory for requests that name only a message id. */
const RECENT_MIDS = 2000;

export class InboxLog {
  private loaded = false;
  /** The counter: the last number taken (after a restart, the ceiling the last instance reserved). */
  private lastEventSeq = 0;
  /** The last number a packet really carries, written or handed out by this instance: what `sync` reports. */
  private lastIssued = 0;
  private lastEventAt = 0;
  private ceiling = 0;
  /** Ranges (from, to] of numbers a dead instance may have handed out and lost. */
  private skips: Array<[number, number]> = [];
  private readonly appliedSeqs = new Map<string, number>();
  private readonly durableSeqs = new Map<string, number>();
  // Pending: what memory has and storage has not yet.
  private pendingEvents: FeedEvent[] = [];
  private readonly pendingPatches = new Map<string, IndexPatch[]>();
  private readonly pendingApplied = new Map<string, number>();
  private ceilingDirty = false;
  private readonly recentMids = new Map<string, string>();
  private lastTrim = 0;

  constructor(private readonly sql: SqlStorage) {
    sql.exec(`
      CREATE TABLE IF NOT EXISTS feed (first_seq INTEGER PRIMARY KEY, last_seq INTEGER NOT NULL, first_at INTEGER NOT NULL,
        last_at INTEGER NOT NULL, events TEXT NOT NULL);
      CREATE TABLE IF NOT EXISTS applied (cid TEXT PRIMARY KEY, seq INTEGER NOT NULL);
      CREATE TABLE IF NOT EXISTS conversations (cid TEXT PRIMARY KEY, view TEXT NOT NULL, last_message TEXT,
        unread INTEGER NOT NULL DEFAULT 0, updated_at INTEGER NOT NULL);
      CREATE TABLE IF NOT EXISTS meta (k TEXT PRIMARY KEY, v TEXT NOT NULL);
    `);
  }

  /** Something is in memory only. */
  get dirty(): boolean {
    return this.pendingEvents.length > 0 || this.pendingPatches.size > 0 || this.pendingApplied.size > 0 || this.ceilingDirty;
  }

  /** The last stream position applied for a conversation, durable or pending. */
  appliedSeq(cid: string): number {
    this.load();
    let seq = this.appliedSeqs.get(cid);
    if (seq === undefined) {
      seq = this.sql.exec<{ seq: number }>("SELECT seq FROM applied WHERE cid = ?", cid).toArray()[0]?.seq ?? 0;
      this.appliedSeqs.set(cid, seq);
      this.durableSeqs.set(cid, seq);
    }
    return seq;
  }

  /** The last stream position of a conversation that storage has. */
  durableSeq(cid: string): number {
    this.appliedSeq(cid);
    return this.durableSeqs.get(cid) ?? 0;
  }

  applied(cid: string, seq: number): void {
    this.appliedSeqs.set(cid, seq);
    this.pendingApplied.set(cid, seq);
  }

  /** Logs a packet; returns its event_seq. Past the durable ceiling, `mustFlush` is set: the caller writes before anything leaves. */
  append(packet: Record<string, unknown>, now: number): string {
    this.load();
    // Each event gets its own millisecond, later than the last one's: op_log_list pages by
    // created_at, 100 at a time, and could never page past 100 events of one millisecond (a
    // backlog arrives in one call).
    const at = Math.max(now, this.lastEventAt + 1);
    this.lastEventAt = at;
    const seq = ++this.lastEventSeq;
    this.lastIssued = seq;
    if (seq > this.ceiling) {
      this.ceiling = seq - 1 + RESERVE;
      this.ceilingDirty = true;
    }
    const frame = JSON.stringify(withEventSeq(packet, seq));
    this.pendingEvents.push([seq, at, frame]);
    return frame;
  }

  /** A number past the durable ceiling was handed out: it must be written before any frame leaves. */
  get mustFlush(): boolean {
    return this.ceilingDirty;
  }

  patch(cid: string, patch: IndexPatch): void {
    const list = this.pendingPatches.get(cid) ?? [];
    const last = list.at(-1);
    const merged = last ? mergePatches(last, patch) : null;
    if (merged) list[list.length - 1] = merged;
    else list.push(patch);
    this.pendingPatches.set(cid, list);
  }

  rememberMessage(mid: string, cid: string): void {
    this.recentMids.set(mid, cid);
    if (this.recentMids.size > RECENT_MIDS) this.recentMids.delete(this.recentMids.keys().next().value!);
  }

  /** Writes everything pending in one turn (one commit). Returns the conversations whose durable position moved. */
  flush(now: number): Map<string, number> {
    this.load();
    const moved = new Map<string, number>();
    if (this.pendingEvents.length > 0) {
      const events = this.pendingEvents;
      this.sql.exec(
        "INSERT INTO feed (first_seq, last_seq, first_at, last_at, events) VALUES (?, ?, ?, ?, ?)",
        events[0]![0],
        events.at(-1)![0],
        events[0]![1],
        events.at(-1)![1],
        JSON.stringify(events),
      );
      this.pendingEvents = [];
    }
    for (const [cid, patches] of this.pendingPatches) for (const patch of patches) this.applyPatch(cid, patch);
    this.pendingPatches.clear();
    for (const [cid, seq] of this.pendingApplied) {
      this.sql.exec("INSERT INTO applied (cid, seq) VALUES (?, ?) ON CONFLICT (cid) DO UPDATE SET seq = excluded.seq", cid, seq);
      this.durableSeqs.set(cid, seq);
      moved.set(cid, seq);
    }
    this.pendingApplied.clear();
    if (this.ceilingDirty) {
      this.setMeta("ceiling", String(this.ceiling));
      this.setMeta("skips", JSON.stringify(this.skips));
      this.ceilingDirty = false;
    }
    this.trim(now);
    return moved;
  }

  // ---------------------------------------------------------------- reads (after a flush: durable and pending alike)

  conversationList(query: ConversationListQuery, now: number): Array<Record<string, unknown>> {
    this.flush(now);
    const where: string[] = [];
    const args: SqlStorageValue[] = [];
    if (query.ids) {
      where.push("cid IN (SELECT value FROM json_each(?))");
      args.push(JSON.stringify(query.ids));
    }
    if (query.gt !== undefined) {
      where.push("updated_at > ?");
      args.push(query.gt);
    }
    if (query.lt !== undefined) {
      where.push("updated_at < ?");
      args.push(query.lt);
    }
    const clause = where.length > 0 ? `WHERE ${where.join(" AND ")}` : "";
    // SAMA 0.36.1 lists the newest-created conversations first (ids are time-ordered).
    const rows = this.sql.exec<IndexRow>(`SELECT * FROM conversations ${clause} ORDER BY cid DESC LIMIT ?`, ...args, query.limit).toArray();
    return rows.map((row) => {
      const view = JSON.parse(row.view) as Record<string, unknown>;
      view.updated_at = new Date(Math.max(row.updated_at, Date.parse(String(view.updated_at)))).toISOString();
      if (row.last_message !== null) view.last_message = JSON.parse(row.last_message);
      view.unread_messages_count = row.unread;
      return view;
    });
  }

  /** The conversation of a message delivered to this user lately (memory, then the last minute of the feed). */
  conversationOfMessage(mid: string, now: number): string | null {
    const known = this.recentMids.get(mid);
    if (known) return known;
    this.flush(now);
    const rows = this.sql
      .exec<{ events: string }>("SELECT events FROM feed WHERE last_at > ? AND instr(events, ?) > 0 ORDER BY first_seq DESC", now - 60_000, mid)
      .toArray();
    for (const row of rows) {
      for (const [, , frame] of JSON.parse(row.events) as FeedEvent[]) {
        const message = (JSON.parse(frame) as { message?: { _id?: unknown; cid?: unknown } }).message;
        if (message?._id === mid && typeof message.cid === "string") return message.cid;
      }
    }
    return null;
  }

  /** Events after `since` (or from the oldest retained), for a device catching up. */
  sync(since: number | null, now: number): SyncPage {
    this.flush(now);
    const after = since ?? 0;
    const rows = this.sql.exec<{ events: string }>("SELECT events FROM feed WHERE last_seq > ? ORDER BY first_seq", after).toArray();
    const events: Array<{ event_seq: number; packet: string }> = [];
    for (const row of rows) {
      for (const [seq, , packet] of JSON.parse(row.events) as FeedEvent[]) if (seq > after) events.push({ event_seq: seq, packet });
      if (events.length > SYNC_PAGE) break;
    }
    const oldest = this.oldestSeq();
    const lost = since !== null && this.skips.some(([from, to]) => since > from && since <= to);
    const page = events.slice(0, SYNC_PAGE);
    const hasMore = events.length > SYNC_PAGE;
    return {
      events: page,
      // A cursor to continue from: the page's last event while there is more, else the last number
      // issued (never a reserved one no packet carries: a cursor there would read as lost).
      event_seq: hasMore ? page.at(-1)!.event_seq : this.lastIssued,
      has_more: hasMore,
      epoch: this.epoch(),
      // Events after `since` were dropped by retention, or `since` is a number that died with an
      // instance (what followed it was renumbered): the client must reload its lists.
      truncated: since !== null && (since < oldest - 1 || lost),
    };
  }

  /** SAMA's op_log_list: logged packets in a created_at window, at most 100, oldest first. */
  operationLog(userId: string, window: { gt?: number | undefined; lt?: number | undefined }, now: number): LogRow[] {
    this.flush(now);
    const picked: FeedEvent[] = [];
    if (window.gt !== undefined) {
      const gt = window.gt;
      for (const row of this.sql.exec<{ events: string }>("SELECT events FROM feed WHERE last_at > ? ORDER BY first_seq", gt)) {
        for (const event of JSON.parse(row.events) as FeedEvent[]) if (event[1] > gt) picked.push(event);
        if (picked.length >= 100) break;
      }
      picked.splice(100);
    } else {
      const lt = window.lt ?? 0;
      for (const row of this.sql.exec<{ events: string }>("SELECT events FROM feed WHERE first_at < ? ORDER BY first_seq DESC", lt)) {
        const events = (JSON.parse(row.events) as FeedEvent[]).filter((e) => e[1] < lt);
        picked.unshift(...events);
        if (picked.length >= 100) break;
      }
      picked.splice(0, Math.max(0, picked.length - 100));
    }
    return picked.map(([seq, at, packet]) => ({
      _id: String(seq),
      user_id: userId,
      packet,
      created_at: new Date(at).toISOString(),
      updated_at: new Date(at).toISOString(),
    }));
  }

  // ---------------------------------------------------------------- storage

  /** The counters and skips, once per instance; a log kept by an earlier version is moved into the feed. */
  private load(): void {
    if (this.loaded) return;
    this.loaded = true;
    this.migrateLegacy();
    const durable = this.sql.exec<{ s: number | null }>("SELECT max(last_seq) AS s FROM feed").one().s ?? Number(this.getMeta("event_seq") ?? 0);
    const ceiling = Number(this.getMeta("ceiling") ?? 0);
    // A skip matters while a cursor inside it can still be presented: cursors older than the log
    // are reported as truncated anyway.
    const oldest = this.oldestSeq(durable);
    this.skips = (JSON.parse(this.getMeta("skips") ?? "[]") as Array<[number, number]>).filter(([, to]) => to >= oldest - 1);
    if (ceiling > durable) {
      // The last instance may have handed out (durable, ceiling] before dying: never again.
      if (!this.skips.some(([from, to]) => from === durable && to === ceiling)) this.skips.push([durable, ceiling]);
      this.lastEventSeq = ceiling;
    } else {
      this.lastEventSeq = durable;
    }
    this.lastIssued = durable;
    this.ceiling = this.lastEventSeq;
    this.lastEventAt = this.sql.exec<{ t: number | null }>("SELECT max(last_at) AS t FROM feed").one().t ?? 0;
  }

  /** The first event_seq still in the log (past the last issued when it is empty). */
  private oldestSeq(durable = this.lastIssued): number {
    return this.sql.exec<{ s: number | null }>("SELECT min(first_seq) AS s FROM feed").one().s ?? durable + 1;
  }

  /** Inboxes written before the feed kept one row per event (table `events`) and its counter in sqlite_sequence. */
  private migrateLegacy(): void {
    const legacy = this.sql.exec<{ n: number }>("SELECT count(*) AS n FROM sqlite_master WHERE type = 'table' AND name = 'events'").one().n > 0;
    if (!legacy) return;
    const last = this.sql.exec<{ seq: number }>("SELECT seq FROM sqlite_sequence WHERE name = 'events'").toArray()[0]?.seq ?? 0;
    this.sql.exec(
      `INSERT OR IGNORE INTO feed (first_seq, last_seq, first_at, last_at, events)
       SELECT event_seq, event_seq, created_at, created_at, json_array(json_array(event_seq, created_at, packet)) FROM events`,
    );
    this.setMeta("event_seq", String(last));
    this.sql.exec("DROP TABLE events");
    this.sql.exec("DROP TABLE IF EXISTS message_index");
  }

  private applyPatch(cid: string, patch: IndexPatch): void {
    if (patch.remove) {
      this.sql.exec("DELETE FROM conversations WHERE cid = ?", cid);
      return;
    }
    if (patch.conversation) {
      this.sql.exec(
        "INSERT INTO conversations (cid, view, updated_at) VALUES (?, ?, ?) ON CONFLICT (cid) DO UPDATE SET view = excluded.view, updated_at = max(updated_at, excluded.updated_at)",
        cid,
        JSON.stringify(patch.conversation),
        Date.parse(patch.conversation.updated_at),
      );
    }
    const sets: string[] = [];
    const args: SqlStorageValue[] = [];
    if (patch.lastMessage !== undefined) {
      sets.push("last_message = ?");
      args.push(patch.lastMessage === null ? null : JSON.stringify(patch.lastMessage));
    }
    if (patch.updatedAt !== undefined) {
      sets.push("updated_at = max(updated_at, ?)");
      args.push(patch.updatedAt);
    }
    if (patch.unread !== undefined) {
      sets.push("unread = ?");
      args.push(patch.unread + (patch.unreadIncrement ?? 0));
    } else if (patch.unreadIncrement) {
      sets.push("unread = unread + ?");
      args.push(patch.unreadIncrement);
    }
    if (sets.length > 0) this.sql.exec(`UPDATE conversations SET ${sets.join(", ")} WHERE cid = ?`, ...args, cid);
  }

  /** Drops events past retention (at most hourly). A client whose cursor fell off the log learns it from `sync` (`truncated`). */
  private trim(now: number): void {
    if (now - this.lastTrim < 3600 * 1000) return;
    this.lastTrim = now;
    this.sql.exec("DELETE FROM feed WHERE last_at < ?", now - LOG_RETENTION_MS);
  }

  private epoch(): string {
    const current = this.getMeta("epoch");
    if (current !== null) return current;
    const epoch = crypto.randomUUID();
    this.setMeta("epoch", epoch);
    return epoch;
  }

  private getMeta(k: string): string | null {
    return this.sql.exec<{ v: string }>("SELECT v FROM meta WHERE k = ?", k).toArray()[0]?.v ?? null;
  }

  private setMeta(k: string, v: string): void {
    this.sql.exec("INSERT INTO meta (k, v) VALUES (?, ?) ON CONFLICT (k) DO UPDATE SET v = excluded.v", k, v);
  }
}

/** The packet with `event_seq` added to its body: {"message":{…,"event_seq":12}}. */
function withEventSeq(packet: Record<string, unknown>, seq: number): Record<string, unknown> {
  const [key, body] = Object.entries(packet)[0] ?? ["", {}];
  return { [key]: { ...(body as Record<string, unknown>), event_seq: seq } };
}
