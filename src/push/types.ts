// Shapes shared by the push senders (Web Push, FCM, APNs).
import type { PushConfig } from "./config";

/** One push_subscriptions row, as the senders need it. */
export interface PushTarget {
  id: string;
  platform: "web" | "ios" | "android";
  webEndpoint: string | null;
  webKeyAuth: string | null;
  webKeyP256dh: string | null;
  deviceToken: string | null;
}

/** Every outside call goes through this (globalThis.fetch in the Worker, a fake in tests). */
export type FetchLike = (url: string, init: RequestInit) => Promise<Response>;

export interface SendDeps {
  fetch: FetchLike;
  config: PushConfig;
  /** Called for a subscription the push service answered 404/410 (or an equivalent "unregistered"). */
  removeSubscription?: (target: PushTarget) => Promise<void>;
  /** Waits between retries (tests pass a recorder that does not wait). */
  sleep?: (ms: number) => Promise<void>;
  /** Unix ms (JWT times); Date.now by default. */
  now?: () => number;
}

export type PushResult =
  /** Accepted by the push service. */
  | "sent"
  /** Answered 404/410: the subscription was deleted. */
  | "gone"
  /** Not attempted: the transport is not configured, or the endpoint is not allowed. */
  | "skipped"
  /** Refused or failing after the retries. */
  | "failed";

export interface PushOutcome {
  subscriptionId: string;
  platform: PushTarget["platform"];
  transport: "webpush" | "fcm" | "apns" | "none";
  result: PushResult;
  /** HTTP status of the last attempt, when one was made. */
  status?: number;
  /** Why it was skipped or failed (never a secret). */
  reason?: string;
  attempts: number;
}
