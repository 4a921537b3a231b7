// The Parley client: signs in over HTTP (/login) and binds a WebSocket with `connect`, keeps it up
// (jittered exponential backoff, heartbeat), catches up with `sync` from a persisted cursor, and keeps
// an outbox of sends that were not acknowledged, re-sent with the same client ids after a reconnect
// (the server answers a repeated id with the first `ask`: a message is never stored twice).
import type { ListedMessage, Logged, MessagePacketBody, PacketName, RequestName, Requests, ServerPackets, WireError } from "../../src/protocol/wire";
import { backoffDelay, type BackoffOptions } from "./backoff";
import { Emitter } from "./emitter";
import { memoryStorage, type KeyValueStorage } from "./storage";

export type Params<K extends RequestName> = Requests[K]["params"];
export type Reply<K extends RequestName> = Requests[K]["reply"];
export type Message = MessagePacketBody;
export type { ListedMessage, ServerPackets };
export type Ask = NonNullable<Reply<"message">>["ask"];
export type User = Reply<"user_create">["user"];

/** What a socket must offer: the WebSocket of browsers, Node ≥ 22 and workerd all fit. */
export interface SocketLike {
  send(data: string): void;
  close(code?: number, reason?: string): void;
  addEventListener(type: "message", listener: (event: { data: unknown }) => void): void;
  addEventListener(type: "close", listener: () => void): void;
}

export interface ClientOptions {
  /** The server's origin, e.g. "https://chat.example.com" (default: the page's origin). */
  url?: string;
  organizationId?: string;
  /** Session, cursor and outbox survive restarts when this survives them (default: memory). */
  storage?: KeyValueStorage;
  fetch?: (request: Request) => Promise<Response>;
  /** Opens a socket and resolves once it is open (default: the global WebSocket). */
  openSocket?: (url: string) => Promise<SocketLike>;
  reconnect?: BackoffOptions;
  /** How long a request waits for its reply (default 15 s). */
  requestTimeoutMs?: number;
  /** A plain-text ping every this many ms; a socket silent for as long again is dropped (default 20 s). */
  heartbeatMs?: number;
  /** Listens to the environment's online/offline events (default: globalThis, when it has them). */
  network?: { addEventListener(type: "online" | "offline", listener: () => void): void } | null;
}

export type ConnectionStatus = "signed-out" | "connecting" | "online" | "offline";

/** A delivery or read receipt for the caller's own messages. */
export interface Receipt {
  kind: "delivered" | "read";
  cid: string;
  ids: string[];
  /** Who received or read them. */
  from: string;
}

export interface ClientEvents {
  status: ConnectionStatus;
  message: Message;
  edit: ServerPackets["message_edit"];
  delete: ServerPackets["message_delete"];
  receipt: Receipt;
  reaction: ServerPackets["message_reactions_update"];
  typing: ServerPackets["typing"];
  /** A user went online (`online: true`) or offline (last seen, Unix seconds). */
  presence: { userId: string; online: boolean; lastSeen: number | null };
  conversation: { event: "created" | "updated" | "kicked"; conversation: NonNullable<ServerPackets["system_message"]["x"]["conversation_created"]> };
  /** A system_message that is not a conversation event (sent by the system_message request). */
  system: ServerPackets["system_message"];
  /** Catch-up finished. `reload`: lists must be loaded again (first sign-in here, or the server's log was reset). */
  synced: { reload: boolean };
  /** A queued send was stored (after any number of reconnects). */
  ack: { clientId: string; ask: Ask };
  /** A queued send was refused for good (not a connection problem): it left the outbox. */
  sendFailed: { clientId: string; cid: string; error: WireError };
  /** The session ended (signed out, or its tokens were refused). */
  signedOut: { reason: string };
}

/** A refused request: SAMA's `{status, message}`; status 0 when the connection failed. */
export class ParleyError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = "ParleyError";
  }
}

interface Session {
  token: string;
  /** Unix ms. */
  expiresAt: number;
  user: User;
}

interface Cursor {
  epoch: string | null;
  seq: number;
}

/** A send waiting for its `ask`, as kept in storage. */
export interface PendingSend {
  id: string;
  cid: string;
  body?: string;
  attachments?: Params<"message">["attachments"];
  x?: Params<"message">["x"];
  replied_message_id?: string;
}

interface Waiting {
  resolve: (value: Record<string, unknown>) => void;
  reject: (err: ParleyError) => void;
  timer: ReturnType<typeof setTimeout>;
}

const PUBLIC_REQUESTS = new Set<string>(["ping", "connect", "user_create", "user_login", "user_send_otp", "user_reset_password"]);
/** No cursor yet: ask for the head of the log, not its whole history. */
const HEAD = Number.MAX_SAFE_INTEGER;
const SEEN_MESSAGES = 5000;

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function errorOf(value: unknown): WireError | null {
  return isRecord(value) && typeof value.status === "number" && typeof value.message === "string" ? { status: value.status, message: value.message } : null;
}

function randomId(): string {
  return crypto.randomUUID().replaceAll("-", "");
}

/** The global WebSocket, resolved once open. */
export function openWebSocket(url: string): Promise<SocketLike> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url);
    const fail = () => reject(new ParleyError(0, "WebSocket failed to open"));
    ws.addEventListener("open", () => resolve(ws as unknown as SocketLike));
    ws.addEventListener("error", fail);
    ws.addEventListener("close", fail);
  });
}

export class ParleyClient extends Emitter<ClientEvents> {
  readonly url: string;
  readonly organizationId: string;
  private readonly storage: KeyValueStorage;
  private readonly fetchFn: (request: Request) => Promise<Response>;
  private readonly openSocket: (url: string) => Promise<SocketLike>;
  private readonly options: ClientOptions;

  private session: Session | null = null;
  /** The user whose outbox and cursor are loaded. */
  private loadedFor: string | null = null;
  private deviceId: string | null = null;
  private socket: SocketLike | null = null;
  private statusValue: ConnectionStatus = "signed-out";
  /** Whether the client should stay connected (signed in and not stopped). */
  private running = false;
  private loop: Promise<void> | null = null;
  private wake: (() => void) | null = null;

  private nextRequestId = 0;
  private readonly waiting = new Map<string, Waiting>();
  private readonly onlineWaiters: Array<() => void> = [];

  private outbox: PendingSend[] = [];
  private readonly acks = new Map<string, { resolve: (ask: Ask) => void; reject: (err: ParleyError) => void }>();

  private cursor: Cursor = { epoch: null, seq: HEAD };
  /** event_seq numbers handled above the cursor (the cursor moves over them once the gap before them fills). */
  private readonly applied = new Set<number>();
  private readonly seenMessages = new Set<string>();
  private heldCarbons: Message[] = [];
  /** Live packets that arrive while `sync` runs wait here, so the order stays the log's. */
  private buffered: Array<[string, Record<string, unknown>]> | null = null;
  private gapTimer: ReturnType<typeof setTimeout> | null = null;
  private refreshTimer: ReturnType<typeof setTimeout> | null = null;
  private heartbeatTimer: ReturnType<typeof setInterval> | null = null;
  private lastFrameAt = 0;

  constructor(options: ClientOptions = {}) {
    super();
    this.options = options;
    const origin = options.url ?? (globalThis as { location?: { origin: string } }).location?.origin;
    if (!origin) throw new Error("ParleyClient needs a url outside a browser");
    this.url = origin.replace(/\/+$/, "");
    this.organizationId = options.organizationId ?? "default";
    this.storage = options.storage ?? memoryStorage();
    this.fetchFn = options.fetch ?? ((request) => fetch(request));
    this.openSocket = options.openSocket ?? openWebSocket;
    const network = options.network === undefined ? this.globalNetwork() : options.network;
    network?.addEventListener("offline", () => this.socket?.close(4000, "offline"));
    network?.addEventListener("online", () => this.wake?.());
  }

  get status(): ConnectionStatus {
    return this.statusValue;
  }

  /** The signed-in user, or null. */
  get user(): User | null {
    return this.session?.user ?? null;
  }

  /** Sends not acknowledged yet, oldest first. */
  get pending(): readonly PendingSend[] {
    return this.outbox;
  }

  // ------------------------------------------------------------------ accounts

  /** Creates an account (user_create on a short-lived socket), then signs in. */
  async signUp(account: { login: string; password: string; email?: string; first_name?: string; last_name?: string }): Promise<User> {
    const socket = await this.openSocket(this.socketUrl());
    try {
      const reply = await new Promise<Record<string, unknown>>((resolve, reject) => {
        socket.addEventListener("message", (event) => {
          const frame = typeof event.data === "string" ? (JSON.parse(event.data) as unknown) : null;
          if (isRecord(frame) && isRecord(frame.response) && frame.response.id === "signup") resolve(frame.response);
        });
        socket.addEventListener("close", () => reject(new ParleyError(0, "Disconnected")));
        const params: Params<"user_create"> = {
          organization_id: this.organizationId,
          login: account.login,
          password: account.password,
          // Parley requires an email at sign-up; a login-derived one stands in when none is given.
          email: account.email ?? `${account.login.replace(/[^a-zA-Z0-9._%+-]/g, "_")}@users.invalid`,
          ...(account.first_name ? { first_name: account.first_name } : {}),
          ...(account.last_name ? { last_name: account.last_name } : {}),
        };
        socket.send(JSON.stringify({ request: { user_create: params, id: "signup" } }));
      });
      const error = errorOf(reply.error);
      if (error) throw new ParleyError(error.status, error.message);
    } finally {
      socket.close(1000, "signed up");
    }
    return this.signIn(account.login, account.password);
  }

  /** Password sign-in (POST /login), then the socket. Resolves once connected and caught up. */
  async signIn(login: string, password: string): Promise<User> {
    const deviceId = await this.device();
    const session = await this.login({ organization_id: this.organizationId, login, password, device_id: deviceId }, null);
    await this.startSession(session);
    await this.online();
    return session.user;
  }

  /**
   * Signs in again with the stored session (a reload, a restarted process); null when there is none.
   * Resolves without waiting for the network: offline, the client keeps trying (`status` events), and
   * requests wait until it is online.
   */
  async resume(): Promise<User | null> {
    const stored = await this.read<Session>("session");
    if (!stored) return null;
    this.session = stored;
    try {
      await this.refresh();
    } catch (err) {
      if (err instanceof ParleyError && err.status !== 0) {
        await this.endSession("session expired");
        return null;
      }
      // Offline: keep the stored token and let the connection loop retry.
    }
    await this.startSession(this.session);
    return this.session.user;
  }

  /** Signs out this device everywhere (POST /logout), forgets the session, closes the socket. */
  async signOut(): Promise<void> {
    const session = this.session;
    if (session) {
      await this.fetchFn(
        new Request(`${this.url}/logout`, { method: "POST", headers: { Authorization: `Bearer ${session.token}` } }),
      ).catch(() => undefined);
    }
    await this.endSession("signed out");
  }

  /** Closes the socket and stops reconnecting; the session stays stored (resume() picks it up). */
  stop(): void {
    this.running = false;
    // Nothing of this client keeps a process alive after it (a pending refresh would, for hours).
    if (this.refreshTimer) clearTimeout(this.refreshTimer);
    this.wake?.();
    this.socket?.close(1000, "stopped");
  }

  // ------------------------------------------------------------------ requests

  /** Sends a request and resolves with its reply; a refused one rejects with a ParleyError. */
  async request<K extends RequestName>(name: K, params: Params<K>): Promise<Reply<K>> {
    if (!PUBLIC_REQUESTS.has(name)) await this.online();
    const socket = this.socket;
    if (!socket) throw new ParleyError(0, "Disconnected");
    return (await this.call(socket, name, params)) as Reply<K>;
  }

  /**
   * Queues a message: sent now when online, else after the next connect, with the same client id
   * until the server acknowledges it (`ack` event; the returned promise resolves with the `ask`).
   */
  send(message: Omit<PendingSend, "id"> & { id?: string }): { id: string; ack: Promise<Ask> } {
    const pending: PendingSend = { ...message, id: message.id ?? randomId() };
    this.outbox.push(pending);
    void this.write(this.userKey("outbox"), this.outbox);
    const ack = new Promise<Ask>((resolve, reject) => this.acks.set(pending.id, { resolve, reject }));
    // A caller that ignores the promise still gets the `ack` / `sendFailed` events.
    ack.catch(() => undefined);
    if (this.statusValue === "online") this.transmit(pending);
    return { id: pending.id, ack };
  }

  /** The typing indicator (never answered, never queued). */
  typing(cid: string): void {
    if (this.statusValue === "online") this.socket?.send(JSON.stringify({ typing: { cid } }));
  }

  /** Uploads a file to R2 through the server's signed URL; the result goes into `attachments`. */
  async upload(file: Blob, name: string): Promise<{ file_id: string; file_name: string; file_content_type: string; file_size: number }> {
    const contentType = file.type || "application/octet-stream";
    const { files } = await this.request("create_files", [{ name, size: file.size, content_type: contentType }]);
    const created = files[0];
    if (!created) throw new ParleyError(500, "No upload URL");
    const res = await this.fetchFn(new Request(created.upload_url, { method: "PUT", body: file, headers: { "Content-Type": contentType } }));
    if (!res.ok) throw new ParleyError(res.status, (await res.text()) || "Upload failed");
    return { file_id: created.object_id, file_name: name, file_content_type: contentType, file_size: file.size };
  }

  /** Download URLs of attachments, by file id. */
  async fileUrls(fileIds: string[]): Promise<Record<string, string>> {
    if (fileIds.length === 0) return {};
    return (await this.request("get_file_urls", { file_ids: fileIds })).file_urls;
  }

  // ------------------------------------------------------------------ session and connection

  private async login(body: Record<string, unknown>, bearer: string | null): Promise<Session> {
    let res: Response;
    try {
      res = await this.fetchFn(
        new Request(`${this.url}/login`, {
          method: "POST",
          headers: { "Content-Type": "application/json", ...(bearer ? { Authorization: `Bearer ${bearer}` } : {}) },
          body: JSON.stringify(body),
        }),
      );
    } catch {
      throw new ParleyError(0, "Network error");
    }
    const text = await res.text();
    if (!res.ok) throw new ParleyError(res.status, text || res.statusText);
    const json = JSON.parse(text) as { user: User; access_token: string; expired_at: number };
    return { token: json.access_token, expiresAt: json.expired_at, user: json.user };
  }

  /** A new access token for the current session (Bearer sign-in; the browser's refresh cookie backs it up). */
  private async refresh(): Promise<void> {
    const session = this.session;
    if (!session) throw new ParleyError(401, "Not signed in");
    const renewed = await this.login({ device_id: await this.device() }, session.token);
    this.session = renewed;
    await this.write("session", renewed);
    this.scheduleRefresh();
  }

  private scheduleRefresh(): void {
    if (this.refreshTimer) clearTimeout(this.refreshTimer);
    const session = this.session;
    if (!session || !this.running) return;
    // A minute before expiry (at least 5 s from now); a failure is retried by the next connect.
    const delay = Math.max(5_000, session.expiresAt - Date.now() - 60_000);
    this.refreshTimer = setTimeout(() => void this.refresh().catch(() => undefined), Math.min(delay, 2 ** 31 - 1));
  }

  private async startSession(session: Session): Promise<void> {
    this.session = session;
    await this.write("session", session);
    if (this.loadedFor !== session.user._id) {
      // Sends queued and the cursor reached by this user on this storage, from an earlier run.
      this.loadedFor = session.user._id;
      this.outbox = [...(await this.read<PendingSend[]>(this.userKey("outbox"))) ?? [], ...this.outbox];
      this.cursor = (await this.read<Cursor>(this.userKey("cursor"))) ?? { epoch: null, seq: HEAD };
      this.applied.clear();
    }
    this.running = true;
    this.scheduleRefresh();
    this.loop ??= this.connectionLoop().finally(() => (this.loop = null));
  }

  private async endSession(reason: string): Promise<void> {
    this.running = false;
    this.session = null;
    if (this.refreshTimer) clearTimeout(this.refreshTimer);
    for (const key of ["session", this.userKey("outbox"), this.userKey("cursor")]) await this.storage.remove(this.key(key));
    this.loadedFor = null;
    for (const ack of this.acks.values()) ack.reject(new ParleyError(401, "Signed out"));
    this.acks.clear();
    this.outbox = [];
    this.cursor = { epoch: null, seq: HEAD };
    this.applied.clear();
    this.socket?.close(1000, reason);
    this.wake?.();
    this.setStatus("signed-out");
    this.emit("signedOut", { reason });
  }

  /** Resolves when the socket is signed in and caught up. */
  private online(): Promise<void> {
    if (this.statusValue === "online") return Promise.resolve();
    if (!this.running) return Promise.reject(new ParleyError(401, "Not signed in"));
    return new Promise((resolve) => this.onlineWaiters.push(resolve));
  }

  private async connectionLoop(): Promise<void> {
    let attempt = 0;
    while (this.running) {
      if (attempt === 0 && this.statusValue !== "offline") this.setStatus("connecting");
      const closed = await this.connectOnce().catch(async (err: unknown) => {
        if (err instanceof ParleyError && (err.status === 401 || err.status === 403 || err.status === 422)) {
          // The token was refused: one refresh, else the session is over.
          try {
            await this.refresh();
            return null;
          } catch (refreshErr) {
            if (refreshErr instanceof ParleyError && refreshErr.status !== 0) await this.endSession("session expired");
          }
        }
        return null;
      });
      if (closed) {
        attempt = 0;
        await closed;
      }
      if (!this.running) break;
      this.setStatus("offline");
      await this.sleep(backoffDelay(attempt++, this.options.reconnect));
    }
  }

  /** Opens, signs in and catches up one socket; resolves with a promise of its close. */
  private async connectOnce(): Promise<Promise<void>> {
    const session = this.session;
    if (!session) throw new ParleyError(401, "Not signed in");
    const socket = await this.openSocket(this.socketUrl());
    const closed = new Promise<void>((resolve) => {
      socket.addEventListener("close", () => {
        if (this.socket === socket) this.dropped();
        resolve();
      });
    });
    socket.addEventListener("message", (event) => {
      if (this.socket === socket || this.socket === null) this.receive(socket, event.data);
    });
    this.lastFrameAt = Date.now();
    try {
      await this.call(socket, "connect", { device_id: await this.device(), token: session.token });
    } catch (err) {
      socket.close(1000, "connect refused");
      throw err;
    }
    this.socket = socket;
    this.startHeartbeat(socket);
    try {
      await this.catchUp(socket);
    } catch {
      socket.close(4001, "sync failed");
      return closed;
    }
    this.setStatus("online");
    for (const waiter of this.onlineWaiters.splice(0)) waiter();
    for (const pending of this.outbox) this.transmit(pending);
    return closed;
  }

  private dropped(): void {
    this.socket = null;
    if (this.heartbeatTimer) clearInterval(this.heartbeatTimer);
    if (this.gapTimer) clearTimeout(this.gapTimer);
    this.gapTimer = null;
    this.buffered = null;
    for (const [id, w] of this.waiting) {
      clearTimeout(w.timer);
      w.reject(new ParleyError(0, "Disconnected"));
      this.waiting.delete(id);
    }
    if (this.running && this.statusValue === "online") this.setStatus("offline");
  }

  private startHeartbeat(socket: SocketLike): void {
    const every = this.options.heartbeatMs ?? 20_000;
    if (this.heartbeatTimer) clearInterval(this.heartbeatTimer);
    this.heartbeatTimer = setInterval(() => {
      // Anything heard counts: a socket silent for two beats is gone (a laptop that slept, a dead Wi-Fi).
      if (Date.now() - this.lastFrameAt > 2 * every) socket.close(4002, "heartbeat lost");
      else socket.send("ping");
    }, every);
  }

  private sleep(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.wake = done;
    }).finally(() => (this.wake = null));
  }

  private setStatus(status: ConnectionStatus): void {
    if (status === this.statusValue) return;
    this.statusValue = status;
    this.emit("status", status);
  }

  // ------------------------------------------------------------------ frames

  private call(socket: SocketLike, name: string, params: unknown): Promise<Record<string, unknown>> {
    const id = `c${++this.nextRequestId}`;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiting.delete(id);
        reject(new ParleyError(0, `${name}: no reply`));
      }, this.options.requestTimeoutMs ?? 15_000);
      this.waiting.set(id, { resolve, reject, timer });
      socket.send(JSON.stringify({ request: { [name]: params, id } }));
    });
  }

  private transmit(pending: PendingSend): void {
    const { id, cid, body, attachments, x, replied_message_id } = pending;
    const params: Params<"message"> = { id, cid, body, attachments, x, replied_message_id };
    this.socket?.send(JSON.stringify({ message: params }));
  }

  private receive(socket: SocketLike, data: unknown): void {
    this.lastFrameAt = Date.now();
    if (typeof data !== "string" || data === "pong") return;
    let frame: unknown;
    try {
      frame = JSON.parse(data);
    } catch {
      return;
    }
    if (!isRecord(frame)) return;
    const [name, body] = Object.entries(frame)[0] ?? [];
    if (name === undefined || !isRecord(body)) return;
    if (name === "response") return this.settle(body);
    if (name === "ask") return this.acknowledge(body as unknown as Ask);
    // A top-level request that failed answers under its own name: a queued send, or a typing.
    const error = errorOf(body.error);
    if (error) {
      if (name === "message" && typeof body.id === "string") this.refused(body.id, error);
      return;
    }
    if (this.socket !== socket) return;
    if (this.buffered) this.buffered.push([name, body]);
    else this.packet(name, body);
  }

  private settle(body: Record<string, unknown>): void {
    const id = typeof body.id === "string" ? body.id : "";
    const waiter = this.waiting.get(id);
    if (!waiter) return;
    this.waiting.delete(id);
    clearTimeout(waiter.timer);
    const error = errorOf(body.error);
    if (error) return waiter.reject(new ParleyError(error.status, error.message));
    const { id: _, ...reply } = body;
    waiter.resolve(reply);
  }

  private acknowledge(ask: Ask): void {
    const clientId = ask.mid;
    if (clientId === undefined) return;
    // The carbon of our own message may come back through sync: it is already known.
    this.remember(ask.server_mid);
    if (!this.outbox.some((p) => p.id === clientId)) return;
    this.outbox = this.outbox.filter((p) => p.id !== clientId);
    void this.write(this.userKey("outbox"), this.outbox);
    this.acks.get(clientId)?.resolve(ask);
    this.acks.delete(clientId);
    this.emit("ack", { clientId, ask });
    this.releaseCarbons();
  }

  /** Carbons held for a conversation whose sends are all settled now. */
  private releaseCarbons(): void {
    const held = this.heldCarbons;
    this.heldCarbons = held.filter((m) => this.outbox.some((p) => p.cid === m.cid));
    for (const m of held) if (!this.heldCarbons.includes(m) && this.remember(m._id)) this.emit("message", m);
  }

  private refused(clientId: string, error: WireError): void {
    const pending = this.outbox.find((p) => p.id === clientId);
    if (!pending) return;
    // Over the rate limit or a server fault: the same send again a little later.
    if (error.status === 429 || error.status >= 500) {
      setTimeout(() => this.outbox.includes(pending) && this.transmit(pending), 1_000);
      return;
    }
    this.outbox = this.outbox.filter((p) => p !== pending);
    void this.write(this.userKey("outbox"), this.outbox);
    this.acks.get(clientId)?.reject(new ParleyError(error.status, error.message));
    this.acks.delete(clientId);
    this.emit("sendFailed", { clientId, cid: pending.cid, error });
    this.releaseCarbons();
  }

  /** Handles a server packet once: by its event_seq when it has one, and a message by its id. */
  private packet(name: string, body: Record<string, unknown>): void {
    const seq = (body as Logged).event_seq;
    if (typeof seq === "number") {
      if (seq <= this.cursor.seq || this.applied.has(seq)) return;
      this.applied.add(seq);
      this.advance();
    }
    this.dispatch(name as PacketName, body);
  }

  /** Moves the cursor over every handled number that directly follows it; a gap left is filled by sync. */
  private advance(): void {
    const before = this.cursor.seq;
    while (this.applied.delete(this.cursor.seq + 1)) this.cursor.seq += 1;
    if (this.cursor.seq !== before) void this.write(this.userKey("cursor"), this.cursor);
    if (this.applied.size > 0 && !this.gapTimer) {
      // Our own sends leave gaps (the sending socket gets the ask, not the event); so may a lost
      // delivery. Either way a sync after a short wait closes them.
      this.gapTimer = setTimeout(() => {
        this.gapTimer = null;
        const socket = this.socket;
        if (socket && this.applied.size > 0) void this.catchUp(socket).catch(() => socket.close(4001, "sync failed"));
      }, 2_000);
    }
  }

  private remember(mid: string): boolean {
    if (this.seenMessages.has(mid)) return false;
    this.seenMessages.add(mid);
    if (this.seenMessages.size > SEEN_MESSAGES) this.seenMessages.delete(this.seenMessages.values().next().value!);
    return true;
  }

  private dispatch(name: PacketName, body: Record<string, unknown>): void {
    switch (name) {
      case "message": {
        const message = body as ServerPackets["message"];
        // A carbon of our own send that reached this socket before its ask (the send went out on a
        // socket that dropped): held until the outbox has the asks, then only if no ask named it.
        if (message.from === this.session?.user._id && this.outbox.some((p) => p.cid === message.cid)) {
          this.heldCarbons.push(message);
          return;
        }
        if (this.remember(message._id)) this.emit("message", message);
        return;
      }
      case "message_edit":
        return this.emit("edit", body as ServerPackets["message_edit"]);
      case "message_delete":
        return this.emit("delete", body as ServerPackets["message_delete"]);
      case "message_delivered":
      case "message_read": {
        const receipt = body as ServerPackets["message_read"];
        return this.emit("receipt", { kind: name === "message_read" ? "read" : "delivered", cid: receipt.cid, ids: receipt.ids, from: receipt.from });
      }
      case "message_reactions_update":
        return this.emit("reaction", body as ServerPackets["message_reactions_update"]);
      case "typing":
        return this.emit("typing", body as ServerPackets["typing"]);
      case "last_activity":
        for (const [userId, value] of Object.entries(body as ServerPackets["last_activity"])) {
          if (typeof value === "number") this.emit("presence", { userId, online: value === 0, lastSeen: value === 0 ? null : value });
        }
        return;
      case "system_message": {
        const event = body as ServerPackets["system_message"];
        for (const kind of ["created", "updated", "kicked"] as const) {
          const conversation = event.x[`conversation_${kind}`];
          if (conversation) return this.emit("conversation", { event: kind, conversation });
        }
        return this.emit("system", event);
      }
      default:
        return;
    }
  }

  /**
   * `sync` from the cursor until the log's end, live packets held back meanwhile. A new epoch or a
   * truncated log means the cursor means nothing there: lists are reloaded (`synced.reload`).
   */
  private async catchUp(socket: SocketLike): Promise<void> {
    if (this.buffered) return;
    this.buffered = [];
    let reload = this.cursor.seq === HEAD || this.cursor.epoch === null;
    try {
      for (;;) {
        const page = (await this.call(socket, "sync", { since: this.cursor.seq })) as Reply<"sync">;
        if (page.truncated || (this.cursor.epoch !== null && page.epoch !== this.cursor.epoch)) {
          reload = true;
          this.cursor = { epoch: page.epoch, seq: HEAD };
          this.applied.clear();
          continue;
        }
        this.cursor.epoch = page.epoch;
        if (this.cursor.seq === HEAD) this.cursor.seq = page.event_seq;
        for (const event of page.events) {
          const [name, body] = Object.entries(event.packet as Record<string, unknown>)[0] ?? [];
          if (name !== undefined && isRecord(body)) this.packet(name, { ...body, event_seq: event.event_seq });
        }
        if (!page.has_more) {
          // Numbers up to the log's end that no event carries (reserved, never used) are passed too.
          this.cursor.seq = Math.max(this.cursor.seq, page.event_seq);
          for (const seq of this.applied) if (seq <= this.cursor.seq) this.applied.delete(seq);
          this.advance();
          await this.write(this.userKey("cursor"), this.cursor);
          break;
        }
      }
    } finally {
      const held = this.buffered ?? [];
      this.buffered = null;
      for (const [name, body] of held) this.packet(name, body);
    }
    this.emit("synced", { reload });
  }

  // ------------------------------------------------------------------ storage

  private socketUrl(): string {
    return this.url.replace(/^http/, "ws") + "/";
  }

  /** Per-user state: another account signed in on the same storage starts from nothing. */
  private userKey(name: string): string {
    return `${name}:${this.session?.user._id ?? this.loadedFor ?? ""}`;
  }

  private key(name: string): string {
    return `parley:${this.organizationId}:${name}`;
  }

  private async device(): Promise<string> {
    if (this.deviceId) return this.deviceId;
    const stored = await this.storage.get(this.key("device"));
    this.deviceId = stored ?? `sdk-${randomId()}`;
    if (!stored) await this.storage.set(this.key("device"), this.deviceId);
    return this.deviceId;
  }

  private async read<T>(name: string): Promise<T | null> {
    const text = await this.storage.get(this.key(name));
    if (text === null) return null;
    try {
      return JSON.parse(text) as T;
    } catch {
      return null;
    }
  }

  private async write(name: string, value: unknown): Promise<void> {
    await this.storage.set(this.key(name), JSON.stringify(value));
  }

  private globalNetwork(): ClientOptions["network"] {
    const g = globalThis as { addEventListener?: unknown; document?: unknown };
    return typeof g.addEventListener === "function" && g.document !== undefined ? (globalThis as unknown as NonNullable<ClientOptions["network"]>) : null;
  }
}
