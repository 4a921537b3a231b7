// Encrypted private chats through real sockets: only private chats may be encrypted,
// encrypted_message_type travels with the message, message_decryption_failed reaches the author,
// pushes say "New message" instead of the ciphertext, and messages older than 30 days are neither
// listed nor kept.
import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import { listMessages, nextPacket, send, conversationOf, eventually } from "../chat/messages-fixtures";
import type { Frame, TestSocket } from "../helpers/socket";
import { connectedSocket, signUp, type TestUser } from "../helpers/users";
import { browserSubscription, decryptAes128gcm, record, type RecordedRequest } from "../push/fakes";

const DAY_MS = 24 * 3600 * 1000;
const conversationStub = (cid: string) => env.CONVERSATION.get(env.CONVERSATION.idFromName(cid));

afterEach(() => {
  vi.restoreAllMocks();
});

async function encryptedChat(isEncrypted = true): Promise<{ alice: TestUser; bob: TestUser; a: TestSocket; b: TestSocket; cid: string; view: Frame }> {
  const [alice, bob] = await Promise.all([signUp(), signUp()]);
  const [{ socket: a }, { socket: b }] = await Promise.all([connectedSocket(alice!), connectedSocket(bob!)]);
  const response = await a.request("conversation_create", { type: "u", participants: [bob!.id], is_encrypted: isEncrypted });
  const view = response.conversation as Frame;
  return { alice: alice!, bob: bob!, a, b, cid: view._id as string, view };
}

describe("conversation_create with is_encrypted", () => {
  it("creates an encrypted private chat, separate from the pair's plain one", async () => {
    const { alice, bob, a, cid, view } = await encryptedChat();
    expect(view).toMatchObject({ type: "u", is_encrypted: true, owner_id: alice.id, opponent_id: bob.id });
    const plain = await a.request("conversation_create", { type: "u", participants: [bob.id] });
    expect((plain.conversation as Frame)._id).not.toBe(cid);
    expect(plain.conversation).not.toHaveProperty("is_encrypted");
    // The same encrypted chat again (idempotent per pair and encryption).
    expect(((await a.request("conversation_create", { type: "u", participants: [bob.id], is_encrypted: true })).conversation as Frame)._id).toBe(cid);
  });

  it("refuses to encrypt a group or a channel", async () => {
    const [owner, member] = await Promise.all([signUp(), signUp()]);
    const { socket } = await connectedSocket(owner!);
    const refusal = { status: 422, message: "Only private conversations can be encrypted." };
    expect(await socket.requestError("conversation_create", { type: "g", name: "G", participants: [member!.id], is_encrypted: true })).toEqual(refusal);
    expect(await socket.requestError("conversation_create", { type: "c", name: "C", is_encrypted: true })).toEqual(refusal);
    expect(await socket.request("conversation_create", { type: "g", name: "G", participants: [member!.id], is_encrypted: false })).toHaveProperty("conversation");
  });
});

describe("encrypted messages", () => {
  it("carry encrypted_message_type to the recipient, to message_list and to the D1 copy", async () => {
    const { a, b, cid } = await encryptedChat();
    const ask = await send(a, cid, { body: "Y2lwaGVydGV4dA==", encrypted_message_type: 1 });
    const live = await nextPacket(b, "message", (m) => m._id === ask.server_mid);
    expect(live).toMatchObject({ cid, c_type: "u", body: "Y2lwaGVydGV4dA==", encrypted_message_type: 1 });
    expect((await listMessages(b, { cid }))[0]).toMatchObject({ _id: ask.server_mid, encrypted_message_type: 1 });
    await runDurableObjectAlarm(conversationStub(cid));
    await eventually(async () => {
      const row = await env.DB.prepare("SELECT encrypted_message_type AS t FROM messages WHERE id = ?").bind(ask.server_mid).first<{ t: number }>();
      expect(row?.t).toBe(1);
    });
  });

  it("message_decryption_failed reaches each author, and the D1 copy records it", async () => {
    const { bob, a, b, cid } = await encryptedChat();
    const first = await send(a, cid, { body: "c1", encrypted_message_type: 0 });
    const second = await send(a, cid, { body: "c2", encrypted_message_type: 1 });
    const own = await send(b, cid, { body: "mine", encrypted_message_type: 1 });
    const ids = [first.server_mid, second.server_mid, own.server_mid];
    expect(await b.request("message_decryption_failed", { cid, ids })).toMatchObject({ success: true });
    // Bob's own message is not reported to him.
    const report = { ids: [first.server_mid, second.server_mid], cid, from: bob.id };
    expect(await nextPacket(a, "message_decryption_failed")).toEqual({ ...report, event_seq: expect.any(Number) });
    // Logged too: a device that was offline finds it with sync.
    const events = (await a.request("sync", {})).events as Array<{ packet: Frame }>;
    expect(events.map((e) => e.packet.message_decryption_failed).filter(Boolean)).toEqual([expect.objectContaining(report)]);
    await runDurableObjectAlarm(conversationStub(cid));
    await eventually(async () => {
      const rows = await env.DB.prepare("SELECT mid FROM message_statuses WHERE cid = ? AND user_id = ? AND status = 'decryption_failed' ORDER BY mid").bind(cid, bob.id).all<{ mid: string }>();
      expect(rows.results.map((r) => r.mid)).toEqual([first.server_mid, second.server_mid]);
    });
  });

  it("message_decryption_failed: SAMA's errors for a stranger, an unknown chat and missing fields", async () => {
    const { a, cid } = await encryptedChat();
    const ask = await send(a, cid, { body: "c" });
    const { socket: stranger } = await connectedSocket(await signUp());
    expect(await stranger.requestError("message_decryption_failed", { cid, ids: [ask.server_mid] })).toEqual({ status: 403, message: "Forbidden." });
    expect(await a.requestError("message_decryption_failed", { cid: "0123456789abcdef01234567", ids: [ask.server_mid] })).toEqual({ status: 404, message: "Conversation not found." });
    expect(await a.requestError("message_decryption_failed", { ids: [ask.server_mid] })).toEqual({ status: 422, message: "'cid' field is required." });
    expect(await a.requestError("message_decryption_failed", { cid })).toEqual({ status: 422, message: '"ids" is required' });
    expect(await a.requestError("message_decryption_failed", { cid, ids: [] })).toEqual({ status: 422, message: '"ids" must contain at least 1 items' });
  });
});

describe("pushes for encrypted chats", () => {
  it("say \"New message\", never the ciphertext", async () => {
    const endpoint = "http://127.0.0.1:9/e2ee-push";
    const { a, b, bob, cid } = await encryptedChat();
    const sub = await browserSubscription(`${endpoint}-${bob.id}`);
    await b.request("push_subscription_create", { platform: "web", web_endpoint: sub.endpoint, web_key_auth: sub.auth, web_key_p256dh: sub.p256dh, device_udid: `e2ee-${bob.id}` });
    b.close();
    const realFetch = globalThis.fetch;
    const seen: RecordedRequest[] = [];
    vi.spyOn(globalThis, "fetch").mockImplementation(async (input, init) => {
      const url = typeof input === "string" ? input : input instanceof URL ? input.href : input.url;
      if (url !== sub.endpoint) return realFetch(input, init);
      seen.push(await record(url, init));
      return new Response(null, { status: 201 });
    });
    await send(a, cid, { body: "c2VjcmV0IGNpcGhlcnRleHQ=", encrypted_message_type: 1 });
    await vi.waitFor(() => expect(seen).toHaveLength(1), { timeout: 5000 });
    const payload = JSON.parse((await decryptAes128gcm(sub, seen[0]!.body)).plaintext) as Frame;
    expect(payload).toMatchObject({ body: "New message", cid, is_encrypted: true });
    expect(JSON.stringify(payload)).not.toContain("c2VjcmV0IGNpcGhlcnRleHQ=");
  });
});

describe("the 30-day retention of encrypted messages", () => {
  /** Moves every stored message of the conversation `days` into the past (the Conversation object's SQLite is authoritative). */
  async function age(cid: string, days: number): Promise<void> {
    await runInDurableObject(conversationStub(cid), (_instance, state) => {
      state.storage.sql.exec("UPDATE messages SET created_at = created_at - ?, updated_at = updated_at - ?", days * DAY_MS, days * DAY_MS);
    });
  }

  async function d1Count(cid: string): Promise<number | undefined> {
    return (await env.DB.prepare("SELECT count(*) AS n FROM messages WHERE cid = ?").bind(cid).first<{ n: number }>())?.n;
  }

  it("lists nothing older than 30 days, deletes it on the alarm set for its expiry, and updates the chat's last message", { timeout: 20_000 }, async () => {
    const { a, b, cid } = await encryptedChat();
    const old = await send(a, cid, { body: "old", encrypted_message_type: 1 });
    await nextPacket(b, "message", (m) => m._id === old.server_mid);
    await runDurableObjectAlarm(conversationStub(cid)); // the outbox copy to D1
    await eventually(async () => expect(await d1Count(cid)).toBe(1));
    // Once the Inboxes have written the message (their window, then the Conversation's check), the
    // alarm waits only for the first message's expiry.
    const created = (await listMessages(a, { cid }))[0]!.created_at as string;
    await eventually(
      async () => {
        await runDurableObjectAlarm(conversationStub(cid));
        const alarmAt = await runInDurableObject(conversationStub(cid), (_instance, state) => state.storage.getAlarm());
        expect(alarmAt).toBe(Date.parse(created) + 30 * DAY_MS);
      },
      10_000,
      250,
    );

    await age(cid, 31);
    const fresh = await send(a, cid, { body: "fresh", encrypted_message_type: 1 });
    // Not listed even before the purge.
    expect((await listMessages(b, { cid })).map((m) => m._id)).toEqual([fresh.server_mid]);
    expect(await runDurableObjectAlarm(conversationStub(cid))).toBe(true);
    const left = await runInDurableObject(conversationStub(cid), (_instance, state) => state.storage.sql.exec<{ id: string }>("SELECT id FROM messages").toArray().map((r) => r.id));
    expect(left).toEqual([fresh.server_mid]);
    await eventually(async () => {
      const ids = (await env.DB.prepare("SELECT id FROM messages WHERE cid = ?").bind(cid).all<{ id: string }>()).results.map((r) => r.id);
      expect(ids).toEqual([fresh.server_mid]);
    });
    await b.request("message_read", { cid });
    expect(await conversationOf(b, cid)).toMatchObject({ last_message: { _id: fresh.server_mid }, unread_messages_count: 0 });
  });

  it("clears the chat's last message and unread count when everything expired", async () => {
    const { a, b, cid } = await encryptedChat();
    const only = await send(a, cid, { body: "only", encrypted_message_type: 1 });
    await nextPacket(b, "message", (m) => m._id === only.server_mid);
    expect(await conversationOf(b, cid)).toMatchObject({ last_message: { _id: only.server_mid }, unread_messages_count: 1 });
    await age(cid, 31);
    await runDurableObjectAlarm(conversationStub(cid));
    await eventually(async () => {
      const view = await conversationOf(b, cid);
      expect(view.last_message ?? null).toBeNull();
      expect(view.unread_messages_count).toBe(0);
    });
    expect(await listMessages(b, { cid })).toEqual([]);
  });

  it("keeps the messages of a plain chat however old they are", async () => {
    const { a, cid } = await encryptedChat(false);
    const ask = await send(a, cid, { body: "plain" });
    await runDurableObjectAlarm(conversationStub(cid));
    await age(cid, 400);
    await runDurableObjectAlarm(conversationStub(cid));
    expect((await listMessages(a, { cid })).map((m) => m._id)).toEqual([ask.server_mid]);
  });
});
