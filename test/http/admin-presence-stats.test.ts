// POST /admin/activity/online (online_list for an organization, or one user) and
// GET /admin/server-stats (uptime, online users, messages per minute/hour/day). This file sends no
// messages, so the message counts move only by the rows a test puts in D1's copy.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { previousWindow } from "../../src/domain/server-stats";
import { eventually } from "../chat/messages-fixtures";
import { connectedSocket, createOrganization, expectTextError, signUp } from "../helpers/users";
import { admin, okJson } from "./admin-fixtures";

const online = (body: unknown) => admin("POST", "/admin/activity/online", body);

describe("POST /admin/activity/online", () => {
  it("answers the organization's online users as online_list does: count, ids or public fields", async () => {
    const org = await createOrganization();
    const [a, b, offline] = await Promise.all([signUp({ organizationId: org }), signUp({ organizationId: org }), signUp({ organizationId: org })]);
    expect(okJson(await online({ organizationId: org, count: true }))).toEqual({ count: 0 });
    await connectedSocket(a);
    await connectedSocket(b);
    expect(okJson(await online({ organizationId: org, count: true }))).toEqual({ count: 2 });
    const ids = okJson(await online({ organizationId: org, idsOnly: true })).users as string[];
    expect([...ids].sort()).toEqual([a.id, b.id].sort());
    const full = okJson(await online({ organizationId: org, limit: 1, offset: 1 }));
    expect(full.users).toHaveLength(1);
    expect(JSON.stringify(full)).not.toMatch(/password|salt|organization/i);
    expect(JSON.stringify(full)).not.toContain(offline.id);
    // The default organization's users are not this organization's.
    expect(okJson(await online({ organizationId: "default", idsOnly: true, limit: 100 })).users).not.toContain(a.id);
  });

  it("with userId answers only that user: listed while online, empty once offline", async () => {
    const org = await createOrganization();
    const [a, b] = await Promise.all([signUp({ organizationId: org }), signUp({ organizationId: org })]);
    const { socket } = await connectedSocket(a);
    await connectedSocket(b);
    expect(okJson(await online({ organizationId: org, userId: a.id, idsOnly: true }))).toEqual({ users: [a.id] });
    expect(okJson(await online({ organizationId: org, userId: a.id, count: true }))).toEqual({ count: 1 });
    const full = okJson(await online({ organizationId: org, userId: a.id }));
    expect(full.users).toEqual([expect.objectContaining({ _id: a.id, login: a.login })]);

    socket.close();
    await eventually(async () => {
      expect(okJson(await online({ organizationId: org, userId: a.id, idsOnly: true }))).toEqual({ users: [] });
    });
    expect(okJson(await online({ organizationId: org, userId: a.id, count: true }))).toEqual({ count: 0 });
    expect(okJson(await online({ organizationId: org, idsOnly: true }))).toEqual({ users: [b.id] });
  });

  it("refuses unknown organizations and users, and validates like online_list", async () => {
    const org = await createOrganization();
    const outsider = await signUp();
    expectTextError(await online({ organizationId: "no-such-org" }), 404, "Organization not found");
    expectTextError(await online({ organizationId: org, userId: outsider.id }), 422, "The specified user is incorrect.");
    expectTextError(await online({}), 422, '"organizationId" is required');
    expectTextError(await online({ organizationId: org, limit: 101 }), 422, '"limit" must be less than or equal to 100');
    expectTextError(await online({ organizationId: org, offset: -1 }), 422, '"offset" must be greater than or equal to 0');
    expectTextError(await online({ organizationId: org, count: "yes" }), 422, '"count" must be a boolean');
    expectTextError(await online({ organizationId: org, senderId: outsider.id }), 422, '"senderId" is not allowed');
  });
});

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

async function stats(query = ""): Promise<Record<string, unknown>> {
  return okJson(await admin("GET", `/admin/server-stats${query}`));
}

async function presenceRows(): Promise<number> {
  return (await env.DB.prepare("SELECT count(*) AS n FROM presence").first<{ n: number }>())?.n ?? 0;
}

/** A row in D1's copy of messages, as the outbox writes it, created at `seconds`. */
function messageRow(seconds: number, cid: string, seq: number): D1PreparedStatement {
  const id = seconds.toString(16).padStart(8, "0") + cid.slice(8, 18) + seq.toString(16).padStart(6, "0");
  const ms = seconds * 1000;
  return env.DB.prepare(
    `INSERT INTO messages (id, organization_id, cid, seq, from_id, body, x, t, deleted_for, created_at, updated_at)
     VALUES (?, 'default', ?, ?, '0123456789abcdef01234567', 'counted', '{}', ?, '[]', ?, ?)`,
  ).bind(id, cid, seq, seconds, ms, ms);
}

describe("GET /admin/server-stats", () => {
  it("answers SAMA's fields (uptime since this version started, online users, message counts) and Parley's counters", async () => {
    const user = await signUp();
    await connectedSocket(user);
    const body = await stats();
    expect(Object.keys(body).sort()).toEqual(["counters", "messages_per_day", "messages_per_hour", "messages_per_minute", "online_users", "uptime"]);
    const expected = Math.floor((Date.now() - Date.parse(env.CF_VERSION_METADATA.timestamp)) / 1000);
    expect(body.uptime).toBeGreaterThanOrEqual(expected - 2);
    expect(body.uptime).toBeLessThanOrEqual(expected);
    expect(body.online_users).toBe(await presenceRows());
    expect(body.online_users).toBeGreaterThanOrEqual(1);
    for (const key of ["messages_per_minute", "messages_per_hour", "messages_per_day"]) expect(Number.isInteger(body[key])).toBe(true);
  });

  it("with ?format=1 gives uptime as SAMA's text", async () => {
    const [numeric, text] = [await stats(), await stats("?format=1")];
    expect(text.uptime).toMatch(/^(\d+d )?(\d+h )?(\d+m )?\d+s$/);
    const [d, h, m, s] = ["d", "h", "m", "s"].map((unit) => Number(new RegExp(`(\\d+)${unit}`).exec(String(text.uptime))?.[1] ?? 0));
    const seconds = (d ?? 0) * 86400 + (h ?? 0) * 3600 + (m ?? 0) * 60 + (s ?? 0);
    expect(seconds - Number(numeric.uptime)).toBeGreaterThanOrEqual(0);
    expect(seconds - Number(numeric.uptime)).toBeLessThanOrEqual(2);
    expect(text.online_users).toEqual(expect.any(Number));
  });

  it("counts messages created in the previous completed minute, hour and UTC day", async () => {
    // Stay clear of a minute boundary, so both reads see the same windows.
    if (Date.now() % 60_000 > 50_000) await sleep(60_000 - (Date.now() % 60_000) + 500);
    const now = Date.now();
    const nowSeconds = Math.floor(now / 1000);
    const windows = { messages_per_minute: previousWindow(now, 60), messages_per_hour: previousWindow(now, 3600), messages_per_day: previousWindow(now, 86400) };
    const created = [
      windows.messages_per_minute.from, // first second of the previous minute
      windows.messages_per_minute.to - 1, // its last second
      windows.messages_per_hour.from + 7,
      windows.messages_per_day.from + 100,
      windows.messages_per_day.to - 1,
      nowSeconds, // this minute: not counted yet
      windows.messages_per_day.from - 1, // the day before
    ];
    const before = await stats();
    const cid = "0123456789" + Math.random().toString(16).slice(2, 16).padEnd(14, "0");
    await env.DB.batch(created.map((seconds, i) => messageRow(seconds, cid, i + 1)));
    const after = await stats();
    for (const [key, window] of Object.entries(windows)) {
      const inWindow = created.filter((t) => t >= window.from && t < window.to).length;
      expect({ key, added: Number(after[key]) - Number(before[key]) }).toEqual({ key, added: inWindow });
    }
    // The previous minute always holds its two rows.
    expect(Number(after.messages_per_minute) - Number(before.messages_per_minute)).toBeGreaterThanOrEqual(2);
  }, 30_000); // it may wait up to ~10 s to stay clear of a minute boundary
});
