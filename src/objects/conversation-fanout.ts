// The Conversation's fan-out: rows committed with each change (packet + recipients) are delivered
// to every recipient's Inbox in commit order, and a row is deleted only when every recipient has
// stored it. Each recipient has its own lane: a lane sends everything pending for its recipient in
// one call, and the next call as soon as that one returns, so a slow recipient never holds up the
// others and a busy conversation coalesces its packets per recipient (one RPC carries many).
// A lane that fails stops (its recipient's later packets wait, so order is kept) until the alarm
// retries from the table; the Inbox skips what it already applied. That skip also lets a row every
// recipient stored wait in the table until the next write that commits anyway (a new row, the
// alarm): deleting it at once cost a commit of its own, an fsync, per message.
// A row may hold one recipient's copy (a message's author) until another recipient's call has
// returned: the first delivered report enqueues a receipt for the author, and the two then travel in
// one call (one Inbox call and one commit fewer per message; the author's other devices see their
// message one recipient's round trip later).
import type { Delivery, DeliveryReceipt } from "../domain/delivery";

export interface FanoutRow {
  id: number;
  packet: string | null;
  recipients: string;
  options: string;
  [key: string]: SqlStorageValue;
}

export interface RowDeliveries {
  byRecipient: Map<string, Delivery>;
  /** The recipient whose copy waits until another recipient's call has returned, or null. */
  held: string | null;
}

export interface FanoutTarget {
  /** Turns a row into its deliveries, one per recipient. */
  deliveries(row: FanoutRow): RowDeliveries;
  deliver(userId: string, deliveries: Delivery[]): Promise<DeliveryReceipt>;
  /** Called with what reached a live session, after a lane's call returns. */
  delivered(userId: string, mids: string[]): void;
  /** A lane failed: make sure the alarm comes back. */
  retryLater(): void;
}

interface LaneItem {
  row: number;
  delivery: Delivery;
  held: boolean;
}

interface Lane {
  queue: LaneItem[];
  busy: boolean;
  failed: boolean;
}

/** Rows read into lanes at once; later rows wait in the table until these are done. */
const MAX_OPEN_ROWS = 1000;
const READ_BATCH = 200;
/** Inbox calls in flight at once (a channel has thousands of recipients). */
const MAX_BUSY_LANES = 256;
/** Packets one Inbox call carries at most (a recipient that fell far behind catches up in several). */
const MAX_PER_CALL = 200;

export class Fanout {
  /** Highest row id read into the lanes. */
  private readUpTo = 0;
  /** Rows may exist past readUpTo (set by enqueue and at start, after an eviction). */
  private unread = true;
  /** Rows read and not yet stored by every recipient → the recipients still owed. */
  private readonly open = new Map<number, Set<string>>();
  private readonly lanes = new Map<string, Lane>();
  private readonly waitingLanes = new Set<string>();
  /** Rows whose copy for one recipient waits for another recipient's call → that recipient and the copy. */
  private readonly held = new Map<number, { userId: string; item: LaneItem }>();
  /** Lanes whose head was just released, started by the next pump(). */
  private readonly released = new Set<string>();
  private busyLanes = 0;
  private failedLanes = 0;
  private waiters: Array<{ upTo: number; resolve: () => void }> = [];
  /** Rows every recipient stored, deleted with the next write (after an eviction they are resent, and skipped). */
  private finished: number[] = [];
  /** Test-only: deliver to the first recipient only, so a test can evict objects mid-way. */
  private holdAfter: string | null | undefined = undefined;

  constructor(
    private readonly sql: SqlStorage,
    private readonly target: FanoutTarget,
  ) {}

  enqueue(recipients: string[], packet: Record<string, unknown> | null, options: unknown): void {
    if (recipients.length === 0) return;
    this.unread = true;
    this.deleteFinished();
    this.sql.exec(
      "INSERT INTO fanout (packet, recipients, options) VALUES (?, ?, ?)",
      packet === null ? null : JSON.stringify(packet),
      JSON.stringify(recipients),
      JSON.stringify(options),
    );
  }

  /** Reads newly committed rows into the lanes and starts every idle lane that has work. */
  pump(): void {
    const touched = new Set<string>();
    while (this.unread && this.open.size < MAX_OPEN_ROWS) {
      const rows = this.sql.exec<FanoutRow>("SELECT * FROM fanout WHERE id > ? ORDER BY id LIMIT ?", this.readUpTo, READ_BATCH).toArray();
      for (const row of rows) {
        const owed = new Set<string>();
        const { byRecipient, held } = this.target.deliveries(row);
        // Held only while another recipient's call can still return and release it.
        const holds = held !== null && [...byRecipient.keys()].some((userId) => userId !== held && !this.lanes.get(userId)?.failed);
        for (const [userId, delivery] of byRecipient) {
          owed.add(userId);
          const lane = this.lane(userId);
          if (!lane.failed) {
            const item = { row: row.id, delivery, held: holds && userId === held };
            if (item.held) this.held.set(row.id, { userId, item });
            lane.queue.push(item);
            touched.add(userId);
          }
        }
        this.readUpTo = row.id;
        if (owed.size === 0) this.sql.exec("DELETE FROM fanout WHERE id = ?", row.id); // nobody left to tell
        else this.open.set(row.id, owed);
      }
      if (rows.length < READ_BATCH) this.unread = false;
    }
    for (const userId of this.released) touched.add(userId);
    this.released.clear();
    for (const userId of touched) {
      const lane = this.lanes.get(userId);
      if (lane && !lane.busy && !lane.failed && lane.queue.length > 0) this.start(userId, lane);
    }
    this.release();
  }

  /** Resolves when every row committed so far is stored by its recipients or left to the alarm. */
  settle(): Promise<void> {
    const upTo = this.sql.exec<{ m: number | null }>("SELECT max(id) AS m FROM fanout").one().m;
    if (upTo === null) return Promise.resolve();
    const handled = new Promise<void>((resolve) => this.waiters.push({ upTo, resolve }));
    this.pump();
    return handled;
  }

  /**
   * The alarm's retry: failed lanes start over from the table (rows they still owe), then waits for
   * everything read so far. True when rows are still pending afterwards.
   */
  async retry(): Promise<boolean> {
    const failed = [...this.lanes].filter(([, lane]) => lane.failed && !lane.busy);
    if (failed.length > 0) {
      const again = new Set(failed.map(([userId]) => userId));
      for (const userId of again) this.lanes.delete(userId);
      this.failedLanes -= again.size;
      // Re-read every open row for these recipients, in order, ahead of anything newer.
      for (const [rowId, owed] of this.open) {
        const mine = [...owed].filter((userId) => again.has(userId));
        if (mine.length === 0) continue;
        const row = this.sql.exec<FanoutRow>("SELECT * FROM fanout WHERE id = ?", rowId).toArray()[0];
        if (!row) continue;
        const deliveries = this.target.deliveries(row);
        for (const userId of mine) {
          const delivery = deliveries.byRecipient.get(userId);
          if (delivery) this.lane(userId).queue.push({ row: rowId, delivery, held: false });
        }
      }
      for (const userId of again) {
        const lane = this.lanes.get(userId);
        if (lane && !lane.busy && lane.queue.length > 0) this.start(userId, lane);
      }
    }
    await this.settle();
    return this.pendingRows() > 0;
  }

  /** Rows someone still has to store (stored ones are deleted first): whether the alarm comes back. */
  pendingRows(): number {
    this.deleteFinished();
    return this.sql.exec<{ n: number }>("SELECT count(*) AS n FROM fanout").one().n;
  }

  testHold(hold: boolean): void {
    this.holdAfter = hold ? null : undefined;
  }

  private lane(userId: string): Lane {
    let lane = this.lanes.get(userId);
    if (!lane) {
      lane = { queue: [], busy: false, failed: false };
      this.lanes.set(userId, lane);
    }
    return lane;
  }

  private start(userId: string, lane: Lane): void {
    const firstHeld = lane.queue.findIndex((item) => item.held);
    if (firstHeld === 0) return; // released by another recipient's call
    if (this.busyLanes >= MAX_BUSY_LANES) {
      this.waitingLanes.add(userId);
      return;
    }
    if (this.holdAfter !== undefined) {
      if (this.holdAfter !== null && this.holdAfter !== userId) return; // held: never sent
      this.holdAfter = userId;
    }
    const batch = lane.queue.splice(0, Math.min(MAX_PER_CALL, firstHeld === -1 ? lane.queue.length : firstHeld));
    lane.busy = true;
    this.busyLanes++;
    this.target
      .deliver(
        userId,
        batch.map((b) => b.delivery),
      )
      .then(
        (receipt) => {
          this.target.delivered(userId, receipt.delivered);
          for (const { row } of batch) this.stored(row, userId);
        },
        (err: unknown) => {
          console.error("fan-out to inbox failed; the alarm retries", userId, err);
          // Later packets for this recipient wait too, so its order holds; the table keeps what it owes.
          lane.failed = true;
          lane.queue = [];
          this.persistOwed(userId);
          // Copies held for this recipient's report go now; this recipient's own held copies are gone with its queue.
          for (const [rowId, { userId: waiting }] of this.held) {
            if (waiting === userId) this.held.delete(rowId);
            else if (this.open.get(rowId)?.has(userId)) this.unhold(rowId);
          }
          this.target.retryLater();
        },
      )
      .finally(() => {
        lane.busy = false;
        this.busyLanes--;
        if (lane.failed) this.failedLanes++;
        else if (lane.queue.length > 0) this.start(userId, lane);
        else this.lanes.delete(userId);
        for (const waiting of this.waitingLanes) {
          if (this.busyLanes >= MAX_BUSY_LANES) break;
          this.waitingLanes.delete(waiting);
          const next = this.lanes.get(waiting);
          if (next && !next.busy && next.queue.length > 0) this.start(waiting, next);
        }
        this.pump();
      });
  }

  /** Narrows the failed recipient's rows to whoever still owes them, so a retry after eviction resends less. */
  private persistOwed(userId: string): void {
    for (const [rowId, owed] of this.open) {
      if (owed.has(userId)) this.sql.exec("UPDATE fanout SET recipients = ? WHERE id = ?", JSON.stringify([...owed]), rowId);
    }
  }

  /** Releases a row's held copy; pump() starts its lane (after reading rows added meanwhile, such as a receipt). */
  private unhold(rowId: number): void {
    const entry = this.held.get(rowId);
    if (entry === undefined) return;
    this.held.delete(rowId);
    entry.item.held = false;
    this.released.add(entry.userId);
  }

  private stored(rowId: number, userId: string): void {
    if (this.held.get(rowId)?.userId !== userId) this.unhold(rowId);
    const owed = this.open.get(rowId);
    if (!owed) return;
    owed.delete(userId);
    if (owed.size > 0) return;
    this.open.delete(rowId);
    this.finished.push(rowId);
  }

  private deleteFinished(): void {
    for (const rowId of this.finished) this.sql.exec("DELETE FROM fanout WHERE id = ?", rowId);
    this.finished = [];
  }

  /** Wakes settle() calls whose rows are all stored, or owed only to failed lanes (left to the alarm). */
  private release(): void {
    let frontier = this.unread ? this.readUpTo + 1 : Number.POSITIVE_INFINITY;
    for (const [rowId, owed] of this.open) {
      // Without failed lanes the oldest open row is the frontier; otherwise skip rows only they owe.
      if (this.failedLanes === 0 || [...owed].some((userId) => !this.lanes.get(userId)?.failed)) {
        frontier = Math.min(frontier, rowId);
        break;
      }
    }
    this.waiters = this.waiters.filter((w) => {
      if (w.upTo >= frontier) return true;
      w.resolve();
      return false;
    });
  }
}
