// One entry point for every push transport. Web subscriptions get Web Push; Android gets FCM; iOS gets
// FCM or APNs (config.iosVia). A subscription answered 404/410 is removed; transient failures are
// retried a few times; nothing here throws: the caller gets one outcome per subscription.
import { sendApns } from "./apns";
import { sendFcm } from "./fcm";
import { defaultSleep, type TransportResult } from "./retry";
import type { PushPayload } from "../domain/push-payload";
import type { PushOutcome, PushTarget, SendDeps } from "./types";
import { sendWebPush } from "./webpush";
import { logError, logWarning } from "../log";
import { count } from "../operator-counters";

/** Subscriptions sent to at once. */
const CONCURRENCY = 8;

async function sendOne(deps: SendDeps, target: PushTarget, payload: PushPayload): Promise<PushOutcome> {
  const sleep = deps.sleep ?? defaultSleep;
  const config = deps.config;
  let transport: PushOutcome["transport"];
  let run: TransportResult;
  try {
    if (target.platform === "web") {
      transport = "webpush";
      run = await sendWebPush(deps, config, target, payload, sleep);
    } else if (target.platform === "android" || config.iosVia === "fcm") {
      transport = "fcm";
      run = await sendFcm(deps, config, target, payload, sleep);
    } else if (config.iosVia === "apns") {
      transport = "apns";
      run = await sendApns(deps, config, target, payload, sleep);
    } else {
      transport = "none";
      run = { result: { kind: "skipped", reason: "neither FCM nor APNs is configured for iOS" }, attempts: 0 };
    }
  } catch (err) {
    return { subscriptionId: target.id, platform: target.platform, transport: "none", result: "failed", reason: err instanceof Error ? err.message : String(err), attempts: 0 };
  }

  const { result, attempts } = run;
  const outcome: PushOutcome = { subscriptionId: target.id, platform: target.platform, transport, result: "failed", attempts };
  if ("status" in result && result.status !== undefined) outcome.status = result.status;
  switch (result.kind) {
    case "sent":
      count("pushSent");
      outcome.result = "sent";
      return outcome;
    case "gone":
      outcome.result = "gone";
      outcome.reason = result.reason;
      if (deps.removeSubscription) {
        try {
          await deps.removeSubscription(target);
        } catch (err) {
          logError("push: could not delete a gone subscription", { kind: "Push", id: target.id }, err);
        }
      }
      return outcome;
    case "skipped":
      outcome.result = "skipped";
      outcome.reason = result.reason;
      return outcome;
    default:
      outcome.result = "failed";
      outcome.reason = result.reason;
      count("pushFailed");
      logWarning("push failed", { kind: "Push", id: target.id, transport, attempts }, result.reason);
      return outcome;
  }
}

/**
 * Sends `payload` to every subscription. Never throws and never rejects a payload: each transport
 * cuts it to its size limit. Resolves when every send has finished (retries included).
 */
export async function sendPush(deps: SendDeps, subscriptions: readonly PushTarget[], payload: PushPayload): Promise<PushOutcome[]> {
  const outcomes: PushOutcome[] = new Array<PushOutcome>(subscriptions.length);
  let next = 0;
  const worker = async () => {
    while (next < subscriptions.length) {
      const index = next++;
      const target = subscriptions[index];
      if (target) outcomes[index] = await sendOne(deps, target, payload);
    }
  };
  await Promise.all(Array.from({ length: Math.min(CONCURRENCY, subscriptions.length) }, worker));
  return outcomes;
}
