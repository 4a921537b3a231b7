// The Session object: per-socket rate limiting, and state that survives hibernation and eviction.
import { evictAllDurableObjects } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { TestSocket, isRecord, type Frame } from "../helpers/socket";
import { connectedSocket, signUp } from "../helpers/users";

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
