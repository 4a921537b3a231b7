// The runtime probe: one Caller object times operations on Callee objects from inside the runtime.
//   GET /probe?op=<op>&n=<count>   → {op, n, ms, us_per_op}
//   GET /socket (upgrade)          → a socket; the text frame "send <n>" makes the Caller send n frames
//                                    and answer "sent <n> in <ms> ms".
// Ops (each a plain loop, so the per-op time is the runtime's own cost, not queueing):
//   call         n calls, one after another, to a warm object's no-op method
//   call_write   the same, the method inserting one row (each call ends in its own commit)
//   call_50      n calls spread over 50 warm objects, 50 at a time (throughput, not latency)
//   call_write_50  the same, each call inserting one row: more than call_50 only if commits hold the thread
//   wake         the first call to n objects never used before (each opens its SQLite)
//   statement    n single-row inserts inside one call (one commit for all)
import { DurableObject } from "cloudflare:workers";

interface Env {
  CALLER: DurableObjectNamespace<Caller>;
  CALLEE: DurableObjectNamespace<Callee>;
}

const FRAME = JSON.stringify({ message: { _id: "0".repeat(24), cid: "1".repeat(24), from: "2".repeat(24), body: "x".repeat(120), t: 0 } });

export class Callee extends DurableObject<Env> {
  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    ctx.storage.sql.exec("CREATE TABLE IF NOT EXISTS rows (id INTEGER PRIMARY KEY, body TEXT NOT NULL)");
  }

  noop(frame: string): number {
    return frame.length;
  }

  write(frame: string): number {
    this.ctx.storage.sql.exec("INSERT INTO rows (body) VALUES (?)", frame);
    return 1;
  }

  statements(n: number): number {
    for (let i = 0; i < n; i++) this.ctx.storage.sql.exec("INSERT INTO rows (body) VALUES (?)", FRAME);
    return n;
  }
}

export class Caller extends DurableObject<Env> {
  private readonly run = Date.now().toString(36);

  private callee(name: string): DurableObjectStub<Callee> {
    return this.env.CALLEE.get(this.env.CALLEE.idFromName(name));
  }

  async probe(op: string, n: number): Promise<{ op: string; n: number; ms: number; us_per_op: number }> {
    const warm = this.callee("warm");
    const fifty = Array.from({ length: 50 }, (_, i) => this.callee(`warm-${i}`));
    await Promise.all([warm.noop(""), ...fifty.map((s) => s.noop(""))]);
    const started = Date.now();
    switch (op) {
      case "call":
        for (let i = 0; i < n; i++) await warm.noop(FRAME);
        break;
      case "call_write":
        for (let i = 0; i < n; i++) await warm.write(FRAME);
        break;
      case "call_50":
        for (let i = 0; i < n; i += 50) await Promise.all(fifty.map((s) => s.noop(FRAME)));
        break;
      case "call_write_50":
        for (let i = 0; i < n; i += 50) await Promise.all(fifty.map((s) => s.write(FRAME)));
        break;
      case "wake":
        for (let i = 0; i < n; i++) await this.callee(`cold-${this.run}-${op}-${i}`).noop(FRAME);
        break;
      case "statement":
        await warm.statements(n);
        break;
      default:
        throw new Error(`unknown op ${op}`);
    }
    const ms = Date.now() - started;
    return { op, n, ms, us_per_op: Math.round((ms * 1000) / n) };
  }

  override async fetch(request: Request): Promise<Response> {
    const { 0: client, 1: server } = new WebSocketPair();
    this.ctx.acceptWebSocket(server);
    return new Response(null, { status: 101, webSocket: client });
  }

  override async webSocketMessage(ws: WebSocket, message: string | ArrayBuffer): Promise<void> {
    const n = Number(String(message).split(" ")[1]);
    const started = Date.now();
    for (let i = 0; i < n; i++) ws.send(FRAME);
    ws.send(`sent ${n} in ${Date.now() - started} ms`);
  }
}

export default {
  async fetch(request: Request, env: Env): Promise<Response> {
    const url = new URL(request.url);
    const caller = env.CALLER.get(env.CALLER.idFromName("caller"));
    if (url.pathname === "/socket") return caller.fetch(request);
    if (url.pathname !== "/probe") return new Response("use /probe?op=&n= or /socket", { status: 404 });
    try {
      return Response.json(await caller.probe(url.searchParams.get("op") ?? "", Number(url.searchParams.get("n") ?? 1000)));
    } catch (err) {
      return Response.json({ error: String(err) }, { status: 400 });
    }
  },
} satisfies ExportedHandler<Env>;
