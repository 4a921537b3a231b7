// Delivered reports, written behind. The first live delivery of a message to anyone but its author
// turns it "delivered" for the author. The report comes with an Inbox's answer, in a turn of its own:
// writing it there would cost a commit per message. So the author is told at once, in their lane
// with nothing committed (Fanout.sendBehind; their Inbox logs the receipt and writes it in its
// window), and the status waits in memory for the next commit the Conversation makes anyway: a
// send's, or the alarm's (which every send arms). An object evicted meanwhile loses the status (the
// message shows "sent" until it is read) and an Inbox that loses its window loses the receipt, never
// a message.
export interface DeliveredReport {
  seq: number;
  mid: string;
  /** The recipient whose live device had it first. */
  by: string;
  at: number;
}

export class DeliveredReports {
  private readonly pending = new Map<number, DeliveredReport>();

  add(report: DeliveredReport): void {
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
  take(): DeliveredReport[] {
    const reports = [...this.pending.values()];
    this.pending.clear();
    return reports;
  }
}
