// Typed view of the Worker's vars and secrets. Vars are strings in wrangler.toml; every number has a
// default here so a missing var never turns into NaN.

export interface Config {
  adminApiKey: string | null;
  jwtAccessSecret: string;
  jwtRefreshSecret: string;
  cookieSecret: string;
  /** Exact origins allowed to call the HTTP API with credentials; `reflectAnyOrigin` is the dev-only `*`. */
  corsOrigins: readonly string[];
  reflectAnyOrigin: boolean;
  accessTokenTtlSeconds: number;
  refreshTokenTtlSeconds: number;
  refreshReuseGraceSeconds: number;
  rateLimitPerSecond: number;
  rateLimitBurst: number;
  /** Token bucket shared by all of one user's sockets (in the user's Inbox). */
  userRateLimitPerSecond: number;
  userRateLimitBurst: number;
  maxFrameBytes: number;
  loginMaxFailuresPerDevice: number;
  loginMaxFailuresPerAccount: number;
  loginLockoutSeconds: number;
  /** Password reset: life of a code, wrong guesses it survives, and the wait before another code is sent to the same user. */
  otpTtlSeconds: number;
  otpMaxAttempts: number;
  otpResendCooldownSeconds: number;
  searchPreloadCount: number;
  conversationPreloadCount: number;
  messagePreloadCount: number;
  /** Participants of a group (channels have no cap). */
  conversationMaxParticipants: number;
  /** Live channel sockets per object before a shard is opened (Cloudflare's cap is 32,768 hibernated sockets). */
  liveSocketsPerObject: number;
  /** Gateway objects per location that a location's sockets are spread over (gateway.ts). */
  gatewaysPerLocation: number;
  /** Packets for at least this many recipients go straight to their sessions' Gateways, their Inboxes told behind (conversation-gateways.ts). */
  gatewayFanoutMinRecipients: number;
  /** How long a recipient's Inbox may wait to be told what its sessions got through their Gateways. */
  inboxTellBehindMs: number;
  /** How long an Inbox keeps derived state (feed, conversation index) in memory before writing it in one commit. */
  inboxWriteWindowMs: number;
  /** Users one conversation_create or conversation_update may name (participants and admins together). */
  participantsPerRequestMax: number;
  pushSubscriptionsMax: number;
  contactsMax: number;
  /** Origin of links made outside any request (attachment URLs in pushes); null when not configured. */
  publicUrl: string | null;
  /** Key of Worker-signed file URLs (FILES_SIGNING_SECRET); required for them, checked where they are signed. */
  filesSigningSecret: string | null;
  /** Serve /openapi.json and /docs (DOCS_ENABLED=true); off unless set. */
  docsEnabled: boolean;
  /** R2's S3 API (R2_ACCOUNT_ID, R2_BUCKET_NAME, R2_ACCESS_KEY_ID, R2_SECRET_ACCESS_KEY): when all are set, file URLs are R2 presigned URLs. */
  r2S3: R2S3Credentials | null;
}

export interface R2S3Credentials {
  accountId: string;
  bucketName: string;
  accessKeyId: string;
  secretAccessKey: string;
}

/** Settings that are optional, so they may be absent from the generated Env type. */
type FileSettings = Partial<Record<"FILES_SIGNING_SECRET" | "R2_ACCOUNT_ID" | "R2_BUCKET_NAME" | "R2_ACCESS_KEY_ID" | "R2_SECRET_ACCESS_KEY", string>>;

function r2S3Of(vars: FileSettings): R2S3Credentials | null {
  const { R2_ACCOUNT_ID: accountId, R2_BUCKET_NAME: bucketName, R2_ACCESS_KEY_ID: accessKeyId, R2_SECRET_ACCESS_KEY: secretAccessKey } = vars;
  if (!accountId || !bucketName || !accessKeyId || !secretAccessKey) return null;
  return { accountId, bucketName, accessKeyId, secretAccessKey };
}

function nonEmpty(value: string | undefined): string | null {
  return value === undefined || value.trim() === "" ? null : value;
}

function num(value: string | undefined, fallback: number): number {
  if (value === undefined || value.trim() === "") return fallback;
  const parsed = Number(value);
  return Number.isFinite(parsed) && parsed > 0 ? parsed : fallback;
}

function secret(value: string | undefined, name: string): string {
  if (!value) throw new Error(`Secret ${name} is not configured (wrangler secret put ${name})`);
  return value;
}

const cache = new WeakMap<object, Config>();

export function getConfig(env: Env): Config {
  const cached = cache.get(env);
  if (cached) return cached;
  const fileSettings: Env & FileSettings = env;
  const origins = (env.CORS_ORIGINS ?? "")
    .split(",")
    .map((o) => o.trim())
    .filter((o) => o.length > 0);
  const config: Config = {
    adminApiKey: env.ADMIN_API_KEY ? env.ADMIN_API_KEY : null,
    jwtAccessSecret: secret(env.JWT_ACCESS_SECRET, "JWT_ACCESS_SECRET"),
    jwtRefreshSecret: secret(env.JWT_REFRESH_SECRET, "JWT_REFRESH_SECRET"),
    cookieSecret: secret(env.COOKIE_SECRET, "COOKIE_SECRET"),
    corsOrigins: origins.filter((o) => o !== "*"),
    reflectAnyOrigin: origins.includes("*"),
    accessTokenTtlSeconds: num(env.ACCESS_TOKEN_TTL_SECONDS, 10800),
    refreshTokenTtlSeconds: num(env.REFRESH_TOKEN_TTL_SECONDS, 1209600),
    refreshReuseGraceSeconds: num(env.REFRESH_REUSE_GRACE_SECONDS, 30),
    rateLimitPerSecond: num(env.RATE_LIMIT_PER_SECOND, 50),
    rateLimitBurst: num(env.RATE_LIMIT_BURST, 200),
    userRateLimitPerSecond: num(env.USER_RATE_LIMIT_PER_SECOND, 100),
    userRateLimitBurst: num(env.USER_RATE_LIMIT_BURST, 400),
    maxFrameBytes: num(env.MAX_FRAME_BYTES, 1048576),
    loginMaxFailuresPerDevice: num(env.LOGIN_MAX_FAILURES_PER_DEVICE, 5),
    loginMaxFailuresPerAccount: num(env.LOGIN_MAX_FAILURES_PER_ACCOUNT, 50),
    loginLockoutSeconds: num(env.LOGIN_LOCKOUT_SECONDS, 900),
    otpTtlSeconds: num(env.OTP_TTL_SECONDS, 600),
    otpMaxAttempts: num(env.OTP_MAX_ATTEMPTS, 5),
    otpResendCooldownSeconds: num(env.OTP_RESEND_COOLDOWN_SECONDS, 60),
    searchPreloadCount: num(env.SEARCH_PRELOAD_COUNT, 30),
    conversationPreloadCount: num(env.CONVERSATION_PRELOAD_COUNT, 30),
    messagePreloadCount: num(env.MESSAGE_PRELOAD_COUNT, 30),
    conversationMaxParticipants: num(env.CONVERSATION_MAX_PARTICIPANTS, 50),
    liveSocketsPerObject: num(env.LIVE_SOCKETS_PER_OBJECT, 32000),
    gatewaysPerLocation: num(env.GATEWAYS_PER_LOCATION, 8),
    gatewayFanoutMinRecipients: num(env.GATEWAY_FANOUT_MIN_RECIPIENTS, 4),
    inboxTellBehindMs: num(env.INBOX_TELL_BEHIND_MS, 1000),
    inboxWriteWindowMs: num(env.INBOX_WRITE_WINDOW_SECONDS, 10) * 1000,
    participantsPerRequestMax: num(env.PARTICIPANTS_PER_REQUEST_MAX, 100),
    pushSubscriptionsMax: num(env.PUSH_SUBSCRIPTIONS_MAX, 20),
    contactsMax: num(env.CONTACTS_MAX, 5000),
    publicUrl: nonEmpty(env.PUBLIC_URL)?.replace(/\/+$/, "") ?? null,
    filesSigningSecret: fileSettings.FILES_SIGNING_SECRET || null,
    r2S3: r2S3Of(fileSettings),
    docsEnabled: env.DOCS_ENABLED === "true",
  };
  cache.set(env, config);
  return config;
}
