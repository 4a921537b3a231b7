// Where messages end up: the D1 copy written by the Conversation object's outbox alarm, and every
// acknowledged message in every recipient's event log even when objects are evicted mid-stream.
import { evictDurableObject, runDurableObjectAlarm } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { isRecord, type Frame } from "../helpers/socket";
import { clientId, createGroup, device, eventually, expectUnique, listMessages, nextPacket, received, send, syncAll, syncedMessages, tab, users, type Ask } from "./messages-fixtures";

const conversationStub = (cid: string) => env.CONVERSATION.get(env.CONVERSATION.idFromName(cid));
const inboxStub = (organizationId: string, userId: string) => env.INBOX.get(env.INBOX.idFromName(`${organizationId}:${userId}`));

interface D1Message {
  id: string;
  seq: number;
  body: string | null;
  from_id: string;
}

interface D1Status {
  mid: string;
  user_id: string;
  status: string;
}

describe("the D1 copy", () => {
  it("holds the same messages as message_list and the read statuses once the outbox alarm ran", async () => {
    const [alice, bob] = await users(2);
    const [as, bs] = await Promise.all([device(alice!), device(bob!)].map(async (d) => tab(await d)));
    const cid = await createGroup(as!, [bob!.id]);
    const fromAlice: Ask[] = [];
    for (let i = 0; i < 3; i++) fromAlice.push(await send(as!, cid, { body: `alice ${i}` }));
    const fromBob = [await send(bs!, cid, { body: "bob 0" }), await send(bs!, cid, { body: "bob 1" })];
    for (const a of fromBob) await nextPacket(as!, "message", (m) => m._id === a.server_mid);
    for (const a of fromAlice) await nextPacket(bs!, "message", (m) => m._id === a.server_mid);
    await nextPacket(as!, "message_delivered", (p) => Array.isArray(p.ids) && p.ids.includes(fromAlice[2]!.server_mid));
    expect(await as!.request("message_read", { cid })).toMatchObject({ success: true });
    await nextPacket(bs!, "message_read", (p) => p.cid === cid);
    expect(await as!.request("message_delete", { cid, ids: [fromAlice[0]!.server_mid], type: "all" })).toMatchObject({ success: true });

    const listed = (await listMessages(as!, { cid })).reverse();
    expect(listed).toHaveLength(4);
    const stub = conversationStub(cid);
    await eventually(async () => {
      await runDurableObjectAlarm(stub);
      const rows = await env.DB.prepare("SELECT id, seq, body, from_id FROM messages WHERE cid = ? ORDER BY seq").bind(cid).all<D1Message>();
      expect(rows.results.map((r) => [r.id, r.seq, r.body, r.from_id])).toEqual(listed.map((m) => [m._id, m.seq, m.body, m.from]));
      const statuses = await env.DB.prepare("SELECT mid, user_id, status FROM message_statuses WHERE cid = ? ORDER BY mid").bind(cid).all<D1Status>();
      const read = statuses.results.filter((s) => s.status === "read");
      expect(read).toEqual(fromBob.map((a) => ({ mid: a.server_mid, user_id: alice!.id, status: "read" })));
      // Alice's surviving messages reached a socket of bob's: delivered (the deleted one's rows are gone).
      const delivered = statuses.results.filter((s) => s.status === "delivered");
      expect(delivered).toEqual(fromAlice.slice(1).map((a) => ({ mid: a.server_mid, user_id: bob!.id, status: "delivered" })));
    }, 5000, 100);
  });
});

describe("durability under eviction", () => {
  it("keeps messages flowing and logs every acknowledged message exactly once for every recipient", { timeout: 60_000 }, async () => {
    const [sender, r1, r2] = await users(3);
    const [pd, d1, d2] = await Promise.all([device(sender!), device(r1!), device(r2!)]);
    const [ps, rs1, rs2] = await Promise.all([tab(pd), tab(d1), tab(d2)]);
    const cid = await createGroup(ps, [r1!.id, r2!.id]);
    const org = sender!.organizationId;
    const acked: string[] = [];

    for (let i = 0; i < 5; i++) acked.push((await send(ps, cid, { body: `before ${i}` })).server_mid);
    await Promise.all([evictDurableObject(conversationStub(cid)), evictDurableObject(inboxStub(org, r1!.id))]);

    // New messages still flow, live, to both recipients.
    for (let i = 0; i < 5; i++) acked.push((await send(ps, cid, { body: `after ${i}` })).server_mid);
    for (const socket of [rs1, rs2]) for (const mid of acked.slice(5)) await nextPacket(socket, "message", (m) => m._id === mid);

    // Evict the Conversation and both Inboxes while a burst is being stored and fanned out.
    const ids = Array.from({ length: 20 }, () => clientId("burst"));
    const outcome = (id: string) => ps.next((f) => (isRecord(f.ask) && f.ask.mid === id) || (isRecord(f.message) && f.message.id === id && isRecord(f.message.error)), 20_000);
    const outcomes = ids.map(outcome);
    for (const id of ids) ps.send({ message: { id, cid, body: id } });
    await outcomes[0];
    await Promise.all([evictDurableObject(conversationStub(cid)), evictDurableObject(inboxStub(org, r1!.id)), evictDurableObject(inboxStub(org, r2!.id))]);
    const answers = await Promise.all(outcomes);
    for (const [i, answer] of answers.entries()) {
      // A send that failed (its ack lost to the eviction) is retried with the same id, as a client would.
      const ask = isRecord(answer.ask) ? (answer.ask as unknown as Ask) : await send(ps, cid, { body: ids[i] }, ids[i]);
      acked.push(ask.server_mid);
    }
    expectUnique(acked);

    // The conversation holds exactly the acknowledged messages, with gap-free seq.
    const listed = await listMessages(ps, { cid });
    expect(listed.map((m) => m._id)).toEqual([...acked].reverse());
    expect(listed.map((m) => m.seq)).toEqual(Array.from({ length: acked.length }, (_, i) => acked.length - i));

    // Every recipient's log has every acknowledged message exactly once, in order; and each reached the live socket.
    await eventually(
      async () => {
        for (const socket of [rs1, rs2]) {
          const logged = syncedMessages(await syncAll(socket), cid).map((m: Frame) => m._id);
          expect(logged).toEqual(acked);
          const live = new Set(received(socket, "message", (m) => m.cid === cid).map((m) => m._id));
          expect(acked.filter((mid) => !live.has(mid))).toEqual([]);
        }
      },
      15_000,
      200,
    );
  });
});
