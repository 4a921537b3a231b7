// A timeout for many calls from one timer. A timer per call (set, then cleared when the call
// returns) is two runtime calls on every delivery; calls that start within half a period share one.

export const EXPIRED: unique symbol = Symbol("expired");

export class SharedDeadline {
  private current: { at: number; expired: Promise<typeof EXPIRED> } | null = null;

  constructor(private readonly ms: number) {}

  /** The call's result, or EXPIRED if it has not settled within ms/2 to ms. */
  race<T>(call: Promise<T>): Promise<T | typeof EXPIRED> {
    const now = Date.now();
    if (this.current === null || this.current.at - now < this.ms / 2) {
      this.current = { at: now + this.ms, expired: new Promise((resolve) => setTimeout(() => resolve(EXPIRED), this.ms)) };
    }
    return Promise.race([call, this.current.expired]);
  }
}
