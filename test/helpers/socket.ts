// A SAMA client for tests: real WebSocket frames in and out through the Worker.
import { env, exports } from "cloudflare:workers";
import type { Gateway } from "../../src/objects/gateway";
import type { Inbox } from "../../src/objects/inbox";

export const ORIGIN = "http://parley.test";

export type Frame = Record<string, unknown>;

interface Waiter {
  match: (frame: Frame) => boolean;
  resolve: (frame: Frame) => void;
  reject: (err: Error) => void;
  timer: ReturnType<typeof setTimeout>;
}

let nextId = 0;
const openSockets = new Set<TestSocket>();

/** Closes every socket a test opened (registered as an afterEach hook in test/setup). */
export function closeAllSockets(): void {
  for (const socket of openSockets) socket.close();
}

export class TestSocket {
  /** Every frame received, in order. */
  readonly frames: Frame[] = [];
  private waiters: Waiter[] = [];
  private consumed = new Set<Frame>();
  /** Resolves with the close code and reason when the server closes the socket. */
  readonly closed: Promise<{ code: number; reason: string }>;

  private constructor(readonly ws: WebSocket) {
    this.closed = new Promise((resolve) => ws.addEventListener("close", (e) => resolve({ code: e.code, reason: e.reason })));
    ws.addEventListener("message", (event) => {
      const data = typeof event.data === "string" ? event.data : new TextDecoder().decode(event.data as ArrayBuffer);
      let frame: Frame;
      try {
        frame = JSON.parse(data) as Frame;
      } catch {
        frame = { text: data }; // the plain-text keep-alive "pong"
      }
      this.frames.push(frame);
      const waiter = this.waiters.find((w) => w.match(frame));
      if (waiter) {
        this.consumed.add(frame);
        this.waiters = this.waiters.filter((w) => w !== waiter);
        clearTimeout(waiter.timer);
        waiter.resolve(frame);
      }
    });
  }

  /** A socket through the Worker; `gateway` puts it on a Gateway of its own name (the TEST_HOOKS placement). */
  static async open(path = "/", gateway?: string): Promise<TestSocket> {
    const headers: Record<string, string> = { Upgrade: "websocket" };
    if (gateway !== undefined) headers["x-test-gateway"] = gateway;
    const res = await exports.default.fetch(new Request(`${ORIGIN}${path}`, { headers }));
    const ws = res.webSocket;
    if (res.status !== 101 || !ws) throw new Error(`upgrade failed: ${res.status}`);
    ws.accept();
    const socket = new TestSocket(ws);
    openSockets.add(socket);
    return socket;
  }

  send(frame: unknown): void {
    this.ws.send(typeof frame === "string" ? frame : JSON.stringify(frame));
  }

  /** The next frame (already received and unclaimed, or still to come) that satisfies `match`. */
  next(match: (frame: Frame) => boolean, timeoutMs = 5000): Promise<Frame> {
    const ready = this.frames.find((f) => !this.consumed.has(f) && match(f));
    if (ready) {
      this.consumed.add(ready);
      return Promise.resolve(ready);
    }
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w.timer !== timer);
        reject(new Error(`no matching frame within ${timeoutMs} ms; got ${JSON.stringify(this.frames.slice(-5))}`));
      }, timeoutMs);
      this.waiters.push({ match, resolve, reject, timer });
    });
  }

  /** Sends {"request":{action:params,"id":id}} and resolves with the inner `response` object. */
  async request(action: string, params: unknown, id: string | number = `r${++nextId}`): Promise<Frame> {
    const reply = this.next((f) => isRecord(f.response) && f.response.id === id);
    this.send({ request: { [action]: params, id } });
    return (await reply).response as Frame;
  }

  /** Like request(), but expects an error and returns its {status, message}. */
  async requestError(action: string, params: unknown): Promise<{ status: number; message: string }> {
    const response = await this.request(action, params);
    if (!isRecord(response.error)) throw new Error(`expected an error, got ${JSON.stringify(response)}`);
    return response.error as { status: number; message: string };
  }

  close(): void {
    openSockets.delete(this);
    try {
      this.ws.close(1000, "done");
    } catch {
      // already closed
    }
  }
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** The Gateway object holding a session, from the session's id ("<gateway id>.<socket tag>", as the Inbox keeps it). */
export function gatewayOfSession(sessionId: string): DurableObjectStub<Gateway> {
  return env.GATEWAY.get(env.GATEWAY.idFromString(sessionId.slice(0, sessionId.indexOf("."))));
}

/** The Gateway `TestSocket.open(path, gateway)` puts its socket on (placeSocket's one Gateway of the location `gateway`). */
export function namedGateway(gateway: string): DurableObjectStub<Gateway> {
  return env.GATEWAY.get(env.GATEWAY.idFromName(`${gateway}:0`));
}

/** A user's Inbox object (the Worker names it `<organization id>:<user id>`). */
export function inboxOfUser(user: { organizationId: string; id: string }): DurableObjectStub<Inbox> {
  return env.INBOX.get(env.INBOX.idFromName(`${user.organizationId}:${user.id}`));
}
