// Inbox: one Durable Object per user (named "<organization>:<user>"). It knows the user's live
// sessions (so revocation and deliveries reach them, and presence is device-aware: the user is
// offline when the last socket goes, not before), keeps the user's event log (every packet
// addressed to the user except typing and last_activity, each with a per-user `event_seq`), the
// conversation index that `conversation_list` is served from, the message → conversation index
// that requests naming only a message id need, and last-activity subscriptions.
import { DurableObject } from "cloudflare:workers";
import { liveDelivery, mergePatches, type Delivery, type DeliveryReceipt, type IndexPatch } from "../domain/delivery";
import { getConfig } from "../config";
import { fullBucket, takeUpTo, type Bucket } from "../domain/token-bucket";
import { getDb } from "../db/client";
import { fileUrlSigner } from "../files/signer";
import { pushDeps, pushToUser, type PushPayload } from "../push";
import { mayDownload } from "../services/files";
import { EXPIRED, SharedDeadline } from "./deadline";
import { inboxOf } from "./live-sessions";
import type { Session } from "./session";

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

interface IndexRow {
  cid: string;
  view: string;
  last_message: string | null;
  unread: number;
  updated_at: number;
  [key: string]: SqlStorageValue;
}

/** Events older than this are dropped (SAMA's OPERATIONS_LOG_EXPIRES_IN: 14 days). */
const LOG_RETENTION_MS = 14 * 24 * 3600 * 1000;
const SYNC_PAGE = 500;
/** A Session that has not answered within half to all of this is skipped for this delivery (the log still has the packet). */
const PUSH_TIMEOUT_MS = 5000;
/** How often an online user's sessions are checked for sockets that vanished without a close event. */
const LIVENESS_MS = 5 * 60 * 1000;

export interface Owner {
  userId: string;
  organizationId: string;
}

export class Inbox extends DurableObject<Env> {
  private readonly sql: SqlStorage;
  private lastTrim = 0;
  // In-memory copies of what every delivery reads; rebuilt from SQLite after eviction.
  private sessionCache: Array<{ id: string; inactive: boolean }> | null = null;
  private ownerCache: Owner | null = null;
  private lastEventSeq: number | null = null;
  /** The user's request budget over all their sockets; in memory (a new object starts full). */
  private requestBucket: Bucket | null = null;
  private readonly appliedCache = new Map<string, number>();
  private readonly sessionStubs = new Map<string, DurableObjectStub<Session>>();
  private readonly pushDeadline = new SharedDeadline(PUSH_TIMEOUT_MS);
  private presenceChain: Promise<void> = Promise.resolve();

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.sql = ctx.storage.sql;
    this.sql.exec(`
      CREATE TABLE IF NOT EXISTS sessions (session_id TEXT PRIMARY KEY, device_id TEXT NOT NULL, attached_at INTEGER NOT NULL,
        inactive INTEGER NOT NULL DEFAULT 0);
      CREATE TABLE IF NOT EXISTS events (event_seq INTEGER PRIMARY KEY AUTOINCREMENT, packet TEXT NOT NULL, created_at INTEGER NOT NULL);
      CREATE INDEX IF NOT EXISTS events_created ON events(created_at);
      CREATE TABLE IF NOT EXISTS applied (cid TEXT PRIMARY KEY, seq INTEGER NOT NULL);
      CREATE TABLE IF NOT EXISTS conversations (cid TEXT PRIMARY KEY, view TEXT NOT NULL, last_message TEXT,
        unread INTEGER NOT NULL DEFAULT 0, updated_at INTEGER NOT NULL);
      CREATE INDEX IF NOT EXISTS conversations_updated ON conversations(updated_at);
      CREATE TABLE IF NOT EXISTS message_index (mid TEXT PRIMARY KEY, cid TEXT NOT NULL);
      CREATE TABLE IF NOT EXISTS meta (k TEXT PRIMARY KEY, v TEXT NOT NULL);
      CREATE TABLE IF NOT EXISTS subscribers (user_id TEXT PRIMARY KEY);
    `);
  }

  // ---------------------------------------------------------------- sessions

  /** Hands a socket of this user up to `wanted` requests from the per-user bucket; 0 means rate-limited. */
  async grantRequests(wanted: number): Promise<number> {
    const config = getConfig(this.env);
    const limits = { perSecond: config.userRateLimitPerSecond, burst: config.userRateLimitBurst };
    const now = Date.now();
    const { granted, bucket } = takeUpTo(this.requestBucket ?? fullBucket(limits, now), limits, now, wanted);
    this.requestBucket = bucket;
    return granted;
  }

  /** A Session signed in as this user on `deviceId` (the first one brings the user online); answers with its first slice of the user's request budget (saves a call per sign-in). */
  async attach(owner: Owner, sessionId: string, deviceId: string, budget: number): Promise<number> {
    this.setMeta("owner", JSON.stringify(owner));
    this.sessionCache = null;
    this.sql.exec("INSERT OR REPLACE INTO sessions (session_id, device_id, attached_at) VALUES (?, ?, ?)", sessionId, deviceId, Date.now());
    await this.syncPresence();
    if ((await this.ctx.storage.getAlarm()) === null) await this.ctx.storage.setAlarm(Date.now() + LIVENESS_MS);
    return this.grantRequests(budget);
  }

  /** A Session signed out or closed; the last one takes the user offline. */
  async detach(sessionId: string): Promise<void> {
    this.sessionCache = null;
    this.sessionStubs.delete(sessionId);
    const removed = this.sql.exec("DELETE FROM sessions WHERE session_id = ?", sessionId).rowsWritten > 0;
    if (removed) await this.syncPresence();
  }

  /** activity_status: an inactive (backgrounded) device still gets packets, and pushes too (issue #4). */
  setInactive(sessionId: string, inactive: boolean): void {
    this.sessionCache = null;
    this.sql.exec("UPDATE sessions SET inactive = ? WHERE session_id = ?", inactive ? 1 : 0, sessionId);
  }

  /** Sessions whose socket vanished without a close event (a runtime restart) are dropped here. */
  override async alarm(): Promise<void> {
    const owner = this.owner();
    const rows = this.sql.exec<{ session_id: string }>("SELECT session_id FROM sessions").toArray();
    await Promise.all(
      rows.map(async ({ session_id }) => {
        // Only a definite "no" drops a session; an error is checked again at the next alarm.
        const alive = owner === null ? false : await this.session(session_id).isSignedInAs(owner.userId).catch(() => null);
        if (alive === false) await this.detach(session_id);
      }),
    );
    this.trim(Date.now());
    if (this.sessionCount() > 0) await this.ctx.storage.setAlarm(Date.now() + LIVENESS_MS);
  }

  private sessionCount(): number {
    return this.sql.exec<{ n: number }>("SELECT count(*) AS n FROM sessions").one().n;
  }

  // ---------------------------------------------------------------- presence

  /**
   * Publishes online/offline (D1 presence row, last_activity to subscribers) when the user's state
   * differs from what was last published. Runs one at a time, so a quick reconnect (a page reload:
   * detach, then attach) can never leave the published state behind the real one.
   */
  private syncPresence(): Promise<void> {
    this.presenceChain = this.presenceChain
      .then(async () => {
        const owner = this.owner();
        const online = this.sessionCount() > 0;
        if (owner === null || online === (this.getMeta("online") === "1")) return;
        this.setMeta("online", online ? "1" : "0");
        if (online) await this.wentOnline(owner);
        else await this.wentOffline();
      })
      .catch((err: unknown) => console.error("publishing presence failed", err));
    return this.presenceChain;
  }

  private async wentOnline(owner: Owner): Promise<void> {
    await this.env.DB.prepare("INSERT OR REPLACE INTO presence (user_id, organization_id, online_since) VALUES (?, ?, ?)")
      .bind(owner.userId, owner.organizationId, Date.now())
      .run();
    await this.broadcastActivity(owner, 0);
  }

  private async wentOffline(): Promise<void> {
    const owner = this.owner();
    if (!owner) return;
    const seconds = Math.floor(Date.now() / 1000);
    await this.env.DB.batch([
      this.env.DB.prepare("DELETE FROM presence WHERE user_id = ?").bind(owner.userId),
      this.env.DB.prepare("UPDATE users SET recent_activity = ? WHERE id = ?").bind(seconds, owner.userId),
    ]);
    await this.broadcastActivity(owner, seconds);
    // An observer that goes offline stops watching (SAMA clears the subscription).
    await this.unsubscribe();
  }

  /** `last_activity` to every subscriber's live sessions (never logged). */
  private async broadcastActivity(owner: Owner, value: number): Promise<void> {
    const packet = { last_activity: { [owner.userId]: value } };
    const subscribers = this.sql.exec<{ user_id: string }>("SELECT user_id FROM subscribers").toArray();
    await Promise.allSettled(
      subscribers.map(({ user_id }) =>
        inboxOf(this.env, owner.organizationId, user_id).deliver(user_id, [liveDelivery("", packet, { store: false, excludeSession: null })]),
      ),
    );
  }

  addSubscriber(userId: string): void {
    this.sql.exec("INSERT OR IGNORE INTO subscribers (user_id) VALUES (?)", userId);
  }

  removeSubscriber(userId: string): void {
    this.sql.exec("DELETE FROM subscribers WHERE user_id = ?", userId);
  }

  /** This user now watches `target` (one target at a time, as in SAMA). */
  async subscribeTo(owner: Owner, target: string): Promise<void> {
    this.setMeta("owner", JSON.stringify(owner));
    const previous = this.getMeta("watching");
    if (previous !== null && previous !== target) await inboxOf(this.env, owner.organizationId, previous).removeSubscriber(owner.userId);
    this.setMeta("watching", target);
    await inboxOf(this.env, owner.organizationId, target).addSubscriber(owner.userId);
  }

  async unsubscribe(): Promise<void> {
    const owner = this.owner();
    const previous = this.getMeta("watching");
    if (owner === null || previous === null) return;
    this.sql.exec("DELETE FROM meta WHERE k = 'watching'");
    await inboxOf(this.env, owner.organizationId, previous).removeSubscriber(owner.userId);
  }

  /** Whose Inbox this is: recorded on sign-in, else read from the object's name ("<organization>:<user>"). */
  private owner(): Owner | null {
    if (this.ownerCache) return this.ownerCache;
    const raw = this.getMeta("owner");
    if (raw !== null) return (this.ownerCache = JSON.parse(raw) as Owner);
    const name = this.ctx.id.name;
    const cut = name?.lastIndexOf(":") ?? -1;
    return name && cut > 0 ? { organizationId: name.slice(0, cut), userId: name.slice(cut + 1) } : null;
  }

  private getMeta(k: string): string | null {
    return this.sql.exec<{ v: string }>("SELECT v FROM meta WHERE k = ?", k).toArray()[0]?.v ?? null;
  }

  private setMeta(k: string, v: string): void {
    this.sql.exec("INSERT OR REPLACE INTO meta (k, v) VALUES (?, ?)", k, v);
  }

  /** Signs out every live session of the user on `deviceId`, or on every device when it is null. */
  async signOutSessions(userId: string, deviceId: string | null): Promise<number> {
    const rows = (
      deviceId === null
        ? this.sql.exec<{ session_id: string }>("SELECT session_id FROM sessions")
        : this.sql.exec<{ session_id: string }>("SELECT session_id FROM sessions WHERE device_id = ?", deviceId)
    ).toArray();
    const results = await Promise.allSettled(rows.map((row) => this.session(row.session_id).signOutIf(userId, deviceId)));
    // A session that did not answer stays registered, so a later revocation or the liveness alarm still reaches it.
    for (const [i, row] of rows.entries()) if (results[i]?.status === "fulfilled") await this.detach(row.session_id);
    return results.filter((r) => r.status === "fulfilled" && r.value).length;
  }

  // ---------------------------------------------------------------- deliveries

  /**
   * Logs, indexes and forwards packets from one conversation, in order, with a handful of
   * statements per call however many packets it carries (a recipient that fell behind gets its
   * backlog in one call). A retried delivery is recognised by its fan-out seq and skipped.
   */
  async deliver(userId: string, deliveries: Delivery[]): Promise<DeliveryReceipt> {
    const now = Date.now();
    const frames: Array<{ frame: string; exclude: string | null; mid: string | null }> = [];
    const events: SqlStorageValue[] = [];
    const indexed: SqlStorageValue[] = [];
    const applied = new Map<string, number>();
    const patches = new Map<string, IndexPatch>();
    const pushes: Array<{ payload: PushPayload; attachment: string | undefined }> = [];
    for (const d of deliveries) {
      if (d.seq !== null) {
        if (d.seq <= (applied.get(d.cid) ?? this.appliedSeq(d.cid))) continue;
        applied.set(d.cid, d.seq);
      }
      if (d.patch) {
        const pending = patches.get(d.cid);
        const merged = pending ? mergePatches(pending, d.patch) : d.patch;
        if (merged === null) this.applyPatch(d.cid, pending!);
        patches.set(d.cid, merged ?? d.patch);
      }
      if (d.mid !== null) indexed.push(d.mid, d.cid);
      if (d.push) pushes.push({ payload: d.push, attachment: d.pushAttachment });
      if (d.packet === null) continue;
      let frame: string;
      if (d.store) {
        const seq = this.takeEventSeq();
        frame = JSON.stringify(withEventSeq(d.packet, seq));
        events.push(seq, frame, now);
      } else {
        frame = JSON.stringify(d.packet);
      }
      frames.push({ frame, exclude: d.excludeSession, mid: d.mid });
    }
    for (const [cid, patch] of patches) this.applyPatch(cid, patch);
    insertRows(this.sql, "INSERT INTO events (event_seq, packet, created_at) VALUES", 3, events);
    insertRows(this.sql, "INSERT OR IGNORE INTO message_index (mid, cid) VALUES", 2, indexed);
    for (const [cid, seq] of applied) {
      this.appliedCache.set(cid, seq);
      this.sql.exec("INSERT OR REPLACE INTO applied (cid, seq) VALUES (?, ?)", cid, seq);
    }
    this.pushIfAway(pushes);
    const delivered = new Set<string>();
    if (frames.length > 0) {
      await Promise.all(
        this.sessions().map(async ({ id: sessionId }) => {
          const mine = frames.filter((f) => f.exclude !== sessionId);
          if (mine.length === 0) return;
          // A failed call is not proof the socket is gone (the liveness alarm decides that); "false" is.
          const answer = await this.pushDeadline.race(this.session(sessionId).push(userId, mine.map((f) => f.frame))).catch((err: unknown) => {
            console.error("push to session failed", err);
            return null;
          });
          const reached = answer === EXPIRED ? null : answer;
          if (reached === false) await this.detach(sessionId);
          else if (reached) for (const f of mine) if (f.mid !== null) delivered.add(f.mid);
        }),
      );
    }
    this.trim(now);
    return { delivered: [...delivered] };
  }

  /**
   * A user with no live session, or with a backgrounded one (activity_status), also gets a push for
   * what this call brought (SAMA §3.7). Sending never holds up the delivery: it runs in the background.
   */
  private pushIfAway(payloads: Array<{ payload: PushPayload; attachment: string | undefined }>): void {
    if (payloads.length === 0) return;
    const sessions = this.sessions();
    const away = sessions.length === 0 || sessions.some((s) => s.inactive);
    const owner = away ? this.owner() : null;
    if (owner === null) return;
    const deps = pushDeps(this.env, getDb(this.env));
    const config = getConfig(this.env);
    this.ctx.waitUntil(
      Promise.all(
        payloads.map(async ({ payload, attachment }) => {
          // Pushes leave outside any request: the attachment link is built on the configured PUBLIC_URL.
          // A sender may name any file id in an attachment: only a file this user may download gets a link.
          const firstAttachmentUrl =
            attachment !== undefined &&
            (config.publicUrl !== null || config.r2S3 !== null) &&
            (await mayDownload({ ...deps, env: this.env }, owner.organizationId, owner.userId, attachment))
              ? await fileUrlSigner({ config, now: Date.now() }, config.publicUrl).downloadUrl(attachment).catch(() => null)
              : null;
          await pushToUser(deps, owner.organizationId, owner.userId, { ...payload, firstAttachmentUrl });
        }),
      ),
    );
  }

  /** The last fan-out seq applied for a conversation (kept in memory, persisted in `applied`). */
  private appliedSeq(cid: string): number {
    let seq = this.appliedCache.get(cid);
    if (seq === undefined) {
      seq = this.sql.exec<{ seq: number }>("SELECT seq FROM applied WHERE cid = ?", cid).toArray()[0]?.seq ?? 0;
      this.appliedCache.set(cid, seq);
    }
    return seq;
  }

  /** The last event_seq handed out; AUTOINCREMENT's counter never goes back, even after the log is trimmed. */
  private currentEventSeq(): number {
    this.lastEventSeq ??= this.sql.exec<{ seq: number }>("SELECT seq FROM sqlite_sequence WHERE name = 'events'").toArray()[0]?.seq ?? 0;
    return this.lastEventSeq;
  }

  private takeEventSeq(): number {
    this.lastEventSeq = this.currentEventSeq() + 1;
    return this.lastEventSeq;
  }

  private sessions(): Array<{ id: string; inactive: boolean }> {
    this.sessionCache ??= this.sql
      .exec<{ session_id: string; inactive: number }>("SELECT session_id, inactive FROM sessions")
      .toArray()
      .map((r) => ({ id: r.session_id, inactive: r.inactive === 1 }));
    return this.sessionCache;
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
    const cutoff = now - LOG_RETENTION_MS;
    this.sql.exec("DELETE FROM events WHERE created_at < ?", cutoff);
    // Message ids start with their creation time (hex seconds): older entries are found in D1's copy.
    this.sql.exec("DELETE FROM message_index WHERE mid < ?", Math.floor(cutoff / 1000).toString(16).padStart(8, "0"));
  }

  // ---------------------------------------------------------------- reads

  conversationList(query: ConversationListQuery): Array<Record<string, unknown>> {
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

  /** The conversation a message belongs to, among those delivered to this user. */
  conversationOfMessage(mid: string): string | null {
    return this.sql.exec<{ cid: string }>("SELECT cid FROM message_index WHERE mid = ?", mid).toArray()[0]?.cid ?? null;
  }

  /** Events after `since` (or from the oldest retained), for a device catching up. */
  sync(since: number | null): SyncPage {
    const rows = this.sql
      .exec<{ event_seq: number; packet: string }>("SELECT event_seq, packet FROM events WHERE event_seq > ? ORDER BY event_seq LIMIT ?", since ?? 0, SYNC_PAGE + 1)
      .toArray();
    const page = rows.slice(0, SYNC_PAGE);
    const latest = this.currentEventSeq();
    const oldest = this.sql.exec<{ s: number | null }>("SELECT min(event_seq) AS s FROM events").one().s ?? latest + 1;
    return {
      events: page.map((r) => ({ event_seq: r.event_seq, packet: r.packet })),
      event_seq: latest,
      has_more: rows.length > SYNC_PAGE,
      epoch: this.epoch(),
      // Events after `since` were dropped by retention: the client must reload its lists.
      truncated: since !== null && since < oldest - 1,
    };
  }

  /** SAMA's op_log_list: logged packets in a created_at window, at most 100, oldest first. */
  operationLog(userId: string, window: { gt?: number | undefined; lt?: number | undefined }): LogRow[] {
    const rows =
      window.gt !== undefined
        ? this.sql.exec<{ event_seq: number; packet: string; created_at: number }>("SELECT * FROM events WHERE created_at > ? ORDER BY event_seq LIMIT 100", window.gt).toArray()
        : this.sql
            .exec<{ event_seq: number; packet: string; created_at: number }>("SELECT * FROM events WHERE created_at < ? ORDER BY event_seq DESC LIMIT 100", window.lt ?? 0)
            .toArray()
            .reverse();
    return rows.map((r) => ({
      _id: String(r.event_seq),
      user_id: userId,
      packet: r.packet,
      created_at: new Date(r.created_at).toISOString(),
      updated_at: new Date(r.created_at).toISOString(),
    }));
  }

  private epoch(): string {
    const current = this.getMeta("epoch");
    if (current !== null) return current;
    const epoch = crypto.randomUUID();
    this.setMeta("epoch", epoch);
    return epoch;
  }

  /** One stub per session: calls on the same stub arrive in order, so packets keep their event_seq order. */
  private session(sessionId: string): DurableObjectStub<Session> {
    let stub = this.sessionStubs.get(sessionId);
    if (!stub) {
      stub = this.env.SESSION.get(this.env.SESSION.idFromString(sessionId));
      this.sessionStubs.set(sessionId, stub);
    }
    return stub;
  }
}

/** The packet with `event_seq` added to its body: {"message":{…,"event_seq":12}}. */
function withEventSeq(packet: Record<string, unknown>, seq: number): Record<string, unknown> {
  const [key, body] = Object.entries(packet)[0] ?? ["", {}];
  return { [key]: { ...(body as Record<string, unknown>), event_seq: seq } };
}

/** Multi-row INSERT, chunked under SQLite's 100 bound parameters per statement. */
function insertRows(sql: SqlStorage, head: string, width: number, values: SqlStorageValue[]): void {
  const perStatement = Math.floor(100 / width) * width;
  const row = `(${Array.from({ length: width }, () => "?").join(", ")})`;
  for (let i = 0; i < values.length; i += perStatement) {
    const chunk = values.slice(i, i + perStatement);
    sql.exec(`${head} ${Array.from({ length: chunk.length / width }, () => row).join(", ")}`, ...chunk);
  }
}

