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
//   /inboxrelay/<room>/<member>  InboxRelayRoom: the floor of Parley's store-once path as built: the
//                    room stores each frame once; a MemberInbox per member keeps it in memory, writes
//                    its window behind (one commit per INBOX_WINDOW_MS) and hands it to the socket object.
//   /direct/<room>/<member>  DirectRoom: the floor of the next design: the room stores each frame once,
//                    pushes it straight to every member's MemberSocket, and tells each member's
//                    MemberInbox behind (one call per member per TELL_BEHIND_MS, carrying what is pending).
//   /gateway/<room>/<member>  GatewayRoom: DirectRoom with the sockets held by a few Gateway objects
//                    (GATEWAYS, each holding many sockets) instead of one object per socket: one call
//                    per Gateway per frame, whatever the number of members behind it.
// RelayRoom isolates the cost of Parley's topology (an object per recipient) from that of its logic;
// LogRelayRoom adds the commits of the first design (the room's, and one per recipient's log).
import { DurableObject } from "cloudflare:workers";

interface Env {
  BARE_ROOM: DurableObjectNamespace<BareRoom>;
  DURABLE_ROOM: DurableObjectNamespace<DurableRoom>;
  RELAY_ROOM: DurableObjectNamespace<RelayRoom>;
  MEMBER_SOCKET: DurableObjectNamespace<MemberSocket>;
  MEMBER_LOG: DurableObjectNamespace<MemberLog>;
  MEMBER_INBOX: DurableObjectNamespace<MemberInbox>;
  GATEWAY: DurableObjectNamespace<Gateway>;
  GATEWAY_ROOM: DurableObjectNamespace<GatewayRoom>;
}

/** How a frame travels from a member room to the other members (see the header). */
type RelayKind = "relay" | "logrelay" | "inboxrelay" | "direct";
const RELAY_KINDS: readonly RelayKind[] = ["relay", "logrelay", "inboxrelay", "direct"];

/** Parley's INBOX_WRITE_WINDOW_SECONDS in `npm run dev`: a MemberInbox commits what it got at most this often. */
const INBOX_WINDOW_MS = 10_000;
/** A DirectRoom tells a member's MemberInbox what it sent live at most this often. */
const TELL_BEHIND_MS = 1_000;

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
  kind: RelayKind;
}

/** The headers through which the Worker tells a MemberSocket which room it belongs to, and its kind. */
const ROOM_HEADER = "X-Relay-Room";
const KIND_HEADER = "X-Relay-Kind";

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
    server.serializeAttachment({ room, kind: relayKind(request.headers.get(KIND_HEADER)) } satisfies MemberAttachment);
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
    const { room, kind } = ws.deserializeAttachment() as MemberAttachment;
    await this.call(room, (stub) => stub.relay(this.ctx.id.toString(), frame, kind));
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
 * The store-once design's per-user state, told behind the live path: what each member got, one call
 * per member per TELL_BEHIND_MS carrying everything since the last one, to the member's MemberInbox.
 */
class TellBehind {
  private readonly inboxes = new Map<string, DurableObjectStub<MemberInbox>>();
  private readonly untold = new Map<string, string[]>();
  private timer: ReturnType<typeof setTimeout> | null = null;

  constructor(
    private readonly ctx: DurableObjectState,
    private readonly env: Env,
  ) {}

  add(member: string, frame: string): void {
    const pending = this.untold.get(member);
    if (pending) pending.push(frame);
    else this.untold.set(member, [frame]);
    this.timer ??= setTimeout(() => this.tellAll(), TELL_BEHIND_MS);
  }

  private tellAll(): void {
    this.timer = null;
    for (const [member, frames] of this.untold) {
      let inbox = this.inboxes.get(member);
      if (!inbox) {
        inbox = this.env.MEMBER_INBOX.get(this.env.MEMBER_INBOX.idFromName(member));
        this.inboxes.set(member, inbox);
      }
      this.ctx.waitUntil(inbox.apply(frames).catch(() => this.inboxes.delete(member)));
    }
    this.untold.clear();
  }
}


type MemberStub = DurableObjectStub<MemberSocket> | DurableObjectStub<MemberLog> | DurableObjectStub<MemberInbox>;

/**
 * The room of the "one object per member" baselines: only its members, and one RPC per other member
 * for each frame — the floor of Parley's per-recipient topology. The other kinds store the frame
 * first (as Parley's Conversation does) and reach each member through a MemberLog (logrelay), a
 * MemberInbox (inboxrelay), or straight at its MemberSocket with the MemberInbox told behind (direct).
 */
export class RelayRoom extends DurableObject<Env> {
  private readonly members = new Set<string>();
  private readonly stubs = new Map<string, MemberStub>();
  private readonly behind = new TellBehind(this.ctx, this.env);

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
  async relay(from: string, frame: string, kind: RelayKind): Promise<void> {
    // The output gate holds the calls below until this insert is durable.
    if (kind !== "relay") this.ctx.storage.sql.exec("INSERT INTO frames (body) VALUES (?)", frame);
    const pushes: Promise<void>[] = [];
    for (const id of this.members) {
      if (id === from) continue;
      if (kind === "direct") this.behind.add(id, frame);
      const stub = this.member(id, kind);
      pushes.push(
        stub.push(id, frame).catch(() => {
          // A stub that threw may be broken: the next frame gets a new one. The delivery is counted missing.
          this.stubs.delete(id);
        }),
      );
    }
    await Promise.all(pushes);
  }

  private member(id: string, kind: RelayKind): MemberStub {
    let stub = this.stubs.get(id);
    if (!stub) {
      stub =
        kind === "logrelay"
          ? this.env.MEMBER_LOG.get(this.env.MEMBER_LOG.idFromName(id))
          : kind === "inboxrelay"
            ? this.env.MEMBER_INBOX.get(this.env.MEMBER_INBOX.idFromName(id))
            : this.env.MEMBER_SOCKET.get(this.env.MEMBER_SOCKET.idFromString(id));
      this.stubs.set(id, stub);
    }
    return stub;
  }
}

/** A LogRelayRoom member's log, like the first design's Inbox: stores each frame, then hands it to the member's socket object. */
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

/**
 * A member's derived state written behind, like Parley's Inbox today: frames are kept in memory and
 * written in one commit per window. As an inboxrelay hop it also hands each frame to the socket object.
 */
export class MemberInbox extends DurableObject<Env> {
  private socket: DurableObjectStub<MemberSocket> | null = null;
  private pending: string[] = [];
  private flushTimer: ReturnType<typeof setTimeout> | null = null;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    ctx.storage.sql.exec("CREATE TABLE IF NOT EXISTS windows (id INTEGER PRIMARY KEY, frames TEXT NOT NULL)");
  }

  /** inboxrelay: applies the frame in memory and hands it on, nothing written on the way. */
  async push(memberId: string, frame: string): Promise<void> {
    this.apply([frame]);
    this.socket ??= this.env.MEMBER_SOCKET.get(this.env.MEMBER_SOCKET.idFromString(memberId));
    try {
      await this.socket.push(memberId, frame);
    } catch (err) {
      this.socket = null; // a stub that threw may be broken
      throw err;
    }
  }

  /** direct: frames the member's sockets already got, applied in memory. */
  apply(frames: string[]): void {
    this.pending.push(...frames);
    this.flushTimer ??= setTimeout(() => {
      this.flushTimer = null;
      this.ctx.storage.sql.exec("INSERT INTO windows (frames) VALUES (?)", JSON.stringify(this.pending));
      this.pending = [];
    }, INBOX_WINDOW_MS);
  }
}

/** How many Gateways the GatewayRoom baseline spreads its sockets over. */
const GATEWAYS = 8;
const MEMBER_HEADER = "X-Relay-Member";

/**
 * Many sockets in one object, each tagged with its member: the shape of a gateway (Discord's
 * sessions live in gateway processes and a guild sends one message per gateway, not per session).
 */
export class Gateway extends DurableObject<Env> {
  private readonly rooms = new Map<string, DurableObjectStub<GatewayRoom>>();

  override async fetch(request: Request): Promise<Response> {
    const room = request.headers.get(ROOM_HEADER);
    const member = request.headers.get(MEMBER_HEADER);
    if (!room || !member) return new Response(`Missing ${ROOM_HEADER} or ${MEMBER_HEADER}`, { status: 400 });
    if (request.headers.get("Upgrade")?.toLowerCase() !== "websocket") {
      return new Response("Expected a WebSocket upgrade", { status: 426 });
    }
    // Registered before the client sees its socket open, so no frame sent afterwards can miss it.
    await this.room(room).join(member, this.ctx.id.toString());
    for (const old of this.ctx.getWebSockets(member)) closeSocket(old, 1000, "replaced");
    const { 0: client, 1: server } = new WebSocketPair();
    this.ctx.acceptWebSocket(server, [member]);
    server.serializeAttachment({ room, member });
    return new Response(null, { status: 101, webSocket: client });
  }

  /** One call per message for every member of the room whose socket is here. */
  pushMany(members: string[], frame: string): void {
    for (const member of members) {
      const socket = this.ctx.getWebSockets(member)[0];
      try {
        socket?.send(frame); // a missing socket is a missing delivery, which the benchmark counts
      } catch {
        // closing
      }
    }
  }

  override async webSocketMessage(ws: WebSocket, message: string | ArrayBuffer): Promise<void> {
    const frame = typeof message === "string" ? message : new TextDecoder().decode(message);
    const { room, member } = ws.deserializeAttachment() as { room: string; member: string };
    const stub = this.room(room);
    await stub.relay(member, frame).catch((err: unknown) => {
      this.rooms.delete(room); // a stub that threw may be broken
      throw err;
    });
  }

  override async webSocketClose(ws: WebSocket, code: number, reason: string): Promise<void> {
    closeSocket(ws, code, reason);
  }

  private room(name: string): DurableObjectStub<GatewayRoom> {
    let stub = this.rooms.get(name);
    if (!stub) {
      stub = this.env.GATEWAY_ROOM.get(this.env.GATEWAY_ROOM.idFromName(name));
      this.rooms.set(name, stub);
    }
    return stub;
  }
}

/** The store-once floor with gateways: stores each frame once, one call per Gateway holding a member, per-member state told behind. */
export class GatewayRoom extends DurableObject<Env> {
  /** member → the id of the Gateway holding its socket. */
  private readonly members = new Map<string, string>();
  private readonly gateways = new Map<string, DurableObjectStub<Gateway>>();
  private readonly behind = new TellBehind(this.ctx, this.env);

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    ctx.storage.sql.exec("CREATE TABLE IF NOT EXISTS frames (id INTEGER PRIMARY KEY AUTOINCREMENT, body TEXT NOT NULL)");
    void ctx.blockConcurrencyWhile(async () => {
      const saved = await ctx.storage.list<string>({ prefix: MEMBER_KEY });
      for (const [key, gateway] of saved) this.members.set(key.slice(MEMBER_KEY.length), gateway);
    });
  }

  async join(member: string, gateway: string): Promise<void> {
    if (this.members.get(member) === gateway) return;
    this.members.set(member, gateway);
    await this.ctx.storage.put(MEMBER_KEY + member, gateway);
  }

  async relay(from: string, frame: string): Promise<void> {
    // The output gate holds the calls below until this insert is durable.
    this.ctx.storage.sql.exec("INSERT INTO frames (body) VALUES (?)", frame);
    const byGateway = new Map<string, string[]>();
    for (const [member, gateway] of this.members) {
      if (member === from) continue;
      this.behind.add(member, frame);
      const list = byGateway.get(gateway);
      if (list) list.push(member);
      else byGateway.set(gateway, [member]);
    }
    await Promise.all(
      [...byGateway].map(([gateway, members]) =>
        this.gateway(gateway)
          .pushMany(members, frame)
          .catch(() => this.gateways.delete(gateway)), // counted missing; the next frame gets a new stub
      ),
    );
  }

  private gateway(id: string): DurableObjectStub<Gateway> {
    let stub = this.gateways.get(id);
    if (!stub) {
      stub = this.env.GATEWAY.get(this.env.GATEWAY.idFromString(id));
      this.gateways.set(id, stub);
    }
    return stub;
  }
}

/** FNV-1a: spreads members over the Gateways, the same member always to the same one. */
function gatewayOf(member: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < member.length; i++) h = Math.imul(h ^ member.charCodeAt(i), 0x01000193);
  return (h >>> 0) % GATEWAYS;
}

function relayKind(header: string | null): RelayKind {
  return RELAY_KINDS.find((k) => k === header) ?? "relay";
}

const NAME = "[A-Za-z0-9_.-]{1,64}";
const ROOM_PATH = new RegExp(`^/(bare|durable)/(${NAME})$`);
const GATEWAY_PATH = new RegExp(`^/gateway/(${NAME})/(${NAME})$`);
const MEMBER_PATH = new RegExp(`^/(${RELAY_KINDS.join("|")})/(${NAME})/(${NAME})$`);

export default {
  async fetch(request: Request, env: Env): Promise<Response> {
    const path = new URL(request.url).pathname;
    const member = MEMBER_PATH.exec(path);
    if (member) {
      // The kind is part of the room's name: a relay and a logrelay room of the same name are two rooms.
      const room = `${member[1]!}:${member[2]!}`;
      const headers = new Headers(request.headers);
      headers.set(ROOM_HEADER, room);
      headers.set(KIND_HEADER, member[1]!);
      return env.MEMBER_SOCKET.get(env.MEMBER_SOCKET.idFromName(`${room}/${member[3]!}`)).fetch(new Request(request, { headers }));
    }
    const gateway = GATEWAY_PATH.exec(path);
    if (gateway) {
      const room = `gateway:${gateway[1]!}`;
      const headers = new Headers(request.headers);
      headers.set(ROOM_HEADER, room);
      headers.set(MEMBER_HEADER, `${room}/${gateway[2]!}`);
      return env.GATEWAY.get(env.GATEWAY.idFromName(`gw-${gatewayOf(gateway[2]!)}`)).fetch(new Request(request, { headers }));
    }
    const match = ROOM_PATH.exec(path);
    if (!match) return new Response(`Baselines: use /bare/<room>, /durable/<room> or /<${RELAY_KINDS.join("|")}|gateway>/<room>/<member>`, { status: 404 });
    const namespace = match[1] === "bare" ? env.BARE_ROOM : env.DURABLE_ROOM;
    return namespace.get(namespace.idFromName(match[2]!)).fetch(request);
  },
} satisfies ExportedHandler<Env>;
