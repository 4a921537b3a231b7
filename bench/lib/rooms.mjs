// The three things the scenarios talk to, behind one small interface ("room"):
//   { name, size, senders, listener, send(sender, seq), close() }
// `send` puts the sender's clock in the message; every receiving socket reports the message to
// `listener.deliver(payload, receivedAt)`, and a refused send goes to `listener.reject(seq, status)`.
// The payload is the same JSON text for every target, so frames are comparable in size.
import WebSocket from "ws";
import { mapLimit, now, withTimeout } from "./stats.mjs";

const PADDING = "x".repeat(128);
const OPEN_TIMEOUT_MS = 10_000;
const REQUEST_TIMEOUT_MS = 15_000;

/** `{"t":<sender ms>,"i":<seq>,"s":<sender>,"p":…}`; t has sub-ms digits (see now()). */
// Client message ids are unique per run: Parley treats a repeated id from the same sender in the same
// conversation (reused users keep their private chats across runs) as a retry and stores nothing.
const RUN = Date.now().toString(36);
export const messageId = (seq) => `m${seq}-${RUN}`;

export function payload(seq, sender) {
  return JSON.stringify({ t: Math.round(now() * 1000) / 1000, i: seq, s: sender, p: PADDING });
}

export function wsUrl(baseUrl, path) {
  return baseUrl.replace(/^http/i, "ws") + path;
}

export function openSocket(url) {
  const ws = new WebSocket(url, { perMessageDeflate: false });
  ws.on("error", () => {}); // a "close" follows; an EventEmitter error without a listener would throw
  const opened = new Promise((resolve, reject) => {
    ws.once("open", () => resolve(ws));
    ws.once("error", (err) => reject(new Error(`cannot open ${url}: ${err.message}`)));
  });
  return withTimeout(opened, OPEN_TIMEOUT_MS, `opening ${url}`);
}

export function closeQuietly(ws) {
  try {
    ws.close(1000, "bench done");
  } catch {
    // Already closed.
  }
}

function textOf(data) {
  return typeof data === "string" ? data : Buffer.from(data).toString("utf8");
}

// ---------------------------------------------------------------------------------------------
// Baselines: raw sockets in a BareRoom, DurableRoom or one of the member rooms (bench/baselines/index.ts).

export const BASELINE_NAMES = {
  bare: "BareRoom",
  durable: "DurableRoom",
  relay: "RelayRoom",
  logrelay: "LogRelayRoom",
  inboxrelay: "InboxRelayRoom",
  direct: "DirectRoom",
  gateway: "GatewayRoom",
};
/** The kinds with one object (one URL) per socket. */
const MEMBER_KINDS = new Set(["relay", "logrelay", "inboxrelay", "direct", "gateway"]);

/** The URL of socket `member` of baseline room `roomName`: a (Log)RelayRoom has one URL (one object) per socket. */
export function baselineUrl(baseUrl, kind, roomName, member) {
  if (!(kind in BASELINE_NAMES)) throw new Error(`unknown baseline kind ${kind}`);
  return wsUrl(baseUrl, MEMBER_KINDS.has(kind) ? `/${kind}/${roomName}/${member}` : `/${kind}/${roomName}`);
}

/** Opens `size` sockets into one baseline room; the first `senders` of them send. */
export async function openBaselineRoom({ baseUrl, kind, roomName, size, senders }) {
  const sockets = await mapLimit(Array.from({ length: size }), 8, (_, k) => openSocket(baselineUrl(baseUrl, kind, roomName, k)));
  const room = {
    name: BASELINE_NAMES[kind],
    size,
    senders,
    listener: null,
    send: (sender, seq) => sockets[sender].send(payload(seq, sender)),
    close: () => sockets.forEach(closeQuietly),
  };
  for (const ws of sockets) {
    ws.on("message", (data) => {
      const at = now();
      room.listener?.deliver(JSON.parse(textOf(data)), at);
    });
  }
  return room;
}

// ---------------------------------------------------------------------------------------------
// Parley: SAMA over WebSocket (user_create, POST /login, connect, conversation_create, message).

/** Thrown when Parley answers a setup request with an error (e.g. a request it does not know yet). */
export class ParleyRefused extends Error {
  name = "ParleyRefused";
}

/** A socket that matches SAMA `response` frames to requests by id and hands other frames on. */
export class SamaClient {
  constructor(ws) {
    this.ws = ws;
    this.pending = new Map();
    this.nextId = 1;
    this.onFrame = null;
    ws.on("message", (data) => this.receive(data));
    ws.on("close", () => this.failPending("socket closed"));
  }

  static async open(url) {
    return new SamaClient(await openSocket(url));
  }

  receive(data) {
    const at = now();
    let frame;
    try {
      frame = JSON.parse(textOf(data));
    } catch {
      return; // not JSON (a plain "pong")
    }
    const response = frame?.response;
    const waiter = response && this.pending.get(String(response.id));
    if (waiter) {
      this.pending.delete(String(response.id));
      waiter.resolve(response);
      return;
    }
    this.onFrame?.(frame, at);
  }

  failPending(reason) {
    for (const waiter of this.pending.values()) waiter.reject(new Error(`${waiter.action}: ${reason}`));
    this.pending.clear();
  }

  /** Resolves with the `response` object, errors included: callers decide what an error means. */
  request(action, params) {
    const id = `r${this.nextId++}`;
    const reply = new Promise((resolve, reject) => {
      this.pending.set(id, { action, resolve, reject });
      this.ws.send(JSON.stringify({ request: { [action]: params, id } }));
    });
    return withTimeout(reply, REQUEST_TIMEOUT_MS, action);
  }

  send(frame) {
    this.ws.send(JSON.stringify(frame));
  }

  close() {
    closeQuietly(this.ws);
  }
}

export function describeError(action, error) {
  return `${action} answered ${error?.status ?? "?"} "${error?.message ?? JSON.stringify(error)}"`;
}

export async function login(baseUrl, user) {
  const res = await fetch(`${baseUrl}/login`, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ organization_id: "default", login: user.login, password: user.password, device_id: user.device_id }),
    signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
  });
  const text = await res.text();
  if (!res.ok) throw new ParleyRefused(`POST /login answered ${res.status}: ${text.slice(0, 200)}`);
  const token = JSON.parse(text).access_token;
  if (typeof token !== "string") throw new ParleyRefused(`POST /login: no access_token in ${text.slice(0, 200)}`);
  return token;
}

async function createUser(baseUrl, socket, user) {
  const res = await socket.request("user_create", {
    organization_id: "default",
    login: user.login,
    password: user.password,
    email: user.email,
  });
  if (res.error !== undefined || !res.user?._id) throw new ParleyRefused(describeError("user_create", res.error));
  return { ...user, _id: res.user._id, token: await login(baseUrl, user) };
}

/**
 * Creates the users of `specs` ({login, email, password, device_id}) and logs each in over HTTP.
 * PBKDF2 makes both steps expensive, so they run `concurrency` at a time, each lane on its own
 * socket (a socket answers its frames one by one).
 */
export async function createUsers(baseUrl, specs, concurrency = 8) {
  const count = specs.length;
  if (count === 0) return [];
  const lanes = await Promise.all(
    Array.from({ length: Math.min(concurrency, count) }, () => SamaClient.open(wsUrl(baseUrl, "/"))),
  );
  try {
    const users = new Array(count);
    let next = 0;
    await Promise.all(
      lanes.map(async (socket) => {
        while (next < count) {
          const index = next++;
          users[index] = await createUser(baseUrl, socket, specs[index]);
        }
      }),
    );
    return users;
  } finally {
    lanes.forEach((lane) => lane.close());
  }
}

/** `count` fresh users with logins unique to this call (bench:profile; the benchmark reuses users.mjs's pool). */
export function createParleyUsers(baseUrl, count, concurrency = 8) {
  const tag = `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 5)}`;
  return createUsers(baseUrl, userSpecs(tag, 0, count), concurrency);
}

/** Login, email, password and device id of users `from`…`from+count-1` of a batch tagged `tag`. */
export function userSpecs(tag, from, count) {
  return Array.from({ length: count }, (_, k) => {
    const i = from + k;
    return { login: `bench_${tag}_${i}`, email: `bench_${tag}_${i}@bench.example`, password: `bench-pw-${tag}`, device_id: `bench-${tag}-${i}` };
  });
}

export async function connectUser(baseUrl, user) {
  const client = await SamaClient.open(wsUrl(baseUrl, "/"));
  const res = await client.request("connect", { token: user.token, device_id: user.device_id });
  if (res.error !== undefined || res.success !== true) {
    client.close();
    throw new ParleyRefused(describeError("connect", res.error));
  }
  return client;
}

export async function createConversation(creator, type, others) {
  const participants = others.map((user) => user._id);
  // Groups and channels need a name; a channel starts with its owner alone (others subscribe).
  const params = type === "u" ? { type, participants } : { type, name: "bench", ...(participants.length ? { participants } : {}) };
  const res = await creator.request("conversation_create", params);
  if (res.error !== undefined) throw new ParleyRefused(describeError("conversation_create", res.error));
  const cid = res.conversation?._id;
  if (!cid) throw new ParleyRefused(`conversation_create: no conversation._id in ${JSON.stringify(res).slice(0, 200)}`);
  return cid;
}

/**
 * Connects one socket per user and creates a conversation of `type` ("u" or "g") owned by the first
 * user with all the others in it. The first `senders` users send.
 */
export async function openParleyRoom({ baseUrl, users, type, senders }) {
  const clients = await mapLimit(users, 8, (user) => connectUser(baseUrl, user));
  let cid;
  try {
    cid = await createConversation(clients[0], type, users.slice(1));
  } catch (err) {
    clients.forEach((client) => client.close());
    throw err;
  }
  const room = {
    name: "Parley",
    size: users.length,
    senders,
    listener: null,
    send: (sender, seq) => clients[sender].send({ message: { id: messageId(seq), cid, body: payload(seq, sender) } }),
    close: () => clients.forEach((client) => client.close()),
  };
  for (const client of clients) client.onFrame = parleyFrameHandler(room, (c) => c === cid);
  return room;
}

/**
 * The `onFrame` of a Parley client whose deliveries and refusals go to `room.listener`: deliveries
 * are `message` frames of a conversation `ours(cid)` accepts; refusals are errors that echo `m<seq>`.
 */
export function parleyFrameHandler(room, ours) {
  return (frame, at) => {
    const refusal = frame.message?.error ?? frame.response?.error;
    if (refusal !== undefined) {
      const id = frame.message?.id ?? frame.response?.id;
      const seq = typeof id === "string" && id.startsWith("m") ? Number(id.slice(1).split("-")[0]) : null;
      room.listener?.reject(seq, refusal?.status ?? null);
      return;
    }
    const body = benchBody(frame.message, ours);
    if (body) room.listener?.deliver(body, at);
  };
}

/** The benchmark payload carried by a `message` packet of an accepted conversation, else null. */
export function benchBody(message, ours = () => true) {
  if (!message || !ours(message.cid) || typeof message.body !== "string") return null; // ask, system_message, …
  try {
    const body = JSON.parse(message.body);
    return typeof body?.i === "number" && typeof body?.t === "number" ? body : null;
  } catch {
    return null; // not one of ours
  }
}
