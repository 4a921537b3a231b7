// An Inbox's push to a Gateway that outlives its deadline (2.5-5 s) lags: the Inbox's later pushes
// to that Gateway wait for it, so a conversation's packets reach a socket in order. These tests hold
// such a push (testHold("push")) in a private chat, whose packets go through the Inboxes, and check what
// happens when it fails late, and when it never settles.
import { describe, expect, it } from "vitest";
import { namedGateway, type TestSocket } from "../helpers/socket";
import { unique, type TestUser } from "../helpers/users";
import { createConversation, device, listMessages, nextPacket, received, send, sleep, tab, users, type Device } from "./messages-fixtures";

/** The Inbox's deadline for a Gateway (2.5-5 s) and a margin: a push held this long is lagging. */
const LAGGING_AFTER_MS = 5500;

/** Alice and Bob in a private chat, Bob's tab alone on a Gateway whose next push is held. */
async function heldChat() {
  const [alice, bob] = (await users(2)) as [TestUser, TestUser];
  const bobDevice: Device = await device(bob);
  const own = unique("lag");
  const [as, bs] = await Promise.all([tab(await device(alice)), tab(bobDevice, own)]);
  const cid = await createConversation(as, "u", [bob.id]);
  // The Inbox reached the Gateway once before the hold: it keeps a stub for it.
  await Promise.all([send(as, cid, { body: "warm-up" }), nextPacket(bs, "message", (m) => m.body === "warm-up")]);
  const held = namedGateway(own);
  await held.testHold("push");
  return { as, bs, cid, held, bobDevice, own };
}

const bodies = (socket: TestSocket) => received(socket, "message", (m) => m.body !== "warm-up").map((m) => m.body);

describe("an Inbox's push to a Gateway that outlives its deadline", () => {
  it("forgets the Gateway's stub when the push fails late: a reset Gateway's new sockets get the next packet", { timeout: 30_000 }, async () => {
    const { as, cid, held, bobDevice, own } = await heldChat();
    await send(as, cid, { body: "held" });
    await sleep(LAGGING_AFTER_MS);
    // The Gateway resets: the held push fails, late, and its sockets are gone.
    await held.testAbort().catch(() => undefined);
    const again = await tab(bobDevice, own);
    await send(as, cid, { body: "after the reset" });
    // A stub kept from before the reset fails every call: the packet would reach no socket live.
    await nextPacket(again, "message", (m) => m.body === "after the reset");
    expect(bodies(again)).toEqual(["after the reset"]);
  });

  it("holds later pushes back for a bounded time only, when it never settles", { timeout: 45_000 }, async () => {
    const { as, bs, cid, held } = await heldChat();
    await send(as, cid, { body: "stuck" });
    await sleep(LAGGING_AFTER_MS);
    await send(as, cid, { body: "waits" });
    await sleep(1000);
    expect(bodies(bs)).toEqual([]); // it waits for the stuck push, so the two cannot swap
    // The Inbox gives the stuck push up (3 × the deadline after it lagged, at most) and sends on.
    await nextPacket(bs, "message", (m) => m.body === "waits", 25_000);
    await send(as, cid, { body: "next" });
    await nextPacket(bs, "message", (m) => m.body === "next"); // nothing lags any more
    await held.testRelease("push", true);
    await sleep(200);
    expect(bodies(bs)).toEqual(["waits", "next"]);
    // What no socket got live is in the record.
    expect((await listMessages(bs, { cid })).map((m) => m.body).sort()).toEqual(["next", "stuck", "waits", "warm-up"]);
  });
});
