// The admin-api-key guard on every admin route: the right key passes, a wrong or missing key is 401,
// and with ADMIN_API_KEY not configured every call is 401 whatever is sent (SAMA lets
// `undefined === undefined` through; Parley does not). The unconfigured case runs the real Worker
// code and bindings with only that secret removed from the environment it is given.
import { describe, expect, it } from "vitest";
import { ADMIN_KEY, expectTextError } from "../helpers/users";
import { ADMIN_ROUTES, admin, fetchWithEnv, request } from "./admin-fixtures";

describe("admin key guard on every admin route", () => {
  it("lets the right key through to the route (its own validation or answer, never 401)", async () => {
    for (const route of ADMIN_ROUTES) {
      const res = await admin(route.method, route.path, route.method === "GET" ? undefined : {});
      if (route.method === "GET") expect({ route, status: res.status }).toEqual({ route, status: 200 });
      else expect({ route, status: res.status, text: res.text }).toEqual({ route, status: 422, text: expect.stringMatching(/is required$/) as unknown });
    }
  });

  it("answers 401 Unauthorized. for a wrong key and without the header, before reading the body", async () => {
    for (const route of ADMIN_ROUTES) {
      for (const key of ["wrong", ADMIN_KEY.toUpperCase(), `${ADMIN_KEY}x`, null]) {
        const res = await admin(route.method, route.path, route.method === "GET" ? undefined : {}, key);
        expect({ route, key, status: res.status, text: res.text }).toEqual({ route, key, status: 401, text: "Unauthorized." });
      }
    }
  });

  it("answers 401 on every route when ADMIN_API_KEY is not configured, with or without a key", async () => {
    for (const changes of [{ ADMIN_API_KEY: undefined }, { ADMIN_API_KEY: "" }]) {
      for (const route of ADMIN_ROUTES) {
        const headerSets: Record<string, string>[] = [{}, { "admin-api-key": ADMIN_KEY }, { "admin-api-key": "undefined" }, { "admin-api-key": "" }];
        for (const headers of headerSets) {
          const res = await fetchWithEnv(changes, request(route.method, route.path, headers, route.method === "GET" ? undefined : { name: "x" }));
          const text = await res.text();
          expect({ route, headers, status: res.status, text }).toEqual({ route, headers, status: 401, text: "Unauthorized." });
          expect(res.headers.get("Content-Type")).toMatch(/^text\/plain/);
        }
      }
    }
  });

  it("still serves a route through the changed environment when the key is configured (the override itself works)", async () => {
    const res = await fetchWithEnv({ ADMIN_API_KEY: "another-key" }, request("GET", "/admin/server-stats", { "admin-api-key": "another-key" }));
    expect(res.status).toBe(200);
    const old = await fetchWithEnv({ ADMIN_API_KEY: "another-key" }, request("GET", "/admin/server-stats", { "admin-api-key": ADMIN_KEY }));
    expectTextError({ status: old.status, text: await old.text(), json: null, headers: old.headers }, 401, "Unauthorized.");
  });
});
