// Benchmark baselines: the cheapest possible chat rooms on the same runtime as Parley.
//   /bare/<room>     BareRoom: relays each text frame to every other socket of the room.
//   /durable/<room>  DurableRoom: stores each frame in its SQLite first, then relays it.
//                    GET /durable/<room>?after=<id>&limit=<n> (no upgrade) reads stored frames back.
//   /relay/<room>/<member>  RelayRoom: one MemberSocket object per socket; a frame goes socket →
//                    MemberSocket → RelayRoom → every other member's MemberSocket (one RPC each) → socket.
//   /logrelay/<room>/<member>  LogRelayRoom: the same topology as Parley's (socket object → room →
//                    a log object per member → the member's socket object), and its durability: the
//                    room stores each frame, and each member's log stores it before it is sent on.
// All use the hibernation API (ctx.acceptWebSocket), as Parley's objects do, so the comparison
// isolates what Parley adds on top: auth, validation, ordering, per-recipient delivery.
// RelayRoom isolates the cost of Parley's topology (an object per recipient) from that of its logic;
// LogRelayRoom adds the commits Parley's guarantees need (the room's, and one per recipient's log).
import { DurableObject } from "cloudflare:workers";

interface Env {
  BARE_ROOM: DurableObjectNamespace<BareRoom>;
  DURABLE_ROOM: DurableObjectNamespace<DurableRoom>;
  RELAY_ROOM: DurableObjectNamespace<RelayRoom>;
  MEMBER_SOCKET: DurableObjectNamespace<MemberSocket>;
  MEMBER_LOG: DurableObjectNamespace<MemberLog>;
}

/** Accepts a WebSocket upgrade into this object with hibernation. */
function acceptSocket(ctx: DurableObjectState, request: Request): Response {
  if (request.headers.get("Upgrade")?.toLowerCase() !== "websocket") {
    return new Response("Expected a WebSocket upgrade", { status: 426 });
  }
  const { 0: client, 1: server } = new WebSocketPair();
  ctx.acceptWebSocket(server);
  return new Response(null, { status: 101, webSocket: client });
}

/** Sends `message` unchanged to every socket of the object except the one it came from. */
function broadcast(ctx: DurableObjectState, from: WebSocket, message: string | ArrayBuffer): void {
  for (const socket of ctx.getWebSockets()) {
    if (socket === from) continue;
    try {
      socket.send(message);
    } catch {
      // The socket is closing; the benchmark counts the missing delivery.
    }
  }
}

/** Completes the close handshake; without it the client waits for its close timeout. */
function closeSocket(ws: WebSocket, code: number, reason: string): void {
  try {
    // 1005/1006 are reserved: they describe a close without a code and cannot be sent.
    ws.close(code === 1005 || code === 1006 ? 1000 : code, reason);
  } catch {
    // Already closed.
  }
}

export class BareRoom extends DurableObject<Env> {
  override async fetch(request: Request): Promise<Response> {
    return acceptSocket(this.ctx, request);
  }

  override async webSocketMessage(ws: WebSocket, message: string | ArrayBuffer): Promise<void> {
    broadcast(this.ctx, ws, message);
  }

  override async webSocketClose(ws: WebSocket, code: number, reason: string): Promise<void> {
    closeSocket(ws, code, reason);
  }
}

const HISTORY_PAGE = 500;

export class DurableRoom extends DurableObject<Env> {
  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    ctx.storage.sql.exec(
      "CREATE TABLE IF NOT EXISTS messages (id INTEGER PRIMARY KEY AUTOINCREMENT, body TEXT NOT NULL, created_at INTEGER NOT NULL)",
    );
  }

  override async fetch(request: Request): Promise<Response> {
    const url = new URL(request.url);
    if (request.method === "GET" && url.searchParams.has("after")) return this.history(url.searchParams);
    return acceptSocket(this.ctx, request);
  }

  /** Catch-up baseline: a page of stored frames after id `after`, oldest first (GET ?after=&limit=). */
  private history(params: URLSearchParams): Response {
    const limit = Math.min(Math.max(Number(params.get("limit")) || HISTORY_PAGE, 1), HISTORY_PAGE);
    const rows = this.ctx.storage.sql
      .exec<{ id: number; body: string }>("SELECT id, body FROM messages WHERE id > ? ORDER BY id LIMIT ?", Number(params.get("after")) || 0, limit + 1)
      .toArray();
    return Response.json({ rows: rows.slice(0, limit), has_more: rows.length > limit });
  }

  override async webSocketMessage(ws: WebSocket, message: string | ArrayBuffer): Promise<void> {
    const body = typeof message === "string" ? message : new TextDecoder().decode(message);
    this.ctx.storage.sql.exec("INSERT INTO messages (body, created_at) VALUES (?, ?)", body, Date.now());
    // The output gate holds these sends until the insert is durable, so nobody sees an unstored message.
    broadcast(this.ctx, ws, message);
  }

  override async webSocketClose(ws: WebSocket, code: number, reason: string): Promise<void> {
    closeSocket(ws, code, reason);
  }
}

/** What a MemberSocket keeps on its socket, so it still knows its room after hibernation. */
interface MemberAttachment {
  room: string;
  /** A LogRelayRoom member: frames go through the room's store and a per-member log. */
  log: boolean;
}

/** The headers through which the Worker tells a MemberSocket which room it belongs to, and its kind. */
const ROOM_HEADER = "X-Relay-Room";
const LOG_HEADER = "X-Relay-Log";

/**
 * One WebSocket, like Parley's Session: a text frame goes to the room by RPC, and the room pushes
 * other members' frames back by RPC. Named `<room>/<member>`; its id (as a string) is its member id.
 */
export class MemberSocket extends DurableObject<Env> {
  // Cached while the object is resident; after a wake it is found again through the runtime.
  private socket: WebSocket | null = null;
  private room: DurableObjectStub<RelayRoom> | null = null;

  override async fetch(request: Request): Promise<Response> {
    const room = request.headers.get(ROOM_HEADER);
    if (!room) return new Response(`Missing ${ROOM_HEADER}`, { status: 400 });
    if (request.headers.get("Upgrade")?.toLowerCase() !== "websocket") {
      return new Response("Expected a WebSocket upgrade", { status: 426 });
    }
    // Registered before the client sees its socket open, so no frame sent afterwards can miss it.
    await this.call(room, (stub) => stub.join(this.ctx.id.toString()));
    // Exactly one socket per member: a new one replaces the old.
    for (const old of this.ctx.getWebSockets()) closeSocket(old, 1000, "replaced");
    const { 0: client, 1: server } = new WebSocketPair();
    this.ctx.acceptWebSocket(server);
    server.serializeAttachment({ room, log: request.headers.get(LOG_HEADER) === "1" } satisfies MemberAttachment);
    this.socket = server;
    return new Response(null, { status: 101, webSocket: client });
  }

  /** Sends a frame another member relayed through the room (`_memberId` is this object's id: one push signature for both relays). */
  push(_memberId: string, frame: string): void {
    const socket = this.socket ?? this.ctx.getWebSockets()[0] ?? null;
    if (!socket) return; // the socket is gone; the benchmark counts the missing delivery
    this.socket = socket;
    try {
      socket.send(frame);
    } catch {
      this.socket = null; // closing; the benchmark counts the missing delivery
    }
  }

  override async webSocketMessage(ws: WebSocket, message: string | ArrayBuffer): Promise<void> {
    this.socket = ws;
    const frame = typeof message === "string" ? message : new TextDecoder().decode(message);
    const { room, log } = ws.deserializeAttachment() as MemberAttachment;
    await this.call(room, (stub) => stub.relay(this.ctx.id.toString(), frame, log));
  }

  override async webSocketClose(ws: WebSocket, code: number, reason: string): Promise<void> {
    if (ws === this.socket) this.socket = null;
    closeSocket(ws, code, reason);
  }

  /** Calls the room through a cached stub; a stub that threw may be broken, so the next call gets a new one. */
  private async call(room: string, fn: (stub: DurableObjectStub<RelayRoom>) => Promise<void>): Promise<void> {
    this.room ??= this.env.RELAY_ROOM.get(this.env.RELAY_ROOM.idFromName(room));
    try {
      await fn(this.room);
    } catch (err) {
      this.room = null;
      throw err;
    }
  }
}

const MEMBER_KEY = "member:";

/**
 * The room of the "one object per member" baselines: only its members, and one RPC per other member
 * for each frame — the floor of Parley's per-recipient topology. A LogRelayRoom (`log`) also stores
 * the frame first (as Parley's Conversation does) and sends it through each member's MemberLog.
 */
export class RelayRoom extends DurableObject<Env> {
  private readonly members = new Set<string>();
  private readonly stubs = new Map<string, DurableObjectStub<MemberSocket> | DurableObjectStub<MemberLog>>();

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    ctx.storage.sql.exec("CREATE TABLE IF NOT EXISTS frames (id INTEGER PRIMARY KEY AUTOINCREMENT, body TEXT NOT NULL)");
    // An evicted room must still know its members when the next frame wakes it.
    void ctx.blockConcurrencyWhile(async () => {
      const saved = await ctx.storage.list({ prefix: MEMBER_KEY });
      for (const key of saved.keys()) this.members.add(key.slice(MEMBER_KEY.length));
    });
  }

  async join(memberId: string): Promise<void> {
    if (this.members.has(memberId)) return;
    this.members.add(memberId);
    await this.ctx.storage.put(MEMBER_KEY + memberId, true);
  }

  /** Pushes `frame` to every member except `from`, all at once, and resolves when all answered. */
  async relay(from: string, frame: string, log: boolean): Promise<void> {
    // The output gate holds the calls below until this insert is durable.
    if (log) this.ctx.storage.sql.exec("INSERT INTO frames (body) VALUES (?)", frame);
    const pushes: Promise<void>[] = [];
    for (const id of this.members) {
      if (id === from) continue;
      const stub = this.member(id, log);
      pushes.push(
        stub.push(id, frame).catch(() => {
          // A stub that threw may be broken: the next frame gets a new one. The delivery is counted missing.
          this.stubs.delete(id);
        }),
      );
    }
    await Promise.all(pushes);
  }

  private member(id: string, log: boolean): DurableObjectStub<MemberSocket> | DurableObjectStub<MemberLog> {
    let stub = this.stubs.get(id);
    if (!stub) {
      stub = log ? this.env.MEMBER_LOG.get(this.env.MEMBER_LOG.idFromName(id)) : this.env.MEMBER_SOCKET.get(this.env.MEMBER_SOCKET.idFromString(id));
      this.stubs.set(id, stub);
    }
    return stub;
  }
}

/** A LogRelayRoom member's log, like Parley's Inbox: stores each frame, then hands it to the member's socket object. */
export class MemberLog extends DurableObject<Env> {
  private socket: DurableObjectStub<MemberSocket> | null = null;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    ctx.storage.sql.exec("CREATE TABLE IF NOT EXISTS frames (seq INTEGER PRIMARY KEY AUTOINCREMENT, body TEXT NOT NULL)");
  }

  /** `memberId` is the MemberSocket's id; the output gate holds the push until the insert is durable. */
  async push(memberId: string, frame: string): Promise<void> {
    this.ctx.storage.sql.exec("INSERT INTO frames (body) VALUES (?)", frame);
    this.socket ??= this.env.MEMBER_SOCKET.get(this.env.MEMBER_SOCKET.idFromString(memberId));
    try {
      await this.socket.push(memberId, frame);
    } catch (err) {
      this.socket = null; // a stub that threw may be broken
      throw err;
    }
  }
}

const NAME = "[A-Za-z0-9_.-]{1,64}";
const ROOM_PATH = new RegExp(`^/(bare|durable)/(${NAME})$`);
const MEMBER_PATH = new RegExp(`^/(relay|logrelay)/(${NAME})/(${NAME})$`);

export default {
  async fetch(request: Request, env: Env): Promise<Response> {
    const path = new URL(request.url).pathname;
    const member = MEMBER_PATH.exec(path);
    if (member) {
      // The kind is part of the room's name: a relay and a logrelay room of the same name are two rooms.
      const room = `${member[1]!}:${member[2]!}`;
      const headers = new Headers(request.headers);
      headers.set(ROOM_HEADER, room);
      headers.set(LOG_HEADER, member[1] === "logrelay" ? "1" : "0");
      return env.MEMBER_SOCKET.get(env.MEMBER_SOCKET.idFromName(`${room}/${member[3]!}`)).fetch(new Request(request, { headers }));
    }
    const match = ROOM_PATH.exec(path);
    if (!match) return new Response("Baselines: use /bare/<room>, /durable/<room>, /relay/<room>/<member> or /logrelay/<room>/<member>", { status: 404 });
    const namespace = match[1] === "bare" ? env.BARE_ROOM : env.DURABLE_ROOM;
    return namespace.get(namespace.idFromName(match[2]!)).fetch(request);
  },
} satisfies ExportedHandler<Env>;
