// E2EE device keys (SAMA-PROTOCOL.md §1.5.11): device_register, device_list, request_keys,
// device_delete. A bundle belongs to the socket's signed-in device; see docs/encryption.md.
import * as shapes from "../shapes";
import { z } from "zod";
import { preKeysOf, preKeyView } from "../../domain/encryption";
import { OBJECT_ID } from "../../domain/object-id";
import { deleteDevice, listDevices, registerDevice, takeDeviceKeys, type DeviceKeys } from "../../services/encrypted-devices";
import { Errors, SamaError } from "../../domain/errors";
import { anyObject } from "../fields";
import { authedRequest } from "../request";
import { samaMessage } from "../validation";

/** Public keys are short base64 texts; the cap only keeps rows small. */
const MAX_KEY = 1024;

const key = (error: { message: string }) => z.string(samaMessage(error)).min(1).max(MAX_KEY);
const preKeysError = samaMessage(Errors.INCORRECT_ONE_TIME_PRE_KEYS);
const preKey = z.string(preKeysError).min(1).max(255);

const registerSchema = z.strictObject({
  identity_key: key(Errors.INCORRECT_IDENTITY_KEY),
  signed_key: key(Errors.INCORRECT_SIGNED_KEY),
  // SAMA: required (an empty list will do), an array of at most 100 keys or an object of at most 100 named keys.
  one_time_pre_keys: z.union(
    [
      z.array(preKey, preKeysError).max(100),
      z.record(z.string(preKeysError).max(255), preKey, preKeysError).refine((keys) => Object.keys(keys).length <= 100, preKeysError),
    ],
    preKeysError,
  ),
});

const requestKeysSchema = z.strictObject({
  user_ids: z.array(z.string(samaMessage(Errors.INCORRECT_USER_ID)).regex(OBJECT_ID), samaMessage(Errors.INCORRECT_USERS_ARRAY)).min(1).max(50),
});

const deleteSchema = z.strictObject({
  device_id: z
    .union([z.string().min(1).max(255), z.number()], { error: (issue) => (issue.input === undefined ? '"device_id" is required' : '"device_id" must be a string') })
    .transform(String),
});

function deviceView(d: DeviceKeys) {
  return { identity_key: d.identityKey, signed_key: d.signedKey, device_id: d.deviceId };
}

const deviceRegisterDoc = {
  summary: "Stores (replaces) this device's key bundle; valid 30 days.",
  reply: shapes.success,
  errors: [
    Errors.INCORRECT_IDENTITY_KEY,
    Errors.INCORRECT_SIGNED_KEY,
    Errors.INCORRECT_ONE_TIME_PRE_KEYS,
  ],
};

export const deviceRegister = authedRequest("device_register", registerSchema, deviceRegisterDoc, async (ctx, params) => {
  await registerDevice(ctx, ctx.session, { identityKey: params.identity_key, signedKey: params.signed_key, preKeys: preKeysOf(params.one_time_pre_keys) });
  return { success: true };
});

const deviceListDoc = {
  summary: "The caller's own registered devices.",
  reply: z.strictObject({ devices: z.array(shapes.deviceKeys) }),
  errors: [],
};

export const deviceList = authedRequest("device_list", anyObject, deviceListDoc, async (ctx) => {
  const devices = await listDevices(ctx, ctx.session.organizationId, ctx.session.userId);
  return { devices: devices.map(deviceView) };
});

const requestKeysDoc = {
  summary:
    "Key bundles of users' devices, each with one one-time pre-key that nobody else will get. Only users with a live device of the caller's organization appear (others' ids are never echoed).",
  reply: z.strictObject({ devices: z.record(z.string(), z.array(shapes.deviceKeys)).meta({ description: "user id → their devices" }) }),
  errors: [Errors.INCORRECT_USER_ID, Errors.INCORRECT_USERS_ARRAY],
};

export const requestKeys = authedRequest("request_keys", requestKeysSchema, requestKeysDoc, async (ctx, params) => {
  const handedOut = await takeDeviceKeys(ctx, ctx.session.organizationId, [...new Set(params.user_ids)]);
  const devices: Record<string, Array<Record<string, unknown>>> = {};
  for (const d of handedOut) {
    (devices[d.userId] ??= []).push({ ...deviceView(d), ...(d.oneTimePreKey ? { one_time_pre_key: preKeyView(d.oneTimePreKey) } : {}) });
  }
  return { devices };
});

const deviceDeleteDoc = {
  summary: "Deletes one of the caller's own bundles; anyone else's (or an unknown one) is 403.",
  reply: shapes.success,
  errors: [Errors.FORBIDDEN],
};

export const deviceDelete = authedRequest("device_delete", deleteSchema, deviceDeleteDoc, async (ctx, params) => {
  if (!(await deleteDevice(ctx, ctx.session.userId, params.device_id))) throw new SamaError(Errors.FORBIDDEN);
  return { success: true };
});
