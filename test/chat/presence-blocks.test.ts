// Presence (device-aware last activity, subscriptions, online_list, activity_status) and block lists.
import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { TestSocket, gatewayOfSession, inboxOfUser, isRecord, type Frame } from "../helpers/socket";
import { connectedSocket, createOrganization, signUp } from "../helpers/users";

/** How long a test waits before it says "no last_activity came"; each such test shows the same wait does see one that is sent. */
const QUIET_MS = 300;
const quiet = () => new Promise((r) => setTimeout(r, QUIET_MS));

const isActivityOf = (uid: string) => (f: Frame) => typeof f.last_activity === "object" && f.last_activity !== null && uid in f.last_activity;

async function privateChat(socket: TestSocket, otherId: string): Promise<string> {
  const response = await socket.request("conversation_create", { type: "u", participants: [otherId] });
  return (response.conversation as Frame)._id as string;
}

describe("last activity", () => {
  it("reports 0 while any device is online and broadcasts offline only when the last socket closes", async () => {
    const watcher = await signUp();
    const target = await signUp();
    const { socket: w } = await connectedSocket(watcher);
    // Offline: last-seen seconds.
    const before = await w.request("user_last_activity_subscribe", { id: target.id });
    expect((before.last_activity as Record<string, number>)[target.id]).toBeGreaterThan(1_700_000_000);

    const online = w.next(isActivityOf(target.id));
    const { socket: phone } = await connectedSocket(target);
    expect(await online).toEqual({ last_activity: { [target.id]: 0 } });
    const { socket: laptop } = await connectedSocket(target);
    expect((await w.request("user_last_activity", { ids: [target.id] })).last_activity).toEqual({ [target.id]: 0 });

    phone.close();
    // Still online through the laptop: no offline broadcast, still 0.
    await quiet();
    expect(w.frames.filter(isActivityOf(target.id))).toHaveLength(1);
    expect((await w.request("user_last_activity", { ids: [target.id] })).last_activity).toEqual({ [target.id]: 0 });

    // The control: the same wait sees the offline broadcast when the last socket goes.
    laptop.close();
    await quiet();
    const activity = w.frames.filter(isActivityOf(target.id));
    expect(activity).toHaveLength(2);
    const seen = (activity[1]!.last_activity as Record<string, number>)[target.id]!;
    expect(seen).toBeGreaterThan(0);
    expect(Math.abs(seen - Date.now() / 1000)).toBeLessThan(5);
  });

  for (const via of ["the next deliveries", "the liveness alarm"] as const) {
    it(`takes a user offline whose Gateway object died (aborted: no close event) with ${via}`, async () => {
      const [watcher, target, sender] = [await signUp(), await signUp(), await signUp()];
      const { socket: w } = await connectedSocket(watcher);
      await w.request("user_last_activity_subscribe", { id: target.id });
      // Alone on its Gateway: aborting it kills the target's socket only.
      const { socket: t } = await connectedSocket(target, undefined, `alone-${target.id}`);
      const { socket: s } = await connectedSocket(sender);
      const cid = await privateChat(s, target.id);
      const say = async (body: string) => {
        const ask = s.next((f) => isRecord(f.ask) && f.ask.mid === body);
        s.send({ message: { id: body, cid, body } });
        await ask;
      };
      const arrived = t.next((f) => isRecord(f.message) && f.message.body === "before");
      await say("before"); // the target's Inbox has called its Session
      await arrived;
      const inbox = () => inboxOfUser(target);
      const [session] = await runInDurableObject(inbox(), (_o, state) => state.storage.sql.exec<{ session_id: string }>("SELECT session_id FROM sessions").toArray());
      await gatewayOfSession(session!.session_id).testAbort().catch(() => undefined);
      await t.closed;
      // No close event reached the Inbox: the calls that follow find the socket gone.
      const offline = w.next((f) => isActivityOf(target.id)(f) && (f.last_activity as Record<string, number>)[target.id]! > 0, 10_000);
      for (let i = 0; i < 3; i++) {
        if (via === "the next deliveries") await say(`after ${i}`);
        else await runDurableObjectAlarm(inbox());
      }
      expect(((await offline).last_activity as Record<string, number>)[target.id]).toBeGreaterThan(0);
    }, 20_000);
  }

  it("ends online after a quick reconnect (a page reload): close and reconnect at once", async () => {
    const watcher = await signUp();
    const target = await signUp();
    const { socket: w } = await connectedSocket(watcher);
    await w.request("user_last_activity_subscribe", { id: target.id });
    const { socket: first, login } = await connectedSocket(target);
    first.close();
    const second = await TestSocket.open();
    await second.request("connect", { token: login.accessToken, device_id: login.deviceId });
    await new Promise((r) => setTimeout(r, 400));
    const pushed = w.frames.filter(isActivityOf(target.id)).map((f) => (f.last_activity as Record<string, number>)[target.id]);
    expect(pushed.at(-1)).toBe(0);
    expect((await w.request("user_last_activity", { ids: [target.id] })).last_activity).toEqual({ [target.id]: 0 });
  });

  it("keeps one subscription per observer and stops after unsubscribe", async () => {
    const watcher = await signUp();
    const first = await signUp();
    const second = await signUp();
    const { socket: w } = await connectedSocket(watcher);
    await w.request("user_last_activity_subscribe", { id: first.id });
    await w.request("user_last_activity_subscribe", { id: second.id });
    await connectedSocket(first);
    const secondOnline = w.next(isActivityOf(second.id));
    const { socket: secondSocket } = await connectedSocket(second);
    await secondOnline;
    expect(w.frames.filter(isActivityOf(first.id))).toHaveLength(0);
    expect(await w.request("user_last_activity_unsubscribe", {})).toMatchObject({ success: true });
    // After unsubscribing, the target going offline reaches the watcher no more.
    secondSocket.close();
    await quiet();
    expect(w.frames.filter(isActivityOf(second.id))).toHaveLength(1);
    // The control: subscribed again, the same wait sees the target come back online.
    await w.request("user_last_activity_subscribe", { id: second.id });
    await connectedSocket(second);
    await quiet();
    expect(w.frames.filter(isActivityOf(second.id)).map((f) => (f.last_activity as Record<string, number>)[second.id])).toEqual([0, 0]);
  });

  it("refuses unknown users and users of other organizations", async () => {
    const org = await createOrganization();
    const stranger = await signUp({ organizationId: org });
    const { socket } = await connectedSocket(await signUp());
    expect(await socket.requestError("user_last_activity_subscribe", { id: stranger.id })).toEqual({ status: 422, message: "The specified user is incorrect." });
    expect(await socket.requestError("user_last_activity_subscribe", {})).toEqual({ status: 422, message: "User ID missed." });
    expect((await socket.request("user_last_activity", { ids: [stranger.id] })).last_activity).toEqual({});
    expect(await socket.requestError("user_last_activity", {})).toEqual({ status: 422, message: '"ids" is required' });
  });
});

describe("online_list", () => {
  it("counts and lists online users of the organization without secrets", async () => {
    const org = await createOrganization();
    const a = await signUp({ organizationId: org });
    const b = await signUp({ organizationId: org });
    await signUp({ organizationId: org }); // offline
    const { socket } = await connectedSocket(a);
    await connectedSocket(b);
    expect(await socket.request("online_list", { count: true })).toMatchObject({ count: 2 });
    const ids = (await socket.request("online_list", { idsOnly: true })).users as string[];
    expect(ids.sort()).toEqual([a.id, b.id].sort());
    const full = await socket.request("online_list", { limit: 1, offset: 1 });
    expect(full.users).toHaveLength(1);
    expect(JSON.stringify(full)).not.toMatch(/password|salt/i);
    expect(await socket.requestError("online_list", { limit: 101 })).toEqual({ status: 422, message: '"limit" must be less than or equal to 100' });
  });
});

describe("activity_status", () => {
  it("accepts the background flag and keeps delivering", async () => {
    const alice = await signUp();
    const bob = await signUp();
    const { socket: a } = await connectedSocket(alice);
    const { socket: b } = await connectedSocket(bob);
    expect(await b.request("activity_status", { isInactive: true })).toMatchObject({ success: true });
    const cid = await privateChat(a, bob.id);
    const got = b.next((f) => typeof f.message === "object");
    a.send({ message: { id: "m", cid, body: "still there?" } });
    expect(((await got).message as Frame).body).toBe("still there?");
    expect(await b.requestError("activity_status", { isInactive: "yes" })).toEqual({ status: 422, message: '"isInactive" must be a boolean' });
  });
});

describe("block list", () => {
  it("stops messages and typing in a private chat in both directions while enabled", async () => {
    const alice = await signUp();
    const bob = await signUp();
    const { socket: a } = await connectedSocket(alice);
    const { socket: b } = await connectedSocket(bob);
    const cid = await privateChat(a, bob.id);
    const blocked = { status: 422, message: "Communication is not possible - you are in a block list of the recipient." };

    expect(await a.request("block_user", { ids: [bob.id] })).toMatchObject({ success: true });
    expect(await a.request("block_user", { ids: [bob.id] })).toMatchObject({ success: true }); // twice is fine
    expect((await a.request("list_blocked_users", {})).users).toEqual([bob.id]);

    const refused = b.next((f) => typeof f.message === "object" && (f.message as Frame).id === "b1");
    b.send({ message: { id: "b1", cid, body: "hey" } });
    expect(((await refused).message as Frame).error).toEqual(blocked);
    const typingRefused = b.next((f) => typeof f.typing === "object");
    b.send({ typing: { cid, status: "start" } });
    expect(((await typingRefused).typing as Frame).error).toEqual(blocked);

    // Turning the list off lifts the block without forgetting it.
    await a.request("block_list_enable", { enable: false });
    const ask = b.next((f) => typeof f.ask === "object");
    b.send({ message: { id: "b2", cid, body: "hey again" } });
    expect(((await ask).ask as Frame).mid).toBe("b2");
    await a.request("block_list_enable", { enable: true });
    const again = b.next((f) => typeof f.message === "object" && (f.message as Frame).id === "b3");
    b.send({ message: { id: "b3", cid, body: "and now?" } });
    expect(((await again).message as Frame).error).toEqual(blocked);

    await a.request("unblock_user", { ids: [bob.id] });
    expect((await a.request("list_blocked_users", {})).users).toEqual([]);
    const after = b.next((f) => typeof f.ask === "object" && (f.ask as Frame).mid === "b4");
    b.send({ message: { id: "b4", cid, body: "friends" } });
    await after;
  });

  it("applies to a private chat created after the block, and not to groups", async () => {
    const alice = await signUp();
    const bob = await signUp();
    const carol = await signUp();
    const { socket: a } = await connectedSocket(alice);
    const { socket: b } = await connectedSocket(bob);
    await b.request("block_user", { ids: [alice.id] });
    const cid = await privateChat(a, bob.id);
    const refused = a.next((f) => typeof f.message === "object" && (f.message as Frame).id === "a1");
    a.send({ message: { id: "a1", cid, body: "hi" } });
    expect(((await refused).message as Frame).error).toMatchObject({ status: 422 });
    const group = await a.request("conversation_create", { type: "g", name: "g", participants: [bob.id, carol.id] });
    const gid = (group.conversation as Frame)._id as string;
    const ask = a.next((f) => typeof f.ask === "object" && (f.ask as Frame).mid === "a2");
    a.send({ message: { id: "a2", cid: gid, body: "group is fine" } });
    await ask;
  });

  it("validates ids and refuses blocking oneself", async () => {
    const me = await signUp();
    const { socket } = await connectedSocket(me);
    expect(await socket.requestError("block_user", { ids: [me.id] })).toEqual({ status: 422, message: "Can't block self user." });
    expect(await socket.requestError("block_user", {})).toEqual({ status: 400, message: "Bad request - invalid data format" });
    expect(await socket.requestError("block_user", { ids: [{}] })).toEqual({ status: 400, message: "Bad request - invalid data format" });
    // As SAMA: a string id shorter than an id (24 characters) is refused, in either request; a well-formed unknown one is ignored.
    for (const action of ["block_user", "unblock_user"]) {
      for (const bad of ["", "abc", "0123456789abcdef0123456"]) {
        expect(await socket.requestError(action, { ids: [bad] })).toEqual({ status: 400, message: "Bad request - invalid data format" });
      }
      expect(await socket.request(action, { ids: ["0123456789abcdef01234567"] })).toMatchObject({ success: true });
    }
    expect(await socket.request("list_blocked_users", {})).toMatchObject({ users: [] });
    expect(await socket.requestError("block_list_enable", {})).toEqual({ status: 422, message: '"enable" is required' });
  });
});
