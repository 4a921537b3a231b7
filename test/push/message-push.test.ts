// Messages reach recipients without an active device as Web Push (SAMA §3.7): offline users and
// users whose only sockets are in the background get one; an active device means no push; the
// author never gets one for their own message.
import { evictDurableObject, runDurableObjectAlarm } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import { pushVarsOf } from "../../src/push/config";
import type { Frame, TestSocket } from "../helpers/socket";
import { connectedSocket, signUp, type TestUser } from "../helpers/users";
import { browserSubscription, decryptAes128gcm, record, verifyVapid, type BrowserSubscription, type RecordedRequest } from "./fakes";

const FAKE_SERVICE = "http://127.0.0.1:9";
/** How long a test waits before it says "no push was sent"; each such test shows the same wait does see one that is. */
const QUIET_MS = 300;
const quiet = () => new Promise((r) => setTimeout(r, QUIET_MS));
const testVars = pushVarsOf(env);

function spyOnPushService(): RecordedRequest[] {
  const realFetch = globalThis.fetch;
  const seen: RecordedRequest[] = [];
  vi.spyOn(globalThis, "fetch").mockImplementation(async (input, init) => {
    const url = typeof input === "string" ? input : input instanceof URL ? input.href : input.url;
    if (!url.startsWith(`${FAKE_SERVICE}/`)) return realFetch(input, init);
    seen.push(await record(url, init));
    return new Response(null, { status: 201 });
  });
  return seen;
}

afterEach(() => {
  vi.restoreAllMocks();
});

async function subscribe(socket: TestSocket, name: string): Promise<BrowserSubscription> {
  const sub = await browserSubscription(`${FAKE_SERVICE}/${name}`);
  await socket.request("push_subscription_create", { platform: "web", web_endpoint: sub.endpoint, web_key_auth: sub.auth, web_key_p256dh: sub.p256dh, device_udid: name });
  return sub;
}

async function chat(alice: TestUser, bob: TestUser) {
  const { socket: a } = await connectedSocket(alice);
  const created = await a.request("conversation_create", { type: "u", participants: [bob.id] });
  return { a, cid: (created.conversation as Frame)._id as string };
}

async function send(a: TestSocket, cid: string, id: string, body: string): Promise<void> {
  const ask = a.next((f) => typeof f.ask === "object" && (f.ask as Frame).mid === id);
  a.send({ message: { id, cid, body } });
  await ask;
}

/** Alice's private chat with Bob, who subscribed to pushes and went offline. */
async function chatWithOfflineSubscriber() {
  const alice = await signUp({ firstName: "Alice", lastName: "A" });
  const bob = await signUp();
  const { socket: b } = await connectedSocket(bob);
  const sub = await subscribe(b, `bob-${bob.id}`);
  b.close();
  return { ...(await chat(alice, bob)), sub };
}

describe("push for messages", () => {
  it("pushes to an offline recipient: SAMA's payload, encrypted for the subscription, VAPID-signed", async () => {
    const { a, cid, sub } = await chatWithOfflineSubscriber();
    const seen = spyOnPushService();
    await send(a, cid, "p1", "are you there?");
    await vi.waitFor(() => expect(seen.filter((r) => r.url === sub.endpoint)).toHaveLength(1), { timeout: 5000 });
    const push = seen.find((r) => r.url === sub.endpoint)!;
    expect(JSON.parse((await decryptAes128gcm(sub, push.body)).plaintext)).toEqual({
      title: "Alice A",
      body: "are you there?",
      cid,
      firstAttachmentUrl: null,
      is_encrypted: false,
    });
    await verifyVapid(push.headers.get("authorization"), { publicKey: testVars.VAPID_PUBLIC_KEY ?? "", audience: FAKE_SERVICE, subject: testVars.VAPID_SUBJECT ?? "" });
  });

  it("does not push to a recipient with an active device, and pushes once that device goes to the background", async () => {
    const alice = await signUp();
    const bob = await signUp();
    const { socket: b } = await connectedSocket(bob);
    const sub = await subscribe(b, `bob-${bob.id}`);
    const { a, cid } = await chat(alice, bob);
    const seen = spyOnPushService();
    const arrived = b.next((f) => typeof f.message === "object" && (f.message as Frame).body === "live");
    await send(a, cid, "l1", "live");
    await arrived;
    await quiet();
    expect(seen.filter((r) => r.url === sub.endpoint)).toHaveLength(0);

    // The control: the same wait sees the push once there is one.
    await b.request("activity_status", { isInactive: true });
    await send(a, cid, "l2", "backgrounded");
    await quiet();
    expect(seen.filter((r) => r.url === sub.endpoint)).toHaveLength(1);
    expect(JSON.parse((await decryptAes128gcm(sub, seen[0]!.body)).plaintext)).toMatchObject({ body: "backgrounded", cid });
  });

  it("never pushes the author's own message to the author", async () => {
    const alice = await signUp();
    const bob = await signUp();
    const { a, cid } = await chat(alice, bob);
    const mine = await subscribe(a, `alice-${alice.id}`);
    await a.request("activity_status", { isInactive: true });
    const seen = spyOnPushService();
    await send(a, cid, "o1", "to bob");
    // Bob (offline, no subscription) gets nothing to push to; give the background a moment.
    await quiet();
    expect(seen.filter((r) => r.url === mine.endpoint)).toHaveLength(0);
    // The control: the same wait sees Alice's push for Bob's answer.
    const { socket: b } = await connectedSocket(bob);
    await send(b, cid, "o2", "to alice");
    await quiet();
    expect(seen.filter((r) => r.url === mine.endpoint)).toHaveLength(1);
    expect(JSON.parse((await decryptAes128gcm(mine, seen.find((r) => r.url === mine.endpoint)!.body)).plaintext)).toMatchObject({ body: "to alice", cid });
  });

  it("pushes a backlog that reaches the Inbox in one call once, with its newest message", async () => {
    const { a, cid, sub } = await chatWithOfflineSubscriber();
    const conversation = env.CONVERSATION.get(env.CONVERSATION.idFromName(cid));
    const seen = spyOnPushService();
    const pushed = () => seen.filter((r) => r.url === sub.endpoint);
    await send(a, cid, "b0", "one at a time");
    await vi.waitFor(() => expect(pushed()).toHaveLength(1), { timeout: 5000 });
    // The fan-out held at its first recipient (Alice, the owner): Bob's packets wait in the table…
    await conversation.testHoldFanout(true);
    for (let i = 1; i <= 5; i++) await send(a, cid, `b${i}`, `backlog ${i}`);
    await quiet();
    expect(pushed()).toHaveLength(1);
    // …and a fresh instance's alarm hands them to Bob's Inbox in one call.
    await evictDurableObject(conversation);
    await runDurableObjectAlarm(conversation);
    await vi.waitFor(() => expect(pushed()).toHaveLength(2), { timeout: 5000 });
    await quiet();
    expect(pushed()).toHaveLength(2);
    expect(JSON.parse((await decryptAes128gcm(sub, pushed()[1]!.body)).plaintext)).toMatchObject({ body: "backlog 5", cid });
  });

  it("pushes conversation events to offline members: created, added, removed", async () => {
    const owner = await signUp({ firstName: "Olga" });
    const member = await signUp();
    const late = await signUp();
    const subs: BrowserSubscription[] = [];
    for (const user of [member, late]) {
      const { socket } = await connectedSocket(user);
      subs.push(await subscribe(socket, `event-${user.id}`));
      socket.close();
    }
    const seen = spyOnPushService();
    const { socket: o } = await connectedSocket(owner);
    const created = await o.request("conversation_create", { type: "g", name: "Team", participants: [member.id] });
    const cid = (created.conversation as Frame)._id as string;
    await o.request("conversation_update", { id: cid, participants: { add: [late.id], remove: [member.id] } });
    const bodies = async (sub: BrowserSubscription) => {
      const mine = seen.filter((r) => r.url === sub.endpoint);
      return Promise.all(mine.map(async (r) => JSON.parse((await decryptAes128gcm(sub, r.body)).plaintext) as Frame));
    };
    await vi.waitFor(async () => {
      expect((await bodies(subs[0]!)).map((p) => p.body)).toEqual(expect.arrayContaining(["Olga created a new conversation", "Olga removed you from conversation"]));
      expect((await bodies(subs[1]!)).map((p) => p.body)).toContain("Olga added you to conversation");
    }, { timeout: 5000 });
    expect((await bodies(subs[1]!)).find((p) => p.body === "Olga added you to conversation")).toMatchObject({ title: "Team", cid });
  });

  it("never pushes a new private chat (SAMA pushes the creation of groups and channels only)", async () => {
    const alice = await signUp({ firstName: "Alice" });
    const bob = await signUp();
    const { socket: b } = await connectedSocket(bob);
    const sub = await subscribe(b, `private-${bob.id}`);
    b.close();
    const seen = spyOnPushService();
    const { a, cid } = await chat(alice, bob);
    // The message is pushed after the chat's event: once it arrived, a push of the creation would have too.
    await send(a, cid, "u1", "first words");
    await vi.waitFor(() => expect(seen.filter((r) => r.url === sub.endpoint).length).toBeGreaterThan(0), { timeout: 5000 });
    await new Promise((r) => setTimeout(r, 300));
    const bodies = await Promise.all(seen.filter((r) => r.url === sub.endpoint).map(async (r) => (JSON.parse((await decryptAes128gcm(sub, r.body)).plaintext) as Frame).body));
    expect(bodies).toEqual(["first words"]);
  });

  it("links the first attachment, signed on PUBLIC_URL, only when the recipient may download it", async () => {
    const alice = await signUp();
    const bob = await signUp();
    const { socket: b } = await connectedSocket(bob);
    const sub = await subscribe(b, `attach-${bob.id}`);
    b.close();
    const { a, cid } = await chat(alice, bob);
    const fileOf = async (socket: TestSocket) =>
      (((await socket.request("create_files", [{ name: "x.png", size: 4, content_type: "image/png" }])).files as Frame[])[0]!.object_id as string);
    const mine = await fileOf(a);
    // Someone bob shares nothing with: naming their file must not hand bob a link to it.
    const stranger = (await connectedSocket(await signUp())).socket;
    const theirs = await fileOf(stranger);
    const seen = spyOnPushService();
    const payloads = async (count: number) => {
      await vi.waitFor(() => expect(seen.filter((r) => r.url === sub.endpoint)).toHaveLength(count), { timeout: 5000 });
      return Promise.all(seen.filter((r) => r.url === sub.endpoint).map(async (r) => JSON.parse((await decryptAes128gcm(sub, r.body)).plaintext) as Frame));
    };
    for (const [id, fileId] of [["att1", mine], ["att2", theirs]] as const) {
      const ask = a.next((f) => typeof f.ask === "object" && (f.ask as Frame).mid === id);
      a.send({ message: { id, cid, body: id, attachments: [{ file_id: fileId, file_name: "x.png" }] } });
      await ask;
      await payloads(id === "att1" ? 1 : 2);
    }
    const [first, second] = await payloads(2);
    expect(String(first!.firstAttachmentUrl)).toMatch(new RegExp(`^http://parley\\.test/files/${mine}\\?exp=\\d+&sig=`));
    expect(second!.firstAttachmentUrl).toBeNull();
  });
});

