// /api/conversations/:cid/live: receive-only channel sockets attached to the Conversation object,
// sharded past LIVE_SOCKETS_PER_OBJECT (3 in the tests, so five sockets span two objects).
import { beforeAll, beforeEach, describe, expect, it } from "vitest";
import { TestSocket, isRecord, type Frame } from "../helpers/socket";
import { http, loginHttp } from "../helpers/users";
import { accounts, channel, foreignMember, group, member, online, rec, str, type Account, type Member } from "./conversation-fixtures";

const livePath = (cid: string, token: string) => `/api/conversations/${cid}/live?token=${encodeURIComponent(token)}`;
const isMessage = (body: string) => (f: Frame) => isRecord(f.message) && f.message.body === body;

async function refusal(path: string): Promise<{ status: number; body: unknown }> {
  const res = await http("GET", path, { headers: { Upgrade: "websocket" } });
  return { status: res.status, body: res.json };
}

describe("live channel sockets", () => {
  // Accounts live for the file; sockets are closed after each test, so each test goes online anew.
  let ownerAccount: Account;
  let owner: Member;
  let subscribers: Account[];
  let cid: string;

  beforeAll(async () => {
    ownerAccount = (await accounts(1))[0]!;
    cid = str((await channel(await online(ownerAccount)))._id);
    subscribers = await accounts(3);
    for (const account of subscribers) {
      const m = await online(account);
      expect((await m.socket.request("conversation_subscribe", { cid })).success).toBe(true);
      m.socket.close();
    }
  });

  beforeEach(async () => {
    owner = await online(ownerAccount);
  });

  it("delivers posts, edits and reactions to every live socket, across shards, in order", async () => {
    const sockets = await Promise.all([0, 1, 2, 0, 1].map((i) => TestSocket.open(livePath(cid, subscribers[i]!.token))));
    owner.socket.send({ message: { id: "live-1", cid, body: "one" } });
    owner.socket.send({ message: { id: "live-2", cid, body: "two" } });
    const asked = await owner.socket.next((f) => isRecord(f.ask) && f.ask.mid === "live-2");
    const mid = str(rec(asked.ask).server_mid);
    for (const socket of sockets) {
      await socket.next(isMessage("two"));
      const bodies = socket.frames.filter((f) => isRecord(f.message)).map((f) => rec(f.message).body);
      expect(bodies.indexOf("one")).toBeLessThan(bodies.indexOf("two"));
      // Live frames are the channel's packets, with no per-user event_seq.
      expect(rec(socket.frames.find(isMessage("two"))!.message).event_seq).toBeUndefined();
    }
    expect((await owner.socket.request("message_edit", { id: mid, body: "two, edited" })).success).toBe(true);
    expect((await owner.socket.request("message_reactions_update", { mid, add: "👍" })).success).toBe(true);
    for (const socket of sockets) {
      expect(rec((await socket.next((f) => isRecord(f.message_edit))).message_edit)).toMatchObject({ id: mid, body: "two, edited", cid });
      expect(rec((await socket.next((f) => isRecord(f.message_reactions_update))).message_reactions_update)).toMatchObject({ mid, add: "👍" });
    }
  }, 20_000);

  it("is receive-only: a frame from the client is refused and the socket stays open", async () => {
    const socket = await TestSocket.open(livePath(cid, subscribers[0]!.token));
    socket.send({ request: { ping: {}, id: "p" } });
    expect(await socket.next((f) => isRecord(f.error))).toEqual({ error: { status: 405, message: "Live sockets are receive-only." } });
    owner.socket.send({ message: { id: "live-after-refusal", cid, body: "still here" } });
    await socket.next(isMessage("still here"));
  });

  it("closes a subscriber's live sockets on every shard when they unsubscribe", async () => {
    const [account] = await accounts(1);
    const m = await online(account!);
    await m.socket.request("conversation_subscribe", { cid });
    // Fill the primary so this user's sockets land on a shard as well.
    const others = await Promise.all([0, 1, 2].map((i) => TestSocket.open(livePath(cid, subscribers[i]!.token))));
    const mine = await Promise.all([0, 1].map(() => TestSocket.open(livePath(cid, account!.token))));
    expect((await m.socket.request("conversation_unsubscribe", { cid })).success).toBe(true);
    for (const socket of mine) expect(await socket.closed).toEqual({ code: 4403, reason: "no longer a subscriber" });
    owner.socket.send({ message: { id: "after-unsubscribe", cid, body: "after unsubscribe" } });
    for (const socket of others) await socket.next(isMessage("after unsubscribe"));
    for (const socket of mine) expect(socket.frames.some(isMessage("after unsubscribe"))).toBe(false);
  });

  it("refuses outsiders, other organizations, groups, bad tokens and plain GETs", async () => {
    const outsider = (await accounts(1))[0]!;
    expect(await refusal(livePath(cid, outsider.token))).toEqual({ status: 403, body: { status: 403, message: "Forbidden." } });
    const foreign = await foreignMember();
    const foreignToken = (await loginHttp(foreign.user)).accessToken;
    expect(await refusal(livePath(cid, foreignToken))).toEqual({ status: 404, body: { status: 404, message: "Conversation not found." } });
    const friend = await member();
    const groupCid = str((await group(owner, [friend]))._id);
    expect((await refusal(livePath(groupCid, subscribers[0]!.token))).status).toBe(404);
    expect(await refusal(livePath(cid, "not-a-token"))).toEqual({ status: 401, body: { status: 401, message: "Unauthorized." } });
    expect(await refusal(`/api/conversations/${cid}/live`)).toEqual({ status: 401, body: { status: 401, message: "Unauthorized." } });
    expect((await refusal(livePath("nope", subscribers[0]!.token))).status).toBe(404);
    const plain = await http("GET", livePath(cid, subscribers[0]!.token));
    expect(plain.status).toBe(426);
  });
});
