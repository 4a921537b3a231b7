// push_subscription_create / _list / _delete and push_event_create over real sockets; the push that
// push_event_create sends is caught with a spy on globalThis.fetch and decrypted here.
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import { getDb } from "../../src/db/client";
import { pushDeps, pushToUser } from "../../src/push";
import { pushVarsOf } from "../../src/push/config";
import { deleteGoneSubscription } from "../../src/push/subscriptions";
import type { TestSocket } from "../helpers/socket";
import { connectedSocket, createOrganization, signUp, unique } from "../helpers/users";
import { browserSubscription, decryptAes128gcm, fakeFetch, record, verifyVapid, type BrowserSubscription, type RecordedRequest } from "./fakes";

const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
const OBJECT_ID = /^[0-9a-f]{24}$/;
const testVars = pushVarsOf(env);

async function signedIn() {
  const user = await signUp();
  const { socket } = await connectedSocket(user);
  return { user, socket };
}

function webParams(sub: BrowserSubscription, udid: string | number) {
  return { platform: "web", web_endpoint: sub.endpoint, web_key_auth: sub.auth, web_key_p256dh: sub.p256dh, device_udid: udid };
}

async function listOf(socket: TestSocket) {
  return (await socket.request("push_subscription_list", {})).subscriptions as Array<Record<string, unknown>>;
}

describe("push_subscription_create", () => {
  it("creates web and device subscriptions with only their set fields", async () => {
    const { user, socket } = await signedIn();
    const sub = await browserSubscription("https://fcm.googleapis.com/fcm/send/abc");
    const web = await socket.request("push_subscription_create", webParams(sub, "3280748290"));
    const subscription = web.subscription as Record<string, unknown>;
    expect(Object.keys(subscription).sort()).toEqual(
      ["_id", "organization_id", "user_id", "platform", "web_endpoint", "web_key_auth", "web_key_p256dh", "device_udid", "created_at", "updated_at"].sort(),
    );
    expect(subscription).toMatchObject({
      organization_id: "default",
      user_id: user.id,
      platform: "web",
      web_endpoint: sub.endpoint,
      web_key_auth: sub.auth,
      web_key_p256dh: sub.p256dh,
      device_udid: "3280748290",
    });
    expect(subscription._id).toMatch(OBJECT_ID);
    expect(subscription.created_at).toMatch(ISO);
    expect(subscription.updated_at).toMatch(ISO);

    const ios = (await socket.request("push_subscription_create", { platform: "ios", device_token: "apns-or-fcm-token", device_udid: 42 })).subscription as Record<string, unknown>;
    expect(Object.keys(ios).sort()).toEqual(["_id", "organization_id", "user_id", "platform", "device_udid", "device_token", "created_at", "updated_at"].sort());
    expect(ios).toMatchObject({ platform: "ios", device_token: "apns-or-fcm-token", device_udid: "42", user_id: user.id });
  });

  it("upserts per (user, device_udid): same _id and created_at, new fields, stale ones cleared", async () => {
    const { socket } = await signedIn();
    const first = await browserSubscription("https://fcm.googleapis.com/fcm/send/one");
    const second = await browserSubscription("https://updates.push.services.mozilla.com/wpush/v2/two");
    const a = (await socket.request("push_subscription_create", webParams(first, "dev-1"))).subscription as Record<string, unknown>;
    await new Promise((r) => setTimeout(r, 5));
    const b = (await socket.request("push_subscription_create", webParams(second, "dev-1"))).subscription as Record<string, unknown>;
    expect(b._id).toBe(a._id);
    expect(b.created_at).toBe(a.created_at);
    expect(b.web_endpoint).toBe(second.endpoint);
    expect(Date.parse(String(b.updated_at))).toBeGreaterThan(Date.parse(String(a.updated_at)));
    expect(await listOf(socket)).toEqual([b]);

    const c = (await socket.request("push_subscription_create", { platform: "android", device_token: "fcm-token", device_udid: "dev-1" })).subscription as Record<string, unknown>;
    expect(c._id).toBe(a._id);
    expect(c).not.toHaveProperty("web_endpoint");
    expect(c).not.toHaveProperty("web_key_auth");
    expect(await listOf(socket)).toEqual([c]);
  });

  it("answers SAMA's 422s, in SAMA's order", async () => {
    const { socket } = await signedIn();
    const sub = await browserSubscription("https://fcm.googleapis.com/fcm/send/x");
    const web = webParams(sub, "u1");
    const cases: Array<[Record<string, unknown>, string]> = [
      [{}, "Incorrect platform type."],
      [{ ...web, platform: "windows" }, "Incorrect platform type."],
      [{ ...web, platform: 1 }, "Incorrect platform type."],
      [{ platform: "web" }, "Incorrect token."],
      [{ platform: "ios", device_udid: "u1" }, "Incorrect token."],
      [{ ...web, device_token: "t" }, "Incorrect token."], // both: SAMA's validator crashes
      [{ ...web, web_endpoint: "" }, "Incorrect token."],
      [{ ...web, web_endpoint: 5 }, "Incorrect token."],
      [{ platform: "ios", web_endpoint: sub.endpoint, web_key_auth: "a", web_key_p256dh: "b", device_udid: "u1" }, "Incorrect token."],
      [{ platform: "web", device_token: "t", device_udid: "u1" }, "Incorrect token."],
      [{ platform: "web", web_endpoint: sub.endpoint, device_udid: "u1" }, "Incorrect keys."],
      [{ platform: "web", web_endpoint: sub.endpoint, web_key_auth: sub.auth, device_udid: "u1" }, "Incorrect keys."],
      [{ ...web, web_key_p256dh: "" }, "Incorrect keys."],
      [{ platform: "web", web_endpoint: sub.endpoint }, "Incorrect keys."],
      [{ ...web, device_udid: undefined }, "Incorrect device id."],
      [{ platform: "android", device_token: "t" }, "Incorrect device id."],
      [{ platform: "android", device_token: "t", device_udid: "" }, "Incorrect device id."],
      [{ platform: "android", device_token: "t", device_udid: { id: 1 } }, "Incorrect device id."],
    ];
    for (const [params, message] of cases) {
      expect({ params, error: await socket.requestError("push_subscription_create", params) }).toEqual({ params, error: { status: 422, message } });
    }
    expect(await listOf(socket)).toEqual([]);
  });

  it("needs a signed-in socket", async () => {
    const { socket } = await signedIn();
    await socket.request("user_logout", {});
    expect(await socket.requestError("push_subscription_create", { platform: "ios", device_token: "t", device_udid: "1" })).toEqual({ status: 401, message: "Unauthorized." });
  });
});

describe("push_subscription_list and push_subscription_delete", () => {
  it("lists only the caller's subscriptions, whatever user_id says", async () => {
    const me = await signedIn();
    const other = await signedIn();
    await me.socket.request("push_subscription_create", { platform: "ios", device_token: "mine-1", device_udid: "a" });
    await me.socket.request("push_subscription_create", { platform: "android", device_token: "mine-2", device_udid: "b" });
    await other.socket.request("push_subscription_create", { platform: "android", device_token: "theirs", device_udid: "a" });
    for (const params of [{}, { user_id: other.user.id }, { user_id: me.user.id }]) {
      const list = (await me.socket.request("push_subscription_list", params)).subscriptions as Array<Record<string, unknown>>;
      expect(list.map((s) => s.device_token).sort()).toEqual(["mine-1", "mine-2"]);
      expect(list.every((s) => s.user_id === me.user.id)).toBe(true);
    }
  });

  it("deletes by device_udid; a second delete, another user's device or a missing udid are 422s", async () => {
    const me = await signedIn();
    const other = await signedIn();
    await me.socket.request("push_subscription_create", { platform: "ios", device_token: "t", device_udid: 77 });
    await other.socket.request("push_subscription_create", { platform: "ios", device_token: "t2", device_udid: "theirs" });
    expect(await me.socket.requestError("push_subscription_delete", {})).toEqual({ status: 422, message: "'device_id' is required." });
    expect(await me.socket.requestError("push_subscription_delete", { device_udid: "" })).toEqual({ status: 422, message: "'device_id' is required." });
    expect(await me.socket.requestError("push_subscription_delete", { device_udid: "theirs" })).toEqual({ status: 422, message: "Push notification record not found." });
    const ok = await me.socket.request("push_subscription_delete", { device_udid: "77" });
    expect(ok).toMatchObject({ success: true });
    expect(await me.socket.requestError("push_subscription_delete", { device_udid: 77 })).toEqual({ status: 422, message: "Push notification record not found." });
    expect(await listOf(me.socket)).toEqual([]);
    expect(await listOf(other.socket)).toHaveLength(1);
  });
});

/** The loopback "push service" the spied fetch plays (PUSH_ALLOW_LOOPBACK is on in the tests). */
const FAKE_SERVICE = "http://127.0.0.1:9";

function spyOnPushService(answer: (req: RecordedRequest) => Response) {
  const realFetch = globalThis.fetch;
  const seen: RecordedRequest[] = [];
  const spy = vi.spyOn(globalThis, "fetch").mockImplementation(async (input, init) => {
    const url = typeof input === "string" ? input : input instanceof URL ? input.href : input.url;
    if (!url.startsWith(`${FAKE_SERVICE}/`)) return realFetch(input, init);
    // Copy the body here: a stream created by the Worker cannot be read later from the test.
    const req = await record(url, init);
    seen.push(req);
    return answer(req);
  });
  return { spy, seen };
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe("push_event_create", () => {
  it("validates recipients and message like SAMA", async () => {
    const { socket } = await signedIn();
    const peer = await signUp();
    const stranger = await signUp({ organizationId: await createOrganization() });
    const ok = { recipients_ids: [peer.id], message: { title: "t" } };
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ message: { title: "t" } }, "Incorrect recipients IDs."],
      [{ ...ok, recipients_ids: [] }, "Incorrect recipients IDs."],
      [{ ...ok, recipients_ids: peer.id }, "Incorrect recipients IDs."],
      [{ ...ok, recipients_ids: [null] }, "Incorrect recipients IDs."],
      [{ recipients_ids: [peer.id] }, "Notification message missed."],
      [{ ...ok, message: "hello" }, "Notification message missed."],
      [{ ...ok, message: { title: "t", extra: "x" } }, "Notification message missed."],
      [{ ...ok, message: { body: 5 } }, "Notification message missed."],
      [{ ...ok, recipients_ids: [stranger.id] }, "Recipients not found."],
      [{ ...ok, recipients_ids: ["0123456789abcdef01234567"] }, "Recipients not found."],
    ];
    for (const [params, message] of cases) {
      expect({ params, error: await socket.requestError("push_event_create", params) }).toEqual({ params, error: { status: 422, message } });
    }
  });

  it("stores the event (base64 message, recipients of the caller's organization) and pushes to every subscription", async () => {
    const sender = await signedIn();
    const alice = await signedIn(); // online: pushed anyway, as SAMA does
    const bob = await signUp();
    const stranger = await signUp({ organizationId: await createOrganization() });
    const run = unique("run");
    const aliceLaptop = await browserSubscription(`${FAKE_SERVICE}/${run}/alice-laptop`);
    const alicePhone = await browserSubscription(`${FAKE_SERVICE}/${run}/alice-old-browser-gone`);
    const bobDesk = await browserSubscription(`${FAKE_SERVICE}/${run}/bob-desk`);
    await alice.socket.request("push_subscription_create", webParams(aliceLaptop, "laptop"));
    await alice.socket.request("push_subscription_create", webParams(alicePhone, "old-browser"));
    await alice.socket.request("push_subscription_create", { platform: "android", device_token: "no-fcm-in-tests", device_udid: "phone" });
    const { socket: bobSocket } = await connectedSocket(bob);
    await bobSocket.request("push_subscription_create", webParams(bobDesk, "desk"));
    bobSocket.close();

    const { seen } = spyOnPushService((req) => new Response(null, { status: req.url.endsWith("-gone") ? 410 : 201 }));
    const message = { title: "Title", topic: "t", body: "Body ✓", message: "payload" };
    const response = await sender.socket.request("push_event_create", { recipients_ids: [alice.user.id, stranger.id, bob.id, alice.user.id], message });
    const event = response.event as Record<string, unknown>;
    expect(Object.keys(event).sort()).toEqual(["_id", "user_id", "user_ids", "message", "created_at", "updated_at"].sort());
    expect(event).toMatchObject({ user_id: sender.user.id, user_ids: [alice.user.id, bob.id] });
    expect(event._id).toMatch(OBJECT_ID);
    expect(event.created_at).toMatch(ISO);
    const stored = Uint8Array.from(atob(String(event.message)), (c) => c.charCodeAt(0));
    expect(JSON.parse(new TextDecoder().decode(stored))).toEqual(message);

    await vi.waitFor(() => expect(seen).toHaveLength(3), { timeout: 5000 });
    const subs = new Map([aliceLaptop, alicePhone, bobDesk].map((s) => [s.endpoint, s]));
    for (const req of seen) {
      const sub = subs.get(req.url);
      if (!sub) throw new Error(`unexpected push to ${req.url}`);
      expect(req.method).toBe("POST");
      expect(req.headers.get("content-encoding")).toBe("aes128gcm");
      expect(JSON.parse((await decryptAes128gcm(sub, req.body)).plaintext)).toEqual(message);
      await verifyVapid(req.headers.get("authorization"), { publicKey: testVars.VAPID_PUBLIC_KEY ?? "", audience: FAKE_SERVICE, subject: testVars.VAPID_SUBJECT ?? "" });
    }

    // The subscription answered 410 is deleted; the others stay.
    await vi.waitFor(async () => expect((await listOf(alice.socket)).map((s) => s.device_udid).sort()).toEqual(["laptop", "phone"]), { timeout: 5000 });
  });
});

describe("pushToUser (for the message path)", () => {
  it("loads the user's subscriptions, sends, and deletes gone ones", async () => {
    const { user, socket } = await signedIn();
    const run = unique("run");
    const live = await browserSubscription(`${FAKE_SERVICE}/${run}/live`);
    const dead = await browserSubscription(`${FAKE_SERVICE}/${run}/dead`);
    await socket.request("push_subscription_create", webParams(live, "live"));
    await socket.request("push_subscription_create", webParams(dead, "dead"));
    const fake = fakeFetch((req) => new Response(null, { status: req.url.endsWith("/dead") ? 410 : 201 }));
    const payload = { title: "bob", body: "hello", cid: "6650aaaaaaaaaaaaaaaaaac3", firstAttachmentUrl: null, is_encrypted: false };
    const outcomes = await pushToUser(pushDeps(env, getDb(env), fake.fetch), user.organizationId, user.id, payload);
    expect(outcomes.map((o) => o.result).sort()).toEqual(["gone", "sent"]);
    const sent = fake.requests.find((r) => r.url === live.endpoint);
    if (!sent) throw new Error("nothing sent to the live subscription");
    expect(JSON.parse((await decryptAes128gcm(live, sent.body)).plaintext)).toEqual(payload);
    expect((await listOf(socket)).map((s) => s.device_udid)).toEqual(["live"]);
    // Another organization's id never matches.
    expect(await pushToUser(pushDeps(env, getDb(env), fake.fetch), "another-org", user.id, payload)).toEqual([]);
  });

  it("does not delete a subscription re-created for the device with a new endpoint after the 410", async () => {
    const { socket } = await signedIn();
    const run = unique("run");
    const old = await browserSubscription(`${FAKE_SERVICE}/${run}/old`);
    const fresh = await browserSubscription(`${FAKE_SERVICE}/${run}/fresh`);
    const created = (await socket.request("push_subscription_create", webParams(old, "browser"))).subscription as Record<string, unknown>;
    const staleTarget = { id: String(created._id), platform: "web" as const, webEndpoint: old.endpoint, webKeyAuth: old.auth, webKeyP256dh: old.p256dh, deviceToken: null };
    await socket.request("push_subscription_create", webParams(fresh, "browser")); // same row id, new endpoint
    await deleteGoneSubscription({ db: getDb(env) }, staleTarget);
    expect((await listOf(socket)).map((s) => s.web_endpoint)).toEqual([fresh.endpoint]);
    await deleteGoneSubscription({ db: getDb(env) }, { ...staleTarget, webEndpoint: fresh.endpoint });
    expect(await listOf(socket)).toEqual([]);
  });
});
