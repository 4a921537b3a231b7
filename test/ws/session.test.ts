// The Session object: per-socket rate limiting, and state that survives hibernation and eviction.
import { env } from "cloudflare:workers";
import { evictAllDurableObjects, runInDurableObject } from "cloudflare:test";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { Gateway } from "../../src/objects/gateway";
import { ORIGIN, TestSocket, isRecord, type Frame } from "../helpers/socket";
import { connectedSocket, loginHttp, signUp } from "../helpers/users";

afterEach(() => {
  vi.restoreAllMocks();
});

/** Fires `count` pings at once and collects every answer. */
async function flood(socket: TestSocket, count: number, prefix: string): Promise<Frame[]> {
  const answers = Array.from({ length: count }, (_, i) =>
    socket.next((f) => isRecord(f.response) && f.response.id === `${prefix}${i}`, 10_000).then((f) => f.response as Frame),
  );
  for (let i = 0; i < count; i++) socket.send({ request: { ping: {}, id: `${prefix}${i}` } });
  return Promise.all(answers);
}

const limited = (answers: Frame[]) => answers.filter((a) => isRecord(a.error) && a.error.status === 429);

describe("rate limiting", () => {
  it("lets a burst of 150 requests through", async () => {
    const socket = await TestSocket.open();
    const answers = await flood(socket, 150, "b");
    expect(answers.every((a) => isRecord(a.pong))).toBe(true);
  });

  it("answers a flood of 500 with 429s, never silently, and keeps the socket working", async () => {
    const socket = await TestSocket.open();
    const answers = await flood(socket, 500, "f");
    expect(answers).toHaveLength(500);
    const refused = limited(answers);
    expect(refused.length).toBeGreaterThan(200);
    expect(refused[0]).toEqual({ id: refused[0]!.id, error: { status: 429, message: "Too many requests." } });
    await new Promise((r) => setTimeout(r, 300));
    expect(await socket.request("ping", {}, "after")).toEqual({ id: "after", pong: {} });
  });
});

describe("hibernation and eviction", () => {
  it("keeps the socket signed in and its bucket drained across eviction", async () => {
    const user = await signUp();
    const { socket } = await connectedSocket(user);
    // Drain the bucket (burst 200) before eviction…
    await flood(socket, 210, "d");
    await evictAllDurableObjects();
    // …a new instance must not hand out a fresh burst.
    const after = await flood(socket, 100, "e");
    expect(limited(after).length).toBeGreaterThan(0);
    await new Promise((r) => setTimeout(r, 1200));
    const found = await socket.request("get_users_by_ids", { ids: [user.id] });
    expect((found.users as Frame[]).map((u) => u._id)).toEqual([user.id]);
  });
});

describe("transport errors", () => {
  // A frame over the runtime's 32 MiB closes the socket with 1009 before Parley sees it (the
  // runtime's own limit, which the test runtime's in-process sockets do not apply): the Session is
  // told through webSocketError with the runtime's error, verbatim below.
  it("treats a frame over the runtime's limit as the client's doing: no error logged, the session goes offline", async () => {
    const user = await signUp();
    const { socket: watcher } = await connectedSocket(await signUp());
    const stub = env.GATEWAY.get(env.GATEWAY.newUniqueId());
    const upgrade = await stub.fetch(new Request(`${ORIGIN}/`, { headers: { Upgrade: "websocket" } }));
    const ws = upgrade.webSocket!;
    ws.accept();
    const { accessToken, deviceId } = await loginHttp(user);
    const connected = new Promise<void>((resolve) => ws.addEventListener("message", () => resolve(), { once: true }));
    ws.send(JSON.stringify({ request: { connect: { token: accessToken, device_id: deviceId }, id: "c" } }));
    await connected;
    expect((await watcher.request("user_last_activity", { ids: [user.id] })).last_activity).toEqual({ [user.id]: 0 });

    const logged = vi.spyOn(console, "error");
    const tooLarge = new Error("WebSocket protocol error; protocolError.statusCode = 1009; protocolError.description = Message is too large");
    await runInDurableObject(stub, async (instance: Gateway, state) => instance.webSocketError(state.getWebSockets()[0]!, tooLarge));
    expect(logged).not.toHaveBeenCalled();
    const activity = (await watcher.request("user_last_activity", { ids: [user.id] })).last_activity as Record<string, number>;
    expect(activity[user.id]).toBeGreaterThan(0);
  });
});
