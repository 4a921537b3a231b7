// Inbox: one Durable Object per user (named "<organization>:<user>"). It knows the user's live
// sessions (so revocation and deliveries reach them, and presence is device-aware: the user is
// offline when the last socket goes, not before), forwards each conversation's packets to them,
// decides push, keeps last-activity subscriptions and the user's derived state (inbox-log.ts: the
// event feed with its per-user `event_seq`, the conversation index `conversation_list` is served
// from), which a delivery changes in memory and a window writes behind in one commit.
import type { ServerPackets } from "../domain/packets";
import { DurableObject } from "cloudflare:workers";
import { liveDelivery, type Delivery, type DeliveryReceipt } from "../domain/delivery";
import { packetKey, type PacketKey } from "../domain/sent-packets";
import { getConfig } from "../config";
import { fullBucket, takeUpTo, type Bucket } from "../domain/token-bucket";
import { getDb } from "../db/client";
import { mayDownload } from "../files/access";
import { fileUrlSigner } from "../files/signer";
import type { PushPayload } from "../domain/push-payload";
import { pushDeps, pushToUser } from "../push";
import { InboxGateways } from "./inbox-gateways";
import { InboxLog, type ConversationListQuery, type LogRow, type SyncPage } from "./inbox-log";
import { meteredStorage, started } from "./metrics";
import { fileAccess, inboxOf, parseSessionAddress } from "./stubs";
import { abortForTest } from "./test-hooks";
import { TestLatches } from "./test-latch";
import { logError } from "../log";

export type { ConversationListQuery, LogRow, SyncPage };

/** How often an online user's sessions are checked for sockets that vanished without a close event. */
const LIVENESS_MS = 5 * 60 * 1000;
/**
 * How long a revocation is remembered: a sign-in registered within it checks its token again (see
 * attach). Far longer than any sign-in takes between its token check and its registration.
 */
const REVOCATION_KEPT_MS = 10 * 60 * 1000;

/** A packet on its way to the user's sessions, except those it skips. */
interface Forwarded {
  frame: string;
  skip: Array<string | null>;
  mid: string | null;
  /** The stream packet (null: none): a session that had it from its Conversation drops this copy. */
  key: PacketKey | null;
}

export interface Owner {
  userId: string;
  organizationId: string;
}

export class Inbox extends DurableObject<Env> {
  private readonly sql: SqlStorage;
  private readonly setAlarm: (at: number) => Promise<void>;
  private readonly log: InboxLog;
  /** How long derived state waits in memory before its one commit. */
  private readonly windowMs: number;
  private flushTimer: ReturnType<typeof setTimeout> | null = null;
  // In-memory copies of what every delivery reads; rebuilt from SQLite after eviction.
  private sessionCache: Array<{ id: string; inactive: boolean }> | null = null;
  private ownerCache: Owner | null = null;
  /** The user's request budget over all their sockets; in memory (a new object starts full). */
  private requestBucket: Bucket | null = null;
  /** The Gateways holding the user's sessions: kept stubs, pushes with a deadline, lagging ones (inbox-gateways.ts). */
  private readonly gateways: InboxGateways;
  /** Test-only: holds the next attach once its session is registered (testHold). */
  private readonly latches = new TestLatches<"attach">();
  private presenceChain: Promise<void> = Promise.resolve();
  /** Revocations lately handled: device id (null: every device) → when; read from storage once. */
  private revocations: Map<string | null, number> | null = null;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    started("Inbox");
    const storage = meteredStorage(ctx.storage, "Inbox");
    this.sql = storage.sql;
    this.setAlarm = storage.setAlarm;
    this.sql.exec(`
      CREATE TABLE IF NOT EXISTS sessions (session_id TEXT PRIMARY KEY, device_id TEXT NOT NULL, attached_at INTEGER NOT NULL,
        inactive INTEGER NOT NULL DEFAULT 0);
      CREATE TABLE IF NOT EXISTS meta (k TEXT PRIMARY KEY, v TEXT NOT NULL);
      CREATE TABLE IF NOT EXISTS subscribers (user_id TEXT PRIMARY KEY);
    `);
    this.log = new InboxLog(this.sql);
    this.gateways = new InboxGateways(env, ctx.id);
    this.windowMs = getConfig(env).inboxWriteWindowMs;
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

  /**
   * A Session signed in as this user on `deviceId` (the first one brings the user online); answers
   * with its first slice of the user's request budget (saves a call per sign-in), and whether the
   * sign-in must check its token again: a revocation of the device that came before this
   * registration found no session here to stop, and the token may have been checked before it.
   */
  async attach(owner: Owner, sessionId: string, deviceId: string, budget: number): Promise<{ granted: number; recheck: boolean }> {
    this.setMeta("owner", JSON.stringify(owner));
    this.sessionCache = null;
    const now = Date.now();
    this.sql.exec("INSERT OR REPLACE INTO sessions (session_id, device_id, attached_at) VALUES (?, ?, ?)", sessionId, deviceId, now);
    // In the same turn as the insert: a revocation either came before it (remembered) or finds the session.
    const all = this.revokedDevices();
    const recheck = [deviceId, null].some((d) => now - (all.get(d) ?? -Infinity) < REVOCATION_KEPT_MS);
    await this.syncPresence();
    if ((await this.ctx.storage.getAlarm()) === null) await this.setAlarm(Date.now() + LIVENESS_MS);
    await this.latches.pass("attach");
    return { granted: await this.grantRequests(budget), recheck };
  }

  /** A Session signed out or closed; the last one takes the user offline. */
  async detach(sessionId: string): Promise<void> {
    await this.forgetSession(sessionId, null);
  }

  /** Drops a session's row (only while it names `deviceId`, when given); the last one takes the user offline. */
  private async forgetSession(sessionId: string, deviceId: string | null): Promise<void> {
    this.sessionCache = null;
    const removed =
      (deviceId === null
        ? this.sql.exec("DELETE FROM sessions WHERE session_id = ?", sessionId)
        : this.sql.exec("DELETE FROM sessions WHERE session_id = ? AND device_id = ?", sessionId, deviceId)
      ).rowsWritten > 0;
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
        const { gateway, socket } = parseSessionAddress(session_id);
        const alive = owner === null ? false : await this.gateways.stub(gateway).isSignedInAs(socket, owner.userId).catch(() => this.gateways.forget(gateway));
        if (alive === false) await this.detach(session_id);
      }),
    );
    if (this.sessionCount() > 0) await this.setAlarm(Date.now() + LIVENESS_MS);
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
      .catch((err: unknown) => logError("publishing presence failed", { kind: "Inbox", id: this.ctx.id.toString() }, err));
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
    const packet = { last_activity: { [owner.userId]: value } satisfies ServerPackets["last_activity"] };
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
    this.rememberRevocation(deviceId);
    const rows = (
      deviceId === null
        ? this.sql.exec<{ session_id: string }>("SELECT session_id FROM sessions")
        : this.sql.exec<{ session_id: string }>("SELECT session_id FROM sessions WHERE device_id = ?", deviceId)
    ).toArray();
    const results = await Promise.allSettled(
      rows.map((row) => {
        const { gateway, socket } = parseSessionAddress(row.session_id);
        return this.gateways.stub(gateway).signOutIf(socket, userId, deviceId);
      }),
    );
    // A session that did not answer stays registered, so a later revocation or the liveness alarm still
    // reaches it. One that did is dropped only while on the revoked device: a socket whose sign-in on
    // it was refused has registered its own device again meanwhile (Session.unregister).
    for (const [i, row] of rows.entries()) if (results[i]?.status === "fulfilled") await this.forgetSession(row.session_id, deviceId);
    return results.filter((r) => r.status === "fulfilled" && r.value).length;
  }

  /** Revocations lately handled (see attach), pruned as new ones come. */
  private revokedDevices(): Map<string | null, number> {
    this.revocations ??= new Map(JSON.parse(this.getMeta("revocations") ?? "[]") as Array<[string | null, number]>);
    return this.revocations;
  }

  private rememberRevocation(deviceId: string | null): void {
    const now = Date.now();
    const all = this.revokedDevices();
    for (const [d, at] of all) if (now - at >= REVOCATION_KEPT_MS) all.delete(d);
    all.set(deviceId, now);
    this.setMeta("revocations", JSON.stringify([...all]));
  }

  // ---------------------------------------------------------------- deliveries

  /**
   * Applies packets from one conversation's stream, in order, to the user's derived state in memory
   * (written behind: see flushSoon), and forwards them to the user's live sessions. A delivery at or
   * below what was applied is a resend and is skipped; one whose predecessor (`after`) was never
   * applied means this instance lost a window: nothing more is applied and the receipt's `gap` asks
   * the Conversation to resend from what storage has. `durable` asks for the state to be written now.
   */
  async deliver(userId: string, deliveries: Delivery[], options: { durable?: boolean } = {}): Promise<DeliveryReceipt> {
    const now = Date.now();
    const frames: Forwarded[] = [];
    let routed: Set<string> | null = null;
    const pushes: Array<{ payload: PushPayload; attachment: string | undefined; message: boolean }> = [];
    let stream: string | null = null;
    let gap: number | null = null;
    let persist = options.durable === true;
    for (const d of deliveries) {
      if (d.seq !== null) {
        stream = d.cid;
        const applied = this.log.appliedSeq(d.cid);
        if (d.seq <= applied) continue;
        if (d.after !== undefined && d.after > applied) {
          gap = applied;
          break;
        }
        this.log.applied(d.cid, d.seq);
      } else if (d.store && !d.bestEffort) {
        persist = true; // not from a stream: nothing would resend it
      }
      if (d.liveTo !== undefined) routed = new Set([...d.liveTo, ...(d.excludeSession !== null ? [d.excludeSession] : [])]);
      if (d.patch) this.log.patch(d.cid, d.patch);
      if (d.mid !== null) this.log.rememberMessage(d.mid, d.cid);
      if (d.push && !d.replay) pushes.push({ payload: d.push, attachment: d.pushAttachment, message: d.mid !== null });
      if (d.packet === null) continue;
      const frame = d.store ? this.log.append(d.packet, now) : JSON.stringify(d.packet);
      // A replay was forwarded by the instance that lost it: only the state is rebuilt.
      if (!d.replay) {
        frames.push({ frame, skip: d.liveTo === undefined ? [d.excludeSession] : [d.excludeSession, ...d.liveTo], mid: d.mid, key: packetKey(d) });
      }
    }
    // A number past the durable ceiling is written before any frame carrying it leaves.
    if (persist || this.log.mustFlush) this.flush();
    else this.flushSoon();
    this.pushIfAway(pushes);
    const delivered = frames.length > 0 ? await this.forward(userId, frames) : [];
    // The Conversation sends packets of large groups to the sessions it knows: it learns of the others here.
    const ids = routed === null ? null : this.sessions().map((s) => s.id);
    const sessions = ids === null || !this.gateways.anyLagging ? ids : ids.filter((id) => !this.gateways.isLagging(parseSessionAddress(id).gateway));
    const report = sessions !== null && (sessions.length !== routed!.size || sessions.some((id) => !routed!.has(id)));
    return { delivered, durable: stream === null ? 0 : this.log.durableSeq(stream), ...(gap !== null ? { gap } : {}), ...(report ? { sessions: sessions! } : {}) };
  }

  /**
   * Sends the frames to the user's sessions: one call per Gateway holding them (a session that caused
   * a packet, or that the Conversation sent it to already, gets no copy of it). Answers the messages
   * that reached at least one session.
   */
  private async forward(userId: string, frames: Forwarded[]): Promise<string[]> {
    // Sessions that get the same frames share a call to their Gateway.
    const calls = new Map<string, { gateway: string; sessions: string[]; frames: typeof frames }>();
    for (const { id } of this.sessions()) {
      const mine = frames.filter((f) => !f.skip.includes(id));
      if (mine.length === 0) continue;
      const { gateway } = parseSessionAddress(id);
      const key = mine.length === frames.length ? gateway : id;
      const call = calls.get(key);
      if (call) call.sessions.push(id);
      else calls.set(key, { gateway, sessions: [id], frames: mine });
    }
    const delivered = new Set<string>();
    await Promise.all(
      [...calls.values()].map(async ({ gateway, sessions, frames: mine }) => {
        const targets = sessions.map((id) => ({ socket: parseSessionAddress(id).socket, userId }));
        const answer = await this.gateways.push(gateway, { targets, frames: mine.map((f) => f.frame), keys: mine.map((f) => f.key) });
        if (answer === null) return;
        const missed = new Set(answer.map((t) => t.socket));
        for (const id of sessions) if (missed.has(parseSessionAddress(id).socket)) await this.detach(id);
        if (missed.size < sessions.length) for (const f of mine) if (f.mid !== null) delivered.add(f.mid);
      }),
    );
    return [...delivered];
  }

  /** The window's one commit, once `windowMs` after the first change since the last one. */
  private flushSoon(): void {
    if (this.flushTimer !== null || !this.log.dirty) return;
    this.flushTimer = setTimeout(() => this.flush(), this.windowMs);
  }

  private flush(): void {
    if (this.flushTimer !== null) clearTimeout(this.flushTimer);
    this.flushTimer = null;
    this.log.flush(Date.now());
  }

  /**
   * A user with no live session, or with a backgrounded one (activity_status), also gets a push for
   * what this call brought (SAMA §3.7). Sending never holds up the delivery: it runs in the background.
   */
  private pushIfAway(all: Array<{ payload: PushPayload; attachment: string | undefined; message: boolean }>): void {
    if (all.length === 0) return;
    // A call carrying a backlog of messages (a busy group's, coalesced; a resend after a failure)
    // pushes once per conversation, its newest: a phone buzzes once, not once per message of it.
    // Conversation events (created, added, removed) are pushed each.
    const payloads = [...new Map(all.map((p, i) => [p.message ? `message ${p.payload.cid ?? ""}` : i, p])).values()];
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
            (await mayDownload(fileAccess(this.env, deps.db), owner.organizationId, owner.userId, attachment))
              ? await fileUrlSigner({ config, now: Date.now() }, config.publicUrl).downloadUrl(attachment).catch(() => null)
              : null;
          await pushToUser(deps, owner.organizationId, owner.userId, { ...payload, firstAttachmentUrl });
        }),
      ),
    );
  }

  private sessions(): Array<{ id: string; inactive: boolean }> {
    this.sessionCache ??= this.sql
      .exec<{ session_id: string; inactive: number }>("SELECT session_id, inactive FROM sessions")
      .toArray()
      .map((r) => ({ id: r.session_id, inactive: r.inactive === 1 }));
    return this.sessionCache;
  }

  // ---------------------------------------------------------------- reads

  conversationList(query: ConversationListQuery): Array<Record<string, unknown>> {
    return this.log.conversationList(query, Date.now());
  }

  /** The conversation a message belongs to, among those delivered to this user lately. */
  conversationOfMessage(mid: string): string | null {
    return this.log.conversationOfMessage(mid, Date.now());
  }

  /** Events after `since` (or from the oldest retained), for a device catching up. */
  sync(since: number | null): SyncPage {
    return this.log.sync(since, Date.now());
  }

  /** SAMA's op_log_list: logged packets in a created_at window, at most 100, oldest first. */
  operationLog(userId: string, window: { gt?: number | undefined; lt?: number | undefined }): LogRow[] {
    return this.log.operationLog(userId, window, Date.now());
  }

  /** Test-only (TEST_HOOKS=1): dies at once, as the runtime aborts an object (test/chat/chaos.test.ts). */
  async testAbort(): Promise<void> {
    abortForTest(this.ctx, this.env);
  }

  /** Test-only (TEST_HOOKS=1): the next attach waits, its session registered, until testRelease (test/chat/sign-in-race.test.ts). */
  async testHold(point: "attach"): Promise<void> {
    this.latches.arm(point, this.env);
  }

  /** Test-only: resolves once the held attach waits. */
  async testReached(point: "attach"): Promise<void> {
    await this.latches.reached(point);
  }

  /** Test-only: the held attach answers, or (`fail`) fails midway, its session registered. */
  async testRelease(point: "attach", fail = false): Promise<void> {
    this.latches.release(point, fail);
  }
}
