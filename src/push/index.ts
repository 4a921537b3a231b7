// Push notifications from the Worker: what the rest of Parley calls.
//
//   const deps = pushDeps(env, getDb(env));
//   ctx.waitUntil(pushToUser(deps, organizationId, userId, { title, body, cid, firstAttachmentUrl, is_encrypted }));
//
// pushToUser never throws; it resolves when every send (retries included) has finished.
import type { Db } from "../db/client";
import { deleteGoneSubscription, subscriptionsOfUser, subscriptionsOfUsers, toPushTarget } from "./subscriptions";
import { getPushConfig } from "./config";
import { sendPush } from "./sender";
import type { PushPayload } from "../domain/push-payload";
import type { FetchLike, PushOutcome, SendDeps } from "./types";
import { logError } from "../log";

export { sendPush } from "./sender";
export { getPushConfig, parsePushConfig, type PushConfig } from "./config";
export type { FetchLike, PushOutcome, PushTarget, SendDeps } from "./types";

export interface PushDeps extends SendDeps {
  db: Db;
}

/** Deps for the Worker: its push config, D1 for subscriptions, and the global fetch (looked up per call). */
export function pushDeps(env: object, db: Db, fetch?: FetchLike): PushDeps {
  return {
    db,
    config: getPushConfig(env),
    fetch: fetch ?? ((url, init) => globalThis.fetch(url, init)),
    removeSubscription: (target) => deleteGoneSubscription({ db }, target),
  };
}

/** Sends to every subscription of one user. Never throws. */
export async function pushToUser(deps: PushDeps, organizationId: string, userId: string, payload: PushPayload): Promise<PushOutcome[]> {
  return pushToUsers(deps, organizationId, [userId], payload);
}

/** Sends to every subscription of each user (push_event_create). Never throws. */
export async function pushToUsers(deps: PushDeps, organizationId: string, userIds: readonly string[], payload: PushPayload): Promise<PushOutcome[]> {
  try {
    const rows = userIds.length === 1 && userIds[0] !== undefined
      ? await subscriptionsOfUser(deps, organizationId, userIds[0])
      : await subscriptionsOfUsers(deps, organizationId, userIds);
    if (rows.length === 0) return [];
    return await sendPush(deps, rows.map(toPushTarget), payload);
  } catch (err) {
    logError("push: could not send", { kind: "Push", id: null, organization: organizationId }, err);
    return [];
  }
}
