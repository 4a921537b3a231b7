// Retries for push requests: a few attempts with short, growing delays. Only transient failures
// (network errors, 408/425/429, 5xx) are retried; 404/410 mean the subscription is gone.

export type AttemptResult =
  | { kind: "sent"; status: number }
  | { kind: "gone"; status: number; reason: string }
  | { kind: "retry"; status?: number; reason: string; retryAfterMs?: number }
  | { kind: "fail"; status?: number; reason: string };

/** What one transport did for one subscription. */
export type TransportResult = { result: AttemptResult | { kind: "skipped"; reason: string }; attempts: number };

/** Delays before the 2nd and 3rd attempts. */
export const RETRY_DELAYS_MS: readonly number[] = [250, 1000];
/** A Retry-After longer than this is cut to it: sending must finish soon. */
export const MAX_RETRY_AFTER_MS = 3000;
/** Each outside request gives up after this. */
export const REQUEST_TIMEOUT_MS = 10_000;

export function defaultSleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function retryAfterMs(res: Response, nowMs: number): number | undefined {
  const header = res.headers.get("retry-after");
  if (!header) return undefined;
  const seconds = Number(header);
  const ms = Number.isFinite(seconds) ? seconds * 1000 : Date.parse(header) - nowMs;
  return Number.isFinite(ms) && ms > 0 ? Math.min(ms, MAX_RETRY_AFTER_MS) : undefined;
}

/** A short, single-line excerpt of an error answer (for logs; push services never echo secrets). */
export async function responseExcerpt(res: Response): Promise<string> {
  try {
    const text = await res.text();
    return text.replace(/\s+/g, " ").slice(0, 200);
  } catch {
    return "";
  }
}

/** The usual reading of a push service's status. The body is consumed. */
export async function classifyResponse(res: Response, nowMs: number): Promise<AttemptResult> {
  const status = res.status;
  if (status >= 200 && status < 300) {
    await res.body?.cancel();
    return { kind: "sent", status };
  }
  const reason = `HTTP ${status} ${await responseExcerpt(res)}`.trim();
  if (status === 404 || status === 410) return { kind: "gone", status, reason };
  if (status === 408 || status === 425 || status === 429 || status >= 500) {
    const after = retryAfterMs(res, nowMs);
    return after === undefined ? { kind: "retry", status, reason } : { kind: "retry", status, reason, retryAfterMs: after };
  }
  return { kind: "fail", status, reason };
}

/** Runs `attempt` until it is not a "retry", at most 1 + RETRY_DELAYS_MS.length times. Never throws. */
export async function withRetries(
  attempt: (n: number) => Promise<AttemptResult>,
  sleep: (ms: number) => Promise<void>,
): Promise<{ result: AttemptResult; attempts: number }> {
  let attempts = 0;
  for (;;) {
    attempts += 1;
    let result: AttemptResult;
    try {
      result = await attempt(attempts);
    } catch (err) {
      result = { kind: "retry", reason: err instanceof Error ? err.message : String(err) };
    }
    const delay = RETRY_DELAYS_MS[attempts - 1];
    if (result.kind !== "retry" || delay === undefined) return { result, attempts };
    await sleep(Math.max(delay, result.retryAfterMs ?? 0));
  }
}
