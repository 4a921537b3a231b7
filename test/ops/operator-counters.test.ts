// The operator's counters in GET /admin/server-stats (src/operator-counters.ts), each moved by
// the real path: messages sent over sockets, a request that fails in D1, a handler that throws, pushes
// answered by a fake push service. The counters belong to this isolate, which runs the Worker, every
// object and this test file, and tests of a file run one after another.
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import { parsePushConfig, pushVarsOf } from "../../src/push/config";
import { sendPush } from "../../src/push/sender";
import type { PushTarget } from "../../src/push/types";
import { createConversation, device, nextPacket, send, sleep, tab, users } from "../chat/messages-fixtures";
import { chatWithHandler, samaHandler, sendMessage } from "../handlers/fixtures";
import { admin, okJson } from "../http/admin-fixtures";
import { connectedSocket, signUp } from "../helpers/users";
import { browserSubscription, fakeFetch } from "../push/fakes";

type Counters = Record<"messages_stored" | "deliveries" | "push_sent" | "push_failed" | "handler_failures" | "request_failures" | "fanout_retries_pending", number>;

async function counters(): Promise<Counters> {
  return okJson(await admin("GET", "/admin/server-stats")).counters as Counters;
}

function added(before: Counters, after: Counters): Partial<Counters> {
  return Object.fromEntries(Object.entries(after).map(([k, v]) => [k, v - before[k as keyof Counters]]).filter(([, d]) => d !== 0));
}

afterEach(() => vi.restoreAllMocks());

describe("GET /admin/server-stats counters", () => {
  it("has every operator counter next to SAMA's fields", async () => {
    const body = okJson(await admin("GET", "/admin/server-stats"));
    expect(Object.keys(body.counters as object).sort()).toEqual(
      ["deliveries", "fanout_retries_pending", "handler_failures", "messages_stored", "push_failed", "push_sent", "request_failures"],
    );
  });

  it("counts messages stored and delivered: two messages in a private chat, both members online", async () => {
    const [a, b] = await users(2);
    const sa = await tab(await device(a!));
    const sb = await tab(await device(b!));
    const cid = await createConversation(sa, "u", [b!.id]);
    await sleep(200);
    const before = await counters();
    for (const body of ["one", "two"]) {
      const arrived = nextPacket(sb, "message", (m) => m.body === body);
      await send(sa, cid, { body });
      await arrived;
    }
    await sleep(300);
    const delta = added(before, await counters());
    expect(delta.messages_stored).toBe(2);
    // Each message reaches the recipient's Inbox and the author's (their other devices' copy).
    expect(delta.deliveries).toBeGreaterThanOrEqual(2);
  });

  it("counts a request answered with 500", async () => {
    const { socket } = await connectedSocket(await signUp());
    await env.DB.exec("CREATE TRIGGER fail_subs BEFORE INSERT ON push_subscriptions BEGIN SELECT RAISE(ABORT, 'storage unavailable'); END;");
    vi.spyOn(console, "error").mockImplementation(() => undefined);
    const before = await counters();
    try {
      expect((await socket.request("push_subscription_create", { platform: "android", device_token: "t", device_udid: "u" })).error).toMatchObject({ status: 500 });
    } finally {
      await env.DB.exec("DROP TRIGGER fail_subs;");
    }
    expect(added(before, await counters())).toEqual({ request_failures: 1 });
  });

  it("counts a conversation handler that fails", async () => {
    const chat = await chatWithHandler(samaHandler(`throw new Error("broken handler");`));
    vi.spyOn(console, "warn").mockImplementation(() => undefined);
    const before = await counters();
    await sendMessage(chat.ownerSocket, chat.cid, { body: "to a broken handler" });
    expect(added(before, await counters()).handler_failures).toBe(1);
  });

  it("counts pushes a push service accepted and pushes that failed", async () => {
    const config = parsePushConfig(pushVarsOf(env));
    const sub = await browserSubscription("http://127.0.0.1:8790/push/counted");
    const target: PushTarget = { id: "sub-1", platform: "web", webEndpoint: sub.endpoint, webKeyAuth: sub.auth, webKeyP256dh: sub.p256dh, deviceToken: null };
    const payload = { title: "t", body: "b", cid: "6650aaaaaaaaaaaaaaaaaac3", firstAttachmentUrl: null, is_encrypted: false };
    const deps = (status: number) => ({ fetch: fakeFetch(() => new Response(null, { status })).fetch, config, sleep: async () => undefined });
    vi.spyOn(console, "warn").mockImplementation(() => undefined);
    const before = await counters();
    await sendPush(deps(201), [target], payload);
    await sendPush(deps(201), [target], payload);
    await sendPush(deps(400), [target], payload);
    expect(added(before, await counters())).toEqual({ push_sent: 2, push_failed: 1 });
  });
});
