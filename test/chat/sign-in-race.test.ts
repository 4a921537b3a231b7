// A socket signing in is registered with its user's Inbox before the socket knows who it is (the
// Inbox must be able to revoke it first). A call from the Inbox that reaches the socket's Gateway in
// between must see it as that user's: a packet is held and sent right after the sign-in's answer, the
// liveness check finds it alive, a revocation stops the sign-in. Each used to take the socket for
// someone else's, and the Inbox dropped the session it had just registered: the open socket got no
// live packet again until it reconnected (and a revoked device's socket stayed signed in). The
// Gateway's test hook holds the sign-in until such a call has reached it. A revocation that reaches
// the Inbox before the socket registered there (its token checked before the revocation) must stop
// the sign-in too: another hook holds the sign-in between its token check and its registration.
// A sign-in refused after its registration (its token checked again and found revoked, or the check
// failing) leaves the socket as it was: the Inbox holds it as before, or not at all. So does one whose
// registration fails midway (the Inbox's test hook fails it once the session is registered).
import { env } from "cloudflare:workers";
import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { TestSocket, inboxOfUser, isRecord, namedGateway, type Frame } from "../helpers/socket";
import { http, loginHttp, unique, type Login, type TestUser } from "../helpers/users";
import { createConversation, device, eventually, nextPacket, received, send, tab, users } from "./messages-fixtures";


async function inboxSessions(user: TestUser): Promise<string[]> {
  return runInDurableObject(inboxOfUser(user), (_o, state) => state.storage.sql.exec<{ session_id: string }>("SELECT session_id FROM sessions").toArray().map((r) => r.session_id));
}

/** The devices the user's Inbox holds sessions of, one entry a session. */
async function inboxDevices(user: TestUser): Promise<string[]> {
  return runInDurableObject(inboxOfUser(user), (_o, state) => state.storage.sql.exec<{ device_id: string }>("SELECT device_id FROM sessions").toArray().map((r) => r.device_id));
}

/** The device signs out (POST /logout): every token of it is revoked. */
async function logout(login: Login): Promise<void> {
  const res = await http("POST", "/logout", { headers: { Authorization: `Bearer ${login.accessToken}`, Cookie: login.cookie } });
  expect(res.status).toBe(200);
}

/** `connect` on `socket` with `login`, held after its token check until `meanwhile` has run. */
async function connectAround(socket: TestSocket, gateway: string, login: Login, meanwhile: () => Promise<void>): Promise<Frame> {
  const held = namedGateway(gateway);
  await held.testHold("registration");
  const connected = socket.request("connect", { token: login.accessToken, device_id: login.deviceId }, "connect");
  await held.testReached("registration");
  await meanwhile();
  await held.testRelease("registration");
  return connected;
}

/** `signIn` sent while the user's Inbox fails its next registration once it is made (its answer lost). */
async function attachFailing(user: TestUser, signIn: () => Promise<Frame>): Promise<Frame> {
  const inbox = inboxOfUser(user);
  await inbox.testHold("attach");
  const answer = signIn();
  await inbox.testReached("attach");
  await inbox.testRelease("attach", true);
  return answer;
}

/** A sign-in of a signed-out socket that failed after its registration: 500, the Inbox holds no session of it, the socket signs in again and is reached live. */
async function expectLetGo(connected: Frame, { b, author, cid }: { b: TestUser; author: TestSocket; cid: string }, socket: TestSocket, login: Login): Promise<void> {
  expect(connected).toEqual({ id: "connect", error: { status: 500, message: "Internal server error." } });
  expect(await inboxSessions(b)).toEqual([]);
  expect(await socket.request("user_search", { keyword: "zz-nobody" })).toMatchObject({ error: { status: 401, message: "Unauthorized." } });
  expect(await socket.request("connect", { token: login.accessToken, device_id: login.deviceId })).toMatchObject({ success: true });
  await say(author, cid, socket, "signed in");
  expect(received(socket, "message").map((m) => m.body)).toEqual(["signed in"]);
  expect(await inboxSessions(b)).toHaveLength(1);
}

/** A's socket and a private chat of A and B whose creation has reached B's Inbox (nothing of it is still on its way). */
async function pair(): Promise<{ a: TestUser; b: TestUser; author: TestSocket; cid: string }> {
  const [a, b] = (await users(2)) as [TestUser, TestUser];
  const author = await tab(await device(a));
  const cid = await createConversation(author, "u", [b.id]);
  await eventually(async () => expect((await inboxOfUser(b).sync(null)).events).toHaveLength(1));
  return { a, b, author, cid };
}

/** B signed in on a first device, its socket alone on its own Gateway, and a second device's login to sign that socket in with. */
async function onFirstDevice(): Promise<{ b: TestUser; author: TestSocket; cid: string; first: Login; gateway: string; socket: TestSocket; second: Login }> {
  const { b, author, cid } = await pair();
  const first = await device(b);
  const gateway = unique("sign-in-race");
  const socket = await tab(first, gateway);
  return { b, author, cid, first: first.login, gateway, socket, second: (await device(b)).login };
}

/** B's socket, alone on its Gateway, with its `connect` sent and held once B's Inbox registered it. */
async function signingIn(b: TestUser): Promise<{ socket: TestSocket; login: Login; connected: Promise<Frame> }> {
  const login = (await device(b)).login;
  const gateway = unique("sign-in-race");
  const socket = await TestSocket.open("/", gateway);
  await namedGateway(gateway).testHoldSignIn();
  const connected = socket.request("connect", { token: login.accessToken, device_id: login.deviceId }, "connect");
  await eventually(async () => expect(await inboxSessions(b)).toHaveLength(1));
  return { socket, login, connected };
}

/** Sends `body` from the author and gives it `waitMs` to arrive on `socket`. */
async function say(author: TestSocket, cid: string, socket: TestSocket, body: string, waitMs = 5000): Promise<void> {
  await send(author, cid, { body });
  await nextPacket(socket, "message", (m) => m.body === body, waitMs).catch(() => undefined);
}

describe("a call from the Inbox that reaches a socket while it signs in as the Inbox's user", () => {
  it("a packet comes right after the sign-in's answer, and the socket stays reached live", { timeout: 20_000 }, async () => {
    const { b, author, cid } = await pair();
    const { socket, connected } = await signingIn(b);
    await send(author, cid, { body: "during" });
    expect((await connected).success).toBe(true);
    await nextPacket(socket, "message", (m) => m.body === "during").catch(() => undefined);
    await say(author, cid, socket, "after");

    expect(received(socket, "message").map((m) => m.body)).toEqual(["during", "after"]);
    expect(await inboxSessions(b)).toHaveLength(1);
    // The client hears that it is signed in before it hears of anything its user was sent.
    const answerAt = socket.frames.findIndex((f) => isRecord(f.response) && f.response.id === "connect");
    const packetAt = socket.frames.findIndex((f) => isRecord(f.message));
    expect(answerAt).toBeLessThan(packetAt);
  });

  it("the liveness check finds it alive, and it stays reached live", { timeout: 20_000 }, async () => {
    const { b, author, cid } = await pair();
    const { socket, connected } = await signingIn(b);
    // The first sign-in arms the check (right after registering the session): run it now.
    await eventually(async () => expect(await runDurableObjectAlarm(inboxOfUser(b))).toBe(true));
    expect((await connected).success).toBe(true);
    await say(author, cid, socket, "after");

    expect(received(socket, "message").map((m) => m.body)).toEqual(["after"]);
    expect(await inboxSessions(b)).toHaveLength(1);
  });

  it("revoking its device refuses the sign-in: the socket is not left signed in", { timeout: 20_000 }, async () => {
    const { b, author, cid } = await pair();
    const { socket, login, connected } = await signingIn(b);
    await logout(login);
    expect(await connected).toEqual({ id: "connect", error: { status: 422, message: "The token has expired." } });
    expect(await socket.request("user_search", { keyword: "zz-nobody" })).toMatchObject({ error: { status: 401, message: "Unauthorized." } });
    await say(author, cid, socket, "after", 500); // the other tests see theirs well within this

    expect(received(socket, "message")).toEqual([]);
    expect(await inboxSessions(b)).toEqual([]);
  });
});

describe("a revocation between a sign-in's token check and its registration with the Inbox", () => {
  it("refuses the sign-in: the socket is not left signed in with a revoked token", { timeout: 20_000 }, async () => {
    const { b, author, cid } = await pair();
    const login = (await device(b)).login;
    const gateway = unique("sign-in-race");
    const socket = await TestSocket.open("/", gateway);
    // Its token was checked (live then); the device signs out: its Inbox has no session of it yet to stop.
    const connected = await connectAround(socket, gateway, login, () => logout(login));
    expect(connected).toEqual({ id: "connect", error: { status: 422, message: "The token has expired." } });
    expect(await socket.request("user_search", { keyword: "zz-nobody" })).toMatchObject({ error: { status: 401, message: "Unauthorized." } });
    await say(author, cid, socket, "after", 500);
    expect(received(socket, "message")).toEqual([]);
    expect(await inboxSessions(b)).toEqual([]);

    // The device signs in again with a token issued since: its check comes after the revocation.
    const again = await loginHttp(b, login.deviceId);
    expect(await socket.request("connect", { token: again.accessToken, device_id: again.deviceId })).toMatchObject({ success: true });
    await say(author, cid, socket, "signed in again");
    expect(received(socket, "message").map((m) => m.body)).toEqual(["signed in again"]);
    expect(await inboxSessions(b)).toHaveLength(1);
  });
});

describe("a sign-in refused once the Inbox registered it", () => {
  it("whose token check fails (a row it reads cannot be read): answers 500, the Inbox lets the socket go, the socket works on", { timeout: 20_000 }, async () => {
    const { b, author, cid } = await pair();
    const login = (await device(b)).login;
    const gateway = unique("sign-in-race");
    const socket = await TestSocket.open("/", gateway);
    const unreadable = env.DB.prepare("UPDATE users SET avatar_object = ? WHERE id = ?");
    const connected = await connectAround(socket, gateway, login, async () => {
      // A revocation of the device reached the Inbox (the sign-in checks its token again)...
      await inboxOfUser(b).signOutSessions(b.id, login.deviceId);
      // ...and the check fails: B's row no longer parses (its avatar is not JSON).
      await unreadable.bind("{not json", b.id).run();
    });
    await unreadable.bind(null, b.id).run();

    await expectLetGo(connected, { b, author, cid }, socket, login);
  });

  it("whose registration fails midway (registered, no answer): the Inbox lets the socket go, the socket works on", { timeout: 20_000 }, async () => {
    const { b, author, cid } = await pair();
    const login = (await device(b)).login;
    const socket = await TestSocket.open("/", unique("sign-in-race"));
    const connected = await attachFailing(b, () => socket.request("connect", { token: login.accessToken, device_id: login.deviceId }, "connect"));

    await expectLetGo(connected, { b, author, cid }, socket, login);
  });

  it("signing a socket of the user in on another device, its registration failing midway: it stays on its own device, reached by its revocation", { timeout: 20_000 }, async () => {
    const { b, first, socket, second } = await onFirstDevice();
    const connected = await attachFailing(b, () => socket.request("connect", { token: second.accessToken, device_id: second.deviceId }, "connect"));

    expect(connected).toEqual({ id: "connect", error: { status: 500, message: "Internal server error." } });
    expect(await inboxDevices(b)).toEqual([first.deviceId]);
    expect(await socket.request("user_search", { keyword: "zz-nobody" })).toMatchObject({ users: [] });
    await logout(first);
    expect(await socket.request("user_search", { keyword: "zz-nobody" })).toMatchObject({ error: { status: 401, message: "Unauthorized." } });
    expect(await inboxSessions(b)).toEqual([]);
  });

  it("signing a socket of the user in on another device: it stays signed in on its own device, reached live and by revocation", { timeout: 20_000 }, async () => {
    const { b, author, cid, first, gateway, socket, second } = await onFirstDevice();
    // The second device signs out while the socket's sign-in on it waits to be registered.
    const connected = await connectAround(socket, gateway, second, () => logout(second));

    expect(connected).toEqual({ id: "connect", error: { status: 422, message: "The token has expired." } });
    expect(await inboxDevices(b)).toEqual([first.deviceId]);
    expect(await socket.request("user_search", { keyword: "zz-nobody" })).toMatchObject({ users: [] });
    await say(author, cid, socket, "still here");
    expect(received(socket, "message").map((m) => m.body)).toEqual(["still here"]);
    // Its own device's revocation reaches it.
    await logout(first);
    expect(await socket.request("user_search", { keyword: "zz-nobody" })).toMatchObject({ error: { status: 401, message: "Unauthorized." } });
    expect(await inboxSessions(b)).toEqual([]);
  });

  it("…and the revocation's answer reaches the Inbox after the socket registered its own device again: the Inbox keeps it", { timeout: 20_000 }, async () => {
    const { b, author, cid, first, gateway, socket, second } = await onFirstDevice();
    const held = namedGateway(gateway);
    await held.testHoldSignIn(); // once registered, the sign-in waits for a call about a socket: the revocation's
    await held.testHold("signOutAnswer"); // whose answer waits until the refused sign-in was undone
    const connected = socket.request("connect", { token: second.accessToken, device_id: second.deviceId }, "connect");
    await eventually(async () => expect(await inboxDevices(b)).toEqual([second.deviceId]));
    const loggedOut = logout(second);
    await held.testReached("signOutAnswer");
    expect(await connected).toEqual({ id: "connect", error: { status: 422, message: "The token has expired." } });
    await held.testRelease("signOutAnswer");
    await loggedOut;

    expect(await inboxDevices(b)).toEqual([first.deviceId]);
    await say(author, cid, socket, "kept");
    expect(received(socket, "message").map((m) => m.body)).toEqual(["kept"]);
  });
});
