// The push subscriptions a send goes to, as the senders need them, and the removal of those a push
// service called gone. The requests that manage subscriptions are in services/push-subscriptions.ts.
import { and, eq, inArray, isNull } from "drizzle-orm";
import { inChunks, type Db } from "../db/client";
import { pushSubscriptions } from "../db/schema";
import type { PushTarget } from "./types";

export type PushSubscriptionRow = typeof pushSubscriptions.$inferSelect;

export async function subscriptionsOfUser({ db }: { db: Db }, organizationId: string, userId: string): Promise<PushSubscriptionRow[]> {
  return db
    .select()
    .from(pushSubscriptions)
    .where(and(eq(pushSubscriptions.organizationId, organizationId), eq(pushSubscriptions.userId, userId)))
    .orderBy(pushSubscriptions.id)
    .all();
}

export function subscriptionsOfUsers({ db }: { db: Db }, organizationId: string, userIds: readonly string[]): Promise<PushSubscriptionRow[]> {
  return inChunks(userIds, (chunk) =>
    db
      .select()
      .from(pushSubscriptions)
      .where(and(eq(pushSubscriptions.organizationId, organizationId), inArray(pushSubscriptions.userId, chunk)))
      .all(),
  );
}

/**
 * Deletes a subscription a push service called gone (404/410), unless it was re-created for the same
 * device with a new endpoint or token meanwhile (an upsert keeps the row id).
 */
export async function deleteGoneSubscription({ db }: { db: Db }, target: PushTarget): Promise<void> {
  const sameAddress =
    target.platform === "web"
      ? target.webEndpoint === null
        ? isNull(pushSubscriptions.webEndpoint)
        : eq(pushSubscriptions.webEndpoint, target.webEndpoint)
      : target.deviceToken === null
        ? isNull(pushSubscriptions.deviceToken)
        : eq(pushSubscriptions.deviceToken, target.deviceToken);
  await db.delete(pushSubscriptions).where(and(eq(pushSubscriptions.id, target.id), sameAddress));
}

export function toPushTarget(row: PushSubscriptionRow): PushTarget {
  return {
    id: row.id,
    platform: row.platform,
    webEndpoint: row.webEndpoint,
    webKeyAuth: row.webKeyAuth,
    webKeyP256dh: row.webKeyP256dh,
    deviceToken: row.deviceToken,
  };
}
