// The client SDK (sdk/) against the real Worker: HTTP /login and WebSocket frames through
// exports.default, real storage in workerd. Sockets are dropped as a network would drop them.
import { exports } from "cloudflare:workers";
import { afterEach, describe, expect, it } from "vitest";
import { memoryStorage, ParleyClient, type KeyValueStorage, type Message, type SocketLike } from "../../sdk/src";
import { ORIGIN } from "../helpers/socket";
import { unique } from "../helpers/users";

/** A socket of the Worker's; close() also tells the client at once, as a dead connection would. */
function workerSocket(ws: WebSocket): SocketLike & { drop(): void } {
  const onClose: Array<() => void> = [];
  let closed = false;
  const fireClose = () => {
    if (closed) return;
    closed = true;
    for (const listener of onClose) listener();
  };
  ws.addEventListener("close", fireClose);
  const socket = {
    send: (data: string) => {
      if (!closed) ws.send(data);
    },
    close: (code?: number, reason?: string) => {
      try {
        ws.close(code === undefined || code < 3000 ? 1000 : code, reason);
      } catch {
        // already closed
      }
      fireClose();
    },
    drop: () => socket.close(4999, "dropped"),
    addEventListener: (type: "message" | "close", listener: ((event: { data: unknown }) => void) | (() => void)) => {
      if (type === "close") onClose.push(listener as () => void);
      else ws.addEventListener("message", (event) => !closed && (listener as (event: { data: unknown }) => void)({ data: event.data }));
    },
  };
  return socket;
}

const clients: ParleyClient[] = [];

function client(storage: KeyValueStorage = memoryStorage()) {
  const sockets: Array<ReturnType<typeof workerSocket>> = [];
  const network = { up: true };
  const c = new ParleyClient({
    url: ORIGIN,
    storage,
    fetch: (request) => exports.default.fetch(request),
    openSocket: async (url) => {
      if (!network.up) throw new Error("network down");
      const res = await exports.default.fetch(new Request(url.replace(/^ws/, "http"), { headers: { Upgrade: "websocket" } }));
      if (!res.webSocket) throw new Error(`upgrade failed: ${res.status}`);
      res.webSocket.accept();
      const socket = workerSocket(res.webSocket);
      sockets.push(socket);
      return socket;
    },
    reconnect: { minDelayMs: 20, maxDelayMs: 200 },
    network: null,
  });
  clients.push(c);
  const messages: Message[] = [];
  c.on("message", (m) => messages.push(m));
  return { c, messages, sockets, network, drop: () => sockets.at(-1)?.drop() };
}

async function until(check: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

async function pair() {
  const a = client();
  const b = client();
  const loginA = unique("sa");
  const loginB = unique("sb");
  await a.c.signUp({ login: loginA, password: "secret-a" });
  const userB = await b.c.signUp({ login: loginB, password: "secret-b" });
  const { conversation } = await a.c.request("conversation_create", { type: "u", participants: [userB._id] });
  if (!conversation) throw new Error("no conversation");
  return { a, b, cid: conversation._id, loginA, loginB };
}

afterEach(() => {
  for (const c of clients.splice(0)) c.stop();
});

describe("ParleyClient", () => {
  it("signs up, signs in, sends, and reports delivery and read receipts to the author", async () => {
    const { a, b, cid } = await pair();
    const conversations: string[] = [];
    b.c.on("conversation", (e) => conversations.push(e.conversation._id));
    const receipts: string[] = [];
    a.c.on("receipt", (r) => receipts.push(r.kind));
    const { ack } = a.c.send({ cid, body: "hello" });
    const ask = await ack;
    await until(() => b.messages.length === 1, "the message");
    expect(b.messages[0]).toMatchObject({ _id: ask.server_mid, cid, body: "hello", from: a.c.user!._id, seq: expect.any(Number) });
    await b.c.request("message_read", { cid, ids: [ask.server_mid] });
    await until(() => receipts.includes("read"), "the read receipt");
    expect(a.c.pending).toEqual([]);
    const typing: string[] = [];
    b.c.on("typing", (t) => typing.push(t.from));
    a.c.typing(cid);
    await until(() => typing.length === 1, "the typing indicator");
    expect(typing).toEqual([a.c.user!._id]);
  });

  it("a receiver whose socket drops in the middle of a burst gets every message once, in order", async () => {
    const { a, b, cid } = await pair();
    const bodies = Array.from({ length: 60 }, (_, i) => `burst ${i}`);
    const burst = (from: number, to: number) => bodies.slice(from, to).map((body) => a.c.send({ cid, body }).ack);
    const first = burst(0, 20);
    await until(() => b.messages.length >= 10, "part of the burst");
    // Dropped with the burst in flight, and offline while the next part is stored: what was sent
    // meanwhile reached no socket of B's.
    b.network.up = false;
    b.drop();
    const received = b.messages.length;
    await Promise.all([...first, ...burst(20, 40)]);
    expect(b.messages.length).toBe(received);
    b.network.up = true;
    await Promise.all(burst(40, 60));
    await until(() => b.messages.length >= 60, "the whole burst", 15_000);
    await new Promise((r) => setTimeout(r, 300));
    expect(b.sockets.length).toBeGreaterThan(1);
    expect(b.messages.map((m) => m.body)).toEqual(bodies);
    expect(b.messages.map((m) => m.seq)).toEqual([...b.messages.map((m) => m.seq)].sort((x, y) => x - y));
  });

  it("a sender whose socket drops in the middle of a burst re-sends what was not acknowledged, stored once each", async () => {
    const { a, b, cid } = await pair();
    const bodies = Array.from({ length: 60 }, (_, i) => `sent ${i}`);
    let acked = 0;
    a.c.on("ack", () => {
      acked += 1;
      // Dropped with sends still in flight: their asks are lost with the socket.
      if (acked === 20) a.drop();
    });
    const acks = bodies.map((body) => a.c.send({ cid, body }).ack);
    const asks = await Promise.all(acks);
    expect(a.sockets.length).toBeGreaterThan(1);
    expect(new Set(asks.map((x) => x.server_mid)).size).toBe(60);
    await until(() => b.messages.length >= 60, "every message at the receiver", 15_000);
    await new Promise((r) => setTimeout(r, 300));
    expect(b.messages.map((m) => m.body)).toEqual(bodies);
    const { messages } = await b.c.request("message_list", { cid, limit: 100 });
    expect(messages.map((m) => m.body).reverse()).toEqual(bodies.slice(-messages.length));
    const listed = new Set(messages.map((m) => m.body));
    expect(listed.size).toBe(messages.length);
    // The sender's own log holds carbons of its sends; the sync that closes that gap (2 s) does not
    // hand them back as new messages: their asks already told.
    await new Promise((r) => setTimeout(r, 2_500));
    expect(a.messages).toEqual([]);
  });

  it("resumes from its persisted cursor: only what was missed arrives, and lists need no reload", async () => {
    const { a, b, cid, loginB } = await pair();
    const storage = memoryStorage();
    const b2 = client(storage);
    await b2.c.signIn(loginB, "secret-b");
    a.c.send({ cid, body: "seen live" });
    await until(() => b2.messages.length === 1, "the live message");
    b2.c.stop();
    b.c.stop();
    for (const body of ["missed 1", "missed 2", "missed 3"]) await a.c.send({ cid, body }).ack;
    const b3 = client(storage);
    const synced: boolean[] = [];
    b3.c.on("synced", (s) => synced.push(s.reload));
    expect((await b3.c.resume())?.login).toBe(loginB);
    await until(() => b3.messages.length === 3, "the missed messages");
    expect(b3.messages.map((m) => m.body)).toEqual(["missed 1", "missed 2", "missed 3"]);
    expect(synced[0]).toBe(false);
  });

  it("sends queued offline survive a restart: the next run resumes offline, then sends them once when the network is back", async () => {
    const { a, b, cid, loginA } = await pair();
    const storage = memoryStorage();
    const a2 = client(storage);
    await a2.c.signIn(loginA, "secret-a");
    a2.network.up = false;
    a2.drop();
    await until(() => a2.c.status === "offline", "offline");
    a2.c.send({ cid, body: "written offline 1" });
    a2.c.send({ cid, body: "written offline 2" });
    a2.c.stop();
    a.c.stop();
    const a3 = client(storage);
    a3.network.up = false;
    const statuses: string[] = [];
    a3.c.on("status", (s) => statuses.push(s));
    expect((await a3.c.resume())?.login).toBe(loginA);
    expect(a3.c.pending.map((p) => p.body)).toEqual(["written offline 1", "written offline 2"]);
    await until(() => statuses.includes("offline"), "an offline status");
    a3.network.up = true;
    await until(() => a3.c.pending.length === 0, "the queued sends acknowledged");
    await until(() => b.messages.length === 2, "both at the receiver");
    expect(b.messages.map((m) => m.body)).toEqual(["written offline 1", "written offline 2"]);
  });

  it("resume() renews the stored access token; a token the server refuses ends the session", async () => {
    const { loginB } = await pair();
    const storage = memoryStorage();
    const b2 = client(storage);
    await b2.c.signIn(loginB, "secret-b");
    b2.c.stop();
    const stored = () => JSON.parse((storage.get("parley:default:session") as string | null) ?? "null") as { token: string } | null;
    const first = stored()!.token;
    // A token's iat has one-second resolution: wait so the renewed one differs.
    await new Promise((r) => setTimeout(r, 1_100));
    const b3 = client(storage);
    expect((await b3.c.resume())?.login).toBe(loginB);
    expect(stored()!.token).not.toBe(first);
    b3.c.stop();

    await storage.set("parley:default:session", JSON.stringify({ ...stored(), token: "not-a-token" }));
    const b4 = client(storage);
    const ended: string[] = [];
    b4.c.on("signedOut", (e) => ended.push(e.reason));
    expect(await b4.c.resume()).toBeNull();
    expect(ended).toEqual(["session expired"]);
    expect(stored()).toBeNull();
    expect(b4.c.status).toBe("signed-out");
  });

  it("a new epoch (the user's log was reset) asks the app to reload its lists", async () => {
    const { b, loginB } = await pair();
    const storage = memoryStorage();
    const b2 = client(storage);
    await b2.c.signIn(loginB, "secret-b");
    b2.c.stop();
    b.c.stop();
    // What another server's log would have handed out: same numbers, another epoch.
    const key = await cursorKey(storage);
    const cursor = JSON.parse((await storage.get(key))!) as { epoch: string; seq: number };
    await storage.set(key, JSON.stringify({ ...cursor, epoch: "another-epoch" }));
    const b3 = client(storage);
    const synced: boolean[] = [];
    b3.c.on("synced", (s) => synced.push(s.reload));
    await b3.c.resume();
    await until(() => synced.length > 0, "the catch-up");
    expect(synced).toEqual([true]);
    expect(JSON.parse((await storage.get(key))!)).toMatchObject({ epoch: cursor.epoch });
  });
});

/** Where the client keeps the signed-in user's sync cursor. */
async function cursorKey(storage: KeyValueStorage): Promise<string> {
  const session = JSON.parse((await storage.get("parley:default:session"))!) as { user: { _id: string } };
  return `parley:default:cursor:${session.user._id}`;
}
