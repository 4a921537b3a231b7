// `npm run import:sama` as an operator runs it: the CLI reads a mongoexport dump from disk (one
// document per line, Extended JSON, one file as --jsonArray), PUTs file bytes from --files-dir, and
// talks to a `wrangler dev` of its own (a port of its own, state in a temp dir). The imported user
// then signs in with the old password over POST /login and `connect` and lists the conversation.
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { OFFLINE_WRANGLER_ENV } from "../../scripts/wrangler-env.mjs";

const PORT = 8931;
const URL_ = `http://127.0.0.1:${PORT}`;
const ADMIN_KEY = /^ADMIN_API_KEY=(.*)$/m.exec(readFileSync(".dev.vars.example", "utf8"))[1];
const work = mkdtempSync(join(tmpdir(), "parley-import-"));
const state = join(work, "state");
const dumpDir = join(work, "dump");
const filesDir = join(work, "bucket");
let server = null;

const t0 = Math.floor(Date.now() / 1000) - 3600;
let n = 0;
const oid = (t = t0) => t.toString(16).padStart(8, "0") + randomBytes(5).toString("hex") + (++n).toString(16).padStart(6, "0");
const samaHash = (password, salt) => {
  let h = password + salt;
  for (let i = 0; i < 20; i++) h = createHash("sha512").update(h).digest("hex");
  return h;
};
const ids = { org: oid(), ann: oid(), ben: oid(), chat: oid(), m1: oid(t0 + 1), m2: oid(t0 + 2), file: oid(), object: oid() };
const logins = { ann: `ann${ids.ann.slice(8, 18)}`, ben: `ben${ids.ben.slice(8, 18)}` };
const date = (s) => ({ $date: new Date(s * 1000).toISOString() });
const user = (id, login) => ({ _id: { $oid: id }, organization_id: ids.org, login, password_salt: "s4lt", encrypted_password: samaHash(`${login}-old`, "s4lt"), created_at: date(t0) });
const message = (id, from, body, extra = {}) => ({ _id: { $oid: id }, organization_id: ids.org, cid: ids.chat, from, body, t: t0, created_at: { $date: { $numberLong: String(parseInt(id.slice(0, 8), 16) * 1000) } }, ...extra });
const lines = (docs) => docs.map((d) => JSON.stringify(d)).join("\n") + "\n";

function writeDump() {
  mkdirSync(dumpDir, { recursive: true });
  mkdirSync(filesDir, { recursive: true });
  writeFileSync(join(dumpDir, "organizations.json"), lines([{ _id: { $oid: ids.org }, name: `Import ${ids.org}`, created_at: date(t0) }]));
  writeFileSync(join(dumpDir, "users.json"), lines([user(ids.ann, logins.ann), user(ids.ben, logins.ben)]));
  writeFileSync(join(dumpDir, "files.json"), lines([{ _id: { $oid: ids.file }, organization_id: ids.org, user_id: ids.ann, name: "a.txt", size: 5, content_type: "text/plain", object_id: ids.object }]));
  writeFileSync(join(filesDir, ids.object), "hello");
  writeFileSync(join(dumpDir, "conversations.json"), lines([{ _id: { $oid: ids.chat }, organization_id: ids.org, type: "u", owner_id: ids.ann, opponent_id: ids.ben, created_at: date(t0) }]));
  writeFileSync(
    join(dumpDir, "conversations_participants.json"),
    lines([ids.ann, ids.ben].map((u) => ({ _id: { $oid: oid() }, organization_id: ids.org, conversation_id: ids.chat, user_id: u, role: u === ids.ann ? "owner" : "" }))),
  );
  writeFileSync(
    join(dumpDir, "messages.json"),
    lines([message(ids.m2, ids.ben, "second"), message(ids.m1, ids.ann, "first", { attachments: [{ file_id: ids.object, file_name: "a.txt" }] })]) + "{not json\n",
  );
  writeFileSync(join(dumpDir, "message_reactions.json"), JSON.stringify([{ _id: { $oid: oid() }, mid: ids.m1, user_id: ids.ben, reaction: "🎉" }]));
}

function wrangler(args) {
  return spawn("wrangler", args, { env: { ...process.env, ...OFFLINE_WRANGLER_ENV, CI: "true" }, stdio: ["ignore", "pipe", "pipe"], detached: true });
}

function importCli(...args) {
  const run = spawnSync("node", ["scripts/import-sama.mjs", dumpDir, "--url", URL_, ...args], { env: { ...process.env, ADMIN_API_KEY: ADMIN_KEY }, encoding: "utf8" });
  return { status: run.status, stdout: run.stdout, stderr: run.stderr };
}

before(async () => {
  writeDump();
  const migrate = spawnSync("wrangler", ["d1", "migrations", "apply", "DB", "--local", "--persist-to", state], { env: { ...process.env, ...OFFLINE_WRANGLER_ENV, CI: "true" }, encoding: "utf8" });
  assert.equal(migrate.status, 0, migrate.stderr);
  server = wrangler(["dev", "--port", String(PORT), "--ip", "127.0.0.1", "--persist-to", state, "--env-file", ".dev.vars.example", "--var", `PUBLIC_URL:${URL_}`]);
  for (let i = 0; i < 120; i++) {
    const up = await fetch(`${URL_}/health`).then((r) => r.ok, () => false);
    if (up) return;
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  throw new Error("wrangler dev did not start");
});

after(() => {
  if (server) process.kill(-server.pid, "SIGTERM");
  rmSync(work, { recursive: true, force: true });
});

/** A WebSocket request/response pair. */
function request(ws, action, params) {
  const id = `${action}-${Math.random()}`;
  return new Promise((resolve) => {
    ws.addEventListener("message", function onMessage(event) {
      const frame = JSON.parse(event.data);
      if (frame.response?.id !== id) return;
      ws.removeEventListener("message", onMessage);
      resolve(frame.response);
    });
    ws.send(JSON.stringify({ request: { [action]: params, id } }));
  });
}

test("a dry run reports what would move and writes nothing; the import moves it; a second run changes nothing", async () => {
  const dry = importCli("--dry-run", "--files-dir", filesDir);
  assert.equal(dry.status, 0, dry.stderr);
  assert.match(dry.stdout, /^Dry run: nothing was written/);
  assert.match(dry.stdout, /messages\s+2\s+0\s+1/);
  assert.match(dry.stdout, /messages line 3: not JSON/);
  assert.match(dry.stdout, /no file in the dump \(skipped\): conversation_handlers\.json, contacts\.json/);
  const signIn = (login) =>
    fetch(`${URL_}/login`, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ organization_id: ids.org, login, password: `${login}-old`, device_id: "cli-test" }) });
  assert.notEqual((await signIn(logins.ben)).status, 200); // nothing was written: no such organization yet

  const real = importCli("--files-dir", filesDir);
  assert.equal(real.status, 0, real.stderr);
  assert.match(real.stdout, /users\s+2\s+0\s+0/);
  assert.match(real.stdout, /history \(conversations\)\s+1\s+0\s+0/);
  assert.match(real.stdout, /message_reactions\s+1\s+0\s+0/);
  assert.match(real.stdout, /file bytes: 1 uploaded, 0 already there, 0 missing, 0 failed/);
  assert.match(real.stderr, /messages\s+\[#+\] 3\/3/); // the progress line, with the file's line count

  const login = await signIn(logins.ben);
  assert.equal(login.status, 200, await login.clone().text());
  const { access_token } = await login.json();
  const ws = new WebSocket(URL_.replace("http", "ws"));
  await new Promise((resolve) => ws.addEventListener("open", resolve));
  assert.equal((await request(ws, "connect", { token: access_token, device_id: "cli-test" })).success, true);
  const { conversations } = await request(ws, "conversation_list", {});
  assert.deepEqual(
    conversations.map((c) => [c._id, c.unread_messages_count, c.last_message._id]),
    [[ids.chat, 1, ids.m2]],
  );
  const { messages } = await request(ws, "message_list", { cid: ids.chat });
  assert.deepEqual(messages.map((m) => [m._id, m.seq, m.body]), [[ids.m2, 2, "second"], [ids.m1, 1, "first"]]);
  assert.deepEqual(messages[1].reactions, { own: ["🎉"], total: { "🎉": 1 } });
  ws.close();

  const again = importCli("--files-dir", filesDir);
  assert.equal(again.status, 0, again.stderr);
  assert.match(again.stdout, /users\s+0\s+2\s+0/);
  assert.match(again.stdout, /messages\s+0\s+2\s+1/);
  assert.match(again.stdout, /history \(conversations\)\s+0\s+1\s+0/);
  assert.match(again.stdout, /file bytes: 0 uploaded, 1 already there, 0 missing, 0 failed/);
});

test("a wrong admin key stops the import with a clear message and status 1", () => {
  const run = importCli("--admin-key", "wrong");
  assert.equal(run.status, 1);
  assert.match(run.stderr, /the admin key was refused/);
});
