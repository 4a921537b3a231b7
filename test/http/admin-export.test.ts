// The organization export (GET /admin/organizations/:id/export/:collection): an organization built
// through the real protocol (WebSocket frames through the Worker), exported collection by collection;
// every record checked against what the protocol said, no secret material in any line, paging across
// page and conversation boundaries, and another organization's data never in it.
import { env, exports } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { ORIGIN, type TestSocket, type Frame } from "../helpers/socket";
import { ADMIN_KEY, connectedSocket, createOrganization, signUp, type Login, type TestUser } from "../helpers/users";
import { eventually, listMessages, send } from "../chat/messages-fixtures";
import { EXPORTED_COLLECTIONS } from "../../src/domain/export-records";
import { admin } from "./admin-fixtures";

interface Member {
  user: TestUser;
  socket: TestSocket;
  login: Login;
}

async function member(organizationId: string, firstName: string): Promise<Member> {
  const user = await signUp({ organizationId, firstName });
  const { socket, login } = await connectedSocket(user);
  return { user, socket, login };
}

async function ok(socket: TestSocket, action: string, params: unknown): Promise<Frame> {
  const response = await socket.request(action, params);
  if (response.error !== undefined) throw new Error(`${action} failed: ${JSON.stringify(response.error)}`);
  return response;
}

interface Exported {
  records: Frame[];
  /** The lines as sent, every page. */
  text: string;
  pages: number[];
}

/** Every page of one collection, following the cursor header. */
async function exportAll(org: string, collection: string, options: { limit?: number; include?: string } = {}): Promise<Exported> {
  const out: Exported = { records: [], text: "", pages: [] };
  let cursor: string | null = null;
  do {
    const query = new URLSearchParams();
    if (options.limit !== undefined) query.set("limit", String(options.limit));
    if (options.include !== undefined) query.set("include", options.include);
    if (cursor !== null) query.set("cursor", cursor);
    const res = await exports.default.fetch(new Request(`${ORIGIN}/admin/organizations/${org}/export/${collection}?${query}`, { headers: { "admin-api-key": ADMIN_KEY } }));
    // Bytes, decoded here: the runtime warns when text() reads a body that is not text/*.
    const text = new TextDecoder().decode(await res.arrayBuffer());
    if (res.status !== 200) throw new Error(`export ${collection}: ${res.status} ${text}`);
    expect(res.headers.get("Content-Type")).toMatch(/^application\/x-ndjson/);
    const lines = text === "" ? [] : text.split("\n");
    expect(lines.pop()).toBe(text === "" ? undefined : ""); // every line ends with a newline
    out.pages.push(lines.length);
    out.text += text;
    out.records.push(...lines.map((l) => JSON.parse(l) as Frame));
    cursor = res.headers.get("x-next-cursor");
  } while (cursor !== null && out.pages.length < 100);
  return out;
}

/** Every collection but push subscriptions, which need include=push_subscriptions. */
const COLLECTIONS: string[] = EXPORTED_COLLECTIONS.filter((c) => c !== "push_subscriptions");

const $oid = (id: string) => ({ $oid: id });
const $date = (iso: string) => ({ $date: iso });
const anyDate = { $date: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/) as unknown };
const anyOid = { $oid: expect.stringMatching(/^[0-9a-f]{24}$/) as unknown };
const byId = (a: Frame, b: Frame) => JSON.stringify(a._id).localeCompare(JSON.stringify(b._id));

let orgA: string;
let orgB: string;
let alice: Member;
let bob: Member;
let carol: Member;
let dave: Member;
let erin: Member;
let group: string;
let chat: string;
let otherChat: string;
let file: Frame;
let contact: Frame;
let mids: { m1: string; m2: string; m3: string; p1: string };
let listed: Frame[];
const pushToken = `push-token-${crypto.randomUUID()}`;

beforeAll(async () => {
  orgA = await createOrganization();
  orgB = await createOrganization();
  [alice, bob, carol] = await Promise.all([member(orgA, "Alice"), member(orgA, "Bob"), member(orgA, "Carol")]);
  [dave, erin] = await Promise.all([member(orgB, "Dave"), member(orgB, "Erin")]);

  file = ((await ok(alice.socket, "create_files", [{ name: "photo.png", size: 1234, content_type: "image/png" }])).files as Frame[])[0]!;
  group = ((await ok(alice.socket, "conversation_create", { type: "g", name: "Team", description: "Our team", participants: [bob.user.id, carol.user.id] })).conversation as Frame)._id as string;
  chat = ((await ok(alice.socket, "conversation_create", { type: "u", participants: [bob.user.id] })).conversation as Frame)._id as string;
  otherChat = ((await ok(dave.socket, "conversation_create", { type: "u", participants: [erin.user.id] })).conversation as Frame)._id as string;

  const attachment = { file_id: file.object_id, file_name: "photo.png", file_content_type: "image/png", file_width: 10, file_height: 20 };
  const m1 = (await send(alice.socket, group, { body: "hello team", attachments: [attachment] })).server_mid;
  const m2 = (await send(bob.socket, group, { body: "hi alice", replied_message_id: m1 })).server_mid;
  const m3 = (await send(alice.socket, group, { body: "a third" })).server_mid;
  const p1 = (await send(alice.socket, chat, { body: "just us" })).server_mid;
  await send(dave.socket, otherChat, { body: "B-SECRET-BODY" });
  mids = { m1, m2, m3, p1 };

  await ok(bob.socket, "message_read", { cid: group, ids: [m1, m3] });
  await ok(carol.socket, "message_reactions_update", { mid: m1, add: "👍" });
  await ok(bob.socket, "message_reactions_update", { mid: m1, add: "🎉" });
  await ok(bob.socket, "message_reactions_update", { mid: m1, add: "👍" });
  await ok(alice.socket, "message_edit", { id: m1, body: "hello team!" });
  await ok(alice.socket, "message_delete", { cid: group, ids: [m3], type: "myself" });
  contact = (await ok(alice.socket, "contact_add", { first_name: "Zed", company: "Acme", email: [{ type: "work", value: "zed@example.test" }] })).contact as Frame;
  await ok(alice.socket, "block_user", { ids: [carol.user.id] });
  await ok(alice.socket, "conversation_handler_create", { cid: group, content: "env.ACCEPT();" });
  await ok(alice.socket, "push_subscription_create", { platform: "android", device_token: pushToken, device_udid: "udid-1" });
  await ok(dave.socket, "contact_add", { first_name: "B-SECRET-CONTACT", email: [{ value: "b@example.test" }] });
  // Sockets close after each test (test/setup): read what the tests compare with now.
  listed = [...(await listMessages(bob.socket, { cid: group })), ...(await listMessages(bob.socket, { cid: chat }))];
}, 30_000);

describe("organization export", () => {
  it("exports messages from the Conversation objects, before D1's copy has them", async () => {
    const copied = await env.DB.prepare("SELECT count(*) AS n FROM messages WHERE cid IN (?, ?)").bind(group, chat).first<{ n: number }>();
    expect(copied?.n).toBe(0); // the outbox copies to D1 10 s after a send: an export from D1 would miss them
    const { records } = await exportAll(orgA, "messages");
    expect(records.map((r) => (r._id as { $oid: string }).$oid).sort()).toEqual(Object.values(mids).sort());
  });

  it("writes every record in SAMA's shapes, as relaxed Extended JSON", async () => {
    const all = Object.fromEntries(await Promise.all(COLLECTIONS.map(async (c) => [c, (await exportAll(orgA, c)).records] as const)));
    const org = (await env.DB.prepare("SELECT * FROM organizations WHERE id = ?").bind(orgA).first<{ name: string; created_at: number; updated_at: number }>())!;
    const botId = (await env.DB.prepare("SELECT id FROM users WHERE organization_id = ? AND is_bot = 1").bind(orgA).first<{ id: string }>())!.id;
    expect(all.organizations).toEqual([
      // bot_user_id: an import gives the bot the same id, so its record and its messages still match.
      { _id: $oid(orgA), name: org.name, bot_user_id: botId, created_at: $date(new Date(org.created_at).toISOString()), updated_at: $date(new Date(org.updated_at).toISOString()) },
    ]);

    const userRecord = (m: Member) => ({
      _id: $oid(m.user.id),
      organization_id: orgA,
      recent_activity: expect.any(Number) as unknown,
      login: m.user.login,
      first_name: m.user.user.first_name,
      email: m.user.email,
      created_at: $date(m.user.user.created_at as string),
      updated_at: anyDate,
    });
    const bot = { _id: $oid(botId), organization_id: orgA, recent_activity: expect.any(Number) as unknown, login: "server-chat-bot", created_at: anyDate, updated_at: anyDate };
    expect(all.users).toEqual(expect.arrayContaining([userRecord(alice), userRecord(bob), userRecord(carol), bot]));
    expect(all.users).toHaveLength(4);

    expect([...all.conversations!].sort(byId)).toEqual(
      [
        { _id: $oid(group), organization_id: orgA, name: "Team", description: "Our team", type: "g", owner_id: alice.user.id, created_at: anyDate, updated_at: anyDate },
        { _id: $oid(chat), organization_id: orgA, type: "u", owner_id: alice.user.id, opponent_id: bob.user.id, created_at: anyDate, updated_at: anyDate },
      ].sort(byId),
    );

    const participant = (cid: string, m: Member, role: string) => ({
      _id: anyOid,
      organization_id: orgA,
      conversation_id: cid,
      user_id: m.user.id,
      role,
      created_at: anyDate,
      updated_at: anyDate,
    });
    expect(all.conversations_participants).toEqual(
      expect.arrayContaining([participant(group, alice, "owner"), participant(group, bob, ""), participant(group, carol, ""), participant(chat, alice, "owner"), participant(chat, bob, "")]),
    );
    expect(all.conversations_participants).toHaveLength(5);

    // The messages as bob listed them (he sees all four), in the export's form.
    const expected = listed.map((m) => {
      const record: Frame = { _id: $oid(m._id as string), organization_id: orgA, cid: m.cid };
      record.body = m.body;
      if (m.attachments !== undefined) record.attachments = m.attachments;
      record.x = m.x;
      if (m.replied_message_id !== undefined) record.replied_message_id = m.replied_message_id;
      record.deleted_for = m._id === mids.m3 ? [alice.user.id] : [];
      Object.assign(record, { from: m.from, t: m.t, seq: m.seq, created_at: $date(m.created_at as string), updated_at: $date(m.updated_at as string) });
      return record;
    });
    expect(expected).toHaveLength(4);
    expect([...all.messages!].sort(byId)).toEqual(expected.sort(byId));
    expect(all.messages!.find((m) => (m._id as { $oid: string }).$oid === mids.m1)!.body).toBe("hello team!");
    expect(all.messages!.find((m) => (m._id as { $oid: string }).$oid === mids.m2)!.replied_message_id).toBe(mids.m1);

    // Read marks exactly; "delivered" (whichever recipient's live device got it first) may be there
    // for any message, except by a user who has a status of their own for it (bob read m1 and m3).
    const status = (mid: string, m: Member) => ({ _id: anyOid, cid: group, mid, user_id: m.user.id, status: "read", created_at: anyDate, updated_at: anyDate });
    expect(all.message_statuses!.filter((s) => s.status === "read")).toEqual([status(mids.m1, bob), status(mids.m3, bob)].sort((a, b) => a.mid.localeCompare(b.mid)));
    for (const s of all.message_statuses!.filter((s) => s.status !== "read")) {
      expect(s).toEqual({ _id: anyOid, cid: expect.any(String) as unknown, mid: expect.any(String) as unknown, user_id: expect.any(String) as unknown, status: "delivered", created_at: anyDate, updated_at: anyDate });
      expect(Object.values(mids)).toContain(s.mid);
      expect([`${mids.m1} ${bob.user.id}`, `${mids.m3} ${bob.user.id}`]).not.toContain(`${s.mid} ${s.user_id}`);
    }

    const reaction = (m: Member, emoji: string) => ({ _id: anyOid, organization_id: orgA, cid: group, mid: mids.m1, user_id: m.user.id, reaction: emoji, created_at: anyDate, updated_at: anyDate });
    expect(all.message_reactions).toEqual(expect.arrayContaining([reaction(carol, "👍"), reaction(bob, "🎉"), reaction(bob, "👍")]));
    expect(all.message_reactions).toHaveLength(3);

    expect(all.files).toEqual([
      { _id: anyOid, organization_id: orgA, name: "photo.png", size: 1234, content_type: "image/png", object_id: file.object_id, user_id: alice.user.id, created_at: anyDate, updated_at: anyDate },
    ]);
    expect(all.contacts).toEqual([
      {
        _id: $oid(contact._id as string),
        organization_id: orgA,
        user_id: alice.user.id,
        first_name: "Zed",
        company: "Acme",
        email: [{ type: "work", value: "zed@example.test" }],
        // No phone, as contact_add answered (an empty list would come back from an import as one).
        created_at: $date(contact.created_at as string),
        updated_at: $date(contact.updated_at as string),
      },
    ]);
    expect(all.blocked_users).toEqual([
      { _id: anyOid, organization_id: orgA, user_id: alice.user.id, blocked_user_id: carol.user.id, enabled: true, created_at: anyDate, updated_at: anyDate },
    ]);
    expect(all.conversation_handlers).toEqual([
      { _id: anyOid, organization_id: orgA, conversation_id: group, content: "env.ACCEPT();", updated_by: alice.user.id, created_at: anyDate, updated_at: anyDate },
    ]);
  });

  it("gives the same derived ids in every export (a re-import is idempotent)", async () => {
    for (const c of ["conversations_participants", "message_statuses", "message_reactions"]) {
      const first = (await exportAll(orgA, c)).records.map((r) => r._id);
      expect((await exportAll(orgA, c)).records.map((r) => r._id)).toEqual(first);
    }
  });

  it("carries no secret material: no password hash unless asked, no token, no key", async () => {
    const text = (await Promise.all(COLLECTIONS.map(async (c) => (await exportAll(orgA, c)).text))).join("");
    const hashes = (await env.DB.prepare("SELECT password_hash FROM users WHERE organization_id = ? AND password_hash IS NOT NULL").bind(orgA).all<{ password_hash: string }>()).results;
    const tokenHashes = (await env.DB.prepare("SELECT token_hash FROM user_tokens WHERE organization_id = ?").bind(orgA).all<{ token_hash: string }>()).results;
    expect(hashes).toHaveLength(3);
    expect(tokenHashes.length).toBeGreaterThan(0);
    const secrets = [
      ...hashes.flatMap((h) => h.password_hash.split("$")),
      ...tokenHashes.map((t) => t.token_hash),
      ...[alice, bob, carol].flatMap((m) => [m.login.accessToken, m.login.cookie.split("=")[1]!, m.user.password]),
      pushToken,
      ...["ADMIN_API_KEY", "JWT_ACCESS_SECRET", "JWT_REFRESH_SECRET", "COOKIE_SECRET", "FILES_SIGNING_SECRET", "VAPID_PRIVATE_KEY"].map((k) => String((env as unknown as Record<string, string>)[k])),
    ].filter((s) => s.length >= 8);
    for (const secret of secrets) expect(text).not.toContain(secret);
    expect(text).not.toMatch(/password|token|pbkdf2/i);

    // Asked for: users carry their hash (a Parley hash whole, as SAMA has no field for its parts).
    const withHashes = (await exportAll(orgA, "users", { include: "password_hashes" })).records;
    for (const { password_hash } of hashes) expect(withHashes.map((u) => u.encrypted_password)).toContain(password_hash);
    expect(withHashes.find((u) => u.login === "server-chat-bot")!.encrypted_password).toBeUndefined();

    // Push subscriptions hold push tokens: only when asked for.
    const refused = await admin("GET", `/admin/organizations/${orgA}/export/push_subscriptions`);
    expect({ status: refused.status, text: refused.text }).toEqual({
      status: 422,
      text: "push_subscriptions hold push tokens and keys: ask for them with include=push_subscriptions",
    });
    expect((await exportAll(orgA, "push_subscriptions", { include: "push_subscriptions" })).records).toEqual([
      { _id: anyOid, organization_id: orgA, platform: "android", device_token: pushToken, user_id: alice.user.id, device_udid: "udid-1", created_at: anyDate, updated_at: anyDate },
    ]);
  });

  it("pages across page and conversation boundaries: every page size gives the same records once", async () => {
    for (const c of [...COLLECTIONS, "push_subscriptions"]) {
      const include = "push_subscriptions";
      const whole = await exportAll(orgA, c, { limit: 1000, include });
      expect(whole.pages, c).toEqual([whole.records.length]);
      for (const limit of [1, 2, 3]) {
        const paged = await exportAll(orgA, c, { limit, include });
        expect(paged.records, `${c} by ${limit}`).toEqual(whole.records);
        expect(Math.max(...paged.pages), `${c} by ${limit}`).toBeLessThanOrEqual(limit);
        if (whole.records.length > limit) expect(paged.pages.length, `${c} by ${limit}`).toBeGreaterThan(1);
      }
    }
  });

  it("never lets another organization's data in", async () => {
    const textA = (await Promise.all([...COLLECTIONS.map((c) => exportAll(orgA, c).then((e) => e.text)), exportAll(orgA, "users", { include: "password_hashes" }).then((e) => e.text)])).join("");
    for (const foreign of [orgB, dave.user.id, erin.user.id, otherChat, "B-SECRET-BODY", "B-SECRET-CONTACT"]) expect(textA).not.toContain(foreign);
    const textB = (await Promise.all(COLLECTIONS.map((c) => exportAll(orgB, c).then((e) => e.text)))).join("");
    expect(textB).toContain("B-SECRET-BODY");
    for (const foreign of [orgA, alice.user.id, group, chat, "hello team"]) expect(textB).not.toContain(foreign);
    // A cursor naming another organization's conversation yields nothing of it.
    const cursor = btoa(JSON.stringify({ cid: otherChat, after: [0] })).replace(/=+$/, "");
    const res = await admin("GET", `/admin/organizations/${orgA}/export/messages?cursor=${cursor}`);
    expect(res.status).toBe(200);
    expect(res.text).not.toContain("B-SECRET-BODY");
  });

  it("refuses an unknown organization, collection or cursor", async () => {
    const unknownOrg = await admin("GET", `/admin/organizations/${"0".repeat(24)}/export/users`);
    expect({ status: unknownOrg.status, text: unknownOrg.text }).toEqual({ status: 404, text: "Organization not found" });
    const collection = await admin("GET", `/admin/organizations/${orgA}/export/user_tokens`);
    expect(collection.status).toBe(422);
    expect(collection.text).toMatch(/^"collection" must be one of \[organizations, users,/);
    const cursor = await admin("GET", `/admin/organizations/${orgA}/export/users?cursor=not-a-cursor`);
    expect({ status: cursor.status, text: cursor.text }).toEqual({ status: 422, text: '"cursor" is invalid' });
    const limit = await admin("GET", `/admin/organizations/${orgA}/export/users?limit=1001`);
    expect({ status: limit.status, text: limit.text }).toEqual({ status: 422, text: '"limit" must be less than or equal to 1000' });
    expect((await exportAll(orgA, "users", { limit: 1000 })).pages).toEqual([4]);
    const include = await admin("GET", `/admin/organizations/${orgA}/export/users?include=tokens`);
    expect({ status: include.status, text: include.text }).toEqual({ status: 422, text: '"[0]" must be one of [password_hashes, push_subscriptions]' });
  });

  it("exports a delivered status as soon as message_list shows it, before the object has written it", async () => {
    const [from, to] = await Promise.all([connectedSocket(alice.user), connectedSocket(bob.user)]);
    const mid = (await send(from.socket, chat, { body: "are you there?" })).server_mid;
    // The report waits up to 3 s for a commit to ride with; message_list counts it meanwhile.
    await eventually(async () => expect((await listMessages(from.socket, { cid: chat, ids: [mid] }))[0]?.status).toBe("delivered"));
    const { records } = await exportAll(orgA, "message_statuses");
    expect(records.filter((s) => s.mid === mid)).toEqual([{ _id: anyOid, cid: chat, mid, user_id: bob.user.id, status: "delivered", created_at: anyDate, updated_at: anyDate }]);
    to.socket.close();
  });
});
