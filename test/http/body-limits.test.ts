// Body caps on SAMA's JSON routes: a few KiB for /login and /logout, 1 MiB for /admin/*. A body over
// the cap gets 413 before the rest of it is read, whether Content-Length announces it or it comes
// chunked: each body here is several times its cap, and the test counts what was read of it.
import { exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { ORIGIN } from "../helpers/socket";
import { ADMIN_KEY, signUp, unique } from "../helpers/users";

const KiB = 1024;

/** A body of `total` bytes in `chunk`-sized pieces; `pulled()` counts how many were asked for. */
function long(total: number, chunk = 16 * KiB): { body: ReadableStream<Uint8Array>; pulled: () => number } {
  let pulls = 0;
  const body = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (pulls * chunk >= total) return controller.close();
      pulls += 1;
      controller.enqueue(new Uint8Array(chunk).fill(0x20));
    },
  });
  return { body, pulled: () => pulls };
}

function post(path: string, body: BodyInit, headers: Record<string, string> = {}): Promise<Response> {
  return exports.default.fetch(new Request(`${ORIGIN}${path}`, { method: "POST", body, headers: { "Content-Type": "application/json", ...headers } }));
}

const routes: Array<[string, number, Record<string, string>]> = [
  ["/login", 4 * KiB, {}],
  ["/logout", 4 * KiB, {}],
  ["/admin/organization", 1024 * KiB, { "admin-api-key": ADMIN_KEY }],
  ["/admin/message", 1024 * KiB, { "admin-api-key": ADMIN_KEY }],
];

describe("HTTP body limits", () => {
  it.each(routes)("%s: a chunked body past %d bytes gets 413 once the count passes it", async (path, cap, headers) => {
    const { body, pulled } = long(4 * cap);
    const res = await post(path, body, headers);
    expect(res.status).toBe(413);
    expect(await res.text()).toBe("Payload Too Large.");
    // What was read stops just past the cap (a chunk or two of read-ahead), not at the end.
    expect(pulled() * 16 * KiB).toBeLessThanOrEqual(cap + 3 * 16 * KiB);
  });

  it.each(routes)("%s: a Content-Length over %d bytes gets 413 before the body is read", async (path, cap, headers) => {
    const { body, pulled } = long(4 * cap);
    const res = await post(path, body, { ...headers, "Content-Length": String(4 * cap) });
    expect(res.status).toBe(413);
    expect(await res.text()).toBe("Payload Too Large.");
    expect(pulled() * 16 * KiB).toBeLessThanOrEqual(3 * 16 * KiB);
  });

  it("passes a chunked body within the cap on to the route", async () => {
    const user = await signUp();
    const json = JSON.stringify({ organization_id: user.organizationId, login: user.login, password: user.password, device_id: unique("dev") });
    const bytes = new TextEncoder().encode(json);
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(bytes.slice(0, 10));
        controller.enqueue(bytes.slice(10));
        controller.close();
      },
    });
    const res = await post("/login", body);
    expect(res.status).toBe(200);
    expect(((await res.json()) as { user: { _id: string } }).user._id).toBe(user.id);
  });
});
