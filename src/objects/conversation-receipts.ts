// Delivered reports, written behind. The first live delivery of a message to anyone but its author
// turns it "delivered" for the author. The report comes with an Inbox's answer, in a turn of its own:
// writing it there would cost a commit per message. It waits in memory for the next commit (a send),
// or at most `delayMs`; an object evicted meanwhile loses the status (the message shows "sent" until
// it is read), never a message.
export interface DeliveredReport {
  seq: number;
  mid: string;
  author: string;
  /** The recipient whose live device had it first. */
  by: string;
  at: number;
}

export class DeliveredReports {
  private readonly pending = new Map<number, DeliveredReport>();
  private timer: ReturnType<typeof setTimeout> | null = null;

  constructor(
    private readonly write: () => void,
    private readonly delayMs: number,
  ) {}

  add(report: DeliveredReport): void {
    if (this.pending.has(report.seq)) return;
    this.pending.set(report.seq, report);
    this.timer ??= setTimeout(() => {
      this.timer = null;
      this.write();
    }, this.delayMs);
  }

  /** Reported and not yet written (message_list shows it delivered meanwhile). */
  has(seq: number): boolean {
    return this.pending.has(seq);
  }

  /** Everything pending, in report order; the caller writes it in its turn. */
  take(): DeliveredReport[] {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    const reports = [...this.pending.values()];
    this.pending.clear();
    return reports;
  }
}
