// A socket signing in is registered with its user's Inbox before the socket knows who it is (the
// Inbox must be able to revoke it first). A packet for that user that reaches the socket's Gateway in
// between is held and sent right after the sign-in's answer: the socket is not reported missed (which
// made the Inbox drop the session it had just registered, so the open socket got no live packet again
// until it reconnected). The Gateway's test hook holds the sign-in until a push has reached it.
import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { TestSocket, isRecord, namedGateway } from "../helpers/socket";
import { unique, type TestUser } from "../helpers/users";
import { createConversation, device, eventually, nextPacket, received, send, tab, users } from "./messages-fixtures";

const inboxOf = (user: TestUser) => env.INBOX.get(env.INBOX.idFromName(`${user.organizationId}:${user.id}`));

async function inboxSessions(user: TestUser): Promise<string[]> {
  return runInDurableObject(inboxOf(user), (_o, state) => state.storage.sql.exec<{ session_id: string }>("SELECT session_id FROM sessions").toArray().map((r) => r.session_id));
}

describe("a packet that reaches a socket while it signs in as the packet's user", () => {
  it("comes right after the sign-in's answer, and the socket stays reached live", { timeout: 20_000 }, async () => {
    const [a, b] = (await users(2)) as [TestUser, TestUser];
    const author = await tab(await device(a));
    const cid = await createConversation(author, "u", [b.id]);
    // The chat's creation reached B's Inbox (nothing of it is still on its way to a socket).
    await eventually(async () => expect((await inboxOf(b).sync(null)).events).toHaveLength(1));
    const login = (await device(b)).login;
    const gateway = unique("sign-in-race");
    const socket = await TestSocket.open("/", gateway);
    await namedGateway(gateway).testHoldSignIn();

    const connected = socket.request("connect", { token: login.accessToken, device_id: login.deviceId }, "connect");
    await eventually(async () => expect(await inboxSessions(b)).toHaveLength(1)); // registered, not signed in yet
    await send(author, cid, { body: "during" });
    expect((await connected).success).toBe(true);
    await nextPacket(socket, "message", (m) => m.body === "during").catch(() => undefined);
    await send(author, cid, { body: "after" });
    await nextPacket(socket, "message", (m) => m.body === "after").catch(() => undefined);

    expect(received(socket, "message").map((m) => m.body)).toEqual(["during", "after"]);
    expect(await inboxSessions(b)).toHaveLength(1);
    // The client hears that it is signed in before it hears of anything its user was sent.
    const answerAt = socket.frames.findIndex((f) => isRecord(f.response) && f.response.id === "connect");
    const packetAt = socket.frames.findIndex((f) => isRecord(f.message));
    expect(answerAt).toBeLessThan(packetAt);
  });
});
