// `npm run smoke`: a quick end-to-end check against a running `npm run dev` server.
// Creates two users over a WebSocket, logs the first in over HTTP, connects a socket with the
// access token and searches for the second user; then the second signs in over the socket and the
// two exchange a message in a private chat. Every step has a 10 s timeout; the first failure
// is printed and the script exits with status 1.
// Base URL: PARLEY_URL (default http://127.0.0.1:8787). Needs Node ≥ 22 (global fetch and WebSocket);
// `npm run smoke` uses the project's Node 24.

const BASE = (process.env.PARLEY_URL || "http://127.0.0.1:8787").replace(/\/+$/, "");
const WS_URL = BASE.replace(/^http/i, "ws") + "/";
const STEP_TIMEOUT_MS = 10_000;

const tag = `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;
const deviceId = `smoke-device-${tag}`;
const password = `pw-${Math.random().toString(36).slice(2, 12)}`;
const people = [
  { login: `smoke_a_${tag}`, email: `smoke_a_${tag}@example.com` },
  { login: `smoke_b_${tag}`, email: `smoke_b_${tag}@example.com` },
];

const sockets = [];
let currentStep = "start";

class StepError extends Error {}

function fail(message) {
  throw new StepError(message);
}

/** Runs one step under the per-step timeout. */
async function step(name, fn) {
  currentStep = name;
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new StepError(`timed out after ${STEP_TIMEOUT_MS / 1000} s`)), STEP_TIMEOUT_MS);
  });
  try {
    return await Promise.race([fn(), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Explains a fetch failure ("fetch failed" alone says nothing about the cause). */
function describeFetchError(err) {
  const cause = err?.cause;
  const code = cause?.code ?? cause?.errors?.[0]?.code;
  if (code === "ECONNREFUSED") return `nothing answers at ${BASE} — is \`npm run dev\` running (and on that port)?`;
  return `${err.message}${cause ? ` (${cause.code ?? cause.message ?? cause})` : ""}`;
}

async function http(method, path, { json, headers = {} } = {}) {
  let res;
  try {
    res = await fetch(BASE + path, {
      method,
      headers: json === undefined ? headers : { "Content-Type": "application/json", ...headers },
      body: json === undefined ? undefined : JSON.stringify(json),
    });
  } catch (err) {
    fail(`${method} ${path}: ${describeFetchError(err)}`);
  }
  const text = await res.text();
  // SAMA's routes answer errors as text/plain: show that text.
  if (!res.ok) fail(`${method} ${path} answered ${res.status}: ${text || res.statusText}`);
  try {
    return { res, body: JSON.parse(text) };
  } catch {
    fail(`${method} ${path} answered ${res.status} with a body that is not JSON: ${text.slice(0, 200)}`);
  }
}

/** A WebSocket that sends SAMA request frames and matches replies by id. */
class SamaSocket {
  constructor(ws) {
    this.ws = ws;
    this.pending = new Map();
    this.watchers = [];
    this.nextId = 1;
    ws.addEventListener("message", (event) => this.onMessage(event.data));
    ws.addEventListener("close", (event) => this.rejectAll(`socket closed (code ${event.code}${event.reason ? `, ${event.reason}` : ""})`));
    ws.addEventListener("error", () => this.rejectAll("socket error"));
  }

  static open(url) {
    return new Promise((resolve, reject) => {
      let ws;
      try {
        ws = new WebSocket(url);
      } catch (err) {
        reject(new StepError(`cannot open ${url}: ${err.message}`));
        return;
      }
      sockets.push(ws);
      ws.addEventListener("open", () => resolve(new SamaSocket(ws)), { once: true });
      ws.addEventListener(
        "error",
        (event) => reject(new StepError(`cannot open ${url}: ${event.message || event.error?.message || "connection failed"} — is \`npm run dev\` running?`)),
        { once: true },
      );
    });
  }

  onMessage(data) {
    const text = typeof data === "string" ? data : Buffer.from(data).toString("utf8");
    let frame;
    try {
      frame = JSON.parse(text);
    } catch {
      return; // not a reply to us (e.g. a plain "pong")
    }
    for (const watcher of this.watchers.splice(0)) {
      if (watcher.match(frame)) watcher.resolve(frame);
      else this.watchers.push(watcher);
    }
    const response = frame?.response;
    if (!response || response.id === undefined) return;
    const waiter = this.pending.get(String(response.id));
    if (!waiter) return;
    this.pending.delete(String(response.id));
    if (response.error !== undefined) {
      const e = response.error;
      waiter.reject(
        new StepError(
          `${waiter.action} answered error ${typeof e === "object" && e !== null ? `${e.status} "${e.message}"` : JSON.stringify(e)}`,
        ),
      );
    } else {
      waiter.resolve(response);
    }
  }

  rejectAll(reason) {
    for (const waiter of this.pending.values()) waiter.reject(new StepError(`${waiter.action}: ${reason}`));
    this.pending.clear();
  }

  /** Resolves with the next pushed frame that `match` accepts (a message, a read receipt…). */
  waitFor(match) {
    return new Promise((resolve) => this.watchers.push({ match, resolve }));
  }

  send(frame) {
    this.ws.send(JSON.stringify(frame));
  }

  /** Sends {"request":{"<action>":params,"id":…}} and resolves with the matching `response`. */
  request(action, params) {
    const id = `smoke-${this.nextId++}`;
    return new Promise((resolve, reject) => {
      if (this.ws.readyState !== WebSocket.OPEN) {
        reject(new StepError(`${action}: socket is not open`));
        return;
      }
      this.pending.set(id, { action, resolve, reject });
      this.ws.send(JSON.stringify({ request: { [action]: params, id } }));
    });
  }
}

function names(users) {
  return users.map((u) => u.login).join(", ");
}

async function main() {
  if (typeof WebSocket !== "function" || typeof fetch !== "function") {
    fail(`this Node (${process.version}) has no global WebSocket/fetch — run it with \`npm run smoke\` (Node 24)`);
  }
  console.log(`Parley smoke check against ${BASE}`);

  await step("GET /health", async () => {
    const { body } = await http("GET", "/health");
    if (body.status !== "ok") fail(`GET /health: expected {"status":"ok"}, got ${JSON.stringify(body)}`);
    console.log(`✓ GET /health → ${JSON.stringify(body)}`);
  });

  const registration = await step("open a socket for user_create", async () => SamaSocket.open(WS_URL));
  const created = [];
  for (const person of people) {
    const user = await step(`user_create ${person.login}`, async () => {
      const res = await registration.request("user_create", {
        organization_id: "default",
        login: person.login,
        password,
        email: person.email,
      });
      if (!res.user?._id) fail(`user_create: no user._id in ${JSON.stringify(res)}`);
      return res.user;
    });
    created.push(user);
    console.log(`✓ created user ${user.login} (_id ${user._id})`);
  }
  const [first, second] = created;

  const session = await step("POST /login", async () => {
    const { res, body } = await http("POST", "/login", {
      json: { organization_id: "default", login: people[0].login, password, device_id: deviceId },
    });
    if (typeof body.access_token !== "string") fail(`POST /login: no access_token in ${JSON.stringify(body)}`);
    if (body.user?._id !== first._id) fail(`POST /login: expected user ${first._id}, got ${JSON.stringify(body.user)}`);
    const cookie = res.headers.get("set-cookie") ?? "";
    if (!cookie.includes("refresh_token=")) fail("POST /login: no refresh_token cookie in the answer");
    return body;
  });
  const expires = typeof session.expired_at === "number" ? new Date(session.expired_at).toISOString() : "unknown";
  console.log(`✓ logged in over HTTP as ${first.login} on device ${deviceId}; access token expires ${expires}`);

  const socket = await step("open a socket for connect", async () => SamaSocket.open(WS_URL));
  await step("connect", async () => {
    const res = await socket.request("connect", { token: session.access_token, device_id: deviceId });
    if (res.success !== true) fail(`connect: expected {"success":true}, got ${JSON.stringify(res)}`);
  });
  console.log(`✓ connected socket ${WS_URL} as ${first.login} with the access token`);

  const keyword = second.login;
  await step("user_search", async () => {
    const res = await socket.request("user_search", { keyword });
    const users = Array.isArray(res.users) ? res.users : fail(`user_search: no users array in ${JSON.stringify(res)}`);
    if (!users.some((u) => u._id === second._id)) {
      fail(`user_search "${keyword}" did not return ${second.login}; got [${names(users)}]`);
    }
    if (users.some((u) => u._id === first._id)) fail(`user_search returned the caller ${first.login} itself`);
    console.log(`✓ user_search "${keyword}" found ${names(users)}`);
  });

  await step("get_users_by_ids", async () => {
    const res = await socket.request("get_users_by_ids", { ids: [first._id, second._id] });
    const users = Array.isArray(res.users) ? res.users : fail(`get_users_by_ids: no users array in ${JSON.stringify(res)}`);
    const ids = new Set(users.map((u) => u._id));
    if (!ids.has(first._id) || !ids.has(second._id)) {
      fail(`get_users_by_ids: expected ${first.login} and ${second.login}, got [${names(users)}]`);
    }
    const leaked = users.find((u) => "password_hash" in u || "encrypted_password" in u || "organization_id" in u);
    if (leaked) fail(`get_users_by_ids: user ${leaked.login} exposes private fields`);
    console.log(`✓ get_users_by_ids returned ${names(users)}`);
  });

  // The second user signs in the legacy way (user_login over the socket), then the two chat.
  const other = await step("user_login (second user)", async () => {
    const ws = await SamaSocket.open(WS_URL);
    const res = await ws.request("user_login", { organization_id: "default", login: people[1].login, password, device_id: `${deviceId}-b` });
    if (res.user?._id !== second._id) fail(`user_login: expected ${second._id}, got ${JSON.stringify(res.user)}`);
    return ws;
  });
  console.log(`✓ signed ${second.login} in over the socket with user_login`);

  const cid = await step("conversation_create", async () => {
    const res = await socket.request("conversation_create", { type: "u", participants: [second._id] });
    return res.conversation?._id ?? fail(`conversation_create: no conversation in ${JSON.stringify(res)}`);
  });
  console.log(`✓ created a private conversation ${cid}`);

  await step("message", async () => {
    const ask = socket.waitFor((f) => f.ask?.mid === "smoke-message-1" || f.message?.id === "smoke-message-1");
    const arrived = other.waitFor((f) => f.message?.cid === cid);
    socket.send({ message: { id: "smoke-message-1", cid, body: "hello from the smoke check" } });
    const acked = await ask;
    if (!acked.ask) fail(`message answered ${JSON.stringify(acked)}`);
    const got = (await arrived).message;
    if (got._id !== acked.ask.server_mid || got.body !== "hello from the smoke check") fail(`${second.login} got ${JSON.stringify(got)}`);
    console.log(`✓ ${first.login} sent a message (seq ${got.seq}); ${second.login} received it live (event_seq ${got.event_seq})`);
  });

  await step("message_read", async () => {
    const receipt = socket.waitFor((f) => f.message_read?.cid === cid);
    await other.request("message_read", { cid });
    const read = (await receipt).message_read;
    console.log(`✓ ${second.login} read it; ${first.login} got message_read for ${read.ids.length} message(s)`);
  });

  await step("conversation_list", async () => {
    const res = await other.request("conversation_list", {});
    const entry = res.conversations?.find((c) => c._id === cid) ?? fail(`conversation_list has no ${cid}`);
    console.log(`✓ conversation_list: last message "${entry.last_message?.body}", unread ${entry.unread_messages_count}`);
  });
}

function closeSockets() {
  for (const ws of sockets) {
    try {
      ws.close(1000, "smoke done");
    } catch {
      // already closed
    }
  }
}

try {
  await main();
  closeSockets();
  console.log("Smoke check passed.");
  process.exit(0);
} catch (err) {
  closeSockets();
  const message = err instanceof StepError ? err.message : (err?.stack ?? String(err));
  console.error(`✗ ${currentStep} failed: ${message}`);
  console.error(`Smoke check FAILED against ${BASE}.`);
  process.exit(1);
}
