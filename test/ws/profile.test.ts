// The signed-in user's profile and the directory: user_edit, user_delete, user_search, get_users_by_ids.
import { describe, expect, it } from "vitest";
import { TestSocket, type Frame } from "../helpers/socket";
import { connectedSocket, http, signUp, unique } from "../helpers/users";

async function signedIn(options: Parameters<typeof signUp>[0] = {}) {
  const user = await signUp(options);
  const { socket, login } = await connectedSocket(user);
  return { user, socket, login };
}

const ids = (users: unknown) => (users as Frame[]).map((u) => u._id);

describe("user_edit", () => {
  it("updates the profile and answers with the new user", async () => {
    const { user, socket } = await signedIn();
    const login = unique("renamed");
    const response = await socket.request("user_edit", {
      first_name: "Sam",
      last_name: "Samuels",
      login,
      email: `${login}@Example.test`,
      phone: "123456",
      avatar_object: { file_id: "bb314386aaabb793d17941b2", file_name: "a.png", file_blur_hash: "LEHV6n" },
    });
    const updated = response.user as Frame;
    expect(updated).toMatchObject({
      _id: user.id,
      login,
      first_name: "Sam",
      last_name: "Samuels",
      phone: "123456",
      avatar_object: { file_id: "bb314386aaabb793d17941b2", file_name: "a.png", file_blur_hash: "LEHV6n" },
    });
    expect(Date.parse(updated.updated_at as string)).toBeGreaterThanOrEqual(Date.parse(user.user.updated_at as string));
    expect(JSON.stringify(updated)).not.toMatch(/password|salt/i);
    // The new login is the one that works now.
    const relogin = await http("POST", "/login", { body: { organization_id: "default", login, password: user.password, device_id: "d" } });
    expect(relogin.status).toBe(200);
  });

  it("changes the password only with the current one", async () => {
    const { user, socket } = await signedIn();
    const wrong = { status: 401, message: "The current password you entered is incorrect." };
    expect(await socket.requestError("user_edit", { new_password: "brand-new" })).toEqual(wrong);
    expect(await socket.requestError("user_edit", { current_password: "nope-nope", new_password: "brand-new" })).toEqual(wrong);
    expect(await socket.requestError("user_edit", { current_password: 5, new_password: "brand-new" })).toEqual(wrong);
    await socket.request("user_edit", { current_password: user.password, new_password: "brand-new" });
    const body = { organization_id: "default", login: user.login, device_id: "d" };
    expect((await http("POST", "/login", { body: { ...body, password: user.password } })).status).toBe(401);
    expect((await http("POST", "/login", { body: { ...body, password: "brand-new" } })).status).toBe(200);
  });

  it.each<[string, Record<string, unknown>, { status: number; message: string }]>([
    ["a long first name", { first_name: "x".repeat(21) }, { status: 422, message: '"first_name" length must be less than or equal to 20 characters long' }],
    ["an empty last name", { last_name: "" }, { status: 422, message: '"last_name" is not allowed to be empty' }],
    ["a bad email", { email: "foo" }, { status: 422, message: '"email" with value "foo" fails to match the required pattern: /^[a-zA-Z0-9._%+-]+@[a-zA-Z0-9.-]+\\.[a-zA-Z]{2,}$/' }],
    ["a short login", { login: "ab" }, { status: 422, message: "The login provided is incorrect." }],
    ["a login with a left-to-right embedding", { login: "eve\u202Aadmin" }, { status: 422, message: "The login provided is incorrect." }],
    ["a first name with a right-to-left mark", { first_name: "\u200FAlice" }, { status: 422, message: '"first_name" must not contain control or bidirectional formatting characters' }],
    ["a short new password", { current_password: "x", new_password: "ab" }, { status: 422, message: "The password entered is incorrect." }],
    ["an unknown key", { foo: "bar" }, { status: 422, message: '"foo" is not allowed' }],
    ["an avatar without file_id", { avatar_object: { file_name: "a.png" } }, { status: 422, message: '"avatar_object.file_id" is required' }],
  ])("refuses %s", async (_name, params, error) => {
    const { socket } = await signedIn();
    expect(await socket.requestError("user_edit", params)).toEqual(error);
  });

  it("refuses a login or email another user has, case-insensitively", async () => {
    const other = await signUp();
    const { socket } = await signedIn();
    const taken = { status: 422, message: "The provided data is already associated with an existing user account." };
    expect(await socket.requestError("user_edit", { login: other.login.toUpperCase() })).toEqual(taken);
    expect(await socket.requestError("user_edit", { email: other.email.toUpperCase() })).toEqual(taken);
  });
});

describe("user_delete", () => {
  it("deletes the user, signs the socket out and frees the login", async () => {
    const { user, socket, login } = await signedIn();
    const second = await TestSocket.open();
    await second.request("connect", { token: login.accessToken, device_id: login.deviceId });

    expect(await socket.request("user_delete", {})).toMatchObject({ success: true });
    expect(await socket.requestError("user_search", { keyword: "x" })).toEqual({ status: 401, message: "Unauthorized." });
    // Every other socket of the deleted user is signed out too.
    expect(await second.requestError("user_search", { keyword: "x" })).toEqual({ status: 401, message: "Unauthorized." });
    const relogin = await http("POST", "/login", { body: { organization_id: "default", login: user.login, password: user.password, device_id: "d" } });
    expect(relogin.status).toBe(401);
    const again = await signUp({ login: user.login });
    expect(again.id).not.toBe(user.id);
  });
});

describe("user_search", () => {
  it("matches login, first and last name as case-insensitive substrings, never the caller", async () => {
    const tag = unique("srch");
    const a = await signUp({ login: `${tag}a`, firstName: "Zoe", lastName: "Adams" });
    const b = await signUp({ login: unique("other"), firstName: `Élodie${tag}`, lastName: "Brun" });
    const c = await signUp({ login: unique("other"), firstName: "Al", lastName: `x${tag.toUpperCase()}y` });
    const { socket, user: me } = await signedIn({ login: `${tag}me` });
    const found = await socket.request("user_search", { keyword: tag.toUpperCase(), ignore_ids: [] });
    // SAMA's order: first_name descending, then last_name, then login.
    expect(ids(found.users)).toEqual([b.id, a.id, c.id]);
    expect(ids(found.users)).not.toContain(me.id);
    expect(JSON.stringify(found)).not.toMatch(/password|salt/i);
    expect(ids((await socket.request("user_search", { keyword: "élodie" + tag })).users)).toEqual([b.id]);
  });

  it("honours ignore_ids, limit and updated_at.gt", async () => {
    const tag = unique("lim");
    const first = await signUp({ login: `${tag}1`, firstName: "B" });
    const second = await signUp({ login: `${tag}2`, firstName: "A" });
    const { socket } = await signedIn();
    expect(ids((await socket.request("user_search", { keyword: tag, ignore_ids: [first.id] })).users)).toEqual([second.id]);
    expect(ids((await socket.request("user_search", { keyword: tag, limit: 1 })).users)).toEqual([first.id]);
    const after = second.user.created_at as string;
    expect(ids((await socket.request("user_search", { keyword: tag, updated_at: { gt: after } })).users)).toEqual([]);
    const before = new Date(Date.parse(first.user.created_at as string) - 1).toISOString();
    expect(ids((await socket.request("user_search", { keyword: tag, updated_at: { gt: before } })).users)).toHaveLength(2);
  });

  it.each<[string, Record<string, unknown>, string]>([
    ["no keyword", {}, '"keyword" is required'],
    ["an empty keyword", { keyword: "" }, '"keyword" is not allowed to be empty'],
    ["a string limit", { keyword: "a", limit: "x" }, '"limit" must be a number'],
    ["a limit over 100", { keyword: "a", limit: 101 }, '"limit" must be less than or equal to 100'],
    ["a zero limit", { keyword: "a", limit: 0 }, '"limit" must be greater than or equal to 1'],
    ["a bad date", { keyword: "a", updated_at: { gt: "not a date" } }, '"updated_at.gt" must be a valid date'],
    ["non-array ignore_ids", { keyword: "a", ignore_ids: "x" }, '"ignore_ids" must be an array'],
    ["an unknown key", { keyword: "a", login: "x" }, '"login" is not allowed'],
  ])("refuses %s with 422", async (_name, params, message) => {
    const { socket } = await signedIn();
    expect(await socket.requestError("user_search", params)).toEqual({ status: 422, message });
  });
});

describe("get_users_by_ids", () => {
  it("returns the organization's users newest first, skipping unknown ids", async () => {
    const a = await signUp();
    const b = await signUp();
    const { socket } = await signedIn();
    const response = await socket.request("get_users_by_ids", { ids: [a.id, "ffffffffffffffffffffffff", b.id, a.id] });
    expect(ids(response.users)).toEqual([b.id, a.id].sort().reverse());
    expect(JSON.stringify(response)).not.toMatch(/password|salt/i);
  });

  it.each<[string, unknown, string]>([
    ["no ids", {}, '"ids" is required'],
    ["an empty list", { ids: [] }, '"ids" must contain at least 1 items'],
    ["101 ids", { ids: Array.from({ length: 101 }, (_, i) => String(i)) }, '"ids" must contain less than or equal to 100 items'],
    ["a non-string id", { ids: [5] }, '"ids[0]" must be a string'],
  ])("refuses %s with 422", async (_name, params, message) => {
    const { socket } = await signedIn();
    expect(await socket.requestError("get_users_by_ids", params)).toEqual({ status: 422, message });
  });
});
