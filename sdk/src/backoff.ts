// Reconnect delays: exponential, capped, with full jitter, so a server restart does not bring every
// client back in the same millisecond.

export interface BackoffOptions {
  /** First retry's ceiling, ms (default 500). */
  minDelayMs?: number;
  /** Largest delay, ms (default 30 s). */
  maxDelayMs?: number;
}

/** The delay before retry number `attempt` (0-based): uniform in [0, min(max, min·2^attempt)]. */
export function backoffDelay(attempt: number, options: BackoffOptions = {}, random: () => number = Math.random): number {
  const min = options.minDelayMs ?? 500;
  const max = options.maxDelayMs ?? 30_000;
  const ceiling = Math.min(max, min * 2 ** Math.min(attempt, 30));
  return Math.round(random() * ceiling);
}
