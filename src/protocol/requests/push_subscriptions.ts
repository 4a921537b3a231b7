// push_subscription_create / _list / _delete (SAMA-PROTOCOL.md §1.5.10). A subscription is one per
// (user, device_udid): creating again replaces it. Validation follows SAMA's order and messages, with
// proper 422s where SAMA's validator crashes (both web_endpoint and device_token).
import { z } from "zod";
import * as shapes from "../shapes";
import {
  deleteSubscriptionByUdid,
  subscriptionView,
  upsertSubscription,
  type NewSubscription,
} from "../../services/push-subscriptions";
import { subscriptionsOfUser } from "../../push/subscriptions";
import { Errors, SamaError, type ErrorBody } from "../../domain/errors";
import { anyObject } from "../fields";
import { authedRequest } from "../request";

const PLATFORMS = ["web", "ios", "android"] as const;
type Platform = (typeof PLATFORMS)[number];

/** Longest accepted values (push services issue far shorter ones). */
const MAX_ENDPOINT = 2048;
const MAX_KEY = 512;
const MAX_TOKEN = 4096;
const MAX_UDID = 255;

function isPlatform(value: unknown): value is Platform {
  return typeof value === "string" && (PLATFORMS as readonly string[]).includes(value);
}

/** A set, non-empty string field; `undefined`/`null` mean absent. Anything else fails with `error`. */
function optionalText(value: unknown, max: number, error: ErrorBody): string | null {
  if (value === undefined || value === null) return null;
  if (typeof value !== "string" || value.trim() === "" || value.length > max) throw new SamaError(error);
  return value;
}

/** device_udid: a string or a number on the wire, kept as a string. */
function deviceUdidOf(value: unknown, error: ErrorBody): string {
  if (typeof value === "number" && Number.isFinite(value)) return String(value);
  if (typeof value === "string" && value.trim() !== "" && value.length <= MAX_UDID) return value;
  throw new SamaError(error);
}

type Input = Omit<NewSubscription, "organizationId" | "userId">;

/** SAMA's checks, in its order: platform, token, keys, device id. */
export function parseSubscription(params: Record<string, unknown>): Input {
  const platform = params.platform;
  if (!isPlatform(platform)) throw new SamaError(Errors.INCORRECT_PLATFORM_TYPE);
  const webEndpoint = optionalText(params.web_endpoint, MAX_ENDPOINT, Errors.INCORRECT_TOKEN);
  const deviceToken = optionalText(params.device_token, MAX_TOKEN, Errors.INCORRECT_TOKEN);
  // Exactly one of the two, and the one that fits the platform.
  if ((webEndpoint === null) === (deviceToken === null)) throw new SamaError(Errors.INCORRECT_TOKEN);
  if ((platform === "web") !== (webEndpoint !== null)) throw new SamaError(Errors.INCORRECT_TOKEN);
  let webKeyAuth: string | null = null;
  let webKeyP256dh: string | null = null;
  if (webEndpoint !== null) {
    webKeyAuth = optionalText(params.web_key_auth, MAX_KEY, Errors.INCORRECT_KEYS);
    webKeyP256dh = optionalText(params.web_key_p256dh, MAX_KEY, Errors.INCORRECT_KEYS);
    if (webKeyAuth === null || webKeyP256dh === null) throw new SamaError(Errors.INCORRECT_KEYS);
  }
  const deviceUdid = deviceUdidOf(params.device_udid, Errors.INCORRECT_DEVICE_ID);
  return { platform, webEndpoint, webKeyAuth, webKeyP256dh, deviceToken, deviceUdid };
}

const pushSubscriptionCreateDoc = {
  summary:
    "Creates or replaces the push subscription of this (user, device_udid). Params: `platform` (web, ios, android), `web_endpoint` with `web_key_auth` and `web_key_p256dh` (web) or `device_token` (ios, android), `device_udid`.",
  reply: z.strictObject({ subscription: shapes.pushSubscription }),
  errors: [
    Errors.INCORRECT_PLATFORM_TYPE,
    Errors.INCORRECT_TOKEN,
    Errors.INCORRECT_KEYS,
    Errors.INCORRECT_DEVICE_ID,
    Errors.PUSH_SUBSCRIPTIONS_LIMIT,
  ],
};

export const pushSubscriptionCreate = authedRequest("push_subscription_create", anyObject, pushSubscriptionCreateDoc, async (ctx, params) => {
  const input = parseSubscription(params);
  const row = await upsertSubscription(ctx, { ...input, organizationId: ctx.session.organizationId, userId: ctx.session.userId }, ctx.config.pushSubscriptionsMax);
  return { subscription: subscriptionView(row) };
});

const pushSubscriptionListDoc = {
  summary:
    "Always the caller's own subscriptions; `user_id` is accepted (SAMA requires it) and ignored.",
  reply: z.strictObject({ subscriptions: z.array(shapes.pushSubscription) }),
  errors: [],
};

export const pushSubscriptionList = authedRequest("push_subscription_list", anyObject, pushSubscriptionListDoc, async (ctx) => {
  const rows = await subscriptionsOfUser(ctx, ctx.session.organizationId, ctx.session.userId);
  return { subscriptions: rows.map(subscriptionView) };
});

const pushSubscriptionDeleteDoc = {
  summary: "Deletes the caller's subscription of `device_udid`.",
  reply: shapes.success,
  errors: [Errors.DEVICE_ID_MISSED, Errors.NOTIFICATION_NOT_FOUND],
};

export const pushSubscriptionDelete = authedRequest("push_subscription_delete", anyObject, pushSubscriptionDeleteDoc, async (ctx, params) => {
  const deviceUdid = deviceUdidOf(params.device_udid, Errors.DEVICE_ID_MISSED);
  if (!(await deleteSubscriptionByUdid(ctx, ctx.session.userId, deviceUdid))) throw new SamaError(Errors.NOTIFICATION_NOT_FOUND);
  return { success: true };
});
