// The chaos run: members send into one group at a steady rate (the owner, and in the larger group three more, only read)
// while Conversation, Inbox and Gateway objects are *aborted* at random moments: the runtime's abort
// (ctx.abort, behind the test-only testAbort hook), not a graceful eviction. An aborted object's
// in-flight calls fail, its sockets close (1006), whatever it held only in memory is gone, and the
// next call builds a fresh instance from storage. Clients do what a SAMA client does: when a socket
// dies they reconnect, and they resend every unacknowledged message with its client id (after a
// reconnect, after an error reply, after a silence); sends are idempotent.
//
// Afterwards every acknowledged message is exactly once, in the conversation's order (seq), in every
// member's message_list, sync feed and op_log_list, the conversation_list of every member shows it
// with the right unread count and last message, and nothing else was stored. The run prints one line:
//   chaos: <E> aborts (conversation <c>, inbox <i>, gateway <g>), <R> reconnects, <S> resends, <L> lost, <D> duplicated
// with L and D asserted 0 and the others above floors: each kind is aborted at least ABORTS_PER_KIND
// times while the senders are sending, at a random point of a burst (when a random number of its
// asks has come back), so an Inbox dies with deliveries applied in memory and not yet written, and a
// Conversation with deliveries not yet confirmed, whatever the length of the Inbox's write-behind
// window (the load lasts longer than one). The last rounds abort Inboxes only, so what they cut can be
// finished only by the Conversation's own retry. Every abort must really abort (the hook's call fails
// with the abort's reason, or the test fails), every aborted Gateway must close the sockets it held,
// and the clients must really have reconnected and resent.
//
// What this proves: an acknowledged message survives the sudden death of its writer, of any reader's
// Inbox and of any socket's Gateway (with every other socket it held) at any moment of its delivery, with no loss and no duplicate in
// any of the five views; resends after a lost ask store nothing twice.
// What it does not: machine or network failures (one workerd process), nor storage loss, nor a
// particular interleaving (the moments are random; the floors make each kind happen many times).
//
// Checked that it can fail (on the branch `proofs`, with this file as it is): (1) the Conversation's
// alarm no longer retrying fan-out (`await this.fanout.retry()` removed from Conversation.alarm):
// four runs, "… 188 / 364 / 494 / 538 lost, 0 duplicated" and a failure each; (2) a fresh Conversation
// instance skipping the fan-out rows its aborted predecessor left (Fanout's readUpTo set to the
// table's max id in the constructor): two runs, "870 / 814 lost" and a failure. Restored: passes.
// With the write-behind Inbox (1 s window in tests): (3) an Inbox that ignores a delivery's `after`
// (a lost window never detected, so what it lost is never resent): "14 lost" and a failure.
import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { TestSocket, gatewayOfSession, isRecord, type Frame } from "../helpers/socket";
import { device, listMessages, opLogMessages, sleep, syncAll, syncedMessages, tab, users, type Device } from "./messages-fixtures";

/** Members sending in the larger group (the Gateways' path); the small group, the Inboxes' path, has two. */
const SENDERS = 4;
/** Steady sends for at least this long: longer than an Inbox's write-behind window of a few seconds. */
const LOAD_MS = 8000;
/** Every SEND_EVERY_MS each sender sends BURST messages at once: its session answers them one by one, so sends are often in flight. */
const SEND_EVERY_MS = 200;
const BURST = 4;
/** Aborts of each kind while the senders are sending; the load goes on until every kind has them. */
const ABORTS_PER_KIND = 8;
/** The last rounds abort Inboxes only: what they interrupt can then be finished only by the Conversation's own retry. */
const LAST_INBOX_ROUNDS = 5;
/** An unacknowledged message is resent after this much silence (a reply lost with an aborted object). */
const RESEND_AFTER_MS = 1500;
const ABORT_REASON = "chaos: aborted by the test";

type Kind = "conversation" | "inbox" | "gateway";

interface Stats {
  reconnects: number;
  resends: number;
  /** Called on every ask any client receives (the run times its aborts by them). */
  onAsk: () => void;
}

/** A SAMA-like client: keeps its unacknowledged messages, reconnects when its socket dies, resends. */
class ChaosClient {
  socket: TestSocket | null = null;
  /** The session behind the current socket (its Gateway and tag). */
  session: string | undefined;
  readonly acked = new Map<string, string>(); // client id → server_mid
  /** Client id → when it was last pushed. */
  readonly pending = new Map<string, number>();
  /** Asks that named another server_mid for a client id already acknowledged: a message stored twice. */
  conflicts = 0;
  private stopped = false;

  constructor(
    readonly dev: Device,
    private readonly cid: string,
    private readonly stats: Stats,
  ) {}

  async open(): Promise<void> {
    for (;;) {
      const socket = await TestSocket.open();
      socket.ws.addEventListener("message", (event) => this.onFrame(JSON.parse(String(event.data)) as Frame));
      try {
        const answer = await socket.request("connect", { token: this.dev.login.accessToken, device_id: this.dev.login.deviceId });
        if (answer.success !== true) throw new Error(JSON.stringify(answer));
        this.session = await sessionOf(this.dev);
      } catch {
        socket.close(); // the Gateway or the Inbox died during connect: a new socket
        await sleep(20);
        continue;
      }
      this.socket = socket;
      void socket.closed.then(() => this.reconnect(socket));
      this.resend([...this.pending.keys()]);
      return;
    }
  }

  /** Whether the socket is open and signed in (not between a close and a reconnect). */
  get connected(): boolean {
    return this.socket !== null;
  }

  send(id: string): void {
    this.pending.set(id, Date.now());
    this.push(id);
  }

  /** Resends what has waited too long for its ask. */
  resendSilent(now: number): void {
    this.resend([...this.pending].filter(([, at]) => now - at > RESEND_AFTER_MS).map(([id]) => id));
  }

  stop(): void {
    this.stopped = true;
  }

  private resend(ids: string[]): void {
    for (const id of ids) {
      this.stats.resends++;
      this.pending.set(id, Date.now());
      this.push(id);
    }
  }

  private push(id: string): void {
    try {
      this.socket?.send({ message: { id, cid: this.cid, body: id } });
    } catch {
      // closed: open() resends after the reconnect
    }
  }

  private onFrame(frame: Frame): void {
    const ask = frame.ask;
    if (isRecord(ask) && typeof ask.mid === "string" && typeof ask.server_mid === "string") {
      this.stats.onAsk();
      const known = this.acked.get(ask.mid);
      if (known !== undefined && known !== ask.server_mid) this.conflicts++;
      this.pending.delete(ask.mid);
      this.acked.set(ask.mid, known ?? ask.server_mid);
    } else if (isRecord(frame.message) && isRecord(frame.message.error) && typeof frame.message.id === "string") {
      // An object died mid-send: resent at once, as a client retries a failed send.
      if (this.pending.has(frame.message.id)) this.resend([frame.message.id]);
    }
  }

  private async reconnect(dead: TestSocket): Promise<void> {
    if (dead !== this.socket || this.stopped) return;
    this.socket = null;
    this.stats.reconnects++;
    await this.open();
  }
}

function inboxOf(orgId: string, userId: string) {
  return env.INBOX.get(env.INBOX.idFromName(`${orgId}:${userId}`));
}

/** The session behind the device's current socket (its newest registration with the user's Inbox). */
async function sessionOf(d: Device): Promise<string | undefined> {
  return runInDurableObject(inboxOf(d.user.organizationId, d.user.id), (_instance, state) =>
    state.storage.sql
      .exec<{ session_id: string }>("SELECT session_id FROM sessions WHERE device_id = ? ORDER BY attached_at DESC LIMIT 1", d.login.deviceId)
      .toArray()[0]?.session_id,
  );
}

/** Calls the object's abort hook; anything but the abort's own failure means the object was not aborted. */
async function abort(stub: { testAbort(): Promise<void> }): Promise<void> {
  try {
    await stub.testAbort();
  } catch (err) {
    if (String(err).includes(ABORT_REASON)) return;
    throw new Error(`abort failed: ${String(err)}`);
  }
  throw new Error("abort failed: testAbort returned, the object lives on");
}

/** Each kind once per round, in a random order, so every kind keeps pace with the others. */
function* kinds(): Generator<Kind> {
  for (;;) {
    const round: Kind[] = ["conversation", "inbox", "gateway"];
    for (let i = round.length - 1; i > 0; i--) {
      const j = Math.floor(Math.random() * (i + 1));
      [round[i], round[j]] = [round[j]!, round[i]!];
    }
    yield* round;
  }
}

const pick = <T,>(items: T[]): T | undefined => items[Math.floor(Math.random() * items.length)];

/** What one member sees of the conversation, each list as message ids in the order shown. */
interface MemberView {
  messageList: string[];
  /** Messages stored past the acknowledged ones (the newest seq beyond their count). */
  beyond: number;
  sync: string[];
  opLog: string[];
  unread: unknown;
  lastMessage: unknown;
}

async function viewOf(d: Device, cid: string, acked: string[], since: number): Promise<MemberView> {
  const socket = await tab(d);
  try {
    // message_list by ids, 30 at a time (its page size; paging by time would blur same-millisecond sends).
    const listed: Frame[] = [];
    for (let i = 0; i < acked.length; i += 30) listed.push(...(await listMessages(socket, { cid, ids: acked.slice(i, i + 30) })));
    // Anything stored beyond the acknowledged messages shows as a newest seq past their count.
    const newest = await listMessages(socket, { cid, limit: 1 });
    const messageList = listed.sort((a, b) => Number(a.seq) - Number(b.seq)).map((m) => String(m._id));
    const beyond = Math.max(0, Number(newest[0]?.seq ?? 0) - acked.length);
    const sync = syncedMessages(await syncAll(socket), cid).map((m) => String(m._id));
    const opLog = await opLogMessages(socket, cid, since);
    const listedConversation = ((await socket.request("conversation_list", { ids: [cid] })).conversations as Frame[] | undefined)?.[0];
    return {
      messageList,
      beyond,
      sync,
      opLog,
      unread: listedConversation?.unread_messages_count,
      lastMessage: isRecord(listedConversation?.last_message) ? listedConversation.last_message._id : undefined,
    };
  } finally {
    socket.close();
  }
}

/** How many acknowledged messages are missing from `shown`, and how many extra copies (or strangers) it holds. */
function lostAndDuplicated(acked: Set<string>, shown: string[]): { lost: number; duplicated: number } {
  const counts = new Map<string, number>();
  for (const id of shown) counts.set(id, (counts.get(id) ?? 0) + 1);
  let lost = 0;
  let duplicated = 0;
  for (const id of acked) if (!counts.has(id)) lost++;
  for (const [id, n] of counts) duplicated += acked.has(id) ? n - 1 : n;
  return { lost, duplicated };
}

describe("chaos", () => {
  // Small groups' packets go through each recipient's Inbox; a group of GATEWAY_FANOUT_MIN_RECIPIENTS
  // (4) or more gets them straight from the Gateways, the Inboxes told behind: both paths under chaos.
  for (const { path, sending, readers } of [
    { path: "through the Inboxes (a group of 3)", sending: 2, readers: 0 },
    { path: "through the Gateways (a group of 8)", sending: SENDERS, readers: 3 },
  ]) {
    it(`loses and doubles nothing while objects are aborted at random under steady sends, ${path}`, async () => {
      const started = Date.now(); // op_log_list reads from here
      const members = await users(sending + 1 + readers);
      const devices = await Promise.all(members.map(device));
      const owner = await tab(devices[0]!);
      const created = await owner.request("conversation_create", { type: "g", name: "chaos", participants: members.slice(1).map((u) => u.id) });
      const cid = String((created.conversation as Frame)._id);
      owner.close();

      const stats: Stats = { reconnects: 0, resends: 0, onAsk: () => undefined };
      // Every member holds a socket (the owner's and the readers' only read), so any member's Gateway may die.
      const clients = devices.map((d) => new ChaosClient(d, cid, stats));
      const senders = clients.slice(1, sending + 1);
      await Promise.all(clients.map((c) => c.open()));

      const aborts: Record<Kind, number> = { conversation: 0, inbox: 0, gateway: 0 };
      const failures: string[] = [];
      const socketsClosing: Array<Promise<void>> = [];

      /** Aborts one object of the kind; a Gateway must also close its client's socket (and any other it held). */
      const abortOne = async (kind: Kind, client: ChaosClient): Promise<void> => {
        if (kind === "conversation") {
          await abort(env.CONVERSATION.get(env.CONVERSATION.idFromName(cid)));
        } else if (kind === "inbox") {
          await abort(inboxOf(client.dev.user.organizationId, client.dev.user.id));
        } else {
          const { socket, session } = client;
          if (socket === null || session === undefined) return; // between a close and its reconnect: not counted
          await abort(gatewayOfSession(session));
          socketsClosing.push(
            Promise.race([socket.closed.then(() => true), sleep(5000).then(() => false)]).then((closed) => {
              if (!closed) failures.push(`the Gateway of session ${session} was aborted and its socket stayed open`);
            }),
          );
        }
        aborts[kind]++;
      };

      // Steady load, LOAD_MS and until each kind of object was aborted often enough (however slow the
      // machine): every SEND_EVERY_MS each sender sends a burst, and one object is aborted when a random
      // number of that burst's asks has come back, so it dies with sends, deliveries and pushes on
      // their way to it or through it.
      const loadStarted = Date.now();
      const nextKind = kinds();
      let round = 0;
      let lastRounds = LAST_INBOX_ROUNDS;
      while (lastRounds > 0) {
        if (Date.now() - loadStarted >= LOAD_MS && Object.values(aborts).every((n) => n >= ABORTS_PER_KIND)) lastRounds--;
        const kind = lastRounds < LAST_INBOX_ROUNDS ? "inbox" : (nextKind.next().value as Kind);
        let asks = Math.floor(Math.random() * sending * BURST);
        const due = new Promise<void>((resolve) => {
          stats.onAsk = () => {
            if (--asks <= 0) resolve();
          };
          if (asks === 0) resolve();
        });
        for (const [k, sender] of senders.entries()) for (let b = 0; b < BURST; b++) sender.send(`c${k}-${round}-${b}`);
        await Promise.race([due, sleep(SEND_EVERY_MS)]);
        stats.onAsk = () => undefined;
        await abortOne(kind, pick(clients)!).catch((err: unknown) => void failures.push(`${kind}: ${String(err)}`));
        round++;
        await sleep(SEND_EVERY_MS);
        for (const client of senders) client.resendSilent(Date.now());
      }

      // Every message ends up acknowledged: clients resend what died unanswered.
      const ackDeadline = Date.now() + 30_000;
      while (senders.some((c) => c.pending.size > 0) && Date.now() < ackDeadline) {
        await sleep(100);
        for (const client of senders) client.resendSilent(Date.now());
      }
      await Promise.all(socketsClosing);
      for (const client of clients) client.stop();
      expect(senders.map((c) => c.pending.size)).toEqual(senders.map(() => 0));

      const ackedByClient = senders.map((c) => [...c.acked.values()]);
      const acked = ackedByClient.flat();
      expect(acked).toHaveLength(sending * BURST * round);

      // The conversation's order (seq, from the owner's message_list), then every member's views, until
      // retries have delivered everything or the time is up.
      const ackedSet = new Set(acked);
      let lost = 0;
      let duplicated = 0;
      let mismatches: string[] = [];
      const viewDeadline = Date.now() + 30_000;
      for (;;) {
        const reference = await viewOf(devices[0]!, cid, acked, started);
        const order = reference.messageList;
        lost = 0;
        // A message stored twice shows as an ask naming another server_mid, or as a seq past the acknowledged count.
        duplicated = senders.reduce((n, c) => n + c.conflicts, 0) + reference.beyond;
        mismatches = [];
        const views = await Promise.all(devices.map((d) => viewOf(d, cid, acked, started)));
        for (const [m, view] of views.entries()) {
          const own = new Set(ackedByClient[m - 1] ?? []);
          const expected = { unread: acked.filter((id) => !own.has(id)).length, lastMessage: order[order.length - 1] };
          for (const name of ["messageList", "sync", "opLog"] as const) {
            const counted = lostAndDuplicated(ackedSet, view[name]);
            lost += counted.lost;
            duplicated += counted.duplicated;
            if (JSON.stringify(view[name]) !== JSON.stringify(order)) mismatches.push(`member ${m} ${name}`);
          }
          for (const name of ["unread", "lastMessage"] as const) {
            if (view[name] !== expected[name]) mismatches.push(`member ${m} ${name}: ${String(view[name])}, expected ${String(expected[name])}`);
          }
        }
        if ((mismatches.length === 0 && lost === 0 && duplicated === 0) || Date.now() > viewDeadline) break;
        await sleep(500);
      }

      const total = aborts.conversation + aborts.inbox + aborts.gateway;
      console.log(
        `chaos: ${total} aborts (conversation ${aborts.conversation}, inbox ${aborts.inbox}, gateway ${aborts.gateway}), ${stats.reconnects} reconnects, ${stats.resends} resends, ${lost} lost, ${duplicated} duplicated`,
      );
      expect(failures).toEqual([]);
      expect({ lost, duplicated, mismatches }).toEqual({ lost: 0, duplicated: 0, mismatches: [] });
      for (const kind of ["conversation", "inbox", "gateway"] as const) expect(aborts[kind]).toBeGreaterThanOrEqual(ABORTS_PER_KIND);
      // Every aborted Gateway closed its client's socket, and that client came back.
      expect(stats.reconnects).toBeGreaterThanOrEqual(aborts.gateway);
      expect(stats.resends).toBeGreaterThanOrEqual(10);
    }, 120_000);
  }
});
