// What an operator reads when something fails: one JSON line per error (src/log.ts), with where it
// happened, and never the message body, token, password or key of the request that failed.
// Failures are made in D1 itself (a trigger that aborts an insert), as a full disk or an outage would.
import { env } from "cloudflare:workers";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { createConversation, device, send, sleep, tab, users } from "../chat/messages-fixtures";
import { connectedSocket, signUp } from "../helpers/users";

let lines: string[] = [];

beforeEach(() => {
  lines = [];
  const keep = (...args: unknown[]) => {
    lines.push(args.map((a) => (a instanceof Error ? `${a.message}\n${a.stack ?? ""}` : typeof a === "string" ? a : JSON.stringify(a))).join(" "));
  };
  vi.spyOn(console, "error").mockImplementation(keep);
  vi.spyOn(console, "warn").mockImplementation(keep);
});

afterEach(() => vi.restoreAllMocks());

async function failInserts(table: string): Promise<() => Promise<void>> {
  await env.DB.exec(`CREATE TRIGGER fail_${table} BEFORE INSERT ON ${table} BEGIN SELECT RAISE(ABORT, 'storage unavailable'); END;`);
  return async () => {
    await env.DB.exec(`DROP TRIGGER fail_${table};`);
  };
}

function logged(what: string): Array<Record<string, unknown>> {
  return lines.flatMap((line) => {
    try {
      const entry = JSON.parse(line) as Record<string, unknown>;
      return entry.what === what ? [entry] : [];
    } catch {
      return [];
    }
  });
}

function expectNoneOf(secrets: Record<string, string>): void {
  for (const [name, secret] of Object.entries(secrets)) {
    expect({ name, found: lines.filter((line) => line.includes(secret)) }).toEqual({ name, found: [] });
  }
}

describe("error logs", () => {
  it("a failed request is one JSON line with its socket, request and error, without its token or keys", async () => {
    const user = await signUp();
    const { socket, login } = await connectedSocket(user);
    const deviceToken = "fcm-device-token-" + crypto.randomUUID();
    const webKey = "p256dh-key-" + crypto.randomUUID();
    const restore = await failInserts("push_subscriptions");
    try {
      const answer = await socket.request(
        "push_subscription_create",
        { platform: "android", device_token: deviceToken, device_udid: "udid-1", web_key_p256dh: webKey },
        "req-42",
      );
      expect(answer.error).toEqual({ status: 500, message: "Internal server error." });
    } finally {
      await restore();
    }
    expectNoneOf({ deviceToken, webKey, accessToken: login.accessToken, password: user.password });
    const [entry, ...others] = logged("request failed");
    expect(others).toEqual([]);
    expect(entry).toMatchObject({ level: "error", kind: "Session", request: "push_subscription_create", request_id: "req-42" });
    // The session: its Gateway object and its socket there.
    expect(entry?.id).toMatch(/^[0-9a-f]{64}\.[0-9a-f-]{36}$/);
    expect(JSON.stringify(entry?.error)).toContain("storage unavailable");
  });

  it("a message whose copy to D1 fails is logged without its body or its author's token", async () => {
    const [a, b] = await users(2);
    const da = await device(a!);
    const sa = await tab(da);
    await tab(await device(b!));
    const cid = await createConversation(sa, "u", [b!.id]);
    const body = "the body nobody may read " + crypto.randomUUID();
    const restore = await failInserts("messages");
    try {
      await send(sa, cid, { body });
      for (let i = 0; i < 50 && logged("outbox flush to D1 failed; the alarm retries").length === 0; i++) await sleep(100);
    } finally {
      await restore();
    }
    const entries = logged("outbox flush to D1 failed; the alarm retries");
    expect(entries.length).toBeGreaterThan(0);
    expect(entries[0]).toMatchObject({ level: "error", kind: "Conversation" });
    expectNoneOf({ body, accessToken: da.login.accessToken, password: a!.password });
  });
});
