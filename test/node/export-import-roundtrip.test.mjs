// The round trip of issue 17: an organization built through the real protocol on one Parley (A),
// exported with `npm run export` (the CLI), read back with `npm run import:sama` (the CLI) into a
// fresh Parley (B); an imported user then signs in to B with the original password and sees over
// the socket what A showed: conversations, participants, unread counts, last messages, history
// (order, bodies, attachments, replies, deleted_for, statuses, reactions), contacts and blocks. A
// second import changes nothing. One `wrangler dev` at a time, each on a port and a state of its own.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { OFFLINE_WRANGLER_ENV } from "../../scripts/wrangler-env.mjs";

const PORT_A = 8941;
const PORT_B = 8942;
const ADMIN_KEY = /^ADMIN_API_KEY=(.*)$/m.exec(readFileSync(".dev.vars.example", "utf8"))[1];
const work = mkdtempSync(join(tmpdir(), "parley-roundtrip-"));
const exportDir = join(work, "export");
/** The bucket's objects, as an operator copies them (named by object_id). */
const bucketDir = join(work, "bucket");
const running = new Set();

after(async () => {
  for (const server of running) await server.stop();
  rmSync(work, { recursive: true, force: true });
});

/** A child process to its end: status and output. */
function run(command, args, env = {}) {
  return new Promise((resolve) => {
    const child = spawn(command, args, { env: { ...process.env, ...OFFLINE_WRANGLER_ENV, CI: "true", ...env } });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    child.on("close", (status) => resolve({ status, stdout, stderr }));
  });
}

/** A `wrangler dev` on `port` with its state in a directory of its own (migrations applied first). */
async function startParley(port, name) {
  const state = join(work, name);
  const migrate = await run("wrangler", ["d1", "migrations", "apply", "DB", "--local", "--persist-to", state]);
  assert.equal(migrate.status, 0, migrate.stderr);
  const url = `http://127.0.0.1:${port}`;
  const child = spawn("wrangler", ["dev", "--port", String(port), "--ip", "127.0.0.1", "--persist-to", state, "--env-file", ".dev.vars.example", "--var", `PUBLIC_URL:${url}`], {
    env: { ...process.env, ...OFFLINE_WRANGLER_ENV, CI: "true" },
    stdio: ["ignore", "ignore", "ignore"],
    detached: true,
  });
  const exited = new Promise((resolve) => child.on("exit", resolve));
  const server = {
    url,
    async stop() {
      if (!running.delete(server)) return;
      process.kill(-child.pid, "SIGTERM");
      await exited;
    },
  };
  running.add(server);
  for (let i = 0; i < 120; i++) {
    if (await fetch(`${url}/health`).then((r) => r.ok, () => false)) return server;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new Error(`wrangler dev on ${port} did not start`);
}

/** A signed-in socket: `request` answers a request, `send` a message's ask. */
async function connect(url, organizationId, login, password, deviceId = `dev-${login}`) {
  const res = await fetch(`${url}/login`, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ organization_id: organizationId, login, password, device_id: deviceId }) });
  assert.equal(res.status, 200, `${login}: ${await res.clone().text()}`);
  const { access_token, user } = await res.json();
  const ws = new WebSocket(url.replace("http", "ws"));
  await new Promise((resolve, reject) => {
    ws.addEventListener("open", resolve);
    ws.addEventListener("error", reject);
  });
  let n = 0;
  const wait = (match, send) =>
    new Promise((resolve) => {
      ws.addEventListener("message", function onFrame(event) {
        const frame = JSON.parse(event.data);
        if (!match(frame)) return;
        ws.removeEventListener("message", onFrame);
        resolve(frame);
      });
      ws.send(JSON.stringify(send));
    });
  const client = {
    user,
    async request(action, params) {
      const id = `${login}-${++n}`;
      const { response } = await wait((f) => f.response?.id === id, { request: { [action]: params, id } });
      assert.equal(response.error, undefined, `${login} ${action}: ${JSON.stringify(response.error)}`);
      return response;
    },
    async send(message) {
      const id = `${login}-m${++n}`;
      const frame = await wait((f) => f.ask?.mid === id || f.message?.id === id, { message: { id, ...message } });
      assert.ok(frame.ask, `${login} message: ${JSON.stringify(frame)}`);
      return frame.ask.server_mid;
    },
    close: () => ws.close(),
  };
  await client.request("connect", { token: access_token, device_id: deviceId });
  return client;
}

/** A user created over the socket (SAMA's user_create needs no sign-in). */
async function createUser(url, organizationId, login) {
  const ws = new WebSocket(url.replace("http", "ws"));
  await new Promise((resolve) => ws.addEventListener("open", resolve));
  const frame = await new Promise((resolve) => {
    ws.addEventListener("message", (event) => resolve(JSON.parse(event.data)));
    ws.send(JSON.stringify({ request: { user_create: { organization_id: organizationId, login, password: `${login}-pw`, email: `${login}@example.com` }, id: "c" } }));
  });
  ws.close();
  assert.ok(frame.response?.user, JSON.stringify(frame));
  return frame.response.user._id;
}

/** What a user sees over the socket, in a form to compare between the two deployments. */
async function view(client) {
  const { conversations } = await client.request("conversation_list", {});
  const cids = conversations.map((c) => c._id).sort();
  const participants = (await client.request("get_participants_by_cids", { cids })).conversations;
  for (const cid of Object.keys(participants)) participants[cid].sort();
  const history = {};
  for (const cid of cids) {
    const { messages } = await client.request("message_list", { cid, limit: 100 });
    history[cid] = messages;
  }
  const authors = [...new Set(Object.values(history).flatMap((list) => list.map((m) => m.from)))].sort();
  const { users } = authors.length === 0 ? { users: [] } : await client.request("get_users_by_ids", { ids: authors });
  const { contacts } = await client.request("contact_list", {});
  const { users: blocked } = await client.request("list_blocked_users", {});
  return {
    conversations: conversations
      .map((c) => ({
        _id: c._id,
        type: c.type,
        name: c.name,
        owner_id: c.owner_id,
        opponent_id: c.opponent_id,
        unread: c.unread_messages_count,
        last: c.last_message && { _id: c.last_message._id, body: c.last_message.body, from: c.last_message.from, status: c.last_message.status },
        created_at: c.created_at,
      }))
      .sort((a, b) => a._id.localeCompare(b._id)),
    participants,
    history,
    authors: users.map((u) => [u._id, u.login]).sort(),
    contacts: contacts.map((c) => ({ _id: c._id, first_name: c.first_name, email: c.email, phone: c.phone })),
    blocked: blocked.sort(),
  };
}

const LOGINS = ["ann", "ben", "cat", "dan"];

test("an export of an organization re-imports into a fresh Parley: the same conversations, history, contacts and blocks; a second import changes nothing", { timeout: 180_000 }, async () => {
  // ---- A: an organization built through the protocol
  const a = await startParley(PORT_A, "state-a");
  const orgRes = await fetch(`${a.url}/admin/organization`, { method: "POST", headers: { "admin-api-key": ADMIN_KEY, "Content-Type": "application/json" }, body: JSON.stringify({ name: "Round trip" }) });
  assert.equal(orgRes.status, 200);
  const org = (await orgRes.json()).organization._id;
  const id = {};
  for (const login of LOGINS) id[login] = await createUser(a.url, org, login);
  const [ann, ben, cat, dan] = await Promise.all(LOGINS.map((login) => connect(a.url, org, login, `${login}-pw`)));

  const chat = (await ann.request("conversation_create", { type: "u", participants: [id.ben] })).conversation._id;
  const team = (await ann.request("conversation_create", { type: "g", name: "Team", participants: [id.ben, id.cat, id.dan] })).conversation._id;
  const news = (await ann.request("conversation_create", { type: "c", name: "News", description: "d" })).conversation._id;
  await ben.request("conversation_subscribe", { cid: news });

  // An attachment through the real upload flow: create_files, PUT the bytes, attach the object id.
  const [file] = (await ann.request("create_files", [{ name: "note.txt", size: 5, content_type: "text/plain" }])).files;
  assert.equal((await fetch(file.upload_url, { method: "PUT", headers: { "Content-Type": "text/plain" }, body: "hello" })).ok, true);
  const attachment = { file_id: file.object_id, file_name: "note.txt", file_content_type: "text/plain", file_size: 5 };

  const hello = await ann.send({ cid: chat, body: "hello", attachments: [attachment] });
  await ben.send({ cid: chat, body: "hi back", replied_message_id: hello });
  const typo = await ann.send({ cid: chat, body: "typo" });
  await ann.request("message_edit", { id: typo, body: "fixed" });
  const secret = await ben.send({ cid: chat, body: "secret" });
  await ann.request("message_delete", { cid: chat, ids: [secret], type: "myself" });
  await ben.request("message_read", { cid: chat });
  await ann.request("message_reactions_update", { mid: hello, add: "👍" });
  await ben.request("message_reactions_update", { mid: hello, add: "🎉" });
  await ann.send({ cid: chat, body: "unread by ben" });

  // A handler whose bot answers: the bot (Parley's own user) authors a message of the history.
  const handler = 'const handler = async (message, user, accept, resolve) => message.body === "bot?" ? resolve({ message: { body: "beep" } }) : accept();\nexport default await handler(env.MESSAGE, env.USER, env.ACCEPT, env.RESOLVE, env.REJECT, env.FETCH);';
  await ann.request("conversation_handler_create", { cid: team, content: handler });
  const teamHi = await ann.send({ cid: team, body: "team hi" });
  await ben.send({ cid: team, body: "bot?" });
  await cat.send({ cid: team, body: "cat here", replied_message_id: teamHi });
  await dan.send({ cid: team, body: "bye" });
  await dan.request("conversation_delete", { id: team });
  await cat.request("message_read", { cid: team });
  await cat.request("message_reactions_update", { mid: teamHi, add: "😂" });
  await ann.send({ cid: news, body: "news 1" });

  await ann.request("contact_add", { first_name: "Ben", email: [{ type: "work", value: "ben@example.com" }] });
  await cat.request("block_user", { ids: [id.dan] });

  // The operator copies the bucket; here its one object comes through a download URL.
  const { file_urls } = await ann.request("get_file_urls", { file_ids: [file.object_id] });
  mkdirSync(bucketDir);
  writeFileSync(join(bucketDir, file.object_id), Buffer.from(await (await fetch(file_urls[file.object_id])).arrayBuffer()));

  // The author's delivered ticks are written behind, within 3 s (DELIVERED_WRITE_DELAY_MS in
  // src/objects/conversation.ts); the export writes what is pending, so A is read after they landed.
  await new Promise((resolve) => setTimeout(resolve, 3_500));
  const before = {};
  for (const [login, client] of Object.entries({ ann, ben, cat, dan })) before[login] = await view(client);
  for (const client of [ann, ben, cat, dan]) client.close();
  // The history is what the test is about: make sure it has what was built.
  assert.deepEqual(before.ann.history[chat].map((m) => m.body), ["unread by ben", "fixed", "hi back", "hello"]);
  assert.equal(before.ben.conversations.find((c) => c._id === chat).unread, 1);
  assert.deepEqual(before.cat.history[team].map((m) => m.body), ["dan has left the conversation", "bye", "cat here", "beep", "bot?", "team hi"]);
  const statuses = new Set(Object.values(before.ann.history).flat().flatMap((m) => (m.status ? [m.status] : [])));
  assert.deepEqual([...statuses].sort(), ["delivered", "read"]);
  assert.deepEqual(before.ann.history[chat][3].reactions, { own: ["👍"], total: { "👍": 1, "🎉": 1 } });

  // ---- the export, as an operator runs it
  const exported = await run(process.execPath, ["scripts/export.mjs", "--org", org, "--out", exportDir, "--url", a.url, "--include", "password_hashes"], { ADMIN_API_KEY: ADMIN_KEY });
  assert.equal(exported.status, 0, exported.stderr);
  await a.stop();

  // ---- B: fresh state, the import, as an operator runs it
  const b = await startParley(PORT_B, "state-b");
  const importCli = () => run(process.execPath, ["scripts/import-sama.mjs", exportDir, "--url", b.url, "--files-dir", bucketDir], { ADMIN_API_KEY: ADMIN_KEY });
  const imported = await importCli();
  assert.equal(imported.status, 0, imported.stderr);
  // Every exported record moved: the bot is the one the organization got (bot_user_id); nothing skipped.
  const rows = (out) => Object.fromEntries([...out.matchAll(/^(\w[\w ()]*?)\s+(\d+)\s+(\d+)\s+(\d+)$/gm)].map((m) => [m[1], [+m[2], +m[3], +m[4]]]));
  const lines = (name) => (existsSync(join(exportDir, `${name}.json`)) ? readFileSync(join(exportDir, `${name}.json`), "utf8").split("\n").filter(Boolean).length : 0);
  const counts = rows(imported.stdout);
  for (const name of ["organizations", "files", "conversations", "conversations_participants", "conversation_handlers", "contacts", "blocked_users", "messages", "message_statuses", "message_reactions"]) {
    assert.deepEqual(counts[name], [lines(name), 0, 0], `${name}: ${imported.stdout}`);
  }
  assert.deepEqual(counts.users, [lines("users") - 1, 1, 0], imported.stdout);
  assert.match(imported.stdout, /file bytes: 1 uploaded, 0 already there, 0 missing, 0 failed/);
  assert.doesNotMatch(imported.stdout, /Skipped/);

  const after_ = {};
  for (const login of LOGINS) {
    const client = await connect(b.url, org, login, `${login}-pw`, `dev-${login}-b`);
    after_[login] = await view(client);
    client.close();
  }
  for (const login of LOGINS) assert.deepEqual(after_[login], before[login], `${login} sees in B what A showed`);

  // ---- a second run: everything is there already, nothing doubles
  const again = await importCli();
  assert.equal(again.status, 0, again.stderr);
  for (const [name, [imported_, existing, skipped]] of Object.entries(rows(again.stdout))) {
    assert.deepEqual([imported_, skipped], [0, 0], `${name} a second time: ${again.stdout}`);
    assert.equal(existing, name === "history (conversations)" ? lines("conversations") : lines(name), `${name} a second time: ${again.stdout}`);
  }
  assert.match(again.stdout, /file bytes: 0 uploaded, 1 already there, 0 missing, 0 failed/);
  const client = await connect(b.url, org, "ann", "ann-pw", "dev-ann-b");
  assert.deepEqual(await view(client), before.ann);
  // The attachment's bytes came along.
  const urls = (await client.request("get_file_urls", { file_ids: [file.object_id] })).file_urls;
  assert.equal(await (await fetch(urls[file.object_id])).text(), "hello");
  client.close();
  await b.stop();
});
