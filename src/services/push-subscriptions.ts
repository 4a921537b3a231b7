// Push subscriptions and push events in D1 (SAMA's push_subscriptions and push_events collections).
import { and, count, eq, ne } from "drizzle-orm";
import type { Db } from "../db/client";
import { pushEvents, pushSubscriptions } from "../db/schema";
import { newObjectId } from "../domain/object-id";
import type { PushSubscriptionRow } from "../push/subscriptions";
import { timestamps } from "../domain/timestamps";
import { Errors, SamaError } from "../domain/errors";

export type PushEventRow = typeof pushEvents.$inferSelect;

interface Deps {
  db: Db;
  now: number;
}

export interface NewSubscription {
  organizationId: string;
  userId: string;
  platform: PushSubscriptionRow["platform"];
  deviceUdid: string;
  webEndpoint: string | null;
  webKeyAuth: string | null;
  webKeyP256dh: string | null;
  deviceToken: string | null;
}

/**
 * Creates or replaces the caller's subscription for one device (unique per user and device_udid).
 * A new device beyond `max` subscriptions is refused: every message fans out to all of them.
 */
export async function upsertSubscription({ db, now }: Deps, input: NewSubscription, max: number): Promise<PushSubscriptionRow> {
  const others = await db
    .select({ n: count() })
    .from(pushSubscriptions)
    .where(and(eq(pushSubscriptions.userId, input.userId), ne(pushSubscriptions.deviceUdid, input.deviceUdid)))
    .get();
  if ((others?.n ?? 0) >= max) throw new SamaError(Errors.PUSH_SUBSCRIPTIONS_LIMIT);
  const fields = {
    organizationId: input.organizationId,
    platform: input.platform,
    webEndpoint: input.webEndpoint,
    webKeyAuth: input.webKeyAuth,
    webKeyP256dh: input.webKeyP256dh,
    deviceToken: input.deviceToken,
    updatedAt: now,
  };
  const row = await db
    .insert(pushSubscriptions)
    .values({ id: newObjectId(now), userId: input.userId, deviceUdid: input.deviceUdid, createdAt: now, ...fields })
    .onConflictDoUpdate({ target: [pushSubscriptions.userId, pushSubscriptions.deviceUdid], set: fields })
    .returning()
    .get();
  return row;
}

/** Deletes the caller's subscription of one device; false when there was none. */
export async function deleteSubscriptionByUdid({ db }: { db: Db }, userId: string, deviceUdid: string): Promise<boolean> {
  const deleted = await db
    .delete(pushSubscriptions)
    .where(and(eq(pushSubscriptions.userId, userId), eq(pushSubscriptions.deviceUdid, deviceUdid)))
    .returning({ id: pushSubscriptions.id })
    .all();
  return deleted.length > 0;
}

export interface NewPushEvent {
  organizationId: string;
  /** The sender. */
  userId: string;
  userIds: string[];
  /** base64 of the payload's JSON. */
  message: string;
}

export async function createPushEvent({ db, now }: Deps, input: NewPushEvent): Promise<PushEventRow> {
  const row: PushEventRow = { id: newObjectId(now), ...input, createdAt: now, updatedAt: now };
  await db.insert(pushEvents).values(row);
  return row;
}

/** A subscription as SAMA returns it: only the fields that are set. */
export function subscriptionView(row: PushSubscriptionRow): Record<string, string> {
  const view: Record<string, string> = {
    _id: row.id,
    organization_id: row.organizationId,
    user_id: row.userId,
    platform: row.platform,
  };
  if (row.webEndpoint !== null) view.web_endpoint = row.webEndpoint;
  if (row.webKeyAuth !== null) view.web_key_auth = row.webKeyAuth;
  if (row.webKeyP256dh !== null) view.web_key_p256dh = row.webKeyP256dh;
  view.device_udid = row.deviceUdid;
  if (row.deviceToken !== null) view.device_token = row.deviceToken;
  Object.assign(view, timestamps(row));
  return view;
}

export function pushEventView(row: PushEventRow): Record<string, unknown> {
  return {
    _id: row.id,
    user_id: row.userId,
    user_ids: row.userIds,
    message: row.message,
    ...timestamps(row),
  };
}
