// Limits that protect the service (docs/limits.md), each answered with a clear SAMA-style error at
// its default value. Frame size, per-socket rate, group size and create_files' limits have their
// own tests (test/ws/envelope.test.ts, test/ws/session.test.ts, test/chat/conversations.test.ts,
// test/files/requests.test.ts).
import { describe, expect, it } from "vitest";
import { newObjectId } from "../../src/domain/object-id";
import { sendMessage } from "../helpers/catalogue";
import { TestSocket, isRecord, type Frame } from "../helpers/socket";
import { connectedSocket, loginHttp, signUp } from "../helpers/users";

describe("limits", () => {
  it("a message body over 65,536 characters is refused; one of 65,536 is stored", async () => {
    const [a, b] = [await signUp(), await signUp()];
    const { socket } = await connectedSocket(a);
    const cid = ((await socket.request("conversation_create", { type: "u", participants: [b.id] })).conversation as Frame)._id as string;
    await sendMessage(socket, cid, "y".repeat(65_536));
    const refused = socket.next((f) => isRecord(f.message) && f.message.id === "long");
    socket.send({ message: { id: "long", cid, body: "y".repeat(65_537) } });
    expect(await refused).toEqual({ message: { id: "long", error: { status: 422, message: "Either message body or attachments required." } } });
  });

  it("20 push subscriptions per user: a 21st device is refused, an existing one may still be replaced", async () => {
    const { socket } = await connectedSocket(await signUp());
    const subscribe = (udid: string) => socket.request("push_subscription_create", { platform: "android", device_token: `token-${udid}`, device_udid: udid });
    for (let i = 0; i < 20; i++) expect((await subscribe(`dev-${i}`)).subscription).toBeDefined();
    expect((await subscribe("dev-20")).error).toEqual({ status: 422, message: "You've reached the maximum number of push subscriptions." });
    expect((await subscribe("dev-3")).subscription).toMatchObject({ device_udid: "dev-3" });
    expect(await socket.request("push_subscription_delete", { device_udid: "dev-0" })).toMatchObject({ success: true });
    expect((await subscribe("dev-20")).subscription).toMatchObject({ device_udid: "dev-20" });
  });

  it("5,000 contacts per user: a batch that would pass the cap is refused whole", async () => {
    const { socket } = await connectedSocket(await signUp());
    const batch = (n: number, from: number) => ({ contacts: Array.from({ length: n }, (_, i) => ({ first_name: `C${from + i}`, phone: [{ value: `${100000 + from + i}` }] })) });
    for (let i = 0; i < 50; i++) expect((await socket.request("contact_batch_add", batch(100, i * 100))).contacts).toHaveLength(100);
    const over = { status: 422, message: "You've reached the maximum number of contacts." };
    expect(await socket.requestError("contact_batch_add", batch(2, 9000))).toEqual(over);
    expect(await socket.requestError("contact_add", { first_name: "One", email: [{ value: "one@example.test" }] })).toEqual(over);
    expect(await socket.request("contact_list", { limit: 1 })).toMatchObject({ contacts: [{ first_name: "C4999" }] });
  }, 60_000);

  it("one conversation_create or conversation_update names at most 100 users", async () => {
    const { socket } = await connectedSocket(await signUp());
    const ids = (n: number) => Array.from({ length: n }, () => newObjectId());
    const refused = { status: 422, message: "Too many users in one request." };
    expect(await socket.requestError("conversation_create", { type: "c", name: "big", participants: ids(101) })).toEqual(refused);
    const channel = (await socket.request("conversation_create", { type: "c", name: "big", participants: ids(100) })).conversation as Frame;
    expect(await socket.requestError("conversation_update", { id: channel._id, participants: { add: ids(60), remove: ids(41) } })).toEqual(refused);
    expect((await socket.request("conversation_update", { id: channel._id, participants: { add: ids(60), remove: ids(40) } })).conversation).toBeDefined();
  });

  it("a user's sockets share one budget: 10 sockets × 190 frames in a burst exceed the user's 400, though no socket exceeds its own 200", async () => {
    const user = await signUp();
    const login = await loginHttp(user);
    const sockets = await Promise.all(
      Array.from({ length: 10 }, async () => {
        const socket = await TestSocket.open();
        await socket.request("connect", { token: login.accessToken, device_id: login.deviceId });
        return socket;
      }),
    );
    // connect + 190 frames stay within a socket's own burst of 200 however long the run takes (its
    // bucket only refills), so every refusal here is the per-user limiter's.
    const started = Date.now();
    const answers = await Promise.all(
      sockets.map(async (socket, s) => {
        const replies = Array.from({ length: 190 }, (_, i) => socket.next((f) => isRecord(f.response) && f.response.id === `${s}-${i}`, 60_000));
        for (let i = 0; i < 190; i++) socket.send({ request: { ping: {}, id: `${s}-${i}` } });
        return Promise.all(replies);
      }),
    );
    const seconds = (Date.now() - started) / 1000;
    const responses = answers.flat().map((f) => f.response as Frame);
    const refused = responses.filter((r) => isRecord(r.error));
    for (const r of refused) expect(r.error).toEqual({ status: 429, message: "Too many requests." });
    const served = responses.length - refused.length;
    // Burst 400 + 100/s refill, plus at most one unspent slice of 10 per socket.
    const allowance = 400 + Math.ceil(100 * seconds) + 10 * 10;
    expect(served).toBeLessThanOrEqual(allowance);
    expect(served).toBeGreaterThanOrEqual(400);
    // Without the per-user limiter nothing is refused, whatever the machine's speed. With it, 1,900
    // frames are refused in part unless the machine answers fewer than ~130 a second (then this run
    // proves nothing and fails, rather than pass).
    expect(refused.length, `no refusal in ${seconds} s`).toBeGreaterThan(0);
    expect(refused.length).toBeGreaterThanOrEqual(responses.length - allowance);
  });
});
