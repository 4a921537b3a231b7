// Benchmark baselines: the cheapest possible chat rooms on the same runtime as Parley.
//   /bare/<room>     BareRoom: relays each text frame to every other socket of the room.
//   /durable/<room>  DurableRoom: stores each frame in its SQLite first, then relays it.
//                    GET /durable/<room>?after=<id>&limit=<n> (no upgrade) reads stored frames back.
// Both use the hibernation API (ctx.acceptWebSocket), as Parley's objects do, so the comparison
// isolates what Parley adds on top: auth, validation, ordering, per-recipient delivery.
import { DurableObject } from "cloudflare:workers";

interface Env {
  BARE_ROOM: DurableObjectNamespace<BareRoom>;
  DURABLE_ROOM: DurableObjectNamespace<DurableRoom>;
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

const ROOM_PATH = /^\/(bare|durable)\/([A-Za-z0-9_.-]{1,64})$/;

export default {
  async fetch(request: Request, env: Env): Promise<Response> {
    const match = ROOM_PATH.exec(new URL(request.url).pathname);
    if (!match) return new Response("Baselines: use /bare/<room> or /durable/<room>", { status: 404 });
    const namespace = match[1] === "bare" ? env.BARE_ROOM : env.DURABLE_ROOM;
    return namespace.get(namespace.idFromName(match[2]!)).fetch(request);
  },
} satisfies ExportedHandler<Env>;
