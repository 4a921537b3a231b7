// Token bucket for per-socket rate limiting. Plain data so it fits in a WebSocket attachment and
// survives hibernation.

export interface Bucket {
  tokens: number;
  /** Unix ms of the last refill. */
  at: number;
}

export interface BucketLimits {
  perSecond: number;
  burst: number;
}

export function fullBucket(limits: BucketLimits, now: number): Bucket {
  return { tokens: limits.burst, at: now };
}

/** Refills by elapsed time, then takes up to `wanted` whole tokens; `granted` may be 0. */
export function takeUpTo(bucket: Bucket, limits: BucketLimits, now: number, wanted: number): { granted: number; bucket: Bucket } {
  const elapsed = Math.max(0, now - bucket.at) / 1000;
  const tokens = Math.min(limits.burst, bucket.tokens + elapsed * limits.perSecond);
  const granted = Math.max(0, Math.min(wanted, Math.floor(tokens)));
  return { granted, bucket: { tokens: tokens - granted, at: now } };
}

/** Refills by elapsed time, then takes one token if there is one. */
export function take(bucket: Bucket, limits: BucketLimits, now: number): { allowed: boolean; bucket: Bucket } {
  const elapsed = Math.max(0, now - bucket.at) / 1000;
  const tokens = Math.min(limits.burst, bucket.tokens + elapsed * limits.perSecond);
  if (tokens < 1) return { allowed: false, bucket: { tokens, at: now } };
  return { allowed: true, bucket: { tokens: tokens - 1, at: now } };
}
