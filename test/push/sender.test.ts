// The push sender with a fake fetch: the bytes each push service would receive, checked field by field.
import { env } from "cloudflare:workers";
import { decodeProtectedHeader, exportPKCS8, exportSPKI, generateKeyPair, importSPKI, jwtVerify } from "jose";
import { beforeEach, describe, expect, it } from "vitest";
import { clearApnsTokenCache } from "../../src/push/apns";
import { parsePushConfig, pushVarsOf, type PushConfig, type PushVars } from "../../src/push/config";
import { clearFcmTokenCache } from "../../src/push/fcm";
import { sendPush } from "../../src/push/sender";
import type { PushPayload } from "../../src/domain/push-payload";
import type { FetchLike, PushTarget, SendDeps } from "../../src/push/types";
import { browserSubscription, decryptAes128gcm, fakeFetch, verifyVapid, type BrowserSubscription, type FakeAnswer } from "./fakes";

function required(value: string | undefined, name: string): string {
  if (!value) throw new Error(`${name} is not set in vitest testSecrets`);
  return value;
}

// The test VAPID pair and subject from vitest.config.ts (PUSH_ALLOW_LOOPBACK is "true" there).
const testVars = pushVarsOf(env);
const VAPID_PUBLIC_KEY = required(testVars.VAPID_PUBLIC_KEY, "VAPID_PUBLIC_KEY");
const VAPID_SUBJECT = required(testVars.VAPID_SUBJECT, "VAPID_SUBJECT");

const devConfig = (extra: PushVars = {}): PushConfig => parsePushConfig({ ...testVars, ...extra });
/** Production mode: loopback off, the built-in allow-list. */
const prodConfig = (extra: PushVars = {}): PushConfig => parsePushConfig({ ...testVars, PUSH_ALLOW_LOOPBACK: "", ...extra });

function webTarget(sub: BrowserSubscription, id = "sub-web"): PushTarget {
  return { id, platform: "web", webEndpoint: sub.endpoint, webKeyAuth: sub.auth, webKeyP256dh: sub.p256dh, deviceToken: null };
}

function deviceTarget(platform: "ios" | "android", token: string, id = `sub-${platform}`): PushTarget {
  return { id, platform, webEndpoint: null, webKeyAuth: null, webKeyP256dh: null, deviceToken: token };
}

interface Harness {
  deps: SendDeps;
  removed: string[];
  sleeps: number[];
}

function harness(fetch: FetchLike, config: PushConfig): Harness {
  const removed: string[] = [];
  const sleeps: number[] = [];
  return {
    removed,
    sleeps,
    deps: {
      fetch,
      config,
      removeSubscription: async (target) => {
        removed.push(target.id);
      },
      sleep: async (ms) => {
        sleeps.push(ms);
      },
    },
  };
}

/** A browser subscription to a loopback push service (allowed in the dev config), and that service as a recording fake. */
async function webSetup(path: string) {
  const sub = await browserSubscription(`http://127.0.0.1:8790/push/${path}`);
  const fake = fakeFetch();
  return { sub, fake, ...harness(fake.fetch, devConfig()) };
}

const message: PushPayload = { title: "alice", body: "hi there", cid: "6650aaaaaaaaaaaaaaaaaac3", firstAttachmentUrl: null, is_encrypted: false };
const byteLength = (text: string) => new TextEncoder().encode(text).byteLength;

describe("Web Push", () => {
  it("encrypts per RFC 8291 (aes128gcm, one 4,096-byte record) and signs VAPID for the endpoint's origin", async () => {
    const { sub, fake, deps } = await webSetup("abc?x=1");
    const outcomes = await sendPush(deps, [webTarget(sub)], message);
    expect(outcomes).toEqual([{ subscriptionId: "sub-web", platform: "web", transport: "webpush", result: "sent", status: 201, attempts: 1 }]);

    expect(fake.requests).toHaveLength(1);
    const req = fake.requests[0]!;
    expect(req.url).toBe("http://127.0.0.1:8790/push/abc?x=1");
    expect(req.method).toBe("POST");
    expect(req.headers.get("content-encoding")).toBe("aes128gcm");
    expect(req.headers.get("content-type")).toBe("application/octet-stream");
    expect(req.headers.get("ttl")).toBe("2419200");
    expect(req.headers.get("urgency")).toBe("high");
    expect(req.body.byteLength).toBe(4096);

    const decrypted = await decryptAes128gcm(sub, req.body);
    expect(decrypted.recordSize).toBe(4096);
    expect(JSON.parse(decrypted.plaintext)).toEqual(message);
    await verifyVapid(req.headers.get("authorization"), { publicKey: VAPID_PUBLIC_KEY, audience: "http://127.0.0.1:8790", subject: VAPID_SUBJECT });
  });

  it("sends to known push services over https in production, VAPID audience = the service origin", async () => {
    const endpoints = [
      "https://fcm.googleapis.com/fcm/send/dGVzdA:APA91b",
      "https://updates.push.services.mozilla.com/wpush/v2/gAAAAA",
      "https://wns2-par02p.notify.windows.com/w/?token=BQYAAA",
      "https://web.push.apple.com/QGuQyavXutnMH",
    ];
    const subs = await Promise.all(endpoints.map((e) => browserSubscription(e)));
    const fake = fakeFetch();
    const { deps } = harness(fake.fetch, prodConfig());
    const outcomes = await sendPush(deps, subs.map((s, i) => webTarget(s, `s${i}`)), message);
    expect(outcomes.map((o) => o.result)).toEqual(["sent", "sent", "sent", "sent"]);
    for (const [i, sub] of subs.entries()) {
      const req = fake.requests.find((r) => r.url === sub.endpoint);
      if (!req) throw new Error(`nothing sent to ${sub.endpoint}`);
      await verifyVapid(req.headers.get("authorization"), { publicKey: VAPID_PUBLIC_KEY, audience: new URL(endpoints[i]!).origin, subject: VAPID_SUBJECT });
      expect(JSON.parse((await decryptAes128gcm(sub, req.body)).plaintext)).toEqual(message);
    }
  });

  it("refuses endpoints off the allow-list in production without any fetch", async () => {
    const refused = [
      "http://127.0.0.1:8790/push/abc", // loopback is dev-only
      "http://localhost/push",
      "https://evil.example.com/push",
      "http://fcm.googleapis.com/fcm/send/x", // not https
      "https://fcm.googleapis.com:8443/fcm/send/x", // not the default port
      "https://notify.windows.com.evil.example/w", // suffix trick
      "https://user:pass@fcm.googleapis.com/fcm/send/x",
      "not a url",
    ];
    const subs = await Promise.all(refused.map((e) => browserSubscription(e)));
    const fake = fakeFetch();
    const { deps, removed } = harness(fake.fetch, prodConfig());
    const outcomes = await sendPush(deps, subs.map((s, i) => webTarget(s, `s${i}`)), message);
    expect(fake.requests).toHaveLength(0);
    expect(outcomes.map((o) => o.result)).toEqual(refused.map(() => "skipped"));
    expect(outcomes[2]?.reason).toContain("allow-list");
    expect(removed).toEqual([]);
  });

  it("honours a custom PUSH_HOST_ALLOWLIST (replacing the built-in one)", async () => {
    const own = await browserSubscription("https://push.example.com/s/1");
    const google = await browserSubscription("https://fcm.googleapis.com/fcm/send/1");
    const fake = fakeFetch();
    const { deps } = harness(fake.fetch, prodConfig({ PUSH_HOST_ALLOWLIST: "push.example.com, *.relay.example.net" }));
    const outcomes = await sendPush(deps, [webTarget(own, "own"), webTarget(google, "google")], message);
    expect(outcomes.map((o) => [o.subscriptionId, o.result])).toEqual([
      ["own", "sent"],
      ["google", "skipped"],
    ]);
    expect(fake.requests.map((r) => r.url)).toEqual(["https://push.example.com/s/1"]);
  });

  it("deletes subscriptions answered 404 or 410, without retrying", async () => {
    const gone = await browserSubscription("http://127.0.0.1:8790/push/gone");
    const missing = await browserSubscription("http://127.0.0.1:8790/push/missing");
    const fake = fakeFetch((req) => new Response("bye", { status: req.url.endsWith("gone") ? 410 : 404 }));
    const { deps, removed, sleeps } = harness(fake.fetch, devConfig());
    const outcomes = await sendPush(deps, [webTarget(gone, "g"), webTarget(missing, "m")], message);
    expect(outcomes.map((o) => [o.result, o.status, o.attempts])).toEqual([
      ["gone", 410, 1],
      ["gone", 404, 1],
    ]);
    expect(removed.sort()).toEqual(["g", "m"]);
    expect(sleeps).toEqual([]);
  });

  it("retries transient failures with growing delays and never throws", async () => {
    const sub = await browserSubscription("http://127.0.0.1:8790/push/flaky");
    const flaky = fakeFetch((_req, i) => new Response(null, { status: i < 2 ? 503 : 201 }));
    const h1 = harness(flaky.fetch, devConfig());
    expect(await sendPush(h1.deps, [webTarget(sub)], message)).toMatchObject([{ result: "sent", attempts: 3 }]);
    expect(h1.sleeps).toEqual([250, 1000]);
    // The same encrypted body each time.
    expect(flaky.requests[2]?.body).toEqual(flaky.requests[0]?.body);

    const down = fakeFetch(() => new Response("overloaded", { status: 500 }));
    const h2 = harness(down.fetch, devConfig());
    const [failed] = await sendPush(h2.deps, [webTarget(sub)], message);
    expect(failed).toMatchObject({ result: "failed", status: 500, attempts: 3 });
    expect(h2.removed).toEqual([]);

    const throwing = fakeFetch((_req, i) => {
      if (i === 0) throw new TypeError("network connection lost");
      return new Response(null, { status: 201 });
    });
    const h3 = harness(throwing.fetch, devConfig());
    expect(await sendPush(h3.deps, [webTarget(sub)], message)).toMatchObject([{ result: "sent", attempts: 2 }]);

    const limited = fakeFetch((_req, i) => new Response(null, { status: i === 0 ? 429 : 201, headers: i === 0 ? { "Retry-After": "2" } : {} }));
    const h4 = harness(limited.fetch, devConfig());
    expect(await sendPush(h4.deps, [webTarget(sub)], message)).toMatchObject([{ result: "sent", attempts: 2 }]);
    expect(h4.sleeps).toEqual([2000]);

    const refused = fakeFetch(() => new Response("bad", { status: 400 }));
    const h5 = harness(refused.fetch, devConfig());
    expect(await sendPush(h5.deps, [webTarget(sub)], message)).toMatchObject([{ result: "failed", status: 400, attempts: 1 }]);
    expect(h5.removed).toEqual([]);
  });

  it("truncates a long body to fit one record instead of rejecting it", async () => {
    const { sub, fake, deps } = await webSetup("long");
    const longBody = "é".repeat(5000) + "😀".repeat(1000) + "end";
    const [outcome] = await sendPush(deps, [webTarget(sub)], { ...message, body: longBody });
    expect(outcome?.result).toBe("sent");
    const { plaintext } = await decryptAes128gcm(sub, fake.requests[0]!.body);
    expect(byteLength(plaintext)).toBeLessThanOrEqual(3993);
    expect(byteLength(plaintext)).toBeGreaterThan(3900); // cut, not emptied
    const received = JSON.parse(plaintext) as PushPayload;
    expect(received.title).toBe("alice");
    expect(received.cid).toBe(message.cid);
    expect(received.body?.endsWith("…")).toBe(true);
    expect(longBody.startsWith(received.body!.slice(0, -1))).toBe(true);
  });

  it("replaces an encrypted message's body with \"New message\", as SAMA's daemon does", async () => {
    const { sub, fake, deps } = await webSetup("e2ee");
    await sendPush(deps, [webTarget(sub)], { ...message, body: "b64-ciphertext", is_encrypted: true });
    const received = JSON.parse((await decryptAes128gcm(sub, fake.requests[0]!.body)).plaintext) as PushPayload;
    expect(received).toEqual({ ...message, body: "New message", is_encrypted: true });
  });

  it("skips web subscriptions when VAPID is not configured, and reports bad keys without throwing", async () => {
    const sub = await browserSubscription("http://127.0.0.1:8790/push/x");
    const fake = fakeFetch();
    const noVapid = harness(fake.fetch, parsePushConfig({ PUSH_ALLOW_LOOPBACK: "true" }));
    expect(await sendPush(noVapid.deps, [webTarget(sub)], message)).toMatchObject([{ result: "skipped", transport: "webpush" }]);
    const badKeys = harness(fake.fetch, devConfig());
    const target = { ...webTarget(sub), webKeyP256dh: "not-a-point" };
    expect(await sendPush(badKeys.deps, [target], message)).toMatchObject([{ result: "failed", attempts: 0 }]);
    expect(fake.requests).toHaveLength(0);
  });
});

async function serviceAccount() {
  const { privateKey, publicKey } = await generateKeyPair("RS256", { extractable: true });
  const account = {
    type: "service_account",
    project_id: "parley-test",
    private_key_id: "key-id-1",
    private_key: await exportPKCS8(privateKey),
    client_email: `push-${crypto.randomUUID()}@parley-test.iam.gserviceaccount.com`,
    token_uri: "https://oauth2.googleapis.com/token",
  };
  return { json: JSON.stringify(account), account, publicKey };
}

async function apnsKey() {
  const { privateKey, publicKey } = await generateKeyPair("ES256", { extractable: true });
  return { pem: await exportPKCS8(privateKey), publicKeySpki: await exportSPKI(publicKey) };
}

const FCM_SEND = "https://fcm.googleapis.com/v1/projects/parley-test/messages:send";

/** Token endpoint + FCM send, answering `send` for the message requests. */
function fcmFake(send: FakeAnswer = () => Response.json({ name: "projects/parley-test/messages/1" })) {
  let tokens = 0;
  return fakeFetch((req, i) => {
    if (req.url === "https://oauth2.googleapis.com/token") {
      tokens += 1;
      return Response.json({ access_token: `ya29.token-${tokens}`, expires_in: 3599, token_type: "Bearer" });
    }
    return send(req, i);
  });
}

/** A fresh service account in the dev config, with fcmFake as Google's side. */
async function fcmSetup(send?: FakeAnswer) {
  const sa = await serviceAccount();
  const fake = fcmFake(send);
  return { sa, fake, ...harness(fake.fetch, devConfig({ FCM_SERVICE_ACCOUNT: sa.json })) };
}

describe("FCM HTTP v1", () => {
  beforeEach(() => {
    clearFcmTokenCache();
    clearApnsTokenCache();
  });

  it("exchanges a service-account JWT for an access token, caches it, and sends the v1 message", async () => {
    const { sa, fake, deps } = await fcmSetup();
    const withAttachment = { ...message, firstAttachmentUrl: "https://parley.test/files/abc?sig=1" };
    expect(await sendPush(deps, [deviceTarget("android", "fcm-token-1")], withAttachment)).toMatchObject([{ result: "sent", transport: "fcm", status: 200 }]);

    const [tokenReq, sendReq] = fake.requests;
    if (!tokenReq || !sendReq) throw new Error("expected a token exchange and a send");
    // The OAuth2 exchange (RFC 7523).
    expect(tokenReq.url).toBe("https://oauth2.googleapis.com/token");
    expect(tokenReq.method).toBe("POST");
    expect(tokenReq.headers.get("content-type")).toBe("application/x-www-form-urlencoded");
    const form = new URLSearchParams(tokenReq.text);
    expect(form.get("grant_type")).toBe("urn:ietf:params:oauth:grant-type:jwt-bearer");
    const assertion = form.get("assertion") ?? "";
    expect(decodeProtectedHeader(assertion)).toEqual({ alg: "RS256", typ: "JWT", kid: "key-id-1" });
    const { payload } = await jwtVerify(assertion, sa.publicKey, { algorithms: ["RS256"], issuer: sa.account.client_email, audience: "https://oauth2.googleapis.com/token" });
    expect(payload.scope).toBe("https://www.googleapis.com/auth/firebase.messaging");
    expect((payload.exp ?? 0) - (payload.iat ?? 0)).toBe(3600);
    expect(Math.abs((payload.iat ?? 0) - Date.now() / 1000)).toBeLessThan(60);

    // The send.
    expect(sendReq.url).toBe(FCM_SEND);
    expect(sendReq.method).toBe("POST");
    expect(sendReq.headers.get("authorization")).toBe("Bearer ya29.token-1");
    expect(sendReq.headers.get("content-type")).toBe("application/json");
    expect(JSON.parse(sendReq.text)).toEqual({
      message: {
        token: "fcm-token-1",
        notification: { title: "alice", body: "hi there" },
        data: { title: "alice", body: "hi there", cid: message.cid, firstAttachmentUrl: "https://parley.test/files/abc?sig=1", is_encrypted: "false" },
        android: { priority: "high" },
      },
    });

    // A second send reuses the cached token.
    await sendPush(deps, [deviceTarget("android", "fcm-token-2")], message);
    expect(fake.requests.map((r) => r.url)).toEqual(["https://oauth2.googleapis.com/token", FCM_SEND, FCM_SEND]);
    expect(fake.requests[2]?.headers.get("authorization")).toBe("Bearer ya29.token-1");
  });

  it("routes iOS through FCM by default (with an APNs alert block), even when APNs is configured", async () => {
    const sa = await serviceAccount();
    const key = await apnsKey();
    const fake = fcmFake();
    const config = devConfig({ FCM_SERVICE_ACCOUNT: sa.json, APNS_KEY_ID: "ABC123DEFG", APNS_TEAM_ID: "TEAM123456", APNS_PRIVATE_KEY: key.pem, APNS_TOPIC: "com.example.parley" });
    expect(config.iosVia).toBe("fcm");
    const { deps } = harness(fake.fetch, config);
    expect(await sendPush(deps, [deviceTarget("ios", "ios-fcm-token")], message)).toMatchObject([{ result: "sent", transport: "fcm" }]);
    const sendReq = fake.requests.find((r) => r.url === FCM_SEND);
    expect(JSON.parse(sendReq?.text ?? "{}")).toEqual({
      message: {
        token: "ios-fcm-token",
        notification: { title: "alice", body: "hi there" },
        data: { title: "alice", body: "hi there", cid: message.cid, is_encrypted: "false" },
        apns: { headers: { "apns-push-type": "alert", "apns-priority": "10" }, payload: { aps: { "mutable-content": 1, sound: "default" } } },
      },
    });
    expect(fake.requests.some((r) => r.url.includes("push.apple.com"))).toBe(false);
  });

  it("deletes UNREGISTERED tokens, keeps others on a plain 404, and re-exchanges the token after a 401", async () => {
    const unregistered = { error: { code: 404, message: "Requested entity was not found.", status: "NOT_FOUND", details: [{ "@type": "type.googleapis.com/google.firebase.fcm.v1.FcmError", errorCode: "UNREGISTERED" }] } };
    const { fake, deps, removed } = await fcmSetup((req) => {
      const token = (JSON.parse(req.text) as { message: { token: string } }).message.token;
      if (token === "stale") return Response.json(unregistered, { status: 404 });
      if (token === "odd") return Response.json({ error: { code: 404, status: "NOT_FOUND" } }, { status: 404 });
      if (token === "auth" && req.headers.get("authorization") === "Bearer ya29.token-1") return new Response("expired", { status: 401 });
      return Response.json({ name: "ok" });
    });
    const outcomes = await sendPush(deps, [deviceTarget("android", "stale", "a"), deviceTarget("android", "odd", "b")], message);
    expect(outcomes.map((o) => o.result)).toEqual(["gone", "failed"]);
    expect(removed).toEqual(["a"]);

    const [retried] = await sendPush(deps, [deviceTarget("android", "auth", "c")], message);
    expect(retried).toMatchObject({ result: "sent", attempts: 2 });
    expect(fake.requests.filter((r) => r.url.endsWith("/token"))).toHaveLength(2);
  });

  it("cuts the message to FCM's 4 KB, never rejects it", async () => {
    const { fake, deps } = await fcmSetup();
    expect(await sendPush(deps, [deviceTarget("android", "t")], { ...message, body: "x".repeat(20_000) })).toMatchObject([{ result: "sent" }]);
    const sent = JSON.parse(fake.requests.find((r) => r.url === FCM_SEND)?.text ?? "{}") as { message: { notification: { body: string }; data: Record<string, string> } };
    expect(byteLength(JSON.stringify({ notification: sent.message.notification, data: sent.message.data }))).toBeLessThanOrEqual(4000);
    expect(sent.message.notification.body).toMatch(/^x{1000,}…$/);
    expect(sent.message.data.body).toBe(sent.message.notification.body);
  });

  it("skips Android and iOS when no FCM/APNs credentials are configured", async () => {
    const fake = fakeFetch();
    const { deps } = harness(fake.fetch, devConfig());
    const outcomes = await sendPush(deps, [deviceTarget("android", "t1"), deviceTarget("ios", "t2")], message);
    expect(outcomes.map((o) => [o.transport, o.result])).toEqual([
      ["fcm", "skipped"],
      ["none", "skipped"],
    ]);
    expect(fake.requests).toHaveLength(0);
  });
});

describe("APNs (PUSH_IOS_VIA=apns)", () => {
  beforeEach(() => clearApnsTokenCache());

  const apnsVars = async (extra: PushVars = {}) => {
    const key = await apnsKey();
    return { key, vars: { APNS_KEY_ID: "ABC123DEFG", APNS_TEAM_ID: "TEAM123456", APNS_PRIVATE_KEY: key.pem, APNS_TOPIC: "com.example.parley", PUSH_IOS_VIA: "apns", ...extra } };
  };

  it("posts the alert to /3/device/<token> with a provider JWT, topic and push type", async () => {
    const { key, vars } = await apnsVars();
    const fake = fakeFetch(() => new Response(null, { status: 200, headers: { "apns-id": "x" } }));
    const { deps } = harness(fake.fetch, devConfig(vars));
    const withAttachment = { ...message, firstAttachmentUrl: "https://parley.test/files/a" };
    expect(await sendPush(deps, [deviceTarget("ios", "a1b2c3d4")], withAttachment)).toMatchObject([{ result: "sent", transport: "apns" }]);
    const req = fake.requests[0]!;
    expect(req.url).toBe("https://api.push.apple.com/3/device/a1b2c3d4");
    expect(req.method).toBe("POST");
    expect(req.headers.get("apns-topic")).toBe("com.example.parley");
    expect(req.headers.get("apns-push-type")).toBe("alert");
    expect(req.headers.get("apns-priority")).toBe("10");
    expect(Number(req.headers.get("apns-expiration"))).toBeGreaterThan(Date.now() / 1000);
    expect(req.headers.get("content-type")).toBe("application/json");
    const auth = /^bearer (.+)$/.exec(req.headers.get("authorization") ?? "");
    const jwt = auth?.[1] ?? "";
    expect(decodeProtectedHeader(jwt)).toEqual({ alg: "ES256", kid: "ABC123DEFG" });
    const { payload } = await jwtVerify(jwt, await importSPKI(key.publicKeySpki, "ES256"), { algorithms: ["ES256"], issuer: "TEAM123456" });
    expect(Math.abs((payload.iat ?? 0) - Date.now() / 1000)).toBeLessThan(60);
    expect(JSON.parse(req.text)).toEqual({
      aps: { alert: { title: "alice", body: "hi there" }, "mutable-content": 1, sound: "default" },
      cid: message.cid,
      firstAttachmentUrl: "https://parley.test/files/a",
      is_encrypted: false,
    });
  });

  it("uses the sandbox host when asked, deletes 410 tokens, cuts long bodies to 4 KB", async () => {
    const { vars } = await apnsVars({ APNS_SANDBOX: "true" });
    const fake = fakeFetch((req) => (req.url.endsWith("/dead") ? Response.json({ reason: "Unregistered", timestamp: 1 }, { status: 410 }) : new Response(null, { status: 200 })));
    const { deps, removed } = harness(fake.fetch, devConfig(vars));
    const outcomes = await sendPush(deps, [deviceTarget("ios", "dead", "d"), deviceTarget("ios", "live", "l")], { ...message, body: "y".repeat(10_000) });
    expect(outcomes.map((o) => o.result)).toEqual(["gone", "sent"]);
    expect(removed).toEqual(["d"]);
    const live = fake.requests.find((r) => r.url === "https://api.sandbox.push.apple.com/3/device/live");
    if (!live) throw new Error("nothing sent to the sandbox");
    expect(live.body.byteLength).toBeLessThanOrEqual(4096);
    expect((JSON.parse(live.text) as { aps: { alert: { body: string } } }).aps.alert.body).toMatch(/^y{1000,}…$/);
  });
});
