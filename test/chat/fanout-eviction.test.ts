// An acknowledged message reaches every recipient's log even when the Conversation object and an
// Inbox are evicted in the middle of the fan-out (the fan-out row survives; the alarm retries; the
// Inbox applies each delivery once). Rows every recipient stored stay until the next write: after an
// eviction they are resent and skipped, so no log holds a message or a receipt twice.
import { evictDurableObject, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { inboxOfUser, type Frame } from "../helpers/socket";
import { connectedSocket, signUp, type TestUser } from "../helpers/users";

async function loggedMessageIds(socket: Awaited<ReturnType<typeof connectedSocket>>["socket"]): Promise<string[]> {
  const page = await socket.request("sync", {});
  return (page.events as Array<{ packet: Frame }>)
    .map((e) => e.packet.message as Frame | undefined)
    .filter((m): m is Frame => m !== undefined)
    .map((m) => m._id as string);
}

describe("fan-out under eviction", () => {
  it("delivers every acknowledged message exactly once after objects are evicted mid-fan-out", async () => {
    const [sender, ...others] = await Promise.all([signUp(), signUp(), signUp(), signUp()]);
    const { socket } = await connectedSocket(sender!);
    const group = await socket.request("conversation_create", { type: "g", name: "chaos", participants: others.map((u) => u.id) });
    const cid = (group.conversation as Frame)._id as string;
    const conversation = env.CONVERSATION.get(env.CONVERSATION.idFromName(cid));

    const sent: string[] = [];
    const send = async (id: string) => {
      const ask = socket.next((f) => typeof f.ask === "object" && (f.ask as Frame).mid === id);
      socket.send({ message: { id, cid, body: id } });
      sent.push(((await ask).ask as Frame).server_mid as string);
    };
    await send("before");
    await conversation.testHoldFanout(true);
    await send("held-1");
    await send("held-2");
    // The fan-out reached at most the first recipient…
    const reached = await Promise.all(
      [sender!, ...others].map(async (u) => (await inboxOfUser(u!).sync(null)).events.some((e) => e.packet.includes(sent[1]!))),
    );
    expect(reached.filter(Boolean).length).toBeLessThanOrEqual(1);
    expect(reached.filter((got) => !got).length).toBeGreaterThanOrEqual(3);
    // …now lose both the writer and a reader.
    await evictDurableObject(conversation);
    await evictDurableObject(inboxOfUser(others[1]!));
    // A fresh instance has no hold: the alarm (the retry path, with no new send to start a pump)
    // finishes the job. Every participant, the sender included, has each message exactly once.
    await runDurableObjectAlarm(conversation);
    for (const user of [sender!, ...others]) {
      const logged = (await inboxOfUser(user!).sync(null)).events.flatMap((e) => {
        const message = (JSON.parse(e.packet) as Frame).message as Frame | undefined;
        return message ? [message._id as string] : [];
      });
      expect(logged).toEqual(sent);
    }
    await send("after");

    // The last one may still be on its way to the Inboxes (in a group this size it goes live to the
    // sessions first and the Inboxes are told behind), so each reader's sync is asked until it is there.
    for (const user of others) {
      const { socket: reader } = await connectedSocket(user!);
      await expect.poll(() => loggedMessageIds(reader)).toEqual(sent);
    }
  });
});

describe("fan-out rows kept after delivery", () => {
  it("resends a stored row after an eviction, and no log gets it twice", async () => {
    const [sender, ...others] = await Promise.all([signUp(), signUp(), signUp()]);
    const { socket } = await connectedSocket(sender!);
    const group = await socket.request("conversation_create", { type: "g", name: "kept", participants: others.map((u) => u.id) });
    const cid = (group.conversation as Frame)._id as string;
    const conversation = env.CONVERSATION.get(env.CONVERSATION.idFromName(cid));
    await connectedSocket(others[0]!); // a live device, so the message counts as delivered
    const delivered = socket.next((f) => typeof f.message_delivered === "object");
    socket.send({ message: { id: "kept-1", cid, body: "kept" } });
    const mid = (((await delivered).message_delivered as Frame).ids as string[])[0]!;
    const logOf = async (user: TestUser) => (await inboxOfUser(user).sync(null)).events.map((e) => JSON.parse(e.packet) as Frame);
    // Every log has the message and the sender's has the receipt: nothing is owed any more.
    await expect.poll(async () => (await Promise.all([sender!, ...others].map(logOf))).every((log) => log.some((p) => (p.message as Frame | undefined)?._id === mid))).toBe(true);
    await expect.poll(async () => (await logOf(sender!)).some((p) => p.message_delivered !== undefined)).toBe(true);
    // The rows are still in the Conversation's table (deleted with its next write): lose them from memory.
    const rows = await runInDurableObject(conversation, (_o, state) => state.storage.sql.exec<{ n: number }>("SELECT count(*) AS n FROM fanout").one().n);
    expect(rows).toBeGreaterThan(0);
    await evictDurableObject(conversation);
    await runDurableObjectAlarm(conversation);
    for (const user of [sender!, ...others]) {
      const log = await logOf(user!);
      expect(log.filter((p) => (p.message as Frame | undefined)?._id === mid)).toHaveLength(1);
      expect(log.filter((p) => p.message_delivered !== undefined)).toHaveLength(user === sender ? 1 : 0);
    }
    const left = await runInDurableObject(conversation, (_o, state) => state.storage.sql.exec<{ n: number }>("SELECT count(*) AS n FROM fanout").one().n);
    expect(left).toBe(0);
  });
});
