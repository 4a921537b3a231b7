// The Conversation's fan-out: its event stream (rows committed with each change: packet and
// recipients) carried to every recipient's Inbox in stream order. Live delivery costs no commit:
// an Inbox applies what it gets in memory, forwards it to the user's sessions, and writes it behind;
// each answer reports how far the Inbox has written this conversation's stream (`durable`). A row
// stays in the table until every recipient has it durably, and is then deleted with the next write
// (deleting it at once would cost a commit of its own); after an eviction it is resent and skipped.
//
// Each recipient has its own lane: a lane sends everything pending for its recipient in one call, and
// the next call as soon as that one returns, so a slow recipient never holds up the others and a busy
// conversation coalesces its packets per recipient (one call carries many). Each delivery names its
// predecessor in the lane (`after`): an Inbox that lost a window (evicted before writing it) answers
// with a `gap`, and the lane resends from what that Inbox has written, as state only for what its
// sessions already got. What stays unconfirmed past the Inbox's window is resent with `durable`
// (the alarm). A lane that fails stops (its recipient's later packets wait, so order is kept) until
// the alarm retries from the table.
import type { Delivery, DeliveryReceipt, StoredFanoutRow } from "../domain/delivery";
import { logError } from "../log";
import { count } from "../operator-counters";
import type { GatewayLive, LiveCall } from "./conversation-gateways";

export interface FanoutRow extends StoredFanoutRow {
  [key: string]: SqlStorageValue;
}

export interface FanoutTarget {
  /** Turns a row into its deliveries, one per recipient (only `only`'s when given). */
  deliveries(row: FanoutRow, only?: string): Map<string, Delivery>;
  deliver(userId: string, deliveries: Delivery[], options: { durable: boolean }): Promise<DeliveryReceipt>;
  /** Called with what reached a live session, after a lane's call returns. */
  delivered(userId: string, mids: string[]): void;
  /** Something waits for the alarm (a failed lane, or confirmations due at `at`). */
  retryLater(at?: number): void;
}

interface LaneItem {
  /** Null for a packet no row backs (sendBehind): not chained, not confirmed, not resent. */
  row: number | null;
  delivery: Delivery;
  /** Its packet went to the recipient's sessions through their Gateways: the Inbox may be told later. */
  toldBehind?: boolean;
  /**
   * The Gateways' calls that carry it to sessions its delivery claims (`liveTo`): it is not sent
   * before they settle, nor anything after it in the lane (an Inbox told too early would skip a
   * session a Gateway then fails to reach).
   */
  live?: LiveCall;
}

/** A delivery the Inbox answered for and has not written yet: only its row (read again if it must go again). */
interface Unconfirmed {
  row: number;
  answeredAt: number;
}

interface Lane {
  queue: LaneItem[];
  busy: boolean;
  failed: boolean;
  /** Sent and answered, not yet written by the Inbox (oldest first); resent after a gap or when overdue. */
  unconfirmed: Unconfirmed[];
  /** The row of the last item sent: the `after` of the next one (0: nothing older is owed). */
  lastSent: number;
  /** The next call asks the Inbox to write before answering. */
  confirm: boolean;
  /** The queue holds something that must not wait for the tell-behind tick. */
  urgent: boolean;
  /** Starts the lane once what it holds has waited long enough (wake). */
  timer: ReturnType<typeof setTimeout> | null;
  /** The live call the lane's oldest item waits for, once the lane is due (it starts when that settles). */
  blockedOn: LiveCall | null;
  /** A failed lane's items whose packet went live, by row: the resend keeps what they claim (`liveTo`). */
  dropped?: Map<number, LaneItem>;
}

/** Rows read into lanes and not yet answered for by every recipient; later rows wait in the table. */
const MAX_UNSENT_ROWS = 1000;
const READ_BATCH = 200;
/** Inbox calls in flight at once (a channel has thousands of recipients). */
const MAX_BUSY_LANES = 256;
/** Packets one Inbox call carries at most (a recipient that fell far behind catches up in several). */
const MAX_PER_CALL = 200;

export class Fanout {
  /** The newest row id given (see nextId). */
  private lastId: number | undefined = undefined;
  /** Highest row id read into the lanes. */
  private readUpTo = 0;
  /** Rows may exist past readUpTo (set by enqueue and at start, after an eviction). */
  private unread = true;
  /** Rows committed since everything was read, still in memory: read from here, not the table. */
  private fresh: FanoutRow[] = [];
  /** Rows read and not yet written by every recipient → the recipients still owed. */
  private readonly open = new Map<number, Set<string>>();
  /** Rows read and not yet answered by every recipient (what settle() waits for) → those recipients. */
  private readonly unsent = new Map<number, Set<string>>();
  private readonly lanes = new Map<string, Lane>();
  private readonly waitingLanes = new Set<string>();
  private busyLanes = 0;
  private failedLanes = 0;
  private waiters: Array<{ upTo: number; resolve: () => void }> = [];
  /** Rows every recipient has written, deleted with the next write (after an eviction they are resent, and skipped). */
  private finished: number[] = [];
  /** Test-only: deliver to the first recipient only, so a test can evict objects mid-way. */
  private holdAfter: string | null | undefined = undefined;

  /**
   * @param confirmAfterMs how long an answered delivery may stay unwritten before it is resent with
   *   `durable` (the Inbox's write window and a margin).
   * @param live sends packets of rows with many recipients straight to their sessions' Gateways.
   * @param tellBehindMs how long the Inbox of a recipient reached that way may wait for its delivery
   *   (what arrives meanwhile goes in the same call).
   */
  constructor(
    private readonly sql: SqlStorage,
    private readonly target: FanoutTarget,
    private readonly confirmAfterMs: number,
    private readonly live: GatewayLive,
    private readonly tellBehindMs: number,
  ) {}

  enqueue(recipients: string[], packet: Record<string, unknown> | null, options: unknown): void {
    if (recipients.length === 0) return;
    const row: FanoutRow = { id: this.nextId(), packet: packet === null ? null : JSON.stringify(packet), recipients: JSON.stringify(recipients), options: JSON.stringify(options) };
    this.sql.exec("INSERT INTO fanout (id, packet, recipients, options) VALUES (?, ?, ?, ?)", row.id, row.packet, row.recipients, row.options);
    // Read back from the table only behind a backlog; otherwise it is the next row to read.
    if (!this.unread) this.fresh.push(row);
    this.deleteFinished(); // after the insert: the newest row stays, so the ids' high-water mark needs no row of its own
  }

  /**
   * Row ids only grow, even when the table empties (an Inbox skips what is at or below what it
   * applied): the newest id is the table's max, or the floor written when the newest row went.
   */
  private nextId(): number {
    this.lastId = this.newestId() + 1;
    return this.lastId;
  }

  private newestId(): number {
    this.lastId ??= Math.max(
      Number(this.sql.exec<{ v: string }>("SELECT v FROM meta WHERE k = 'fanout_floor'").toArray()[0]?.v ?? 0),
      this.sql.exec<{ m: number | null }>("SELECT max(id) AS m FROM fanout").one().m ?? 0,
      // Tables made with AUTOINCREMENT by earlier versions keep their counter there.
      this.sql.exec<{ n: number }>("SELECT count(*) AS n FROM sqlite_master WHERE name = 'sqlite_sequence'").one().n > 0
        ? (this.sql.exec<{ seq: number }>("SELECT seq FROM sqlite_sequence WHERE name = 'fanout'").toArray()[0]?.seq ?? 0)
        : 0,
    );
    return this.lastId;
  }

  /** Reads newly committed rows into the lanes and starts every idle lane that has work. */
  pump(): void {
    const touched = new Set<string>();
    // Bounded by what is still to send, not by what waits to be written: a row may wait a whole
    // window for that, and holding back newer rows until then would stall every lane.
    while ((this.unread || this.fresh.length > 0) && this.unsent.size < MAX_UNSENT_ROWS) {
      const rows = this.unread
        ? this.sql.exec<FanoutRow>("SELECT * FROM fanout WHERE id > ? ORDER BY id LIMIT ?", this.readUpTo, READ_BATCH).toArray()
        : this.fresh.splice(0, READ_BATCH);
      for (const row of rows) {
        const owed = new Set<string>();
        const sending = new Set<string>();
        const deliveries = this.target.deliveries(row);
        const { behind, call } = this.live.send(row.packet, deliveries);
        for (const [userId, delivery] of deliveries) {
          owed.add(userId);
          const lane = this.lane(userId);
          const live = call !== null && (delivery.liveTo?.length ?? 0) > 0 ? { live: call } : {};
          if (lane.failed) {
            // It went live all the same: the retry keeps what it claims, so the Inbox does not forward it there again.
            if ("live" in live) (lane.dropped ??= new Map()).set(row.id, { row: row.id, delivery, toldBehind: true, ...live });
          } else {
            if (behind.has(userId)) lane.queue.push({ row: row.id, delivery, toldBehind: true, ...live });
            else {
              lane.queue.push({ row: row.id, delivery });
              lane.urgent = true;
            }
            sending.add(userId);
            touched.add(userId);
          }
        }
        this.readUpTo = row.id;
        if (owed.size === 0) {
          this.finished.push(row.id); // nobody left to tell: it goes with the next write, through the id floor
        } else {
          this.open.set(row.id, owed);
          // A failed lane gets the row from the table at retry(): settle() does not wait for it.
          if (sending.size > 0) this.unsent.set(row.id, sending);
        }
      }
      if (this.unread && rows.length < READ_BATCH) this.unread = false;
    }
    if (this.fresh.length > 0) {
      // Held back by the cap: read from the table once lanes have room.
      this.fresh = [];
      this.unread = true;
    }
    for (const userId of touched) {
      const lane = this.lanes.get(userId);
      if (lane) this.wake(userId, lane);
    }
    this.release();
  }

  /**
   * Starts an idle lane, unless all it holds may be told behind: then its own timer starts it, at
   * half to all of the tell-behind delay. (One tick for every lane made a group of 50's Inboxes all
   * work at once, each with a second of packets: the thread stalled and the live packets' p99 rose.)
   */
  private wake(userId: string, lane: Lane): void {
    if (lane.busy || lane.failed || lane.queue.length === 0) return;
    if (lane.urgent) {
      this.start(userId, lane);
      return;
    }
    lane.timer ??= setTimeout(() => {
      lane.timer = null;
      if (!lane.busy && !lane.failed && lane.queue.length > 0 && this.lanes.get(userId) === lane) this.start(userId, lane);
    }, this.tellBehindMs * (0.5 + Math.random() / 2));
  }

  /**
   * A packet for one recipient that nothing committed backs (a delivered receipt): it leaves with the
   * lane's next call, after what the lane already holds, within the tell-behind delay (a busy
   * author's receipts share a call), and is lost if the lane fails or the Inbox lost its window.
   */
  sendBehind(userId: string, delivery: Delivery): void {
    const lane = this.lane(userId);
    if (lane.failed) return;
    lane.queue.push({ row: null, delivery, toldBehind: true });
    this.wake(userId, lane);
  }

  /** Resolves when every row committed so far has reached its recipients' Inboxes or was left to the alarm. */
  settle(): Promise<void> {
    const upTo = this.sql.exec<{ m: number | null }>("SELECT max(id) AS m FROM fanout").one().m;
    if (upTo === null) return Promise.resolve();
    const handled = new Promise<void>((resolve) => this.waiters.push({ upTo, resolve }));
    this.pump();
    // What this request awaits goes at once, told behind or not.
    for (const [userId, lane] of this.lanes) {
      if (lane.queue.some((item) => item.row !== null && item.row <= upTo)) lane.urgent = true;
      this.wake(userId, lane);
    }
    return handled;
  }

  /**
   * The alarm's work: failed lanes start over from the table (rows they still owe), and deliveries
   * left unwritten past the Inbox's window are resent with `durable`; then waits for everything read
   * so far. True when rows are still owed afterwards.
   */
  async retry(now: number): Promise<boolean> {
    const failed = [...this.lanes].filter(([, lane]) => lane.failed && !lane.busy).map(([userId]) => userId);
    const dropped = new Map(failed.map((userId) => [userId, this.lanes.get(userId)!.dropped]));
    for (const userId of failed) this.lanes.delete(userId);
    this.failedLanes -= failed.length;
    count("fanoutRetriesPending", -failed.length);
    const overdue = [...this.lanes].filter(([, lane]) => {
      const oldest = lane.unconfirmed[0];
      return !lane.failed && !lane.busy && oldest !== undefined && now - oldest.answeredAt >= this.confirmAfterMs;
    });
    // A failed lane starts over with every open row it owes; an overdue one resends what it has not
    // confirmed, as state only (the sessions had them; an Inbox that still holds them skips them and
    // writes). Each row is read once for all of them, in order, ahead of anything newer.
    const wanted = new Map<number, string[]>();
    const want = (rowId: number, userId: string) => wanted.set(rowId, [...(wanted.get(rowId) ?? []), userId]);
    const again = new Set(failed);
    for (const [rowId, owed] of this.open) for (const userId of owed) if (again.has(userId)) want(rowId, userId);
    for (const [userId, lane] of overdue) for (const { row } of lane.unconfirmed) want(row, userId);
    const resent = new Map<string, LaneItem[]>();
    const item = (userId: string, rowId: number, delivery: Delivery): LaneItem => {
      if (!again.has(userId)) return { row: rowId, delivery: { ...delivery, replay: true } };
      // The sessions its Gateways reached before the lane failed stay claimed: the Inbox does not forward there again.
      const kept = dropped.get(userId)?.get(rowId);
      return kept === undefined ? { row: rowId, delivery } : { ...kept, delivery: { ...delivery, liveTo: kept.delivery.liveTo! } };
    };
    for (const rowId of [...wanted.keys()].sort((a, b) => a - b)) {
      const row = this.sql.exec<FanoutRow>("SELECT * FROM fanout WHERE id = ?", rowId).toArray()[0];
      if (!row) continue;
      const deliveries = this.target.deliveries(row);
      for (const userId of wanted.get(rowId)!) {
        const delivery = deliveries.get(userId);
        if (delivery) resent.set(userId, [...(resent.get(userId) ?? []), item(userId, rowId, delivery)]);
      }
    }
    for (const userId of failed) this.lane(userId).queue.push(...(resent.get(userId) ?? []));
    for (const [userId, lane] of overdue) {
      lane.queue.unshift(...(resent.get(userId) ?? []));
      lane.unconfirmed = [];
      lane.lastSent = 0; // they are the oldest this recipient owes
      lane.confirm = true;
    }
    for (const userId of [...failed, ...overdue.map(([userId]) => userId)]) {
      const lane = this.lanes.get(userId);
      if (lane && !lane.busy && lane.queue.length > 0) this.start(userId, lane);
    }
    await this.settle();
    return this.pendingRows() > 0;
  }


  /** Rows someone still has to write (written ones are deleted first): whether the alarm comes back. */
  pendingRows(): number {
    this.deleteFinished();
    return this.sql.exec<{ n: number }>("SELECT count(*) AS n FROM fanout").one().n;
  }

  /**
   * When the alarm must come back for the fan-out, or null: soon for a failed lane (or rows this
   * instance does not track: `urgent`), else when the oldest unwritten delivery is due for its resend
   * (which may as well wait for another reason to wake: nothing is lost meanwhile).
   */
  nextRetry(now: number, retryDelayMs: number): { at: number; urgent: boolean } | null {
    if (this.pendingRows() === 0) return null;
    let at: number | null = null;
    for (const lane of this.lanes.values()) {
      if (lane.failed) return { at: now + retryDelayMs, urgent: true };
      const oldest = lane.unconfirmed[0];
      if (oldest !== undefined) at = Math.min(at ?? Infinity, oldest.answeredAt + this.confirmAfterMs);
    }
    return at === null ? { at: now + retryDelayMs, urgent: true } : { at: Math.max(now + retryDelayMs, at), urgent: false };
  }

  testHold(hold: boolean): void {
    this.holdAfter = hold ? null : undefined;
  }

  private lane(userId: string): Lane {
    let lane = this.lanes.get(userId);
    if (!lane) {
      lane = { queue: [], busy: false, failed: false, unconfirmed: [], lastSent: 0, confirm: false, urgent: false, timer: null, blockedOn: null };
      this.lanes.set(userId, lane);
    }
    return lane;
  }

  private start(userId: string, lane: Lane): void {
    const ready = this.ready(lane.queue);
    if (ready === 0) {
      this.waitForLive(userId, lane);
      return;
    }
    if (this.busyLanes >= MAX_BUSY_LANES) {
      this.waitingLanes.add(userId);
      return;
    }
    if (this.holdAfter !== undefined) {
      if (this.holdAfter !== null && this.holdAfter !== userId) return; // held: never sent
      this.holdAfter = userId;
    }
    if (lane.timer !== null) clearTimeout(lane.timer);
    lane.timer = null;
    const batch = lane.queue.splice(0, ready);
    // Rarely anything is left: a recipient far behind (then only what is left decides), or packets
    // whose live call has not settled (due already: they go once it has).
    lane.urgent = lane.queue.length > 0 && (ready < MAX_PER_CALL || lane.queue.some((item) => !item.toldBehind));
    const durable = lane.confirm;
    lane.confirm = false;
    lane.busy = true;
    this.busyLanes++;
    const deliveries = batch.map((item) => {
      const delivery: Delivery = { ...item.delivery };
      if (item.row === null) return delivery;
      if (lane.lastSent > 0) delivery.after = lane.lastSent;
      else delete delivery.after;
      lane.lastSent = item.row;
      return delivery;
    });
    this.target
      .deliver(userId, deliveries, { durable })
      .then(
        (receipt) => {
          if (receipt.sessions !== undefined) this.live.learn(userId, receipt.sessions);
          if (receipt.gap !== undefined) {
            // The Inbox lost a window and applied nothing of this call: what it had from this lane
            // goes again as state, then this call's deliveries as they were, in order.
            this.confirmed(userId, lane, receipt.durable); // not `gap`: what it applied since may be in memory only
            lane.queue.unshift(...batch.filter((item) => item.row !== null)); // what no row backs may be lost
            lane.urgent = true; // the Inbox waits for what it lost
            this.requeueUnconfirmed(userId, lane, receipt.gap);
            return;
          }
          count("deliveries", batch.length);
          this.target.delivered(userId, receipt.delivered);
          const now = Date.now();
          for (const { row } of batch) {
            if (row === null) continue;
            this.sent(row, userId);
            lane.unconfirmed.push({ row, answeredAt: now });
          }
          this.confirmed(userId, lane, receipt.durable);
          const oldest = lane.unconfirmed[0];
          if (oldest !== undefined) this.target.retryLater(oldest.answeredAt + this.confirmAfterMs);
        },
        (err: unknown) => {
          logError("fan-out to inbox failed; the alarm retries", { kind: "Conversation", id: null, recipient: userId }, err);
          // Later packets for this recipient wait too, so its order holds; the table keeps what it owes.
          lane.failed = true;
          for (const item of [...batch, ...lane.queue]) {
            if (item.row !== null && (item.delivery.liveTo?.length ?? 0) > 0) (lane.dropped ??= new Map()).set(item.row, item);
          }
          lane.queue = [];
          lane.unconfirmed = [];
          this.persistOwed(userId);
          for (const [rowId, waiting] of this.unsent) if (waiting.delete(userId) && waiting.size === 0) this.unsent.delete(rowId);
          this.target.retryLater();
        },
      )
      .finally(() => {
        lane.busy = false;
        this.busyLanes--;
        if (lane.failed) {
          this.failedLanes++;
          count("fanoutRetriesPending");
        }
        else if (lane.queue.length > 0) this.wake(userId, lane);
        else if (lane.unconfirmed.length === 0) this.lanes.delete(userId);
        for (const waiting of this.waitingLanes) {
          if (this.busyLanes >= MAX_BUSY_LANES) break;
          this.waitingLanes.delete(waiting);
          const next = this.lanes.get(waiting);
          if (next && !next.busy && next.queue.length > 0) this.start(waiting, next);
        }
        this.pump();
      });
  }

  /** How many of the queue's first items may go in one call: up to the first whose live call has not settled. */
  private ready(queue: LaneItem[]): number {
    const upTo = Math.min(queue.length, MAX_PER_CALL);
    for (let i = 0; i < upTo; i++) if (queue[i]!.live?.settled === false) return i;
    return upTo;
  }

  /** A due lane whose oldest item waits for its live call: it starts as soon as that settles. */
  private waitForLive(userId: string, lane: Lane): void {
    const call = lane.queue[0]?.live;
    if (call === undefined) return; // nothing queued
    lane.urgent = true;
    if (lane.blockedOn === call) return;
    lane.blockedOn = call;
    call.whenSettled(() => {
      lane.blockedOn = null;
      if (this.lanes.get(userId) === lane) this.wake(userId, lane);
    });
  }

  /** The Inbox has written everything up to `durable`: those rows are done for this recipient. */
  private confirmed(userId: string, lane: Lane, durable: number): void {
    while (lane.unconfirmed.length > 0 && lane.unconfirmed[0]!.row <= durable) this.stored(lane.unconfirmed.shift()!.row, userId);
  }

  /**
   * Puts the unconfirmed deliveries back at the head of the queue, read again from the table (state
   * only: their sessions had them), chained from `from` (what the Inbox has written).
   */
  private requeueUnconfirmed(userId: string, lane: Lane, from: number): void {
    const again: LaneItem[] = [];
    for (const { row: rowId } of lane.unconfirmed) {
      const row = this.sql.exec<FanoutRow>("SELECT * FROM fanout WHERE id = ?", rowId).toArray()[0];
      const delivery = row ? this.target.deliveries(row, userId).get(userId) : undefined;
      if (delivery) again.push({ row: rowId, delivery: { ...delivery, replay: true } });
    }
    lane.unconfirmed = [];
    lane.queue.unshift(...again);
    lane.lastSent = from;
  }

  /** Narrows the failed recipient's rows to whoever still owes them, so a retry after eviction resends less. */
  private persistOwed(userId: string): void {
    for (const [rowId, owed] of this.open) {
      if (owed.has(userId)) this.sql.exec("UPDATE fanout SET recipients = ? WHERE id = ?", JSON.stringify([...owed]), rowId);
    }
  }

  /** A recipient's Inbox answered for this row (applied, or skipped as already applied). */
  private sent(rowId: number, userId: string): void {
    const waiting = this.unsent.get(rowId);
    if (waiting?.delete(userId) && waiting.size === 0) this.unsent.delete(rowId);
  }

  /** A recipient's Inbox has written this row. */
  private stored(rowId: number, userId: string): void {
    const owed = this.open.get(rowId);
    if (!owed) return;
    owed.delete(userId);
    if (owed.size > 0) return;
    this.open.delete(rowId);
    this.finished.push(rowId);
  }

  /** Deletes the rows every recipient wrote (in the caller's commit). */
  deleteFinished(): void {
    if (this.finished.length === 0) return;
    if (this.finished.includes(this.newestId())) {
      this.sql.exec("INSERT OR REPLACE INTO meta (k, v) VALUES ('fanout_floor', ?)", String(this.lastId));
    }
    for (const rowId of this.finished) this.sql.exec("DELETE FROM fanout WHERE id = ?", rowId);
    this.finished = [];
  }

  /** Wakes settle() calls whose rows have reached every recipient, or are owed only to failed lanes (left to the alarm). */
  private release(): void {
    let frontier = this.unread || this.fresh.length > 0 ? this.readUpTo + 1 : Number.POSITIVE_INFINITY;
    // Rows are in id order: the oldest row still waiting for someone is the frontier.
    for (const rowId of this.unsent.keys()) {
      frontier = Math.min(frontier, rowId);
      break;
    }
    this.waiters = this.waiters.filter((w) => {
      if (w.upTo >= frontier) return true;
      w.resolve();
      return false;
    });
  }
}
