// `npm run import:sama`'s importer (scripts/sama-import.ts) against the Worker: a mongoexport dump
// made here from the record shapes of SAMA's records page (Extended JSON, canonical and relaxed, one
// file as a JSON array), with broken records among them. A dry run writes nothing; the import keeps
// SAMA's ids; an imported user signs in with the old password over POST /login and `connect`, and
// sees the same conversations, unread counts and history in order; a second run changes nothing.
import { env, exports } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { hashPassword } from "../../src/auth/password";
import { documentsOf, formatReport, runImport, STEPS, type DumpSource, type ImportReport } from "../../scripts/sama-import";
import { conversationList, messageList, rec, recs } from "../chat/conversation-fixtures";
import { ORIGIN, TestSocket, type Frame } from "../helpers/socket";
import { ADMIN_KEY, connectedSocket, http, unique, type TestUser } from "../helpers/users";

// ---------------------------------------------------------------- the dump

const nowS = Math.floor(Date.now() / 1000);
let counter = 0;
/** A fresh ObjectId made at Unix second `t` (a random middle keeps runs apart). */
function oid(t: number): string {
  counter++;
  return t.toString(16).padStart(8, "0") + crypto.getRandomValues(new Uint8Array(5)).reduce((s, b) => s + b.toString(16).padStart(2, "0"), "") + counter.toString(16).padStart(6, "0");
}
const relaxed = (ms: number) => ({ $date: new Date(ms).toISOString() });
const canonical = (ms: number) => ({ $date: { $numberLong: String(ms) } });

/** SAMA's password hash (SAMA-PROTOCOL.md): 20 rounds of hex SHA-512 over password + salt. */
async function samaHash(password: string, salt: string): Promise<string> {
  let h = password + salt;
  for (let i = 0; i < 20; i++) {
    const digest = await crypto.subtle.digest("SHA-512", new TextEncoder().encode(h));
    h = [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
  }
  return h;
}

const t0 = nowS - 2 * 86400; // two days ago: within the feed's 14 days
const orgA = oid(t0 - 1000);
const orgB = oid(t0 - 1000);
const ids = {
  alice: oid(t0 - 900),
  bob: oid(t0 - 900),
  carol: oid(t0 - 900),
  dave: oid(t0 - 900),
  erin: oid(t0 - 900),
  frank: oid(t0 - 900),
  gina: oid(t0 - 900),
  p: oid(t0 - 500),
  g: oid(t0 - 500),
  c: oid(t0 - 500),
  g0: oid(nowS - 30 * 86400), // a month old: in the history, not in the feed
  p1: oid(t0 + 10),
  p2: oid(t0 + 20),
  p3: oid(t0 + 30),
  g1: oid(t0 + 100),
  g2: oid(t0 + 110),
  g3: oid(t0 + 120),
  g4: oid(t0 + 130),
  g5: oid(t0 + 140),
  c1: oid(t0 + 200),
  c2: oid(t0 + 210),
  file1: oid(t0),
  file2: oid(t0),
  object1: oid(t0),
  object2: oid(t0),
};
const logins = { alice: unique("alice"), bob: unique("bob"), carol: unique("carol"), dave: unique("dave"), erin: unique("erin") };
const password = (name: string) => `old-${name}-password`;
const ginaLogin = unique("gina");
const FILE_BYTES = new TextEncoder().encode("\x89PNG not really");

async function user(name: keyof typeof logins, org = orgA) {
  const salt = `salt${name}XYZ0123456789`;
  return {
    _id: { $oid: ids[name] },
    organization_id: org,
    login: logins[name],
    email: `${logins[name]}@example.test`,
    first_name: name[0]!.toUpperCase() + name.slice(1),
    last_name: "",
    password_salt: salt,
    encrypted_password: await samaHash(password(name), salt),
    recent_activity: t0,
    created_at: relaxed((t0 - 900) * 1000),
    updated_at: canonical((t0 - 900) * 1000),
  };
}

function message(id: string, cid: string, from: string, body: string, extra: Record<string, unknown> = {}) {
  const at = parseInt(id.slice(0, 8), 16) * 1000 + 123;
  return { _id: { $oid: id }, organization_id: orgA, cid, from, body, attachments: [], x: {}, deleted_for: [], t: Math.ceil(at / 1000), created_at: relaxed(at), updated_at: canonical(at), ...extra };
}

const participant = (cid: string, userId: string, role: string) => ({ _id: { $oid: oid(t0) }, organization_id: orgA, conversation_id: cid, user_id: userId, role, created_at: relaxed(t0 * 1000) });
const status = (mid: string, cid: string, userId: string) => ({ _id: { $oid: oid(t0 + 300) }, mid, cid, user_id: userId, status: "read", created_at: relaxed((t0 + 300) * 1000) });

const broken = {
  userBadId: "not-an-objectid",
  userNoOrg: oid(t0),
  userSameLogin: oid(t0),
  userBadHash: oid(t0),
  conversationBadType: oid(t0),
  participantNoConversation: oid(t0),
  messageNoConversation: oid(t0 + 5),
  statusNoMessage: oid(t0),
  reactionNoMessage: oid(t0),
};

async function buildDump(): Promise<Record<string, unknown[] | string>> {
  const alice = await user("alice");
  return {
    organizations: [
      { _id: "default", name: "default", created_at: relaxed(Date.now()) },
      { _id: { $oid: orgA }, name: unique("Acme"), created_at: relaxed((t0 - 1000) * 1000), updated_at: relaxed((t0 - 1000) * 1000) },
      { _id: { $oid: orgB }, name: unique("Globex"), created_at: canonical((t0 - 1000) * 1000) },
    ],
    users: [
      alice,
      await user("bob"),
      await user("carol"),
      await user("dave"),
      await user("erin"),
      { ...(await user("alice", orgB)), _id: { $oid: ids.frank } }, // the same login in another organization is fine
      { ...alice, _id: broken.userBadId },
      { ...alice, _id: { $oid: broken.userNoOrg }, organization_id: oid(t0), login: unique("x") },
      { ...alice, _id: { $oid: broken.userSameLogin }, login: logins.alice.toUpperCase(), email: "other@example.test" },
      { ...alice, _id: { $oid: broken.userBadHash }, login: unique("y"), email: null, encrypted_password: "abc" },
      // Parley's own hash (an export of a Parley deployment) moves as it is.
      { _id: { $oid: ids.gina }, organization_id: orgA, login: ginaLogin, password_salt: "", encrypted_password: await hashPassword("gina-pass") },
    ],
    files: [
      { _id: { $oid: ids.file1 }, organization_id: orgA, name: "shot.png", size: FILE_BYTES.byteLength, content_type: "image/png", object_id: ids.object1, user_id: ids.bob, created_at: relaxed(t0 * 1000) },
      { _id: { $oid: ids.file2 }, organization_id: orgA, name: "lost.png", size: 10, content_type: "image/png", object_id: ids.object2, user_id: ids.bob, created_at: relaxed(t0 * 1000) },
    ],
    conversations: [
      { _id: { $oid: ids.p }, organization_id: orgA, type: "u", owner_id: ids.alice, opponent_id: ids.bob, created_at: relaxed((t0 - 500) * 1000), updated_at: relaxed((t0 - 500) * 1000) },
      { _id: { $oid: ids.g }, organization_id: orgA, type: "g", name: "Team", description: "Description", owner_id: ids.alice, image_object: { file_id: ids.object1, file_name: "shot.png" }, created_at: relaxed((t0 - 500) * 1000) },
      { _id: { $oid: ids.c }, organization_id: orgA, type: "c", name: "News", owner_id: ids.alice, subscribers_count: "", created_at: relaxed((t0 - 500) * 1000) },
      { _id: { $oid: broken.conversationBadType }, organization_id: orgA, type: "x", owner_id: ids.alice },
    ],
    conversations_participants: [
      participant(ids.p, ids.alice, "owner"),
      participant(ids.p, ids.bob, ""),
      participant(ids.g, ids.alice, "owner"),
      participant(ids.g, ids.bob, "admin"),
      participant(ids.g, ids.carol, ""),
      // Dave left the group: SAMA deleted his participant row; his messages stay.
      participant(ids.c, ids.alice, "owner"),
      participant(ids.c, ids.erin, ""),
      participant(ids.c, ids.bob, ""),
      { ...participant(oid(t0), ids.bob, ""), _id: { $oid: broken.participantNoConversation } },
    ],
    contacts: [
      { _id: { $oid: oid(t0) }, organization_id: orgA, user_id: ids.alice, first_name: "Bob", email: [{ type: "home", value: `${logins.bob}@example.test`, matched_user_id: ids.bob }], phone: [] },
    ],
    blocked_users: [{ _id: { $oid: oid(t0) }, organization_id: orgA, user_id: ids.carol, blocked_user_id: ids.dave, enabled: true }],
    push_subscriptions: [
      { _id: { $oid: oid(t0) }, organization_id: orgA, user_id: ids.alice, platform: "web", web_endpoint: "https://push.example.test/a", web_key_auth: "auth", web_key_p256dh: "p256dh", device_udid: "3280748290" },
    ],
    // Out of order on purpose: the history is stored in _id order, as SAMA orders it.
    messages: [
      message(ids.p3, ids.p, ids.alice, "how are you"),
      message(ids.p1, ids.p, ids.alice, "hi bob"),
      message(ids.p2, ids.p, ids.bob, "a screenshot", {
        attachments: [{ file_id: ids.object1, file_name: "shot.png", file_content_type: "image/png", file_size: FILE_BYTES.byteLength, file_width: 10, file_height: 5 }],
      }),
      message(ids.g0, ids.g, ids.alice, "old news"),
      message(ids.g1, ids.g, ids.alice, "hello team"),
      message(ids.g2, ids.g, ids.dave, "hi all"),
      message(ids.g3, ids.g, ids.dave, "Dave has left the group", { x: { type: "left_participants", user: { _id: ids.dave, login: logins.dave } } }),
      message(ids.g4, ids.g, ids.carol, "welcome", { replied_message_id: ids.g1 }),
      message(ids.g5, ids.g, ids.alice, "not for bob", { deleted_for: [ids.bob], forwarded_message_id: ids.g1 }),
      message(ids.c1, ids.c, ids.alice, "first post"),
      message(ids.c2, ids.c, ids.alice, "second post"),
      message(broken.messageNoConversation, oid(t0), ids.alice, "lost"),
    ],
    message_statuses: [
      status(ids.p1, ids.p, ids.bob),
      status(ids.p2, ids.p, ids.alice),
      status(ids.g1, ids.g, ids.carol),
      status(ids.g2, ids.g, ids.carol),
      { ...status(ids.p3, ids.p, ids.bob), status: "delivered" },
      { ...status(oid(t0), ids.g, ids.carol), _id: { $oid: broken.statusNoMessage } },
    ],
    // mongoexport --jsonArray
    message_reactions: JSON.stringify([
      { _id: { $oid: oid(t0 + 400) }, mid: ids.g1, user_id: ids.bob, reaction: "👍", created_at: relaxed((t0 + 400) * 1000) },
      { _id: { $oid: broken.reactionNoMessage }, mid: oid(t0), user_id: ids.bob, reaction: "👍" },
    ]),
    user_tokens: [{ _id: { $oid: oid(t0) }, organization_id: orgA, type: "refresh", token: "eyJ…", user_id: ids.bob, device_id: "1" }],
  };
}

/** The dump as files: one document per line (a broken line in messages.json), read in small chunks. */
function memorySource(dump: Record<string, unknown[] | string>): DumpSource {
  const text = (name: string): string | null => {
    const content = dump[name];
    if (content === undefined) return null;
    if (typeof content === "string") return content;
    const lines = content.map((doc) => JSON.stringify(doc));
    if (name === "messages") lines.splice(3, 0, '{"_id": {"$oid": "broken json');
    return lines.join("\n") + "\n";
  };
  return {
    collections: async () => Object.keys(dump),
    open: async (name) => {
      const content = text(name);
      if (content === null) return null;
      async function* chunks() {
        for (let i = 0; i < content!.length; i += 97) yield content!.slice(i, i + 97);
      }
      return { documents: documentsOf(chunks()), total: null };
    },
    fileBytes: async (objectId) => (objectId === ids.object1 ? FILE_BYTES : null),
  };
}

function run(source: DumpSource, dryRun: boolean): Promise<ImportReport> {
  return runImport(source, { url: ORIGIN, adminKey: ADMIN_KEY, dryRun, fetch: (request) => exports.default.fetch(request), batchRecords: 4 });
}

const skippedIds = (report: ImportReport, step: (typeof STEPS)[number]) => report.steps[step].skipped.map((s) => s.id).sort();
const counts = (report: ImportReport) => Object.fromEntries(STEPS.map((s) => [s, [report.steps[s].imported, report.steps[s].existing, report.steps[s].skipped.length]]));

async function rowCount(query: string, ...binds: string[]): Promise<number> {
  return (await env.DB.prepare(query).bind(...binds).first<{ n: number }>())!.n;
}

async function signIn(name: keyof typeof logins): Promise<TestSocket> {
  const account: TestUser = { id: ids[name], login: logins[name], password: password(name), email: "", organizationId: orgA, user: {} };
  return (await connectedSocket(account)).socket;
}

const messageIds = (list: Frame[]) => list.map((m) => m._id);
const unreadOf = (list: Frame[]) => Object.fromEntries(list.map((c) => [c._id, c.unread_messages_count]));
const lastOf = (list: Frame[]) => Object.fromEntries(list.map((c) => [c._id, rec(c.last_message)._id]));

// ---------------------------------------------------------------- the tests

let dump: Record<string, unknown[] | string>;
let dryReport: ImportReport;
let report: ImportReport;

/** What Parley held of the dump right after the dry run. */
let afterDryRun: number[];

/** Rows and objects of the dump's organizations, users, conversations, messages and files. */
async function footprint(): Promise<number[]> {
  return [
    await rowCount("SELECT count(*) AS n FROM organizations WHERE id IN (?, ?)", orgA, orgB),
    await rowCount("SELECT count(*) AS n FROM users WHERE organization_id IN (?, ?)", orgA, orgB),
    await rowCount("SELECT count(*) AS n FROM conversations WHERE organization_id = ?", orgA),
    await rowCount("SELECT count(*) AS n FROM messages WHERE organization_id = ?", orgA),
    await rowCount("SELECT count(*) AS n FROM files WHERE organization_id = ?", orgA),
    (await env.FILES.head(ids.object1)) === null ? 0 : 1,
  ];
}

beforeAll(async () => {
  dump = await buildDump();
  dryReport = await run(memorySource(dump), true);
  afterDryRun = await footprint();
  report = await run(memorySource(dump), false);
}, 60_000);

describe("npm run import:sama", () => {
  it("a dry run validates everything like the import and writes nothing", async () => {
    // Uniqueness is checked within a batch and against what Parley has: with nothing written, a
    // login taken by a user of an earlier batch is found only by the import itself.
    const sameLogin = (r: ImportReport) => r.steps.users.skipped.filter((s) => s.id !== broken.userSameLogin);
    expect({ ...counts(dryReport), users: [8, 0, 3] }).toEqual({ ...counts(report), users: [8, 0, 3] });
    expect(sameLogin(dryReport)).toEqual(sameLogin(report));
    for (const step of STEPS.filter((s) => s !== "users")) expect(skippedIds(dryReport, step)).toEqual(skippedIds(report, step));
    expect(dryReport.files.missing).toEqual([ids.object2]);
    expect(afterDryRun).toEqual([0, 0, 0, 0, 0, 0]);
    expect(await footprint()).toEqual([2, 9, 3, 11, 2, 1]); // the import, for contrast (7 users and 2 bots)
    expect(formatReport(dryReport)).toMatch(/^Dry run: nothing was written/);
  });

  it("reports counts per collection, every skipped record with its reason, missing files and what does not move", async () => {
    expect(counts(report)).toEqual({
      organizations: [2, 1, 0],
      users: [7, 0, 4],
      files: [2, 0, 0],
      conversations: [3, 0, 1],
      conversations_participants: [8, 0, 1],
      conversation_handlers: [0, 0, 0],
      contacts: [1, 0, 0],
      blocked_users: [1, 0, 0],
      push_subscriptions: [1, 0, 0],
      messages: [11, 0, 2],
      message_statuses: [5, 0, 1],
      history: [3, 0, 0],
      message_reactions: [1, 0, 1],
    });
    const reasons = Object.fromEntries(STEPS.flatMap((s) => report.steps[s].skipped.map((k) => [k.id, k.reason])));
    expect(reasons).toMatchObject({
      [broken.userBadId]: expect.stringContaining('"_id"') as unknown,
      [broken.userNoOrg]: expect.stringContaining("organization that was not imported") as unknown,
      [broken.userSameLogin]: `the login is already used by ${ids.alice}`,
      [broken.userBadHash]: `"encrypted_password" must be SAMA's hash (128 hex digits, with password_salt) or Parley's`,
      [broken.conversationBadType]: '"type" must be one of [u, g, c]',
      [broken.participantNoConversation]: expect.stringContaining("conversation that was not imported") as unknown,
      [broken.messageNoConversation]: expect.stringContaining('"cid" names a conversation that was not imported') as unknown,
      "line 4": expect.stringMatching(/^not JSON/) as unknown,
      [broken.statusNoMessage]: expect.stringContaining('"mid" names a message') as unknown,
      [broken.reactionNoMessage]: expect.stringContaining('"mid" names a message') as unknown,
    });
    expect(report.missingFiles).toEqual(["conversation_handlers"]);
    expect(report.notMoved).toEqual(["user_tokens"]);
    expect(report.files).toEqual({ uploaded: 1, present: 0, missing: [ids.object2], failed: [] });
    const text = formatReport(report);
    expect(text).toContain(`users ${broken.userSameLogin}: the login is already used by ${ids.alice}`);
    expect(text).toContain("no file in the dump (skipped): conversation_handlers.json");
  });

  it("takes a full batch of pair-keyed records (D1 binds at most 100 parameters a statement)", async () => {
    const org = oid(t0);
    const people = Array.from({ length: 61 }, () => oid(t0));
    const records = people.slice(1).map((blocked) => ({ _id: { $oid: oid(t0) }, organization_id: org, user_id: people[0], blocked_user_id: blocked }));
    const res = await http("POST", "/admin/import", { body: { collection: "blocked_users", records, dry_run: true, known: [org, ...people] }, headers: { "admin-api-key": ADMIN_KEY } });
    expect(res.status, res.text).toBe(200);
    expect(res.json).toMatchObject({ imported: 60, existing: 0, skipped: [] });
  });

  it("gives the organization's bot the id an export of Parley's names, and finds the bot's record there (it has no password)", async () => {
    const org = oid(t0);
    const bot = oid(t0);
    const post = async (collection: string, records: unknown[]) => {
      const res = await http("POST", "/admin/import", { body: { collection, records }, headers: { "admin-api-key": ADMIN_KEY } });
      expect(res.status, res.text).toBe(200);
      return res.json;
    };
    expect(await post("organizations", [{ _id: { $oid: org }, name: unique("Exported"), bot_user_id: bot }])).toMatchObject({ imported: 1, skipped: [] });
    const botRecord = { _id: { $oid: bot }, organization_id: org, login: "server-chat-bot", recent_activity: t0 };
    // Anyone else without a password is still refused.
    const other = { ...botRecord, _id: { $oid: oid(t0) }, login: unique("nopass") };
    expect(await post("users", [botRecord, other])).toMatchObject({ imported: 0, existing: 1, skipped: [{ id: other._id.$oid, reason: '"encrypted_password" is required' }] });
    const rows = await env.DB.prepare("SELECT id, is_bot, password_hash FROM users WHERE organization_id = ?").bind(org).all<{ id: string; is_bot: number; password_hash: string | null }>();
    expect(rows.results).toEqual([{ id: bot, is_bot: 1, password_hash: null }]);
  });

  it("keeps a delivered status whatever the order of the statuses, one per message, and reports a second one", async () => {
    const org = oid(t0);
    const [alice, bob, carol, cid, mid] = [oid(t0), oid(t0), oid(t0), oid(t0), oid(t0 + 10)];
    const post = async (collection: string, records: unknown[]) => {
      const res = await http("POST", "/admin/import", { body: { collection, records }, headers: { "admin-api-key": ADMIN_KEY } });
      expect(res.status, res.text).toBe(200);
      return res.json;
    };
    await post("organizations", [{ _id: { $oid: org }, name: unique("Statuses") }]);
    const hash = await hashPassword("pw");
    await post("users", [alice, bob, carol].map((id) => ({ _id: { $oid: id }, organization_id: org, login: unique("u"), password_salt: "", encrypted_password: hash })));
    await post("conversations", [{ _id: { $oid: cid }, organization_id: org, type: "g", name: "G", owner_id: alice }]);
    await post("conversations_participants", [alice, bob, carol].map((u) => ({ _id: { $oid: oid(t0) }, conversation_id: cid, user_id: u, role: u === alice ? "owner" : "" })));
    await post("messages", [{ _id: { $oid: mid }, organization_id: org, cid, from: alice, body: "hi" }]);
    // Carol's read sorts first by _id; Bob's device had the message before (a live delivery is only recorded while no status exists).
    const read = { _id: { $oid: oid(t0 + 20) }, cid, mid, user_id: carol, status: "read" };
    const delivered = { _id: { $oid: oid(t0 + 21) }, cid, mid, user_id: bob, status: "delivered" };
    const second = { _id: { $oid: oid(t0 + 22) }, cid, mid, user_id: carol, status: "delivered" };
    expect(await post("message_statuses", [read, delivered, second])).toMatchObject({
      imported: 2,
      skipped: [{ id: second._id.$oid, reason: "the message has a delivered status already (Parley keeps the first)" }],
    });
    await post("history", [cid]);
    const exported = await http("GET", `/admin/organizations/${org}/export/message_statuses`, { headers: { "admin-api-key": ADMIN_KEY } });
    const statuses = exported.text.split("\n").filter(Boolean).map((line) => JSON.parse(line) as Frame);
    expect(statuses.map((s) => [s.user_id, s.status]).sort()).toEqual([[bob, "delivered"], [carol, "read"]].sort());
  });

  it("keeps SAMA's ids and the file bytes", async () => {
    expect(await rowCount("SELECT count(*) AS n FROM organizations WHERE id IN (?, ?)", orgA, orgB)).toBe(2);
    expect(await rowCount("SELECT count(*) AS n FROM users WHERE organization_id = ? AND is_bot = 1", orgA)).toBe(1);
    expect(await rowCount("SELECT count(*) AS n FROM messages WHERE cid IN (?, ?, ?)", ids.p, ids.g, ids.c)).toBe(11);
    const stored = await env.FILES.get(ids.object1);
    expect(new Uint8Array(await stored!.arrayBuffer())).toEqual(FILE_BYTES);
    expect(await env.FILES.head(ids.object2)).toBeNull();
  });

  it("an imported user signs in with the old password and sees the same conversations, unread counts and history in order", async () => {
    // A wrong password is still refused.
    const wrong = await http("POST", "/login", { body: { organization_id: orgA, login: logins.bob, password: "nope", device_id: "d1" } });
    expect(wrong.status).toBe(401);
    const bob = await signIn("bob");
    // The legacy hash was replaced at this first sign-in.
    const hash = await env.DB.prepare("SELECT password_hash AS h FROM users WHERE id = ?").bind(ids.bob).first<{ h: string }>();
    expect(hash!.h).toMatch(/^pbkdf2-sha256\$/);

    const list = await conversationList(bob);
    expect(messageIds(list).sort()).toEqual([ids.p, ids.g, ids.c].sort());
    // Bob read Alice's first private message; the group message hidden for him is not counted.
    expect(unreadOf(list)).toEqual({ [ids.p]: 1, [ids.g]: 5, [ids.c]: 2 });
    expect(lastOf(list)).toEqual({ [ids.p]: ids.p3, [ids.g]: ids.g4, [ids.c]: ids.c2 });
    const group = list.find((c) => c._id === ids.g)!;
    expect(group).toMatchObject({ name: "Team", description: "Description", owner_id: ids.alice, type: "g", image_object: { file_id: ids.object1 } });
    expect(list.find((c) => c._id === ids.p)).toMatchObject({ type: "u", owner_id: ids.alice, opponent_id: ids.bob });
    expect(list.find((c) => c._id === ids.c)).toMatchObject({ type: "c", subscribers_count: 3 });

    // History in SAMA's order (newest first), seq in message order, with its fields.
    const groupMessages = await messageList(bob, ids.g);
    expect(messageIds(groupMessages)).toEqual([ids.g4, ids.g3, ids.g2, ids.g1, ids.g0]);
    expect(groupMessages.map((m) => m.seq)).toEqual([5, 4, 3, 2, 1]);
    expect(groupMessages[0]).toMatchObject({ from: ids.carol, body: "welcome", replied_message_id: ids.g1 });
    expect(groupMessages[1]).toMatchObject({ from: ids.dave, x: { type: "left_participants" } });
    expect(groupMessages[3]!.reactions).toEqual({ own: ["👍"], total: { "👍": 1 } });
    const privateMessages = await messageList(bob, ids.p);
    expect(messageIds(privateMessages)).toEqual([ids.p3, ids.p2, ids.p1]);
    expect(privateMessages[1]).toMatchObject({ from: ids.bob, status: "read", attachments: [{ file_id: ids.object1, file_name: "shot.png" }] });

    // Catch-up: the recent history as events, in order; the month-old message only in the history.
    const sync = await bob.request("sync", {});
    const events = recs(sync.events).map((e) => rec(rec(e.packet).message)._id);
    expect(events).toEqual([ids.p1, ids.p2, ids.p3, ids.g1, ids.g2, ids.g3, ids.g4, ids.c1, ids.c2]);

    // The file posted in the private chat is downloadable by its members.
    const urls = await bob.request("get_file_urls", { file_ids: [ids.object1] });
    expect(Object.keys(rec(urls.file_urls))).toEqual([ids.object1]);

    // Carol read up to Dave's first message: his leaving and Alice's last one are unread.
    const carol = await signIn("carol");
    expect(unreadOf(await conversationList(carol))).toEqual({ [ids.g]: 2 });
    // Blocks, contacts and push subscriptions came along.
    expect((await carol.request("list_blocked_users", {})).users).toEqual([ids.dave]);
    const alice = await signIn("alice");
    expect(recs((await alice.request("contact_list", {})).contacts).map((c) => c._id)).toHaveLength(1);
    expect(recs((await alice.request("push_subscription_list", { user_id: ids.alice })).subscriptions)).toHaveLength(1);
    expect(unreadOf(await conversationList(alice))).toEqual({ [ids.p]: 0, [ids.g]: 3, [ids.c]: 0 });
    // Bob's device had Alice's last private message: she sees it delivered.
    expect((await messageList(alice, ids.p))[0]).toMatchObject({ _id: ids.p3, status: "delivered" });
    const gina: TestUser = { id: ids.gina, login: ginaLogin, password: "gina-pass", email: "", organizationId: orgA, user: {} };
    expect(await conversationList((await connectedSocket(gina)).socket)).toEqual([]);
  });

  it("a second run imports nothing twice", async () => {
    const bob = await signIn("bob");
    const before = { list: await conversationList(bob), messages: await messageList(bob, ids.g), sync: await bob.request("sync", {}) };
    const again = await run(memorySource(dump), false);
    for (const step of STEPS) {
      expect(again.steps[step].imported, step).toBe(0);
      expect(skippedIds(again, step), step).toEqual(skippedIds(report, step));
    }
    expect(again.steps.messages.existing).toBe(11);
    expect(again.steps.history.existing).toBe(3);
    expect(again.files).toEqual({ uploaded: 0, present: 1, missing: [ids.object2], failed: [] });
    expect(await rowCount("SELECT count(*) AS n FROM messages WHERE cid IN (?, ?, ?)", ids.p, ids.g, ids.c)).toBe(11);
    const list = await conversationList(bob);
    expect(unreadOf(list)).toEqual(unreadOf(before.list));
    expect(messageIds(await messageList(bob, ids.g))).toEqual(messageIds(before.messages));
    expect((await bob.request("sync", {})).event_seq).toBe(before.sync.event_seq);

    // A dry run now finds everything there.
    const dry = await run(memorySource(dump), true);
    expect(dry.steps.messages).toMatchObject({ imported: 0, existing: 11 });
    expect(dry.steps.users).toMatchObject({ imported: 0, existing: 7 });
    expect(dry.steps.message_statuses).toMatchObject({ imported: 0, existing: 5 });
  });
});
