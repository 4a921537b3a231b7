// The admin API (SAMA-PROTOCOL.md §1.6, §2.4, §2.5): the admin-api-key guard, POST /admin/organization
// with its bot user, and isolation between organizations.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { TestSocket, type Frame } from "../helpers/socket";
import {
  ADMIN_KEY,
  connectedSocket,
  createOrganization,
  expectTextError,
  http,
  loginHttp,
  signUp,
  unique,
  type HttpResult,
} from "../helpers/users";

function createOrg(body: unknown, key: string | null = ADMIN_KEY): Promise<HttpResult> {
  const headers: Record<string, string> = {};
  if (key !== null) headers["admin-api-key"] = key;
  return http("POST", "/admin/organization", { body, headers });
}

async function socketOf(user: Awaited<ReturnType<typeof signUp>>): Promise<TestSocket> {
  const { socket } = await connectedSocket(user);
  return socket;
}

function idsOf(response: Frame): string[] {
  const users = response.users;
  if (!Array.isArray(users)) throw new Error(`no users in ${JSON.stringify(response)}`);
  return users.map((u: Frame) => u._id as string);
}

interface UserRowLite {
  id: string;
  login: string;
  is_bot: number;
  password_hash: string | null;
}

async function usersOfOrg(organizationId: string): Promise<UserRowLite[]> {
  const { results } = await env.DB.prepare("SELECT id, login, is_bot, password_hash FROM users WHERE organization_id = ?")
    .bind(organizationId)
    .all<UserRowLite>();
  return results;
}

describe("admin key guard", () => {
  it("answers 401 Unauthorized. without the admin-api-key header", async () => {
    const name = unique("org");
    expectTextError(await createOrg({ name }, null), 401, "Unauthorized.");
    const row = await env.DB.prepare("SELECT id FROM organizations WHERE name = ?").bind(name).first();
    expect(row).toBeNull();
  });

  it("answers 401 for a wrong key, an empty key and a key differing only in case", async () => {
    // (Surrounding whitespace is not tried: the fetch Headers API strips it before the Worker sees it.)
    for (const key of ["wrong-key", "", ADMIN_KEY.toUpperCase(), ADMIN_KEY.slice(0, -1), `${ADMIN_KEY}x`]) {
      const res = await createOrg({ name: unique("org") }, key);
      expect({ key, status: res.status, text: res.text }).toEqual({ key, status: 401, text: "Unauthorized." });
    }
  });

  it("does not accept the key as a Bearer token or API-Key header", async () => {
    const bearer = await http("POST", "/admin/organization", {
      body: { name: unique("org") },
      headers: { Authorization: `Bearer ${ADMIN_KEY}` },
    });
    expectTextError(bearer, 401, "Unauthorized.");
    const apiKey = await http("POST", "/admin/organization", { body: { name: unique("org") }, headers: { "API-Key": ADMIN_KEY } });
    expectTextError(apiKey, 401, "Unauthorized.");
  });

  it("answers 401 for any /admin path without the key, and 404 for unknown ones with it", async () => {
    expectTextError(await http("GET", "/admin/anything"), 401, "Unauthorized.");
    expectTextError(await http("GET", "/admin/server-stats", { headers: { "admin-api-key": "nope" } }), 401, "Unauthorized.");
    expectTextError(await http("DELETE", "/admin/organization"), 401, "Unauthorized.");
    expectTextError(await http("GET", "/admin/anything", { headers: { "admin-api-key": ADMIN_KEY } }), 404, "Route not found");
  });
});

describe("POST /admin/organization", () => {
  it("creates an organization and answers it", async () => {
    const name = unique("Acme");
    const before = Date.now();
    const res = await createOrg({ name });
    expect(res.status).toBe(200);
    expect(res.headers.get("Content-Type")).toMatch(/^application\/json/);
    expect(Object.keys(res.json ?? {})).toEqual(["organization"]);
    const org = res.json?.organization as Frame;
    expect(Object.keys(org).sort()).toEqual(["_id", "created_at", "name", "updated_at"]);
    expect(org._id).toMatch(/^[0-9a-f]{24}$/);
    expect(org.name).toBe(name);
    expect(org.created_at).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
    expect(org.updated_at).toBe(org.created_at);
    expect(Date.parse(org.created_at as string)).toBeGreaterThanOrEqual(before);
    expect(Date.parse(org.created_at as string)).toBeLessThanOrEqual(Date.now());

    const row = await env.DB.prepare("SELECT id, name FROM organizations WHERE id = ?").bind(org._id).first();
    expect(row).toEqual({ id: org._id, name });
  });

  it("gives the new organization a bot user server-chat-bot that cannot log in", async () => {
    const orgId = await createOrganization();
    const rows = await usersOfOrg(orgId);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ login: "server-chat-bot", is_bot: 1, password_hash: null });
    expect(rows[0]?.id).toMatch(/^[0-9a-f]{24}$/);
    // One bot per organization, each with its own id.
    const other = await createOrganization();
    const otherRows = await usersOfOrg(other);
    expect(otherRows.map((r) => r.login)).toEqual(["server-chat-bot"]);
    expect(otherRows[0]?.id).not.toBe(rows[0]?.id);

    const login = await http("POST", "/login", {
      body: { organization_id: orgId, login: "server-chat-bot", password: "anything", device_id: unique("dev") },
    });
    expectTextError(login, 401, "Incorrect username or password.");
  });

  it("answers 422 for a duplicate name and creates nothing", async () => {
    const name = unique("dup");
    expect((await createOrg({ name })).status).toBe(200);
    const again = await createOrg({ name });
    expectTextError(again, 422, "An organization with this name already exists.");
    const { results } = await env.DB.prepare("SELECT id FROM organizations WHERE name = ?").bind(name).all();
    expect(results).toHaveLength(1);
  });

  it("answers 422 \"name\" is required when the name is missing", async () => {
    expectTextError(await createOrg({}), 422, '"name" is required');
    expectTextError(await http("POST", "/admin/organization", { headers: { "admin-api-key": ADMIN_KEY } }), 422, '"name" is required');
  });

  it("answers 422 for an empty, non-string or too long name, or an extra field", async () => {
    expectTextError(await createOrg({ name: "" }), 422, '"name" is not allowed to be empty');
    expectTextError(await createOrg({ name: 42 }), 422, '"name" must be a string');
    expectTextError(await createOrg({ name: "x".repeat(256) }), 422, '"name" length must be less than or equal to 255 characters long');
    expectTextError(await createOrg({ name: unique("org"), extra: 1 }), 422, '"extra" is not allowed');
  });

  it("lets users sign up and log in in the new organization", async () => {
    const orgId = await createOrganization();
    const user = await signUp({ organizationId: orgId });
    expect(user.organizationId).toBe(orgId);
    const res = await http("POST", "/login", {
      body: { organization_id: orgId, login: user.login, password: user.password, device_id: unique("dev") },
    });
    expect(res.status).toBe(200);
    expect((res.json?.user as Frame | undefined)?._id).toBe(user.id);
    const token = res.json?.access_token as string;
    const payload = JSON.parse(atob((token.split(".")[1] ?? "").replace(/-/g, "+").replace(/_/g, "/"))) as Frame;
    expect(payload.org).toBe(orgId);

    // The same credentials do not log in to the default organization.
    const elsewhere = await http("POST", "/login", {
      body: { organization_id: "default", login: user.login, password: user.password, device_id: unique("dev") },
    });
    expectTextError(elsewhere, 401, "Incorrect username or password.");
  });
});

describe("organization isolation", () => {
  it("user_search does not find users of another organization", async () => {
    const orgA = await createOrganization();
    const orgB = await createOrganization();
    const keyword = unique("kw").toLowerCase();
    const alice = await signUp({ organizationId: orgA });
    const bob = await signUp({ organizationId: orgB, login: `${keyword}bob` });
    const carol = await signUp({ organizationId: orgB });

    // Sanity: the keyword finds bob from inside his own organization.
    const carolSocket = await socketOf(carol);
    expect(idsOf(await carolSocket.request("user_search", { keyword }))).toEqual([bob.id]);

    const aliceSocket = await socketOf(alice);
    expect(await aliceSocket.request("user_search", { keyword })).toMatchObject({ users: [] });
    expect(idsOf(await aliceSocket.request("user_search", { keyword: bob.login }))).toEqual([]);
  });

  it("user_search does not reach the default organization from a new one, nor the reverse", async () => {
    const orgA = await createOrganization();
    const keyword = unique("iso").toLowerCase();
    const inA = await signUp({ organizationId: orgA, login: `${keyword}a` });
    const inDefault = await signUp({ login: `${keyword}d` });

    const aSocket = await socketOf(inA);
    const defaultSocket = await socketOf(inDefault);
    expect(idsOf(await aSocket.request("user_search", { keyword }))).toEqual([]);
    expect(idsOf(await defaultSocket.request("user_search", { keyword }))).toEqual([]);
  });

  it("get_users_by_ids skips users of another organization", async () => {
    const orgA = await createOrganization();
    const orgB = await createOrganization();
    const alice = await signUp({ organizationId: orgA });
    const alice2 = await signUp({ organizationId: orgA });
    const bob = await signUp({ organizationId: orgB });

    const socket = await socketOf(alice);
    const foreign = await socket.request("get_users_by_ids", { ids: [bob.id] });
    expect(foreign.users).toEqual([]);
    // Mixed: only the own organization's user comes back.
    expect(idsOf(await socket.request("get_users_by_ids", { ids: [bob.id, alice2.id] }))).toEqual([alice2.id]);
  });

  it("allows the same login in two organizations, each logging in to its own account", async () => {
    const orgA = await createOrganization();
    const orgB = await createOrganization();
    const login = unique("same");
    const inA = await signUp({ organizationId: orgA, login });
    const inB = await signUp({ organizationId: orgB, login });
    expect(inA.id).not.toBe(inB.id);

    // The same login again in one organization is refused.
    const dupSocket = await TestSocket.open();
    const dup = await dupSocket.requestError("user_create", {
      organization_id: orgA,
      login: login.toUpperCase(),
      password: "whatever",
      email: `${unique()}@example.test`,
    });
    expect(dup).toEqual({ status: 422, message: "The provided data is already associated with an existing user account." });

    const loginA = await loginHttp(inA);
    const loginB = await loginHttp(inB);
    const claims = (token: string): Frame =>
      JSON.parse(atob((token.split(".")[1] ?? "").replace(/-/g, "+").replace(/_/g, "/"))) as Frame;
    expect(claims(loginA.accessToken)).toMatchObject({ _id: inA.id, org: orgA, login });
    expect(claims(loginB.accessToken)).toMatchObject({ _id: inB.id, org: orgB, login });

    // Each connected user sees only its own organization's namesake.
    const { socket } = await connectedSocket(inA);
    expect(idsOf(await socket.request("get_users_by_ids", { ids: [inA.id, inB.id] }))).toEqual([inA.id]);
  });
});
