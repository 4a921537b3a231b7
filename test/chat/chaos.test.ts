// The chaos run: four members send at a steady rate into one group while Conversation, Inbox and
// Session objects are evicted at random (evictDurableObject, inside the vitest pool). Clients do what
// a SAMA client does: when a socket dies they reconnect and resend every unacknowledged message with
// its client id. Afterwards every acknowledged message is in every member's log and in
// message_list exactly once, and every log has them in the one order of the conversation (seq).
//
// What this proves: the fan-out row outlives an evicted writer and is retried by the alarm; an Inbox
// applies each delivery once even when it is retried; a Session lost mid-request costs the client a
// reconnect, never a message; idempotent sends (client id) absorb the client's resends.
// What it does not: machine or network failures (one workerd process), nor storage loss.
import { evictDurableObject, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { TestSocket, isRecord, type Frame } from "../helpers/socket";
import { device, eventually, listMessages, sleep, syncAll, syncedMessages, tab, users, type Device } from "./messages-fixtures";

const SENDERS = 4;
const PER_SENDER = 40;
const SEND_EVERY_MS = 15;
const EVICT_EVERY_MS = 35;
const EVICTIONS_EVERY = 3;

/** A client that keeps its unacknowledged messages and resends them after a reconnect. */
class ChaosClient {
  socket!: TestSocket;
  readonly acked = new Map<string, string>(); // client id → server_mid
  private readonly pending = new Map<string, string>(); // client id → body
  reconnects = 0;
  refused = 0;

  constructor(
    private readonly dev: Device,
    private readonly cid: string,
  ) {}

  async open(): Promise<void> {
    for (;;) {
      try {
        this.socket = await tab(this.dev);
        break;
      } catch {
        await sleep(20); // the Session (or its Inbox) was evicted during connect: try again
      }
    }
    const socket = this.socket;
    socket.ws.addEventListener("message", (event) => {
      const frame = JSON.parse(String(event.data)) as Frame;
      if (isRecord(frame.ask) && typeof frame.ask.mid === "string" && typeof frame.ask.server_mid === "string") {
        this.pending.delete(frame.ask.mid);
        this.acked.set(frame.ask.mid, frame.ask.server_mid);
      } else if (isRecord(frame.message) && isRecord(frame.message.error)) {
        this.refused++; // an object evicted mid-send: resent below, as a client would
      }
    });
    void socket.closed.then(() => this.reopen(socket));
    for (const [id, body] of this.pending) this.push(id, body);
  }

  send(id: string): void {
    this.pending.set(id, id);
    this.push(id, id);
  }

  get unacked(): number {
    return this.pending.size;
  }

  /** Resends whatever is still pending (a send refused by an object that was being evicted). */
  resendPending(): void {
    for (const [id, body] of this.pending) this.push(id, body);
  }

  private push(id: string, body: string): void {
    try {
      this.socket.send({ message: { id, cid: this.cid, body } });
    } catch {
      // closed: open() resends after the reconnect
    }
  }

  private async reopen(dead: TestSocket): Promise<void> {
    if (dead !== this.socket) return;
    this.reconnects++;
    await this.open();
  }
}

function inboxOf(orgId: string, userId: string) {
  return env.INBOX.get(env.INBOX.idFromName(`${orgId}:${userId}`));
}

async function sessionsOf(orgId: string, userId: string): Promise<string[]> {
  return runInDurableObject(inboxOf(orgId, userId), (_instance, state) =>
    state.storage.sql.exec<{ session_id: string }>("SELECT session_id FROM sessions").toArray().map((r) => r.session_id),
  );
}

describe("chaos", () => {
  it("loses and doubles nothing while objects are evicted at random under steady sends", async () => {
    const members = await users(SENDERS + 1);
    const devices = await Promise.all(members.map(device));
    const owner = await tab(devices[0]!);
    const created = await owner.request("conversation_create", { type: "g", name: "chaos", participants: members.slice(1).map((u) => u.id) });
    const cid = String((created.conversation as Frame)._id);
    const org = members[0]!.organizationId;
    const conversation = env.CONVERSATION.get(env.CONVERSATION.idFromName(cid));

    const clients = devices.slice(1).map((d) => new ChaosClient(d, cid));
    await Promise.all(clients.map((c) => c.open()));

    let stop = false;
    const evictions = { conversation: 0, inbox: 0, session: 0 };
    const chaos = (async () => {
      while (!stop) {
        await sleep(EVICT_EVERY_MS);
        const roll = Math.random();
        const victim = members[Math.floor(Math.random() * members.length)]!;
        try {
          if (roll < 0.3) {
            await evictDurableObject(conversation);
            evictions.conversation++;
          } else if (roll < 0.7) {
            await evictDurableObject(inboxOf(org, victim.id));
            evictions.inbox++;
          } else {
            const sessions = await sessionsOf(org, victim.id);
            const pick = sessions[Math.floor(Math.random() * sessions.length)];
            if (pick !== undefined) {
              await evictDurableObject(env.SESSION.get(env.SESSION.idFromString(pick)));
              evictions.session++;
            }
          }
        } catch {
          // an object that is mid-eviction already
        }
      }
    })();

    const evicted = () => evictions.conversation + evictions.inbox + evictions.session;
    for (let i = 0; i < PER_SENDER; i++) {
      for (const [k, client] of clients.entries()) client.send(`c${k}-${i}`);
      await sleep(SEND_EVERY_MS);
      // Sends wait for the evictions to keep pace (one per EVICTIONS_EVERY rounds), however slow the machine.
      while (evicted() < Math.floor(i / EVICTIONS_EVERY)) await sleep(5);
    }
    // Every message ends up acknowledged: clients resend what a dying object refused.
    await eventually(
      async () => {
        for (const client of clients) client.resendPending();
        await sleep(100);
        expect(clients.map((c) => c.unacked)).toEqual(clients.map(() => 0));
      },
      30_000,
      200,
    );
    stop = true;
    await chaos;
    expect(evicted()).toBeGreaterThanOrEqual(Math.floor((PER_SENDER - 1) / EVICTIONS_EVERY));

    // Let the alarm finish whatever fan-out an eviction interrupted.
    await runDurableObjectAlarm(conversation);

    const acked = clients.flatMap((c) => [...c.acked.values()]);
    expect(acked).toHaveLength(SENDERS * PER_SENDER);
    expect(new Set(acked).size).toBe(acked.length);

    // message_list by ids, 30 at a time (its page size; paging by time would blur same-millisecond sends).
    const reader = await tab(devices[0]!);
    const listed: Frame[] = [];
    for (let i = 0; i < acked.length; i += 30) listed.push(...(await listMessages(reader, { cid, ids: acked.slice(i, i + 30) })));
    const bySeq = [...listed].sort((a, b) => Number(a.seq) - Number(b.seq));
    expect(bySeq.map((m) => m.seq)).toEqual(Array.from({ length: acked.length }, (_, i) => i + 1));
    expect(new Set(bySeq.map((m) => String(m._id)))).toEqual(new Set(acked));
    const order = bySeq.map((m) => String(m._id));

    // Every member's log (the owner's and each sender's own, for their other devices) has each
    // acknowledged message exactly once, in the conversation's order.
    for (const d of devices) {
      await eventually(
        async () => {
          await runDurableObjectAlarm(conversation);
          const socket = await tab(d);
          const logged = syncedMessages(await syncAll(socket), cid).map((m) => String(m._id));
          socket.close();
          expect(logged).toEqual(order);
        },
        15_000,
        200,
      );
    }
    console.log(`chaos: ${acked.length} messages, evictions ${JSON.stringify(evictions)}, reconnects ${clients.map((c) => c.reconnects).join("/")}, refused sends (resent) ${clients.map((c) => c.refused).join("/")}`);
  }, 120_000);
});
