// Accounts for tests, made through the public protocol (user_create over a socket, POST /login).
import { exports } from "cloudflare:workers";
import { expect } from "vitest";
import { ORIGIN, TestSocket, type Frame } from "./socket";

let counter = 0;

/** A short unique suffix (logins are 3..40 chars). */
export function unique(prefix = "u"): string {
  counter += 1;
  return `${prefix}${counter}${Math.random().toString(36).slice(2, 7)}`;
}

export interface TestUser {
  id: string;
  login: string;
  password: string;
  email: string;
  organizationId: string;
  user: Frame;
}

export async function signUp(options: { organizationId?: string; firstName?: string; lastName?: string; login?: string } = {}): Promise<TestUser> {
  const login = options.login ?? unique();
  const password = "pass-" + login;
  const email = `${login}@example.test`;
  const organizationId = options.organizationId ?? "default";
  const socket = await TestSocket.open();
  const params: Record<string, string> = { organization_id: organizationId, login, password, email };
  if (options.firstName) params.first_name = options.firstName;
  if (options.lastName) params.last_name = options.lastName;
  const response = await socket.request("user_create", params);
  socket.close();
  const user = response.user as Frame | undefined;
  if (!user) throw new Error(`user_create failed: ${JSON.stringify(response)}`);
  return { id: user._id as string, login, password, email, organizationId, user };
}

export interface HttpResult {
  status: number;
  text: string;
  json: Frame | null;
  headers: Headers;
}

export async function http(method: string, path: string, init: { body?: unknown; headers?: Record<string, string> } = {}): Promise<HttpResult> {
  const headers: Record<string, string> = { ...init.headers };
  let body: string | undefined;
  if (init.body !== undefined) {
    headers["Content-Type"] ??= "application/json";
    body = typeof init.body === "string" ? init.body : JSON.stringify(init.body);
  }
  const res = await exports.default.fetch(new Request(`${ORIGIN}${path}`, { method, headers, body }));
  const text = await res.text();
  let json: Frame | null = null;
  try {
    json = JSON.parse(text) as Frame;
  } catch {
    json = null;
  }
  return { status: res.status, text, json, headers: res.headers };
}

/** The `refresh_token=…` pair from a Set-Cookie header, ready for a Cookie header. */
export function cookieFrom(headers: Headers): string {
  const setCookie = headers.get("Set-Cookie") ?? "";
  const pair = setCookie.split(";")[0] ?? "";
  if (!pair.startsWith("refresh_token=")) throw new Error(`no refresh cookie in ${setCookie}`);
  return pair;
}

export interface Login {
  accessToken: string;
  cookie: string;
  expiredAt: number;
  deviceId: string;
}

export async function loginHttp(user: TestUser, deviceId = unique("dev")): Promise<Login> {
  const res = await http("POST", "/login", {
    body: { organization_id: user.organizationId, login: user.login, password: user.password, device_id: deviceId },
  });
  if (res.status !== 200 || !res.json) throw new Error(`login failed: ${res.status} ${res.text}`);
  return { accessToken: res.json.access_token as string, cookie: cookieFrom(res.headers), expiredAt: res.json.expired_at as number, deviceId };
}

/** A socket signed in as `user` the modern way: HTTP /login, then `connect`. */
export async function connectedSocket(user: TestUser, deviceId = unique("dev"), gateway?: string): Promise<{ socket: TestSocket; login: Login }> {
  const login = await loginHttp(user, deviceId);
  const socket = await TestSocket.open("/", gateway);
  const response = await socket.request("connect", { token: login.accessToken, device_id: deviceId });
  if (response.success !== true) throw new Error(`connect failed: ${JSON.stringify(response)}`);
  return { socket, login };
}

export const ADMIN_KEY = "test-admin-key";

export async function createOrganization(name = unique("org")): Promise<string> {
  const res = await http("POST", "/admin/organization", { body: { name }, headers: { "admin-api-key": ADMIN_KEY } });
  const org = res.json?.organization as Frame | undefined;
  if (!org) throw new Error(`organization create failed: ${res.status} ${res.text}`);
  return org._id as string;
}

/** The `connect` answer for an access token on a fresh socket: {success:true} or {error:{status,message}}. */
export async function connectAnswer(token: string, deviceId: string): Promise<Frame> {
  const socket = await TestSocket.open();
  const response = await socket.request("connect", { token, device_id: deviceId });
  delete response.id;
  return response;
}

/** A SAMA-route HTTP error: the status, a text/plain message, and no cookie. */
export function expectTextError(res: HttpResult, status: number, message: string): void {
  expect({ status: res.status, text: res.text }).toEqual({ status, text: message });
  expect(res.headers.get("Content-Type")).toMatch(/^text\/plain/);
  expect(res.headers.get("Set-Cookie")).toBeNull();
}
