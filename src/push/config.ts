// Push settings from the Worker's vars and secrets. Every transport is optional: one without its
// credentials is skipped (and logged), so `npm run dev` works with dev VAPID keys and no FCM/APNs.
//
// Vars:    PUSH_ALLOW_LOOPBACK ("true": http(s) endpoints on 127.0.0.1/localhost/[::1] are allowed; dev only),
//          PUSH_HOST_ALLOWLIST (comma-separated hosts, "*.example.com" for subdomains; empty = the built-in list),
//          VAPID_SUBJECT ("mailto:…" or "https://…"), PUSH_IOS_VIA ("fcm" | "apns"; empty = FCM when configured),
//          APNS_SANDBOX ("true": api.sandbox.push.apple.com).
// Secrets: VAPID_PUBLIC_KEY (base64url raw 65-byte P-256 point), VAPID_PRIVATE_KEY (base64url JWK "d"),
//          FCM_SERVICE_ACCOUNT (the service-account JSON), APNS_KEY_ID, APNS_TEAM_ID, APNS_PRIVATE_KEY (.p8 PEM), APNS_TOPIC.

import { logError } from "../log";

/** Known push services: the only hosts a subscription may make Parley POST to by default. */
export const DEFAULT_PUSH_HOSTS: readonly string[] = [
  "fcm.googleapis.com",
  "updates.push.services.mozilla.com",
  "*.notify.windows.com",
  "web.push.apple.com",
];

export interface VapidConfig {
  publicKey: string;
  privateKey: string;
  subject: string;
}

export interface FcmServiceAccount {
  projectId: string;
  clientEmail: string;
  privateKey: string;
  privateKeyId: string | null;
  tokenUri: string;
}

export interface ApnsConfig {
  keyId: string;
  teamId: string;
  privateKey: string;
  topic: string;
  host: string;
}

export interface PushConfig {
  vapid: VapidConfig | null;
  allowLoopback: boolean;
  hostAllowlist: readonly string[];
  fcm: FcmServiceAccount | null;
  apns: ApnsConfig | null;
  /** How iOS device tokens are sent; null when neither FCM nor APNs is configured. */
  iosVia: "fcm" | "apns" | null;
  /** How long push services keep an undelivered notification (Web Push TTL, apns-expiration; SAMA uses four weeks). */
  ttlSeconds: number;
}

/** Raw push vars and secrets, read by name (secrets are not in the generated Env type). */
export type PushVars = Partial<Record<PushVarName, string>>;

type PushVarName =
  | "PUSH_ALLOW_LOOPBACK"
  | "PUSH_HOST_ALLOWLIST"
  | "PUSH_IOS_VIA"
  | "VAPID_SUBJECT"
  | "VAPID_PUBLIC_KEY"
  | "VAPID_PRIVATE_KEY"
  | "FCM_SERVICE_ACCOUNT"
  | "APNS_KEY_ID"
  | "APNS_TEAM_ID"
  | "APNS_PRIVATE_KEY"
  | "APNS_TOPIC"
  | "APNS_SANDBOX";

const VAR_NAMES: readonly PushVarName[] = [
  "PUSH_ALLOW_LOOPBACK",
  "PUSH_HOST_ALLOWLIST",
  "PUSH_IOS_VIA",
  "VAPID_SUBJECT",
  "VAPID_PUBLIC_KEY",
  "VAPID_PRIVATE_KEY",
  "FCM_SERVICE_ACCOUNT",
  "APNS_KEY_ID",
  "APNS_TEAM_ID",
  "APNS_PRIVATE_KEY",
  "APNS_TOPIC",
  "APNS_SANDBOX",
];

/** Picks the push vars out of a Worker env (or any object). */
export function pushVarsOf(env: object): PushVars {
  const vars: PushVars = {};
  for (const name of VAR_NAMES) {
    const value: unknown = Reflect.get(env, name);
    if (typeof value === "string" && value.trim() !== "") vars[name] = value.trim();
  }
  return vars;
}

function isTrue(value: string | undefined): boolean {
  return value !== undefined && ["true", "1", "yes", "on"].includes(value.toLowerCase());
}

/** Secrets pasted into a single-line env var often carry literal "\n" sequences. */
function pem(value: string): string {
  return value.includes("\\n") ? value.replace(/\\n/g, "\n") : value;
}

function str(record: Record<string, unknown>, key: string): string | null {
  const value = record[key];
  return typeof value === "string" && value !== "" ? value : null;
}

function parseServiceAccount(json: string): FcmServiceAccount | null {
  let parsed: unknown;
  try {
    parsed = JSON.parse(json);
  } catch {
    logError("push: FCM_SERVICE_ACCOUNT is not JSON; FCM disabled", { kind: "Push", id: null });
    return null;
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) return null;
  const record = parsed as Record<string, unknown>;
  const projectId = str(record, "project_id");
  const clientEmail = str(record, "client_email");
  const privateKey = str(record, "private_key");
  const tokenUri = str(record, "token_uri") ?? "https://oauth2.googleapis.com/token";
  if (!projectId || !clientEmail || !privateKey || !tokenUri.startsWith("https://")) {
    logError("push: FCM_SERVICE_ACCOUNT lacks project_id, client_email, private_key or an https token_uri; FCM disabled", { kind: "Push", id: null });
    return null;
  }
  return { projectId, clientEmail, privateKey: pem(privateKey), privateKeyId: str(record, "private_key_id"), tokenUri };
}

export function parsePushConfig(vars: PushVars): PushConfig {
  const vapid =
    vars.VAPID_PUBLIC_KEY && vars.VAPID_PRIVATE_KEY && vars.VAPID_SUBJECT
      ? { publicKey: vars.VAPID_PUBLIC_KEY, privateKey: vars.VAPID_PRIVATE_KEY, subject: vars.VAPID_SUBJECT }
      : null;
  const allowlist = (vars.PUSH_HOST_ALLOWLIST ?? "")
    .split(",")
    .map((h) => h.trim().toLowerCase())
    .filter((h) => h !== "");
  const fcm = vars.FCM_SERVICE_ACCOUNT ? parseServiceAccount(vars.FCM_SERVICE_ACCOUNT) : null;
  const apns =
    vars.APNS_KEY_ID && vars.APNS_TEAM_ID && vars.APNS_PRIVATE_KEY && vars.APNS_TOPIC
      ? {
          keyId: vars.APNS_KEY_ID,
          teamId: vars.APNS_TEAM_ID,
          privateKey: pem(vars.APNS_PRIVATE_KEY),
          topic: vars.APNS_TOPIC,
          host: isTrue(vars.APNS_SANDBOX) ? "api.sandbox.push.apple.com" : "api.push.apple.com",
        }
      : null;
  // iOS goes through FCM by default: APNs speaks only HTTP/2, which a Worker's fetch may not negotiate.
  const wanted = vars.PUSH_IOS_VIA?.toLowerCase();
  let iosVia: PushConfig["iosVia"] = null;
  if (wanted === "apns") iosVia = apns ? "apns" : null;
  else if (wanted === "fcm") iosVia = fcm ? "fcm" : null;
  else iosVia = fcm ? "fcm" : apns ? "apns" : null;
  return {
    vapid,
    allowLoopback: isTrue(vars.PUSH_ALLOW_LOOPBACK),
    hostAllowlist: allowlist.length > 0 ? allowlist : DEFAULT_PUSH_HOSTS,
    fcm,
    apns,
    iosVia,
    ttlSeconds: 2_419_200,
  };
}

const cache = new WeakMap<object, PushConfig>();

/** The push settings of a Worker env, parsed once per env object. */
export function getPushConfig(env: object): PushConfig {
  const cached = cache.get(env);
  if (cached) return cached;
  const config = parsePushConfig(pushVarsOf(env));
  cache.set(env, config);
  return config;
}
