// Password reset over the socket (user_send_otp, user_reset_password): the email that reaches the
// email API (intercepted at the Worker's outbound fetch: nothing can listen on loopback inside
// workerd), the code's expiry, attempt limit, cooldown and daily cap, and what a reset ends.
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import { TestSocket, namedGateway } from "../helpers/socket";
import { connectAnswer, connectedSocket, cookieFrom, http, loginHttp, signUp, unique, type TestUser } from "../helpers/users";
import { record, type RecordedRequest } from "../push/fakes";
import { getDb } from "../../src/db/client";
import { getConfig } from "../../src/config";
import { hashPassword } from "../../src/auth/password";
import { liveSessions } from "../../src/services/live-sessions";
import { findUser, updateUser } from "../../src/services/users";

const EMAIL_API = "https://email.parley.test/v1/send";

type Answer = () => Response;

/** Records every request to the email API (the rest of the Worker's fetches pass through). */
function interceptEmails(answer: Answer = () => new Response('{"id":"email-1"}', { status: 200 })): RecordedRequest[] {
  const realFetch = globalThis.fetch;
  const seen: RecordedRequest[] = [];
  vi.spyOn(globalThis, "fetch").mockImplementation(async (input, init) => {
    const url = typeof input === "string" ? input : input instanceof URL ? input.href : input.url;
    if (url !== EMAIL_API) return realFetch(input, init);
    seen.push(await record(url, init));
    return answer();
  });
  return seen;
}

afterEach(() => {
  vi.restoreAllMocks();
});

function codeIn(email: RecordedRequest): number {
  const match = /Your password reset code is (\d{6})\./.exec(email.text);
  if (!match) throw new Error(`no code in ${email.text}`);
  return Number(match[1]);
}

async function request(action: string, params: Record<string, unknown>) {
  const socket = await TestSocket.open();
  const response = await socket.request(action, params);
  socket.close();
  delete response.id;
  return response;
}

const sendOtp = (user: TestUser) => request("user_send_otp", { organization_id: user.organizationId, email: user.email, device_id: "reset-dev" });

const reset = (user: TestUser, token: unknown, newPassword = "brand-new-pass") =>
  request("user_reset_password", { organization_id: user.organizationId, email: user.email, device_id: "reset-dev", token, new_password: newPassword });

/** Sends a code and returns it, as read from the intercepted email. */
async function emailedCode(user: TestUser, seen: RecordedRequest[]): Promise<number> {
  const before = seen.length;
  expect(await sendOtp(user)).toEqual({ success: true });
  expect(seen).toHaveLength(before + 1);
  return codeIn(seen[before]!);
}

/** Lets the next code be sent now (the test stands in for the passing of the cooldown). */
async function endCooldown(user: TestUser): Promise<void> {
  await env.DB.prepare("UPDATE password_reset_codes SET sent_at = 0 WHERE user_id = ?").bind(user.id).run();
}

const INCORRECT = { error: { status: 403, message: "Incorrect token for password recovery." } };

describe("user_send_otp", () => {
  it("posts SAMA's one email to the email API: URL, headers and JSON body byte for byte", async () => {
    const seen = interceptEmails();
    const user = await signUp();
    const code = await emailedCode(user, seen);
    const [email] = seen;
    expect(email!.url).toBe(EMAIL_API);
    expect(email!.method).toBe("POST");
    expect([...email!.headers]).toEqual([
      ["authorization", "Bearer test-email-key"],
      ["content-type", "application/json"],
    ]);
    expect(email!.text).toBe(
      JSON.stringify({
        from: "Parley <no-reply@parley.test>",
        to: user.email,
        subject: "Your password reset code",
        text:
          `Your password reset code is ${code}.\n\nIt expires in 10 minutes and works once. ` +
          "If you did not ask to reset your password, ignore this email: your password stays as it is.",
      }),
    );
    expect(code).toBeGreaterThanOrEqual(100000);
    expect(code).toBeLessThanOrEqual(999999);
  });

  it("stores the code only as a keyed hash, never in plain text", async () => {
    const seen = interceptEmails();
    const user = await signUp();
    const code = await emailedCode(user, seen);
    const row = await env.DB.prepare("SELECT * FROM password_reset_codes WHERE user_id = ?").bind(user.id).first<Record<string, unknown>>();
    expect(row).not.toBeNull();
    expect(JSON.stringify(row)).not.toContain(String(code));
    expect(row!.code_hash).toMatch(/^[0-9a-f]{64}$/);
    const plainSha = [...new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(String(code))))].map((b) => b.toString(16).padStart(2, "0")).join("");
    expect(row!.code_hash).not.toBe(plainSha);
  });

  it("answers SAMA's errors: unknown email, unknown organization, malformed email", async () => {
    const seen = interceptEmails();
    expect(await request("user_send_otp", { organization_id: "default", email: "nobody-here@example.test" })).toEqual({
      error: { status: 422, message: "We couldn't find the specified user." },
    });
    expect(await request("user_send_otp", { organization_id: "no-such-org", email: "a@example.test" })).toEqual({
      error: { status: 404, message: "Organization not found" },
    });
    expect(await request("user_send_otp", { organization_id: "default", email: "not-an-email" })).toEqual({
      error: { status: 422, message: '"email" with value "not-an-email" fails to match the required pattern: /^[a-zA-Z0-9._%+-]+@[a-zA-Z0-9.-]+\\.[a-zA-Z]{2,}$/' },
    });
    expect(await request("user_send_otp", { organization_id: "default" })).toEqual({ error: { status: 422, message: '"email" is required' } });
    expect(seen).toHaveLength(0);
  });

  it("sends no second code within the cooldown, and again once it has passed", async () => {
    const seen = interceptEmails();
    const user = await signUp();
    const first = await emailedCode(user, seen);
    expect(await sendOtp(user)).toEqual({ error: { status: 429, message: "A password recovery code was sent recently. Try again later." } });
    expect(seen).toHaveLength(1);
    await endCooldown(user);
    const second = await emailedCode(user, seen);
    // The new code replaces the old one.
    if (second !== first) expect(await reset(user, first)).toEqual(INCORRECT);
    expect(await reset(user, second)).toEqual({ success: true });
  });

  it("sends at most ten codes a day to one user, whatever the cooldown", async () => {
    const seen = interceptEmails();
    const user = await signUp();
    for (let i = 0; i < 10; i++) {
      await emailedCode(user, seen);
      await endCooldown(user);
    }
    expect(await sendOtp(user)).toEqual({ error: { status: 429, message: "A password recovery code was sent recently. Try again later." } });
    await env.DB.prepare("UPDATE password_reset_codes SET window_start = ? WHERE user_id = ?").bind(Date.now() - 24 * 3600 * 1000 - 1, user.id).run();
    await emailedCode(user, seen);
    expect(seen).toHaveLength(11);
  });

  it("withdraws the code when the email API refuses it, so the user can ask again at once", async () => {
    let status = 503;
    const seen = interceptEmails(() => new Response("unavailable", { status }));
    const user = await signUp();
    expect(await sendOtp(user)).toEqual({ error: { status: 503, message: "The password recovery email could not be sent. Try again later." } });
    const failedCode = codeIn(seen[0]!);
    status = 200;
    const code = await emailedCode(user, seen);
    if (code !== failedCode) expect(await reset(user, failedCode)).toEqual(INCORRECT);
    expect(await reset(user, code)).toEqual({ success: true });
  });
});

describe("user_reset_password", () => {
  it("sets the new password: login with it works, the old one fails, and the code works once", async () => {
    const seen = interceptEmails();
    const user = await signUp();
    const code = await emailedCode(user, seen);
    expect(await reset(user, code, "brand-new-pass")).toEqual({ success: true });
    const login = (password: string) => http("POST", "/login", { body: { organization_id: user.organizationId, login: user.login, password, device_id: "after-reset" } });
    expect((await login("brand-new-pass")).status).toBe(200);
    const old = await login(user.password);
    expect({ status: old.status, text: old.text }).toEqual({ status: 401, text: "Incorrect username or password." });
    expect(await reset(user, code, "another-pass")).toEqual(INCORRECT);
  });

  it("is not undone by a user_edit that read the account before it: other fields keep the new password, a new password checked against the old one is refused", async () => {
    const seen = interceptEmails();
    const user = await signUp();
    const deps = { db: getDb(env), config: getConfig(env), sessions: liveSessions(env), now: Date.now() };
    // What a user_edit in flight read before the reset (the interleaving a race would give).
    const before = (await findUser(deps, user.organizationId, user.id))!;
    expect(await reset(user, await emailedCode(user, seen), "brand-new-pass")).toEqual({ success: true });
    await updateUser(deps, before, { firstName: "Renamed" });
    await expect(updateUser(deps, before, { passwordHash: await hashPassword("edited-pass") })).rejects.toMatchObject({ status: 401, message: "The current password you entered is incorrect." });
    const login = (password: string) => http("POST", "/login", { body: { organization_id: user.organizationId, login: user.login, password, device_id: "after-edit" } });
    expect((await login("brand-new-pass")).status).toBe(200);
    expect((await login(user.password)).status).toBe(401);
    expect((await login("edited-pass")).status).toBe(401);
    expect((await findUser(deps, user.organizationId, user.id))!.firstName).toBe("Renamed");
  });

  it("accepts the code as SAMA's JSON number or as a six-digit string", async () => {
    const seen = interceptEmails();
    const user = await signUp();
    expect(await reset(user, String(await emailedCode(user, seen)))).toEqual({ success: true });
  });

  it("ends every session of the user: tokens of all devices are revoked and live sockets are signed out", async () => {
    const seen = interceptEmails();
    const user = await signUp();
    const { socket, login } = await connectedSocket(user, "phone");
    const other = await loginHttp(user, "laptop");
    // Before the reset the laptop's tokens work (its cookie is exchanged for a new one).
    expect(await connectAnswer(other.accessToken, "laptop")).toEqual({ success: true });
    const before = await http("POST", "/login", { body: { device_id: "laptop" }, headers: { Cookie: other.cookie } });
    expect(before.status).toBe(200);
    const cookie = cookieFrom(before.headers);
    expect(await reset(user, await emailedCode(user, seen))).toEqual({ success: true });
    await vi.waitFor(async () => expect(await socket.requestError("user_search", { keyword: "x" })).toEqual({ status: 401, message: "Unauthorized." }));
    expect(await connectAnswer(login.accessToken, "phone")).toEqual({ error: { status: 422, message: "The token has expired." } });
    expect(await connectAnswer(other.accessToken, "laptop")).toEqual({ error: { status: 422, message: "The token has expired." } });
    const after = await http("POST", "/login", { body: { device_id: "laptop" }, headers: { Cookie: cookie } });
    expect({ status: after.status, text: after.text }).toEqual({ status: 422, text: "The token has expired." });
  });

  it("refuses a password login whose old password was checked just before it: no token of it outlives the reset", async () => {
    const seen = interceptEmails();
    const user = await signUp();
    const code = await emailedCode(user, seen);
    const gateway = unique("reset-race");
    const socket = await TestSocket.open("/", gateway);
    const held = namedGateway(gateway);
    await held.testHold("credential");
    const login = socket.request("user_login", { organization_id: user.organizationId, login: user.login, password: user.password, device_id: "phone" }, "login");
    await held.testReached("credential"); // the old password matched
    expect(await reset(user, code)).toEqual({ success: true });
    await held.testRelease("credential");

    expect(await login).toEqual({ id: "login", error: { status: 401, message: "Incorrect username or password." } });
    expect(await socket.requestError("user_search", { keyword: "x" })).toEqual({ status: 401, message: "Unauthorized." });
    const tokens = await env.DB.prepare("SELECT count(*) AS n FROM user_tokens WHERE user_id = ?").bind(user.id).first<{ n: number }>();
    expect(tokens?.n).toBe(0);
  });

  it("refuses token logins (Bearer, cookie) checked just before it: no token of them outlives the reset", async () => {
    const seen = interceptEmails();
    const user = await signUp();
    const [laptop, tablet] = [await loginHttp(user, "laptop"), await loginHttp(user, "tablet")];
    const code = await emailedCode(user, seen);
    // Both logins are held after their token check (live then), each at a Gateway's latch.
    const logins: Array<{ device: string; headers: Record<string, string>; gateway: string }> = [
      { device: "laptop", headers: { Authorization: `Bearer ${laptop.accessToken}` }, gateway: unique("reset-race") },
      { device: "tablet", headers: { Cookie: tablet.cookie }, gateway: unique("reset-race") },
    ];
    const answers = [];
    for (const { device, headers, gateway } of logins) {
      await namedGateway(gateway).testHold("credential");
      answers.push(http("POST", "/login", { body: { device_id: device }, headers: { ...headers, "x-test-gateway": gateway } }));
      await namedGateway(gateway).testReached("credential");
    }
    expect(await reset(user, code)).toEqual({ success: true });
    for (const { gateway } of logins) await namedGateway(gateway).testRelease("credential");

    for (const res of await Promise.all(answers)) expect({ status: res.status, text: res.text }).toEqual({ status: 422, text: "The token has expired." });
    const tokens = await env.DB.prepare("SELECT count(*) AS n FROM user_tokens WHERE user_id = ?").bind(user.id).first<{ n: number }>();
    expect(tokens?.n).toBe(0);
  });

  it("clears login lockouts of the account", async () => {
    const seen = interceptEmails();
    const user = await signUp();
    const wrongLogin = () => http("POST", "/login", { body: { organization_id: user.organizationId, login: user.login, password: "wrong-pass", device_id: "locked" } });
    for (let i = 0; i < 5; i++) await wrongLogin();
    expect((await wrongLogin()).status).toBe(429);
    expect(await reset(user, await emailedCode(user, seen), "brand-new-pass")).toEqual({ success: true });
    const res = await http("POST", "/login", { body: { organization_id: user.organizationId, login: user.login, password: "brand-new-pass", device_id: "locked" } });
    expect(res.status).toBe(200);
  });

  it("clears only its own account's lockouts, not those of a login that begins like its lockout keys", async () => {
    const seen = interceptEmails();
    const user = await signUp();
    // Logins may hold ':': this one reads like a device key of `user` ("<login>:dev:<device>").
    const other = { login: `${user.login}:dev:x`, password: "other-pass", email: `${unique("other")}@example.test` };
    const socket = await TestSocket.open();
    expect(await socket.request("user_create", { organization_id: user.organizationId, ...other })).toHaveProperty("user");
    socket.close();
    const wrongLogin = () => http("POST", "/login", { body: { organization_id: user.organizationId, login: other.login, password: "wrong-pass", device_id: "locked" } });
    for (let i = 0; i < 5; i++) await wrongLogin();
    expect((await wrongLogin()).status).toBe(429);
    expect(await reset(user, await emailedCode(user, seen), "brand-new-pass")).toEqual({ success: true });
    const res = await http("POST", "/login", { body: { organization_id: user.organizationId, login: other.login, password: other.password, device_id: "locked" } });
    expect(res.status).toBe(429);
  });

  it("refuses an expired code", async () => {
    const seen = interceptEmails();
    const user = await signUp();
    const code = await emailedCode(user, seen);
    await env.DB.prepare("UPDATE password_reset_codes SET expires_at = ? WHERE user_id = ?").bind(Date.now() - 1, user.id).run();
    expect(await reset(user, code)).toEqual(INCORRECT);
    expect((await http("POST", "/login", { body: { organization_id: user.organizationId, login: user.login, password: user.password, device_id: "d" } })).status).toBe(200);
  });

  it("kills the code after five wrong guesses: the right one is refused too, until a new code is sent", async () => {
    const seen = interceptEmails();
    const user = await signUp();
    const code = await emailedCode(user, seen);
    const wrong = code === 999999 ? 100000 : code + 1;
    for (let i = 0; i < 5; i++) expect(await reset(user, wrong)).toEqual(INCORRECT);
    expect(await reset(user, code)).toEqual(INCORRECT);
    await endCooldown(user);
    expect(await reset(user, await emailedCode(user, seen))).toEqual({ success: true });
  });

  it("counts concurrent wrong guesses exactly: ten at once exhaust the code", async () => {
    const seen = interceptEmails();
    const user = await signUp();
    const code = await emailedCode(user, seen);
    const wrong = code === 999999 ? 100000 : code + 1;
    const answers = await Promise.all(Array.from({ length: 10 }, () => reset(user, wrong)));
    expect(answers).toEqual(Array.from({ length: 10 }, () => INCORRECT));
    expect(await reset(user, code)).toEqual(INCORRECT);
  });

  it("lets only one of two concurrent resets with the right code through", async () => {
    const seen = interceptEmails();
    const user = await signUp();
    const code = await emailedCode(user, seen);
    const answers = await Promise.all([reset(user, code, "first-pass"), reset(user, code, "second-pass")]);
    expect(answers.filter((a) => a.success === true)).toHaveLength(1);
    expect(answers.filter((a) => JSON.stringify(a) === JSON.stringify(INCORRECT))).toHaveLength(1);
  });

  it("gives the same 403 for an unknown email, no code, and a malformed token, and validates like SAMA", async () => {
    const seen = interceptEmails();
    const user = await signUp();
    const stranger = { ...user, email: "nobody-here@example.test" };
    expect(await reset(stranger, 123456)).toEqual(INCORRECT);
    expect(await reset(user, 123456)).toEqual(INCORRECT); // no code was ever sent
    await emailedCode(user, seen);
    for (const token of [undefined, "abc", "12345", 12345.5, 1234567, null, { code: 1 }]) expect(await reset(user, token)).toEqual(INCORRECT);
    expect(await reset(user, 123456, "pw")).toEqual({ error: { status: 422, message: "The password entered is incorrect." } });
    expect(await request("user_reset_password", { organization_id: "default", email: user.email, token: 123456, new_password: "good-pass", foo: 1 })).toEqual({
      error: { status: 422, message: '"foo" is not allowed' },
    });
  });
});
