// E2EE device key bundles in D1 (SAMA-PROTOCOL.md §1.5.11): public keys only, one bundle per
// (user, device), valid 30 days from registration. Expired bundles are never read and are deleted a
// few at a time whenever a device registers.
import { and, asc, eq, gt, inArray, lte, min, sql } from "drizzle-orm";
import type { Db } from "../db/client";
import { encryptedDevices, encryptedPreKeys } from "../db/schema";
import { ENCRYPTION_TTL_MS, type PreKey } from "../domain/encryption";
import type { ServiceDeps } from "./context";

export interface DeviceOwner {
  organizationId: string;
  userId: string;
  deviceId: string;
}

export interface DeviceBundle {
  identityKey: string;
  signedKey: string;
  preKeys: PreKey[];
}

export interface DeviceKeys {
  deviceId: string;
  identityKey: string;
  signedKey: string;
}

/** A device's public keys with the one-time pre-key handed out for it (null when it has none left). */
export interface HandedOutKeys extends DeviceKeys {
  userId: string;
  oneTimePreKey: PreKey | null;
}

/** Expired bundles removed per registration: bounded work, and registrations outnumber expiries. */
const CLEANUP_BATCH = 50;
/** Four bound values per pre-key row; D1 allows 100 per statement. */
const PRE_KEY_ROWS_PER_INSERT = 25;

/** Statements that delete the bundles of one device, or of every device of the user (deviceId null). */
export function deviceKeyDeletions(db: Db, userId: string, deviceId: string | null) {
  const ofDevice = <T extends typeof encryptedDevices | typeof encryptedPreKeys>(table: T) =>
    deviceId === null ? eq(table.userId, userId) : and(eq(table.userId, userId), eq(table.deviceId, deviceId));
  return [db.delete(encryptedPreKeys).where(ofDevice(encryptedPreKeys)), db.delete(encryptedDevices).where(ofDevice(encryptedDevices))] as const;
}

/** Replaces the device's bundle (identity key, signed key and all one-time pre-keys) and restarts its 30 days. */
export async function registerDevice({ db, now }: ServiceDeps, owner: DeviceOwner, bundle: DeviceBundle): Promise<void> {
  const expired = db
    .select({ userId: encryptedDevices.userId, deviceId: encryptedDevices.deviceId })
    .from(encryptedDevices)
    .where(lte(encryptedDevices.expiresAt, now))
    .orderBy(asc(encryptedDevices.expiresAt), asc(encryptedDevices.userId), asc(encryptedDevices.deviceId))
    .limit(CLEANUP_BATCH);
  const inserts = [];
  for (let i = 0; i < bundle.preKeys.length; i += PRE_KEY_ROWS_PER_INSERT) {
    const rows = bundle.preKeys.slice(i, i + PRE_KEY_ROWS_PER_INSERT).map((k) => ({ userId: owner.userId, deviceId: owner.deviceId, keyId: k.keyId, preKey: k.preKey }));
    inserts.push(db.insert(encryptedPreKeys).values(rows));
  }
  // One batch is one transaction: request_keys never sees half a bundle.
  await db.batch([
    db.delete(encryptedPreKeys).where(sql`(${encryptedPreKeys.userId}, ${encryptedPreKeys.deviceId}) IN ${expired}`),
    db.delete(encryptedDevices).where(sql`(${encryptedDevices.userId}, ${encryptedDevices.deviceId}) IN ${expired}`),
    ...deviceKeyDeletions(db, owner.userId, owner.deviceId),
    db.insert(encryptedDevices).values({
      userId: owner.userId,
      deviceId: owner.deviceId,
      organizationId: owner.organizationId,
      identityKey: bundle.identityKey,
      signedKey: bundle.signedKey,
      expiresAt: now + ENCRYPTION_TTL_MS,
      createdAt: now,
      updatedAt: now,
    }),
    ...inserts,
  ]);
}

const deviceColumns = { deviceId: encryptedDevices.deviceId, identityKey: encryptedDevices.identityKey, signedKey: encryptedDevices.signedKey };

/** The user's own live bundles, oldest registration first. */
export async function listDevices({ db, now }: ServiceDeps, organizationId: string, userId: string): Promise<DeviceKeys[]> {
  return db
    .select(deviceColumns)
    .from(encryptedDevices)
    .where(and(eq(encryptedDevices.organizationId, organizationId), eq(encryptedDevices.userId, userId), gt(encryptedDevices.expiresAt, now)))
    .orderBy(asc(encryptedDevices.createdAt), asc(encryptedDevices.deviceId))
    .all();
}

/**
 * Every live device of these users (same organization) with one one-time pre-key each, taken away
 * as it is handed out. The oldest pre-key of each device is deleted by one DELETE … RETURNING: each
 * deleted row comes back to exactly one caller, so concurrent requests never share a key. The
 * bundles are read in the same transaction, so a key never comes with another registration's keys.
 */
export async function takeDeviceKeys({ db, now }: ServiceDeps, organizationId: string, userIds: readonly string[]): Promise<HandedOutKeys[]> {
  const live = and(eq(encryptedDevices.organizationId, organizationId), inArray(encryptedDevices.userId, [...userIds]), gt(encryptedDevices.expiresAt, now));
  const oldestPerDevice = db
    .select({ id: min(encryptedPreKeys.id) })
    .from(encryptedPreKeys)
    .innerJoin(encryptedDevices, and(eq(encryptedDevices.userId, encryptedPreKeys.userId), eq(encryptedDevices.deviceId, encryptedPreKeys.deviceId)))
    .where(live)
    .groupBy(encryptedPreKeys.userId, encryptedPreKeys.deviceId);
  const [taken, devices] = await db.batch([
    db.delete(encryptedPreKeys).where(inArray(encryptedPreKeys.id, oldestPerDevice)).returning(),
    db
      .select({ userId: encryptedDevices.userId, ...deviceColumns })
      .from(encryptedDevices)
      .where(live)
      .orderBy(asc(encryptedDevices.createdAt), asc(encryptedDevices.deviceId)),
  ]);
  const byDevice = new Map(taken.map((k) => [`${k.userId}\n${k.deviceId}`, { keyId: k.keyId, preKey: k.preKey }]));
  return devices.map((d) => ({ ...d, oneTimePreKey: byDevice.get(`${d.userId}\n${d.deviceId}`) ?? null }));
}

/** Deletes one of the user's own bundles; false when the user has no bundle for that device. */
export async function deleteDevice({ db }: ServiceDeps, userId: string, deviceId: string): Promise<boolean> {
  const [preKeys, devices] = deviceKeyDeletions(db, userId, deviceId);
  const [, deleted] = await db.batch([preKeys, devices.returning({ deviceId: encryptedDevices.deviceId })]);
  return deleted.length > 0;
}
