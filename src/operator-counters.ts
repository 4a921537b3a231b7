// What an operator watches, next to the billing meters of objects/metrics.ts and in the same way: module
// counters of this isolate, since it started. `wrangler dev` runs the Worker and every object in one
// isolate, so locally they are the whole server's; on Cloudflare each isolate counts only what it
// ran (the Worker's isolate answers GET /admin/server-stats), and they restart with each deploy.
// Durable totals (messages per minute, hour and day) come from D1 in services/server-stats.ts.
export interface OperatorCounters {
  /** Messages written by Conversations (sent, system and handler-bot messages). */
  messagesStored: number;
  /** Deliveries an Inbox accepted from a Conversation's fan-out (one per recipient and message; a resend counts again). */
  deliveries: number;
  /** Pushes a push service accepted, and pushes that failed after their retries (gone subscriptions not counted). */
  pushSent: number;
  pushFailed: number;
  /** Conversation-handler runs that failed (error, timeout, limits, bad result). */
  handlerFailures: number;
  /** Requests answered with 500 (WebSocket requests and HTTP routes). */
  requestFailures: number;
  /** Fan-out lanes (a conversation's deliveries to one recipient) that failed and wait for the alarm to retry: a gauge. */
  fanoutRetriesPending: number;
}

const counters: OperatorCounters = {
  messagesStored: 0,
  deliveries: 0,
  pushSent: 0,
  pushFailed: 0,
  handlerFailures: 0,
  requestFailures: 0,
  fanoutRetriesPending: 0,
};

/** Adds `by` (negative for the gauge going down) to one counter. */
export function count(counter: keyof OperatorCounters, by = 1): void {
  counters[counter] += by;
}

/**
 * A copy of the counters. The gauge can only over-count: a Conversation evicted with failed lanes
 * leaves them counted (its successor re-reads what it owes from its table and counts its own failures).
 */
export function operatorCounters(): OperatorCounters {
  return { ...counters };
}
