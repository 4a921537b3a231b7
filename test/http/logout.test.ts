// POST /logout (SAMA-PROTOCOL.md §1.6): needs the Bearer access token and the refresh cookie of the
// same device, revokes every token of that device only, and clears the cookie.
import { describe, expect, it } from "vitest";
import { TestSocket, isRecord, type Frame } from "../helpers/socket";
import { connectAnswer, connectedSocket, expectTextError, http, type HttpResult, type Login, loginHttp, signUp, unique } from "../helpers/users";

function logout(init: { token?: string; cookie?: string }): Promise<HttpResult> {
  const headers: Record<string, string> = {};
  if (init.token !== undefined) headers.Authorization = `Bearer ${init.token}`;
  if (init.cookie !== undefined) headers.Cookie = init.cookie;
  return http("POST", "/logout", { headers });
}

function cookieLogin(login: Login): Promise<HttpResult> {
  return http("POST", "/login", { body: { device_id: login.deviceId }, headers: { Cookie: login.cookie } });
}

const EXPIRED = { error: { status: 422, message: "The token has expired." } };

/** What an authenticated request on `socket` gets now: its answer, or "closed" if the socket was closed. */
async function authedOutcome(socket: TestSocket): Promise<Frame | "closed"> {
  if (socket.ws.readyState !== WebSocket.OPEN) return "closed";
  const closed = new Promise<"closed">((resolve) => socket.ws.addEventListener("close", () => resolve("closed")));
  const answer = socket.request("user_search", { keyword: "zz-nobody" }).then((response) => {
    delete response.id;
    return response;
  });
  return Promise.race([answer, closed]);
}

function sessionEnded(outcome: Frame | "closed"): boolean {
  if (outcome === "closed") return true;
  return isRecord(outcome.error) && outcome.error.status === 401 && outcome.error.message === "Unauthorized.";
}

describe("POST /logout", () => {
  it("answers {success:true}, clears the cookie and revokes the device's tokens", async () => {
    const user = await signUp();
    const session = await loginHttp(user);
    expect(await connectAnswer(session.accessToken, session.deviceId)).toEqual({ success: true });

    const res = await logout({ token: session.accessToken, cookie: session.cookie });
    expect(res.status).toBe(200);
    expect(res.headers.get("Content-Type")).toMatch(/^application\/json/);
    expect(res.json).toEqual({ success: true });
    const setCookie = res.headers.get("Set-Cookie") ?? "";
    expect(setCookie).toMatch(/^refresh_token=;/);
    const attributes = setCookie.split(";").map((a) => a.trim());
    expect(attributes).toEqual(expect.arrayContaining(["Max-Age=0", "Path=/", "HttpOnly", "Secure", "SameSite=Lax"]));

    expect(await connectAnswer(session.accessToken, session.deviceId)).toEqual(EXPIRED);
    expectTextError(await cookieLogin(session), 422, "The token has expired.");
    const bearer = await http("POST", "/login", {
      body: { device_id: session.deviceId },
      headers: { Authorization: `Bearer ${session.accessToken}` },
    });
    expectTextError(bearer, 422, "The token has expired.");
  });

  it("cannot be repeated with the revoked tokens", async () => {
    const user = await signUp();
    const session = await loginHttp(user);
    expect((await logout({ token: session.accessToken, cookie: session.cookie })).status).toBe(200);
    expectTextError(await logout({ token: session.accessToken, cookie: session.cookie }), 401, "Missing authentication credentials.");
  });

  it("answers 401 without a Bearer token", async () => {
    const user = await signUp();
    const session = await loginHttp(user);
    expectTextError(await logout({ cookie: session.cookie }), 401, "Missing authentication credentials.");
    expectTextError(await logout({}), 401, "Missing authentication credentials.");
    // Nothing was revoked.
    expect(await connectAnswer(session.accessToken, session.deviceId)).toEqual({ success: true });
  });

  it("answers 401 for a Bearer token that is not a valid access token", async () => {
    const user = await signUp();
    const session = await loginHttp(user);
    expectTextError(await logout({ token: "not-a-jwt", cookie: session.cookie }), 401, "Missing authentication credentials.");
    const signed = decodeURIComponent(session.cookie.slice("refresh_token=".length));
    const refreshJwt = signed.slice(2, signed.lastIndexOf("."));
    expectTextError(await logout({ token: refreshJwt, cookie: session.cookie }), 401, "Missing authentication credentials.");
  });

  it("answers 422 Incorrect token with a Bearer token but no cookie", async () => {
    const user = await signUp();
    const session = await loginHttp(user);
    expectTextError(await logout({ token: session.accessToken }), 422, "Incorrect token.");
    // Nothing was revoked.
    expect(await connectAnswer(session.accessToken, session.deviceId)).toEqual({ success: true });
  });

  it("answers 422 Incorrect token with a cookie of another device or a badly signed cookie", async () => {
    const user = await signUp();
    const session = await loginHttp(user);
    const otherDevice = await loginHttp(user);
    expectTextError(await logout({ token: session.accessToken, cookie: otherDevice.cookie }), 422, "Incorrect token.");

    const signed = decodeURIComponent(session.cookie.slice("refresh_token=".length));
    const tampered = `refresh_token=${encodeURIComponent(signed.slice(0, -2) + (signed.endsWith("AA") ? "BB" : "AA"))}`;
    expectTextError(await logout({ token: session.accessToken, cookie: tampered }), 422, "Incorrect token.");

    expect(await connectAnswer(session.accessToken, session.deviceId)).toEqual({ success: true });
    expect(await connectAnswer(otherDevice.accessToken, otherDevice.deviceId)).toEqual({ success: true });
  });

  it("answers 422 Incorrect token with another user's cookie", async () => {
    const alice = await signUp();
    const bob = await signUp();
    const device = unique("dev");
    const aliceSession = await loginHttp(alice, device);
    const bobSession = await loginHttp(bob, device);
    expectTextError(await logout({ token: aliceSession.accessToken, cookie: bobSession.cookie }), 422, "Incorrect token.");
    expect(await connectAnswer(bobSession.accessToken, device)).toEqual({ success: true });
  });

  it("revokes only that device: another device of the same user keeps working", async () => {
    const user = await signUp();
    const phone = await loginHttp(user);
    const laptop = await loginHttp(user);

    expect((await logout({ token: phone.accessToken, cookie: phone.cookie })).status).toBe(200);

    expect(await connectAnswer(phone.accessToken, phone.deviceId)).toEqual(EXPIRED);
    expect(await connectAnswer(laptop.accessToken, laptop.deviceId)).toEqual({ success: true });
    const refreshed = await cookieLogin(laptop);
    expect(refreshed.status).toBe(200);
    expect((refreshed.json?.user as Frame | undefined)?._id).toBe(user.id);
  });

  it("lets the device log in again with the password afterwards", async () => {
    const user = await signUp();
    const session = await loginHttp(user);
    expect((await logout({ token: session.accessToken, cookie: session.cookie })).status).toBe(200);
    const again = await loginHttp(user, session.deviceId);
    expect(again.accessToken).not.toBe(session.accessToken);
    expect(await connectAnswer(again.accessToken, again.deviceId)).toEqual({ success: true });
  });

  // SAMA-PROTOCOL.md §1.6: "if a live socket for (user, device) exists on this node → full
  // user_logout on it"; DESIGN.md: logout makes every token of the device stop working at once.
  it("ends the live socket session of the logged-out device, and only that one", async () => {
    const user = await signUp();
    const phone = await connectedSocket(user);
    const laptop = await connectedSocket(user);
    expect(await authedOutcome(phone.socket)).toEqual({ users: [] });

    const res = await logout({ token: phone.login.accessToken, cookie: phone.login.cookie });
    expect(res.status).toBe(200);

    const outcome = await authedOutcome(phone.socket);
    expect({ outcome, ended: sessionEnded(outcome) }).toEqual({ outcome, ended: true });
    expect(await authedOutcome(laptop.socket)).toEqual({ users: [] });
  });
});
