// Delivered reports, written behind. The first live delivery of a message to anyone but its author
// turns it "delivered" for the author. The report comes with an Inbox's answer, in a turn of its own:
// writing it there would cost a commit per message. So the author is told at once, in their lane
// with nothing committed (Fanout.sendBehind; their Inbox logs the receipt and writes it in its
// window), and the status waits in memory for the next commit the Conversation makes anyway: a
// send's, or the alarm's (which every send arms). An object evicted meanwhile loses the status (the
// message shows "sent" until it is read) and an Inbox that loses its window loses the receipt, never
// a message.
import type { Delivery } from "../domain/delivery";
import type { ServerPackets } from "../domain/packets";
import { statusPatch } from "./conversation-events";
import type { ConversationStore } from "./conversation-store";

export interface DeliveredReport {
  seq: number;
  mid: string;
  /** The recipient whose live device had it first. */
  by: string;
  at: number;
}

export class DeliveredReports {
  private readonly pending = new Map<number, DeliveredReport>();

  /**
   * `userId`'s live device got `mids`. Only the first report per message counts (that is when the
   * author's status turns "delivered"), so a group of 50 costs one status row per message, not 49.
   * Each author gets one receipt per reporter through `tell`. True when any author was told.
   */
  report(store: ConversationStore, userId: string, mids: string[], tell: (author: string, delivery: Delivery) => void): boolean {
    const meta = store.readMeta();
    if (mids.length === 0 || !meta) return false;
    const now = Date.now();
    const byAuthor = new Map<string, string[]>();
    for (const mid of mids) {
      const first = store.firstDelivery(mid, userId);
      // A report already waiting for its write: the other recipients' reports tell the author nothing new.
      if (!first || this.pending.has(first.seq)) continue;
      this.add({ seq: first.seq, mid, by: userId, at: now });
      byAuthor.set(first.author, [...(byAuthor.get(first.author) ?? []), mid]);
    }
    for (const [author, ids] of byAuthor) {
      const packet = { message_delivered: { ids, cid: meta.id, from: userId } satisfies ServerPackets["message_delivered"] };
      tell(author, { seq: null, cid: meta.id, packet, store: true, excludeSession: null, patch: statusPatch(store, ids), mid: null, bestEffort: true });
    }
    return byAuthor.size > 0;
  }

  /** Writes what is pending in the current turn (a commit made for something else); the D1 copy carries the status. */
  write(store: ConversationStore): void {
    for (const r of this.take()) if (store.writeDelivered(r.seq, r.by, r.at)) store.d1.message(r.seq);
  }

  private add(report: DeliveredReport): void {
    if (!this.pending.has(report.seq)) this.pending.set(report.seq, report);
  }

  /** Reported and not yet written (message_list shows it delivered meanwhile). */
  has(seq: number): boolean {
    return this.pending.has(seq);
  }

  get size(): number {
    return this.pending.size;
  }

  /** Everything pending, in report order; the caller writes it in its turn. */
  private take(): DeliveredReport[] {
    const reports = [...this.pending.values()];
    this.pending.clear();
    return reports;
  }
}
