// E2EE device keys through real sockets (SAMA-PROTOCOL.md §1.5.11): device_register, device_list,
// request_keys (one one-time pre-key per device and call, never the same key twice, even under
// concurrent requests), device_delete, the 30-day TTL, and SAMA's validation strings.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { Frame, TestSocket } from "../helpers/socket";
import { connectedSocket, createOrganization, signUp, type TestUser } from "../helpers/users";

async function signedIn(deviceId?: string): Promise<{ user: TestUser; socket: TestSocket }> {
  const user = await signUp();
  const { socket } = await connectedSocket(user, deviceId);
  return { user, socket };
}

function bundle(tag: string, preKeys: unknown = [`${tag}-k1`, `${tag}-k2`]) {
  return { identity_key: `${tag}-identity`, signed_key: `${tag}-signed`, one_time_pre_keys: preKeys };
}

async function register(socket: TestSocket, params: Record<string, unknown>): Promise<void> {
  expect(await socket.request("device_register", params)).toMatchObject({ success: true });
}

async function keysOf(socket: TestSocket, userIds: string[]): Promise<Record<string, Frame[]>> {
  const response = await socket.request("request_keys", { user_ids: userIds });
  if (!response.devices) throw new Error(`request_keys failed: ${JSON.stringify(response)}`);
  return response.devices as Record<string, Frame[]>;
}

describe("device_register and device_list", () => {
  it("stores the bundle under the socket's device id and lists the caller's devices", async () => {
    const user = await signUp();
    const { socket: phone } = await connectedSocket(user, "phone-1");
    const { socket: laptop } = await connectedSocket(user, "laptop-1");
    await register(phone, bundle("phone"));
    await register(laptop, bundle("laptop"));
    const listed = await phone.request("device_list", {});
    expect(listed.devices).toEqual([
      { identity_key: "phone-identity", signed_key: "phone-signed", device_id: "phone-1" },
      { identity_key: "laptop-identity", signed_key: "laptop-signed", device_id: "laptop-1" },
    ]);
    // Nobody else's devices.
    const { socket: other } = await signedIn();
    expect((await other.request("device_list", {})).devices).toEqual([]);
  });

  it("replaces the whole bundle when the device registers again", async () => {
    const { user, socket } = await signedIn("dev-r");
    await register(socket, bundle("old", ["old-1", "old-2"]));
    await register(socket, bundle("new", ["new-1"]));
    expect((await socket.request("device_list", {})).devices).toEqual([{ identity_key: "new-identity", signed_key: "new-signed", device_id: "dev-r" }]);
    const { socket: asker } = await signedIn();
    expect((await keysOf(asker, [user.id]))[user.id]).toEqual([{ identity_key: "new-identity", signed_key: "new-signed", device_id: "dev-r", one_time_pre_key: "new-1" }]);
    expect((await keysOf(asker, [user.id]))[user.id]).toEqual([{ identity_key: "new-identity", signed_key: "new-signed", device_id: "dev-r" }]);
  });

  it.each<[string, Record<string, unknown>, string]>([
    ["no identity key", { signed_key: "s" }, "Incorrect identity device key."],
    ["an empty identity key", { identity_key: "", signed_key: "s" }, "Incorrect identity device key."],
    ["a numeric identity key", { identity_key: 5, signed_key: "s" }, "Incorrect identity device key."],
    ["no signed key", { identity_key: "i" }, "Incorrect signed key."],
    ["a signed key that is an object", { identity_key: "i", signed_key: { k: 1 } }, "Incorrect signed key."],
    ["no pre-keys (SAMA requires them)", { identity_key: "i", signed_key: "s" }, "Incorrect one time pre keys."],
    ["null pre-keys", { identity_key: "i", signed_key: "s", one_time_pre_keys: null }, "Incorrect one time pre keys."],
    ["101 pre-keys", { identity_key: "i", signed_key: "s", one_time_pre_keys: Array.from({ length: 101 }, (_, i) => `k${i}`) }, "Incorrect one time pre keys."],
    ["a pre-key of 256 characters", { identity_key: "i", signed_key: "s", one_time_pre_keys: ["x".repeat(256)] }, "Incorrect one time pre keys."],
    ["a pre-key that is a number", { identity_key: "i", signed_key: "s", one_time_pre_keys: [1] }, "Incorrect one time pre keys."],
    ["101 named pre-keys", { identity_key: "i", signed_key: "s", one_time_pre_keys: Object.fromEntries(Array.from({ length: 101 }, (_, i) => [`id${i}`, `k${i}`])) }, "Incorrect one time pre keys."],
    ["pre-keys as a string", { identity_key: "i", signed_key: "s", one_time_pre_keys: "k1" }, "Incorrect one time pre keys."],
    ["an unknown field", { identity_key: "i", signed_key: "s", one_time_pre_keys: [], foo: 1 }, '"foo" is not allowed'],
  ])("refuses %s", async (_name, params, message) => {
    const { socket } = await signedIn();
    expect(await socket.requestError("device_register", params)).toEqual({ status: 422, message });
    expect((await socket.request("device_list", {})).devices).toEqual([]);
  });

  it("accepts 100 pre-keys of 255 characters", async () => {
    const { socket } = await signedIn();
    await register(socket, bundle("max", Array.from({ length: 100 }, (_, i) => `${i}`.padEnd(255, "k"))));
  });

  it("needs a signed-in socket for every E2EE request", async () => {
    const { socket } = await signedIn();
    await socket.request("user_logout", {});
    for (const [action, params] of [
      ["device_register", bundle("x")],
      ["device_list", {}],
      ["request_keys", { user_ids: ["0123456789abcdef01234567"] }],
      ["device_delete", { device_id: "x" }],
      ["message_decryption_failed", { cid: "0123456789abcdef01234567", ids: ["0123456789abcdef01234567"] }],
    ] as const) {
      expect(await socket.requestError(action, params)).toEqual({ status: 401, message: "Unauthorized." });
    }
  });
});

describe("request_keys", () => {
  it("hands out one one-time pre-key per device per call, oldest first, then bundles without one", async () => {
    const bob = await signUp();
    const { socket: bobPhone } = await connectedSocket(bob, "bob-phone");
    const { socket: bobLaptop } = await connectedSocket(bob, "bob-laptop");
    await register(bobPhone, bundle("phone", ["p1", "p2"]));
    await register(bobLaptop, bundle("laptop", ["l1"]));
    const { socket: alice } = await signedIn();
    const phone = { identity_key: "phone-identity", signed_key: "phone-signed", device_id: "bob-phone" };
    const laptop = { identity_key: "laptop-identity", signed_key: "laptop-signed", device_id: "bob-laptop" };
    expect(await keysOf(alice, [bob.id])).toEqual({ [bob.id]: [{ ...phone, one_time_pre_key: "p1" }, { ...laptop, one_time_pre_key: "l1" }] });
    expect(await keysOf(alice, [bob.id])).toEqual({ [bob.id]: [{ ...phone, one_time_pre_key: "p2" }, laptop] });
    expect(await keysOf(alice, [bob.id])).toEqual({ [bob.id]: [phone, laptop] });
  });

  it("returns named pre-keys as {id: key}, in id order", async () => {
    const bob = await signUp();
    const { socket } = await connectedSocket(bob, "named");
    await register(socket, bundle("n", { "17": "key-17", "5": "key-5" }));
    const { socket: alice } = await signedIn();
    expect((await keysOf(alice, [bob.id]))[bob.id]?.[0]?.one_time_pre_key).toEqual({ "5": "key-5" });
    expect((await keysOf(alice, [bob.id]))[bob.id]?.[0]?.one_time_pre_key).toEqual({ "17": "key-17" });
  });

  it("answers only for users with a live device in the caller's organization", async () => {
    const { user: bob, socket: bobSocket } = await signedIn("b1");
    await register(bobSocket, bundle("b"));
    const carol = await signUp();
    const foreignOrg = await createOrganization();
    const stranger = await signUp({ organizationId: foreignOrg });
    const { socket: strangerSocket } = await connectedSocket(stranger, "s1");
    await register(strangerSocket, bundle("s"));
    const { socket: alice } = await signedIn();
    const devices = await keysOf(alice, [bob.id, carol.id, stranger.id, bob.id]);
    expect(Object.keys(devices)).toEqual([bob.id]);
    expect(devices[bob.id]).toHaveLength(1);
    expect(await keysOf(alice, [carol.id])).toEqual({});
    // The stranger's pre-keys were not spent.
    expect((await keysOf(strangerSocket, [stranger.id]))[stranger.id]?.[0]?.one_time_pre_key).toBe("s-k1");
  });

  it("never hands the same pre-key to two concurrent requests", async () => {
    const bob = await signUp();
    const { socket } = await connectedSocket(bob, "busy");
    const keys = Array.from({ length: 24 }, (_, i) => `busy-${i}`);
    await register(socket, bundle("busy", keys));
    // Six askers on their own sockets (their own Session objects), four requests each, all in flight at once.
    const askers = await Promise.all(Array.from({ length: 6 }, () => signedIn().then((s) => s.socket)));
    const answers = await Promise.all(askers.flatMap((asker) => Array.from({ length: 4 }, () => keysOf(asker, [bob.id]))));
    const handedOut = answers.map((a) => a[bob.id]?.[0]?.one_time_pre_key);
    expect(handedOut.every((k) => typeof k === "string")).toBe(true);
    expect([...handedOut].sort()).toEqual([...keys].sort());
    expect((await keysOf(askers[0]!, [bob.id]))[bob.id]?.[0]).not.toHaveProperty("one_time_pre_key");
  });

  it.each<[string, Record<string, unknown>, string]>([
    ["no user_ids", {}, "Incorrect users array."],
    ["user_ids that is not an array", { user_ids: "0123456789abcdef01234567" }, "Incorrect users array."],
    ["an empty list", { user_ids: [] }, "Incorrect users array."],
    ["51 users", { user_ids: Array.from({ length: 51 }, (_, i) => i.toString(16).padStart(24, "0")) }, "Incorrect users array."],
    ["a number among the ids", { user_ids: [42] }, "Incorrect user id."],
    ["an id that is not an object id", { user_ids: ["bob"] }, "Incorrect user id."],
  ])("refuses %s", async (_name, params, message) => {
    const { socket } = await signedIn();
    expect(await socket.requestError("request_keys", params)).toEqual({ status: 422, message });
  });
});

describe("device_delete", () => {
  it("deletes the caller's own bundle and its pre-keys; another user's or an unknown device is 403", async () => {
    const { user: bob, socket: bobSocket } = await signedIn("bob-dev");
    await register(bobSocket, bundle("bob"));
    const { socket: alice } = await signedIn("alice-dev");
    await register(alice, bundle("alice"));
    expect(await alice.requestError("device_delete", { device_id: "bob-dev" })).toEqual({ status: 403, message: "Forbidden." });
    expect(await alice.requestError("device_delete", { device_id: "nothing-here" })).toEqual({ status: 403, message: "Forbidden." });
    expect((await keysOf(alice, [bob.id]))[bob.id]).toHaveLength(1);
    expect(await bobSocket.request("device_delete", { device_id: "bob-dev" })).toMatchObject({ success: true });
    expect((await bobSocket.request("device_list", {})).devices).toEqual([]);
    expect(await keysOf(alice, [bob.id])).toEqual({});
    const left = await env.DB.prepare("SELECT count(*) AS n FROM encrypted_pre_keys WHERE user_id = ?").bind(bob.id).first<{ n: number }>();
    expect(left?.n).toBe(0);
  });

  it("takes a numeric device id and requires one", async () => {
    const { socket } = await signedIn("12345");
    await register(socket, bundle("num"));
    expect(await socket.requestError("device_delete", {})).toEqual({ status: 422, message: '"device_id" is required' });
    expect(await socket.request("device_delete", { device_id: 12345 })).toMatchObject({ success: true });
  });

  it("logout deletes the device's bundle, as SAMA's does; the user's other devices keep theirs", async () => {
    const user = await signUp();
    const { socket: phone } = await connectedSocket(user, "lo-phone");
    const { socket: laptop } = await connectedSocket(user, "lo-laptop");
    await register(phone, bundle("phone"));
    await register(laptop, bundle("laptop"));
    await phone.request("user_logout", {});
    expect((await laptop.request("device_list", {})).devices).toEqual([{ identity_key: "laptop-identity", signed_key: "laptop-signed", device_id: "lo-laptop" }]);
  });
});

describe("the 30-day TTL", () => {
  it("hides an expired bundle from every read, and the next registration deletes it with its pre-keys", async () => {
    const { user: bob, socket: bobSocket } = await signedIn("old-dev");
    await register(bobSocket, bundle("old", ["o1", "o2"]));
    const row = await env.DB.prepare("SELECT expires_at - created_at AS ttl FROM encrypted_devices WHERE user_id = ?").bind(bob.id).first<{ ttl: number }>();
    expect(row?.ttl).toBe(30 * 24 * 3600 * 1000);
    await env.DB.prepare("UPDATE encrypted_devices SET expires_at = ? WHERE user_id = ?").bind(Date.now() - 1, bob.id).run();
    expect((await bobSocket.request("device_list", {})).devices).toEqual([]);
    const { socket: alice } = await signedIn();
    expect(await keysOf(alice, [bob.id])).toEqual({});
    // Expired pre-keys are not spent by the request either.
    const count = async (table: string) => (await env.DB.prepare(`SELECT count(*) AS n FROM ${table} WHERE user_id = ?`).bind(bob.id).first<{ n: number }>())?.n;
    expect(await count("encrypted_pre_keys")).toBe(2);
    await register(alice, bundle("someone-else"));
    expect(await count("encrypted_devices")).toBe(0);
    expect(await count("encrypted_pre_keys")).toBe(0);
  });
});
