// POST /login (SAMA-PROTOCOL.md §1.6, DESIGN.md "Tokens"): password, Bearer and refresh-cookie
// logins, refresh-token rotation with its grace window and theft detection, login throttling per
// account+device, and SAMA's legacy password hash upgraded on first login.
import { env } from "cloudflare:workers";
import { SignJWT } from "jose";
import { describe, expect, it } from "vitest";
import { TestSocket, namedGateway, type Frame } from "../helpers/socket";
import { connectAnswer, cookieFrom, expectTextError, http, type HttpResult, type Login, loginHttp, signUp, type TestUser, unique } from "../helpers/users";

const ACCESS_SECRET = "test-access-secret-0123456789abcdef"; // JWT_ACCESS_SECRET in vitest.config.ts
const GRACE_WAIT_MS = 1300; // REFRESH_REUSE_GRACE_SECONDS is 1 in tests

function decodeBase64Url(part: string): string {
  const b64 = part.replace(/-/g, "+").replace(/_/g, "/");
  const padded = b64 + "=".repeat((4 - (b64.length % 4)) % 4);
  return new TextDecoder().decode(Uint8Array.from(atob(padded), (c) => c.charCodeAt(0)));
}

function jwtPart(token: string, index: 0 | 1): Frame {
  const parts = token.split(".");
  expect(parts).toHaveLength(3);
  return JSON.parse(decodeBase64Url(parts[index] ?? "")) as Frame;
}

function passwordBody(user: TestUser, deviceId: string, password = user.password): Record<string, string> {
  return { organization_id: user.organizationId, login: user.login, password, device_id: deviceId };
}

function passwordLogin(user: TestUser, deviceId: string, password = user.password): Promise<HttpResult> {
  return http("POST", "/login", { body: passwordBody(user, deviceId, password) });
}

function cookieLogin(cookie: string, deviceId: string): Promise<HttpResult> {
  return http("POST", "/login", { body: { device_id: deviceId }, headers: { Cookie: cookie } });
}

function bearerLogin(token: string, deviceId: string, cookie?: string): Promise<HttpResult> {
  const headers: Record<string, string> = { Authorization: `Bearer ${token}` };
  if (cookie !== undefined) headers.Cookie = cookie;
  return http("POST", "/login", { body: { device_id: deviceId }, headers });
}

const EXPIRED = { error: { status: 422, message: "The token has expired." } };

function accessTokenOf(res: HttpResult): string {
  const token = res.json?.access_token;
  if (typeof token !== "string") throw new Error(`no access_token in ${res.text}`);
  return token;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

describe("POST /login with a password", () => {
  it("answers the user, a JWT access token, expired_at and a signed refresh cookie", async () => {
    const user = await signUp({ firstName: "Ada", lastName: "Lovelace" });
    const device = unique("dev");
    const before = Date.now();
    const res = await passwordLogin(user, device);
    expect(res.status).toBe(200);
    expect(res.headers.get("Content-Type")).toMatch(/^application\/json/);
    expect(Object.keys(res.json ?? {}).sort()).toEqual(["access_token", "expired_at", "user"]);

    const body = res.json as { user: Frame; access_token: string; expired_at: number };
    expect(body.user).toMatchObject({
      _id: user.id,
      native_id: user.id,
      login: user.login,
      email: user.email,
      first_name: "Ada",
      last_name: "Lovelace",
    });
    expect(body.user._id).toMatch(/^[0-9a-f]{24}$/);
    expect(typeof body.user.recent_activity).toBe("number");
    expect(body.user).not.toHaveProperty("organization_id");
    expect(body.user).not.toHaveProperty("device_id");
    // No password material anywhere in the raw answer.
    for (const field of ["password", "encrypted_password", "password_salt", "password_hash", "pbkdf2", user.password]) {
      expect(res.text).not.toContain(field);
    }

    expect(body.access_token.split(".")).toHaveLength(3);
    expect(jwtPart(body.access_token, 0)).toMatchObject({ alg: "HS256" });
    const claims = jwtPart(body.access_token, 1);
    expect(claims).toMatchObject({
      _id: user.id,
      native_id: user.id,
      login: user.login,
      type: "access",
      org: "default",
      device_id: device,
    });
    expect(typeof claims.exp).toBe("number");
    expect(claims.exp).toBe(body.expired_at / 1000);
    // ACCESS_TOKEN_TTL_SECONDS = 10800 (wrangler.toml).
    expect(body.expired_at).toBeGreaterThanOrEqual(Math.floor(before / 1000) * 1000 + 10800 * 1000);
    expect(body.expired_at).toBeLessThanOrEqual(Date.now() + 10800 * 1000 + 1000);

    const setCookie = res.headers.get("Set-Cookie") ?? "";
    expect(setCookie).toMatch(/^refresh_token=s%3A[^;]+\.[^;]+;/);
    const attributes = setCookie.split(";").map((a) => a.trim());
    expect(attributes).toEqual(
      expect.arrayContaining(["HttpOnly", "Secure", "SameSite=Lax", "Path=/", "Max-Age=1209600"]),
    );
    // The cookie carries a refresh JWT of the same device.
    const signed = decodeURIComponent(cookieFrom(res.headers).slice("refresh_token=".length));
    const refreshJwt = signed.slice(2, signed.lastIndexOf("."));
    expect(jwtPart(refreshJwt, 1)).toMatchObject({ _id: user.id, type: "refresh", device_id: device, org: "default" });
    expect(res.headers.get("Cache-Control")).toBe("no-store");
  });

  it("issues an access token that connects a socket on the same device only", async () => {
    const user = await signUp();
    const device = unique("dev");
    const token = accessTokenOf(await passwordLogin(user, device));
    expect(await connectAnswer(token, unique("dev"))).toEqual(EXPIRED);
    expect(await connectAnswer(token, device)).toEqual({ success: true });
  });

  it("accepts the login case-insensitively", async () => {
    const user = await signUp();
    const res = await http("POST", "/login", {
      body: { ...passwordBody(user, unique("dev")), login: user.login.toUpperCase() },
    });
    expect(res.status).toBe(200);
    expect((res.json?.user as Frame | undefined)?._id).toBe(user.id);
  });

  it("answers 401 for a wrong password", async () => {
    const user = await signUp();
    expectTextError(await passwordLogin(user, unique("dev"), "wrong-password"), 401, "Incorrect username or password.");
  });

  it("answers the same 401 for an unknown login", async () => {
    const res = await http("POST", "/login", {
      body: { organization_id: "default", login: unique("ghost"), password: "whatever", device_id: unique("dev") },
    });
    expectTextError(res, 401, "Incorrect username or password.");
  });

  it("answers 401 for the organization's bot, which has no password", async () => {
    const res = await http("POST", "/login", {
      body: { organization_id: "default", login: "server-chat-bot", password: "anything", device_id: unique("dev") },
    });
    expectTextError(res, 401, "Incorrect username or password.");
  });

  it("answers 422 when device_id is missing", async () => {
    const user = await signUp();
    const body: Record<string, string> = passwordBody(user, "x");
    delete body.device_id;
    expectTextError(await http("POST", "/login", { body }), 422, "'device_id' is required.");
  });

  it("answers 422 for a device_id that is not a string or number", async () => {
    const user = await signUp();
    const res = await http("POST", "/login", { body: { ...passwordBody(user, "x"), device_id: { a: 1 } } });
    expectTextError(res, 422, "'device_id' is required.");
  });

  it("answers 422 device_id for an empty or non-JSON body", async () => {
    expectTextError(await http("POST", "/login"), 422, "'device_id' is required.");
    expectTextError(
      await http("POST", "/login", { body: "device_id=x", headers: { "Content-Type": "application/x-www-form-urlencoded" } }),
      422,
      "'device_id' is required.",
    );
    expectTextError(await http("POST", "/login", { body: "{not json" }), 422, "'device_id' is required.");
  });

  it("accepts a numeric device_id (SAMA stringifies it)", async () => {
    const user = await signUp();
    const res = await http("POST", "/login", { body: { ...passwordBody(user, "x"), device_id: 4242 } });
    expect(res.status).toBe(200);
    expect(jwtPart(accessTokenOf(res), 1).device_id).toBe("4242");
  });

  it("answers 401 Missing authentication credentials with no credentials at all", async () => {
    expectTextError(await http("POST", "/login", { body: { device_id: unique("dev") } }), 401, "Missing authentication credentials.");
  });

  it("answers 401 Missing authentication credentials with only a login (no password)", async () => {
    const user = await signUp();
    const res = await http("POST", "/login", {
      body: { organization_id: "default", login: user.login, device_id: unique("dev") },
    });
    expectTextError(res, 401, "Missing authentication credentials.");
  });

  it("answers 404 for an unknown organization", async () => {
    const user = await signUp();
    const res = await http("POST", "/login", {
      body: { ...passwordBody(user, unique("dev")), organization_id: "000000000000000000000000" },
    });
    expectTextError(res, 404, "Organization not found");
  });
});

describe("POST /login with a Bearer access token", () => {
  it("answers 200 with a new access token for the same user and device", async () => {
    const user = await signUp();
    const first = await loginHttp(user);
    const res = await bearerLogin(first.accessToken, first.deviceId);
    expect(res.status).toBe(200);
    expect((res.json?.user as Frame | undefined)?._id).toBe(user.id);
    const token = accessTokenOf(res);
    expect(token).not.toBe(first.accessToken);
    expect(jwtPart(token, 1)).toMatchObject({ _id: user.id, type: "access", device_id: first.deviceId });
    expect(cookieFrom(res.headers)).not.toBe(first.cookie);
    expect(await connectAnswer(token, first.deviceId)).toEqual({ success: true });
  });

  it("answers 422 The token has expired for an access token of another device", async () => {
    const user = await signUp();
    const first = await loginHttp(user);
    expectTextError(await bearerLogin(first.accessToken, unique("dev")), 422, "The token has expired.");
  });

  it("answers 422 for a garbage Bearer token and no cookie", async () => {
    expectTextError(await bearerLogin("not-a-jwt", unique("dev")), 422, "The token has expired.");
  });

  it("does not accept a refresh token as a Bearer token", async () => {
    const user = await signUp();
    const first = await loginHttp(user);
    const signed = decodeURIComponent(first.cookie.slice("refresh_token=".length));
    const refreshJwt = signed.slice(2, signed.lastIndexOf("."));
    expectTextError(await bearerLogin(refreshJwt, first.deviceId), 422, "The token has expired.");
  });

  it("falls back to a valid refresh cookie when the Bearer token is invalid or expired", async () => {
    const user = await signUp();
    const first = await loginHttp(user);

    const garbage = await bearerLogin("not-a-jwt", first.deviceId, first.cookie);
    expect(garbage.status).toBe(200);
    expect((garbage.json?.user as Frame | undefined)?._id).toBe(user.id);
    const rotated = cookieFrom(garbage.headers);
    expect(rotated).not.toBe(first.cookie);

    // A correctly signed but expired access token of this very user and device.
    const now = Math.floor(Date.now() / 1000);
    const expired = await new SignJWT({
      _id: user.id,
      native_id: user.id,
      login: user.login,
      type: "access",
      org: "default",
      device_id: first.deviceId,
    })
      .setProtectedHeader({ alg: "HS256", typ: "JWT" })
      .setIssuedAt(now - 7200)
      .setExpirationTime(now - 3600)
      .sign(new TextEncoder().encode(ACCESS_SECRET));
    expectTextError(await bearerLogin(expired, first.deviceId), 422, "The token has expired.");
    const viaCookie = await bearerLogin(expired, first.deviceId, rotated);
    expect(viaCookie.status).toBe(200);
    expect((viaCookie.json?.user as Frame | undefined)?._id).toBe(user.id);
    expect(await connectAnswer(accessTokenOf(viaCookie), first.deviceId)).toEqual({ success: true });
  });

  it("lets credentials in the body win over a Bearer token", async () => {
    const user = await signUp();
    const other = await signUp();
    const otherLogin = await loginHttp(other);
    const res = await http("POST", "/login", {
      body: passwordBody(user, otherLogin.deviceId),
      headers: { Authorization: `Bearer ${otherLogin.accessToken}` },
    });
    expect(res.status).toBe(200);
    expect((res.json?.user as Frame | undefined)?._id).toBe(user.id);
  });
});

describe("POST /login with the refresh cookie", () => {
  it("answers 200 and rotates the cookie; the new cookie works again", async () => {
    const user = await signUp();
    const first = await loginHttp(user);

    const second = await cookieLogin(first.cookie, first.deviceId);
    expect(second.status).toBe(200);
    expect((second.json?.user as Frame | undefined)?._id).toBe(user.id);
    const secondCookie = cookieFrom(second.headers);
    expect(secondCookie).not.toBe(first.cookie);
    expect(second.headers.get("Set-Cookie")).toMatch(/HttpOnly/);
    const secondToken = accessTokenOf(second);
    expect(secondToken).not.toBe(first.accessToken);
    expect(await connectAnswer(secondToken, first.deviceId)).toEqual({ success: true });

    const third = await cookieLogin(secondCookie, first.deviceId);
    expect(third.status).toBe(200);
    expect((third.json?.user as Frame | undefined)?._id).toBe(user.id);
    expect(cookieFrom(third.headers)).not.toBe(secondCookie);
  });

  it("answers 422 for a cookie presented with another device_id", async () => {
    const user = await signUp();
    const first = await loginHttp(user);
    expectTextError(await cookieLogin(first.cookie, unique("dev")), 422, "The token has expired.");
  });

  it("still accepts the old cookie within the grace window", async () => {
    const user = await signUp();
    const first = await loginHttp(user);
    const second = await cookieLogin(first.cookie, first.deviceId);
    expect(second.status).toBe(200);

    const again = await cookieLogin(first.cookie, first.deviceId);
    expect(again.status).toBe(200);
    expect((again.json?.user as Frame | undefined)?._id).toBe(user.id);
    const againCookie = cookieFrom(again.headers);
    expect(againCookie).not.toBe(first.cookie);
    expect(againCookie).not.toBe(cookieFrom(second.headers));
    // Both descendants of the raced refresh stay usable.
    expect((await cookieLogin(cookieFrom(second.headers), first.deviceId)).status).toBe(200);
    expect((await cookieLogin(againCookie, first.deviceId)).status).toBe(200);
  });

  it("treats reuse of a rotated cookie after the grace window as theft and revokes the device", async () => {
    const user = await signUp();
    const first = await loginHttp(user);
    const otherDevice = await loginHttp(user);
    const second = await cookieLogin(first.cookie, first.deviceId);
    expect(second.status).toBe(200);
    const newestCookie = cookieFrom(second.headers);
    const newestToken = accessTokenOf(second);
    expect(await connectAnswer(newestToken, first.deviceId)).toEqual({ success: true });
    const live = await TestSocket.open();
    await live.request("connect", { token: newestToken, device_id: first.deviceId });

    await sleep(GRACE_WAIT_MS);

    expectTextError(await cookieLogin(first.cookie, first.deviceId), 422, "The token has expired.");
    // Every token of that device is gone: the newest cookie and both access tokens.
    expectTextError(await cookieLogin(newestCookie, first.deviceId), 422, "The token has expired.");
    expect(await connectAnswer(newestToken, first.deviceId)).toEqual(EXPIRED);
    expect(await connectAnswer(first.accessToken, first.deviceId)).toEqual(EXPIRED);
    expectTextError(await bearerLogin(newestToken, first.deviceId), 422, "The token has expired.");
    // …and the device's live socket is signed out.
    expect(await live.requestError("user_search", { keyword: "x" })).toEqual({ status: 401, message: "Unauthorized." });
    // Another device of the same user is untouched.
    expect(await connectAnswer(otherDevice.accessToken, otherDevice.deviceId)).toEqual({ success: true });
    expect((await cookieLogin(otherDevice.cookie, otherDevice.deviceId)).status).toBe(200);
    // The password still works on the revoked device.
    expect((await passwordLogin(user, first.deviceId)).status).toBe(200);
  });

  it("treats a cookie with a bad signature as absent", async () => {
    const user = await signUp();
    const first = await loginHttp(user);
    const signed = decodeURIComponent(first.cookie.slice("refresh_token=".length));
    const dot = signed.lastIndexOf(".");
    const sig = signed.slice(dot + 1);
    const badSig = (sig.startsWith("A") ? "B" : "A") + sig.slice(1);
    const tampered = `refresh_token=${encodeURIComponent(signed.slice(0, dot + 1) + badSig)}`;
    expectTextError(await cookieLogin(tampered, first.deviceId), 401, "Missing authentication credentials.");

    // Unsigned (the bare JWT) and garbage values are absent too.
    const bare = `refresh_token=${encodeURIComponent(signed.slice(2, dot))}`;
    expectTextError(await cookieLogin(bare, first.deviceId), 401, "Missing authentication credentials.");
    expectTextError(await cookieLogin("refresh_token=garbage", first.deviceId), 401, "Missing authentication credentials.");
    // The untouched cookie still works (the failed attempts did not consume it).
    expect((await cookieLogin(first.cookie, first.deviceId)).status).toBe(200);
  });

  it("finds the refresh cookie among other cookies", async () => {
    const user = await signUp();
    const first = await loginHttp(user);
    const res = await cookieLogin(`theme=dark; ${first.cookie}; lang=en`, first.deviceId);
    expect(res.status).toBe(200);
    expect((res.json?.user as Frame | undefined)?._id).toBe(user.id);
  });
});

describe("POST /login with a token racing its device's logout", () => {
  /** The login held between its credential check and its tokens (at a Gateway's "credential" latch) while `meanwhile` runs. */
  async function loginAround(headers: Record<string, string>, deviceId: string, meanwhile: () => Promise<void>): Promise<HttpResult> {
    const gateway = unique("login-race");
    const held = namedGateway(gateway);
    await held.testHold("credential");
    const answer = http("POST", "/login", { body: { device_id: deviceId }, headers: { ...headers, "x-test-gateway": gateway } });
    await held.testReached("credential");
    await meanwhile();
    await held.testRelease("credential");
    return answer;
  }

  async function logout(login: Login): Promise<void> {
    const res = await http("POST", "/logout", { headers: { Authorization: `Bearer ${login.accessToken}`, Cookie: login.cookie } });
    expect(res.status).toBe(200);
  }

  async function deviceTokens(user: TestUser, deviceId: string): Promise<number> {
    const row = await env.DB.prepare("SELECT count(*) AS n FROM user_tokens WHERE user_id = ? AND device_id = ?").bind(user.id, deviceId).first<{ n: number }>();
    return row?.n ?? -1;
  }

  it("a Bearer login checked just before the logout gets no token", async () => {
    const user = await signUp();
    const login = await loginHttp(user);
    const res = await loginAround({ Authorization: `Bearer ${login.accessToken}` }, login.deviceId, () => logout(login));
    expectTextError(res, 422, "The token has expired.");
    expect(await deviceTokens(user, login.deviceId)).toBe(0);
  });

  it("a refresh-cookie login checked just before the logout gets no token", async () => {
    const user = await signUp();
    const login = await loginHttp(user);
    const res = await loginAround({ Cookie: login.cookie }, login.deviceId, () => logout(login));
    expectTextError(res, 422, "The token has expired.");
    expect(await deviceTokens(user, login.deviceId)).toBe(0);
  });

  it("a held login with no revocation meanwhile is answered as ever", async () => {
    const user = await signUp();
    const login = await loginHttp(user);
    const res = await loginAround({ Cookie: login.cookie }, login.deviceId, async () => undefined);
    expect(res.status).toBe(200);
    expect(await connectAnswer(accessTokenOf(res), login.deviceId)).toEqual({ success: true });
    expect((await cookieLogin(cookieFrom(res.headers), login.deviceId)).status).toBe(200);
  });
});

describe("login throttling", () => {
  it("locks a device after 5 wrong passwords, but not the account's other devices", async () => {
    const user = await signUp();
    const device = unique("dev");
    for (let i = 0; i < 5; i++) {
      expectTextError(await passwordLogin(user, device, `wrong-${i}`), 401, "Incorrect username or password.");
    }
    const locked = "Too many failed login attempts. Try again later.";
    expectTextError(await passwordLogin(user, device), 429, locked);
    expectTextError(await passwordLogin(user, device, "wrong-again"), 429, locked);
    // The lock keys on account+device (not on the login's case).
    const upper = await http("POST", "/login", { body: { ...passwordBody(user, device), login: user.login.toUpperCase() } });
    expectTextError(upper, 429, locked);

    const elsewhere = await passwordLogin(user, unique("dev"));
    expect(elsewhere.status).toBe(200);
    expect((elsewhere.json?.user as Frame | undefined)?._id).toBe(user.id);
  });

  it("does not lock a device that had fewer than 5 failures, and a success resets the count", async () => {
    const user = await signUp();
    const device = unique("dev");
    for (let i = 0; i < 4; i++) expect((await passwordLogin(user, device, "nope")).status).toBe(401);
    expect((await passwordLogin(user, device)).status).toBe(200);
    for (let i = 0; i < 4; i++) expect((await passwordLogin(user, device, "nope")).status).toBe(401);
    expect((await passwordLogin(user, device)).status).toBe(200);
  });

  it("does not lock another account on the same device", async () => {
    const victim = await signUp();
    const bystander = await signUp();
    const device = unique("dev");
    for (let i = 0; i < 5; i++) expect((await passwordLogin(victim, device, "nope")).status).toBe(401);
    expect((await passwordLogin(victim, device)).status).toBe(429);
    expect((await passwordLogin(bystander, device)).status).toBe(200);
  });
});

describe("users imported from SAMA", () => {
  async function samaHash(password: string, salt: string): Promise<string> {
    let h = password + salt;
    for (let i = 0; i < 20; i++) {
      const digest = await crypto.subtle.digest("SHA-512", new TextEncoder().encode(h));
      h = Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
    }
    return h;
  }

  async function importUser(login: string, password: string): Promise<string> {
    const id = Array.from(crypto.getRandomValues(new Uint8Array(12)), (b) => b.toString(16).padStart(2, "0")).join("");
    const salt = "Ab3dEf9hKLmNpQrStUvW"; // 20 chars, like SAMA's base64 salt
    const hex = await samaHash(password, salt);
    expect(hex).toMatch(/^[0-9a-f]{128}$/);
    const now = Date.now();
    await env.DB.prepare(
      `INSERT INTO users (id, organization_id, login, login_key, email, email_key, password_hash, recent_activity,
         is_bot, search_text, created_at, updated_at)
       VALUES (?, 'default', ?, ?, ?, ?, ?, ?, 0, ?, ?, ?)`,
    )
      .bind(
        id,
        login,
        login.toLowerCase(),
        `${login}@example.test`,
        `${login}@example.test`.toLowerCase(),
        `sama$${salt}$${hex}`,
        Math.floor(now / 1000),
        login.toLowerCase(),
        now,
        now,
      )
      .run();
    return id;
  }

  async function storedHash(id: string): Promise<string | null> {
    const row = await env.DB.prepare("SELECT password_hash FROM users WHERE id = ?").bind(id).first<{ password_hash: string | null }>();
    return row?.password_hash ?? null;
  }

  it("logs in with the legacy hash and upgrades it to PBKDF2", async () => {
    const login = unique("Legacy");
    const password = "old-sama-password";
    const id = await importUser(login, password);
    expect(await storedHash(id)).toMatch(/^sama\$/);

    const res = await http("POST", "/login", {
      body: { organization_id: "default", login, password, device_id: unique("dev") },
    });
    expect(res.status).toBe(200);
    expect(res.json?.user).toMatchObject({ _id: id, native_id: id, login });
    expect(res.text).not.toContain("sama$");
    expect(res.text).not.toContain("password");

    const upgraded = await storedHash(id);
    expect(upgraded).toMatch(/^pbkdf2-sha256\$100000\$[A-Za-z0-9+/=]+\$[A-Za-z0-9+/=]+$/);

    // The upgraded hash verifies the same password and still rejects a wrong one.
    expect((await http("POST", "/login", { body: { organization_id: "default", login, password, device_id: unique("dev") } })).status).toBe(200);
    expect(await storedHash(id)).toBe(upgraded);
    expectTextError(
      await http("POST", "/login", { body: { organization_id: "default", login, password: "not-it", device_id: unique("dev") } }),
      401,
      "Incorrect username or password.",
    );
  });

  it("signs in two devices logging in at once with the legacy hash: the one whose upgrade lost follows the other's", async () => {
    const login = unique("Legacy");
    const password = "old-sama-password";
    const id = await importUser(login, password);
    const devices = [unique("dev"), unique("dev"), unique("dev")];
    const answers = await Promise.all(devices.map((device_id) => http("POST", "/login", { body: { organization_id: "default", login, password, device_id } })));
    expect(answers.map((r) => r.status)).toEqual([200, 200, 200]);
    expect(await storedHash(id)).toMatch(/^pbkdf2-sha256\$/);
    for (const [i, res] of answers.entries()) expect(await connectAnswer(res.json?.access_token as string, devices[i]!)).toEqual({ success: true });
  });

  it("rejects a wrong password for an imported user and keeps the legacy hash", async () => {
    const login = unique("Legacy");
    const id = await importUser(login, "right-password");
    const before = await storedHash(id);
    const res = await http("POST", "/login", {
      body: { organization_id: "default", login, password: "wrong-password", device_id: unique("dev") },
    });
    expectTextError(res, 401, "Incorrect username or password.");
    expect(await storedHash(id)).toBe(before);
  });
});
