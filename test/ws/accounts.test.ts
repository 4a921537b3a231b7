// Accounts over the socket: user_create, user_login, connect, user_logout, with their SAMA errors.
import { describe, expect, it } from "vitest";
import { env } from "cloudflare:workers";
import { TestSocket, namedGateway, type Frame } from "../helpers/socket";
import { connectedSocket, http, loginHttp, signUp, unique } from "../helpers/users";

const open = () => TestSocket.open();

const PASSWORD_FIELDS = /password|salt/i;
// user_create takes the characters of an address (SAMA takes any string: its own suite signs up "email_1").
const EMAIL_PATTERN = "/^[a-zA-Z0-9._%+@-]+$/";

function expectPublicUser(user: unknown, login: string): void {
  const u = user as Frame;
  expect(u._id).toMatch(/^[0-9a-f]{24}$/);
  expect(u.native_id).toBe(u._id);
  expect(u.login).toBe(login);
  expect(typeof u.recent_activity).toBe("number");
  expect(Date.parse(u.created_at as string)).not.toBeNaN();
  expect(JSON.stringify(u)).not.toMatch(PASSWORD_FIELDS);
  expect(u).not.toHaveProperty("organization_id");
}

describe("user_create", () => {
  it("creates a user and answers with its public fields only", async () => {
    const socket = await open();
    const login = unique("create");
    const response = await socket.request("user_create", {
      organization_id: "default",
      login,
      password: "secret1",
      email: `${login}@example.test`,
      phone: "380501234567",
      device_id: 12345,
    });
    expectPublicUser(response.user, login);
    expect(response.user).toMatchObject({ email: `${login}@example.test`, phone: "380501234567" });
  });

  it("takes an email that is only an address's characters, as SAMA's own suite sends (\"email_1\")", async () => {
    const socket = await open();
    const login = unique();
    const response = await socket.request("user_create", { organization_id: "default", login, password: "secret1", email: `email_${login}` });
    expect(response.user).toMatchObject({ email: `email_${login}` });
  });

  it("does not sign the socket in", async () => {
    const socket = await open();
    const login = unique();
    await socket.request("user_create", { organization_id: "default", login, password: "secret1", email: `${login}@x.test` });
    expect(await socket.requestError("user_search", { keyword: "a" })).toEqual({ status: 401, message: "Unauthorized." });
  });

  it.each<[string, Record<string, unknown>, { status: number; message: string }]>([
    ["no organization", { login: "abcde", password: "secret", email: "a@b.test" }, { status: 422, message: '"organization_id" is required' }],
    ["short login", { organization_id: "default", login: "ab", password: "secret", email: "a@b.test" }, { status: 422, message: "The login provided is incorrect." }],
    ["no login", { organization_id: "default", password: "secret", email: "a@b.test" }, { status: 422, message: "The login provided is incorrect." }],
    ["long login", { organization_id: "default", login: "x".repeat(41), password: "secret", email: "a@b.test" }, { status: 422, message: "The login provided is incorrect." }],
    ["short password", { organization_id: "default", login: "abcde", password: "pw", email: "a@b.test" }, { status: 422, message: "The password entered is incorrect." }],
    ["no email", { organization_id: "default", login: "abcde", password: "secret" }, { status: 422, message: '"email" is required' }],
    ["long phone", { organization_id: "default", login: "abcde", password: "secret", email: "a@b.test", phone: "1234567890123456" }, { status: 422, message: '"phone" length must be less than or equal to 15 characters long' }],
    ["unknown key", { organization_id: "default", login: "abcde", password: "secret", email: "a@b.test", foo: 1 }, { status: 422, message: '"foo" is not allowed' }],
    ["unknown organization", { organization_id: "nope", login: unique(), password: "secret", email: "q@b.test" }, { status: 404, message: "Organization not found" }],
    // The email is validated as user_edit validates it.
    ["an email that is no address", { organization_id: "default", login: "abcde", password: "secret", email: "<script>" }, { status: 422, message: `"email" with value "<script>" fails to match the required pattern: ${EMAIL_PATTERN}` }],
    ["an email with a space", { organization_id: "default", login: "abcde", password: "secret", email: "a b@c.test" }, { status: 422, message: `"email" with value "a b@c.test" fails to match the required pattern: ${EMAIL_PATTERN}` }],
    ["an email with a newline", { organization_id: "default", login: "abcde", password: "secret", email: "a@b.test\nBcc: c@d.test" }, { status: 422, message: `"email" with value "a@b.test\\nBcc: c@d.test" fails to match the required pattern: ${EMAIL_PATTERN}` }],
    // Control and bidirectional formatting characters would change how the name reads to others.
    ["a login with a right-to-left override", { organization_id: "default", login: "admin\u202Egnp.exe", password: "secret", email: "a@b.test" }, { status: 422, message: "The login provided is incorrect." }],
    ["a login with a control character", { organization_id: "default", login: "ad\u0007min", password: "secret", email: "a@b.test" }, { status: 422, message: "The login provided is incorrect." }],
    ["a first name with an isolate", { organization_id: "default", login: "abcde", password: "secret", email: "a@b.test", first_name: "Bob\u2067" }, { status: 422, message: '"first_name" must not contain control or bidirectional formatting characters' }],
    ["a last name with a C1 control", { organization_id: "default", login: "abcde", password: "secret", email: "a@b.test", last_name: "X\u0085Y" }, { status: 422, message: '"last_name" must not contain control or bidirectional formatting characters' }],
  ])("refuses %s", async (_name, params, error) => {
    const socket = await open();
    expect(await socket.requestError("user_create", params)).toEqual(error);
  });

  it("refuses a login, email or phone already used in the organization, case-insensitively", async () => {
    const socket = await open();
    const login = unique("dup");
    const phone = String(Math.floor(Math.random() * 1e9));
    await socket.request("user_create", { organization_id: "default", login, password: "secret", email: `${login}@x.test`, phone });
    const taken = { status: 422, message: "The provided data is already associated with an existing user account." };
    expect(await socket.requestError("user_create", { organization_id: "default", login: login.toUpperCase(), password: "secret", email: `o${login}@x.test` })).toEqual(taken);
    expect(await socket.requestError("user_create", { organization_id: "default", login: unique(), password: "secret", email: `${login.toUpperCase()}@X.TEST` })).toEqual(taken);
    expect(await socket.requestError("user_create", { organization_id: "default", login: unique(), password: "secret", email: `p${login}@x.test`, phone })).toEqual(taken);
  });
});

describe("user_login", () => {
  it("signs the socket in with a password and returns a new access token", async () => {
    const user = await signUp();
    const socket = await open();
    const response = await socket.request("user_login", { organization_id: "default", login: user.login, password: user.password, device_id: "d1" });
    expectPublicUser(response.user, user.login);
    expect(response.token).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+$/);
    expect((await socket.request("user_search", { keyword: user.login })).users).toEqual([]);
    // The token it returned is a real access token for that device.
    const other = await open();
    expect(await other.request("connect", { token: response.token, device_id: "d1" })).toMatchObject({ success: true });
  });

  it("signs in with a token (access or refresh) of the same device", async () => {
    const user = await signUp();
    const login = await loginHttp(user);
    const socket = await open();
    const viaAccess = await socket.request("user_login", { organization_id: "default", token: login.accessToken, device_id: login.deviceId });
    expect((viaAccess.user as Frame)._id).toBe(user.id);
    // The cookie holds "s:<refresh JWT>.<signature>".
    const signed = decodeURIComponent(login.cookie.slice("refresh_token=".length));
    const refreshJwt = signed.slice(2, signed.lastIndexOf("."));
    const viaRefresh = await socket.request("user_login", { organization_id: "default", token: refreshJwt, device_id: login.deviceId });
    expect((viaRefresh.user as Frame)._id).toBe(user.id);
    expect(await socket.requestError("user_login", { organization_id: "default", token: login.accessToken, device_id: "another" })).toEqual({
      status: 422,
      message: "The token has expired.",
    });
  });

  it.each<[string, Record<string, unknown>, { status: number; message: string }]>([
    ["no device_id", { organization_id: "default", login: "someone", password: "secret" }, { status: 422, message: "'device_id' is required." }],
    ["no organization", { login: "someone", password: "secret", device_id: "d" }, { status: 422, message: '"organization_id" is required' }],
    ["a non-string login", { organization_id: "default", login: 5, password: "secret", device_id: "d" }, { status: 422, message: "The 'login' or 'password' field is missing." }],
    ["a login without password", { organization_id: "default", login: "someone", device_id: "d" }, { status: 422, message: '"login" missing required peer "password"' }],
    ["both token and login", { organization_id: "default", login: "someone", password: "x", token: "t", device_id: "d" }, { status: 422, message: '"value" contains a conflict between optional exclusive peers [token, login]' }],
    ["an unknown token", { organization_id: "default", token: "a.b.c", device_id: "d" }, { status: 422, message: "The token has expired." }],
  ])("refuses %s", async (_name, params, error) => {
    const socket = await open();
    expect(await socket.requestError("user_login", params)).toEqual(error);
  });

  it("writes no token for a token login checked just before its device logs out", async () => {
    const user = await signUp();
    const login = await loginHttp(user);
    const gateway = unique("login-race");
    const socket = await TestSocket.open("/", gateway);
    const held = namedGateway(gateway);
    await held.testHold("credential");
    const answer = socket.request("user_login", { organization_id: "default", token: login.accessToken, device_id: login.deviceId }, "login");
    await held.testReached("credential"); // the token was checked: live then
    const logout = await http("POST", "/logout", { headers: { Authorization: `Bearer ${login.accessToken}`, Cookie: login.cookie } });
    expect(logout.status).toBe(200);
    await held.testRelease("credential");

    expect(await answer).toEqual({ id: "login", error: { status: 422, message: "The token has expired." } });
    expect(await socket.requestError("user_search", { keyword: "x" })).toEqual({ status: 401, message: "Unauthorized." });
    const tokens = await env.DB.prepare("SELECT count(*) AS n FROM user_tokens WHERE user_id = ?").bind(user.id).first<{ n: number }>();
    expect(tokens?.n).toBe(0);
  });

  it("refuses a wrong password or an unknown login with the same 401", async () => {
    const user = await signUp();
    const socket = await open();
    const refused = { status: 401, message: "Incorrect username or password." };
    expect(await socket.requestError("user_login", { organization_id: "default", login: user.login, password: "wrong-pass", device_id: "d" })).toEqual(refused);
    expect(await socket.requestError("user_login", { organization_id: "default", login: unique("ghost"), password: "whatever", device_id: "d" })).toEqual(refused);
  });
});

describe("connect", () => {
  it("binds the socket to the token's user", async () => {
    const user = await signUp();
    const { socket } = await connectedSocket(user);
    const found = await socket.request("get_users_by_ids", { ids: [user.id] });
    expect((found.users as Frame[]).map((u) => u._id)).toEqual([user.id]);
  });

  it("lets a socket switch to another user", async () => {
    const alice = await signUp();
    const bob = await signUp();
    const { socket } = await connectedSocket(alice);
    const bobLogin = await loginHttp(bob);
    await socket.request("connect", { token: bobLogin.accessToken, device_id: bobLogin.deviceId });
    // user_search never returns the caller: now bob is the caller.
    expect((await socket.request("user_search", { keyword: bob.login })).users).toEqual([]);
    expect(((await socket.request("user_search", { keyword: alice.login })).users as Frame[]).map((u) => u._id)).toEqual([alice.id]);
  });

  it("refuses bad tokens and bad params", async () => {
    const user = await signUp();
    const login = await loginHttp(user);
    const socket = await open();
    const expired = { status: 422, message: "The token has expired." };
    expect(await socket.requestError("connect", { token: "nonsense", device_id: login.deviceId })).toEqual(expired);
    expect(await socket.requestError("connect", { device_id: login.deviceId })).toEqual(expired);
    expect(await socket.requestError("connect", { token: login.accessToken, device_id: "not-the-device" })).toEqual(expired);
    const [header, payload] = login.accessToken.split(".");
    expect(await socket.requestError("connect", { token: `${header}.${payload}.forged`, device_id: login.deviceId })).toEqual(expired);
    expect(await socket.requestError("connect", { token: login.accessToken })).toEqual({ status: 422, message: "'device_id' is required." });
    expect(await socket.requestError("connect", { token: login.accessToken, device_id: login.deviceId, organization_id: "default" })).toEqual({
      status: 422,
      message: '"organization_id" is not allowed',
    });
    // A refresh token is not an access token.
    const signed = decodeURIComponent(login.cookie.slice("refresh_token=".length));
    expect(await socket.requestError("connect", { token: signed.slice(2, signed.lastIndexOf(".")), device_id: login.deviceId })).toEqual(expired);
  });

  it("lets several sockets share one device id without kicking each other", async () => {
    const user = await signUp();
    const login = await loginHttp(user);
    const tabs = await Promise.all([open(), open(), open()]);
    for (const tab of tabs) {
      expect(await tab.request("connect", { token: login.accessToken, device_id: login.deviceId })).toMatchObject({ success: true });
    }
    for (const tab of tabs) {
      expect((await tab.request("get_users_by_ids", { ids: [user.id] })).users).toHaveLength(1);
    }
  });
});

describe("user_logout", () => {
  it("revokes the device's tokens and signs the socket out, leaving it open", async () => {
    const user = await signUp();
    const { socket, login } = await connectedSocket(user);
    expect(await socket.request("user_logout", {})).toMatchObject({ success: true });
    expect(await socket.requestError("user_search", { keyword: "x" })).toEqual({ status: 401, message: "Unauthorized." });
    expect(await socket.requestError("user_logout", {})).toEqual({ status: 401, message: "Unauthorized." });
    expect(await socket.requestError("connect", { token: login.accessToken, device_id: login.deviceId })).toEqual({
      status: 422,
      message: "The token has expired.",
    });
    const refreshed = await http("POST", "/login", { body: { device_id: login.deviceId }, headers: { Cookie: login.cookie } });
    expect(refreshed.status).toBe(422);
    expect(await socket.request("ping", {})).toMatchObject({ pong: {} });
  });

  it("signs out the device's other tabs, not the user's other devices", async () => {
    const user = await signUp();
    const { socket, login } = await connectedSocket(user);
    const tab = await open();
    await tab.request("connect", { token: login.accessToken, device_id: login.deviceId });
    const { socket: phone } = await connectedSocket(user);
    await socket.request("user_logout", {});
    expect(await tab.requestError("get_users_by_ids", { ids: [user.id] })).toEqual({ status: 401, message: "Unauthorized." });
    expect((await phone.request("get_users_by_ids", { ids: [user.id] })).users).toHaveLength(1);
  });

  it("needs a params object", async () => {
    const user = await signUp();
    const { socket } = await connectedSocket(user);
    expect(await socket.requestError("user_logout", null)).toEqual({ status: 422, message: '"value" must be of type object' });
  });
});
