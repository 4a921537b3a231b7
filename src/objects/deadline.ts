// A timeout for many calls from one timer. A timer per call (set, then cleared when the call
// returns) is two runtime calls on every delivery; calls that start within half a period share one.
// The timer goes once every call under it has settled: a pending timer keeps an object busy (an
// eviction waits for it, a Gateway's sockets cannot hibernate under it).

export const EXPIRED: unique symbol = Symbol("expired");

interface Period {
  at: number;
  expired: Promise<typeof EXPIRED>;
  timer: ReturnType<typeof setTimeout>;
  /** Calls racing this period's timer that have not settled yet. */
  pending: number;
}

export class SharedDeadline {
  private current: Period | null = null;

  constructor(private readonly ms: number) {}

  /** The call's result, or EXPIRED if it has not settled within ms/2 to ms. */
  race<T>(call: Promise<T>): Promise<T | typeof EXPIRED> {
    const now = Date.now();
    if (this.current === null || this.current.at - now < this.ms / 2) {
      let expire: (value: typeof EXPIRED) => void = () => undefined;
      const expired = new Promise<typeof EXPIRED>((resolve) => (expire = resolve));
      this.current = { at: now + this.ms, expired, timer: setTimeout(() => expire(EXPIRED), this.ms), pending: 0 };
    }
    const period = this.current;
    period.pending++;
    const settled = () => {
      if (--period.pending > 0) return;
      clearTimeout(period.timer);
      if (this.current === period) this.current = null;
    };
    call.then(settled, settled);
    return Promise.race([call, period.expired]);
  }
}
