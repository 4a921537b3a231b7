// The Conversation's one alarm serves fan-out retries, the D1 copy and encrypted messages' expiry:
// each asks for it "within so long", and the earliest wins. The alarm's time is read from storage
// once and then known here, so a request in the common case (an alarm already set soon enough)
// costs no storage call, and a new time is set in the caller's turn: its write rides with the
// caller's commit (a send's) instead of a commit of its own a turn later.
import { logError } from "../log";

export class AlarmSchedule {
  /** When the alarm is set for: undefined until read from storage, null for none. */
  private at: number | null | undefined = undefined;
  /** Until the time is known, scheduling runs one call at a time (getAlarm, then maybe setAlarm). */
  private chain: Promise<void> = Promise.resolve();

  constructor(
    private readonly getAlarm: () => Promise<number | null>,
    private readonly setAlarm: (at: number) => Promise<void>,
    private readonly objectId: DurableObjectId,
  ) {}

  /** The alarm is running: no alarm is set until it asks for the next. */
  fired(): void {
    this.at = null;
  }

  /** Makes sure the alarm comes within `delayMs` (or `slackMs` after that, when it is set for then already). */
  ensure(delayMs: number, slackMs = 0): void {
    const failed = (err: unknown) => logError("scheduling the alarm failed", { kind: "Conversation", id: this.objectId.toString() }, err);
    if (this.at !== undefined) {
      this.schedule(delayMs, slackMs).catch(failed);
      return;
    }
    this.chain = this.chain.then(() => this.schedule(delayMs, slackMs)).catch(failed);
  }

  private async schedule(delayMs: number, slackMs: number): Promise<void> {
    if (this.at === undefined) this.at = await this.getAlarm();
    const at = Date.now() + delayMs;
    if (this.at !== null && this.at <= at + slackMs) return;
    this.at = at;
    await this.setAlarm(at);
  }
}
