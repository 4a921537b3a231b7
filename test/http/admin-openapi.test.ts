// GET /openapi.json and GET /docs: the document covers every route the Worker serves (made from the
// same declarations), every admin route has its key, body schema, example and answers, and the
// viewer is one self-contained page. Both need no admin key, and are 404 unless DOCS_ENABLED.
import { describe, expect, it } from "vitest";
import { buildApp } from "../../src/http/app";
import { isRecord, type Frame } from "../helpers/socket";
import { expectTextError, http } from "../helpers/users";
import { ADMIN_ROUTES, admin, fetchWithEnv, okJson, request } from "./admin-fixtures";

function obj(value: unknown, what: string): Frame {
  if (!isRecord(value)) throw new Error(`${what}: expected an object, got ${JSON.stringify(value)}`);
  return value;
}

async function openApi(): Promise<Frame> {
  const res = await http("GET", "/openapi.json");
  expect(res.headers.get("Content-Type")).toMatch(/^application\/json/);
  return okJson(res);
}

/** The operation object of `method path` (Hono's `:param` → OpenAPI's `{param}`). */
function operation(doc: Frame, method: string, path: string): Frame {
  const item = obj(obj(doc.paths, "paths")[path.replace(/:(\w+)/g, "{$1}")], `${path}`);
  return obj(item[method.toLowerCase()], `${method} ${path}`);
}

describe("GET /openapi.json", () => {
  it("is an OpenAPI 3.1 document served without an admin key", async () => {
    const doc = await openApi();
    expect(doc.openapi).toBe("3.1.0");
    expect(obj(doc.info, "info")).toMatchObject({ title: expect.any(String) as unknown, version: expect.any(String) as unknown });
    expect(obj(obj(doc.components, "components").securitySchemes, "securitySchemes").adminApiKey).toEqual({ type: "apiKey", in: "header", name: "admin-api-key" });
    // Schemas are inline: no reference left to resolve.
    expect(JSON.stringify(doc)).not.toContain("$ref");
  });

  it("documents exactly the routes the Worker serves", async () => {
    const doc = await openApi();
    const documented = Object.entries(obj(doc.paths, "paths")).flatMap(([path, item]) => Object.keys(obj(item, path)).map((m) => `${m.toUpperCase()} ${path}`));
    const served = buildApp()
      .routes.filter((r) => r.method !== "ALL")
      .map((r) => `${r.method} ${r.path.replace(/:(\w+)/g, "{$1}")}`);
    expect([...new Set(documented)].sort()).toEqual([...new Set(served)].sort());
    for (const route of ["POST /login", "POST /logout", "GET /health", "PUT /files/{object_id}", "GET /files/{object_id}", "GET /docs"]) {
      expect(documented).toContain(route);
    }
  });

  it("gives every admin route its key, a non-empty body schema with an example, and its answers", async () => {
    const doc = await openApi();
    for (const route of ADMIN_ROUTES) {
      const op = operation(doc, route.method, route.path);
      const what = `${route.method} ${route.path}`;
      expect({ what, security: op.security }).toEqual({ what, security: [{ adminApiKey: [] }] });
      expect(typeof op.summary).toBe("string");
      const responses = obj(op.responses, what);
      const success = Object.entries(responses).find(([status]) => status.startsWith("2"));
      const successSchema = obj(obj(obj(obj(success?.[1], what).content, what)["application/json"], what).schema, what);
      expect(Object.keys(successSchema).length).toBeGreaterThan(0);
      expect(obj(obj(obj(responses["401"], what).content, what)["text/plain"], what).schema).toEqual({ type: "string", examples: ["Unauthorized."] });
      if (route.method === "GET") continue;
      const media = obj(obj(obj(op.requestBody, what).content, what)["application/json"], what);
      const schema = obj(media.schema, what);
      expect({ what, type: schema.type }).toEqual({ what, type: "object" });
      expect(Object.keys(obj(schema.properties, what)).length).toBeGreaterThan(0);
      expect(media.example).toBeDefined();
    }
    // The inner objects are the WebSocket requests' own schemas.
    const send = obj(obj(obj(operation(doc, "POST", "/admin/message").requestBody, "body").content, "c")["application/json"], "m");
    const sendSchema = obj(send.schema, "schema");
    expect(sendSchema.required).toEqual(["organizationId", "senderId", "message"]);
    expect(obj(obj(sendSchema.properties, "p").message, "message").required).toEqual(["cid"]);
    const stats = operation(doc, "GET", "/admin/server-stats");
    expect(stats.parameters).toEqual([expect.objectContaining({ name: "format", in: "query", required: false })]);
  });

  it("has examples that pass their route's validation", async () => {
    const doc = await openApi();
    for (const route of ADMIN_ROUTES.filter((r) => r.method !== "GET")) {
      const op = operation(doc, route.method, route.path);
      const example = obj(obj(obj(op.requestBody, "b").content, "c")["application/json"], "m").example;
      const res = await admin(route.method, route.path, example);
      // Placeholder ids get as far as the user lookup; anything else must be accepted.
      const outcome = res.status === 422 ? res.text : "accepted";
      expect({ route, outcome }).toEqual({ route, outcome: res.status === 422 ? "The specified user is incorrect." : "accepted" });
      expect(res.status).toBeLessThan(500);
    }
  });
});

describe("GET /docs", () => {
  it("is one HTML page with no external URL, whose inline script the CSP allows by hash", async () => {
    const res = await http("GET", "/docs");
    expect(res.status).toBe(200);
    expect(res.headers.get("Content-Type")).toMatch(/^text\/html/);
    expect(res.text).not.toMatch(/https?:|\/\/[a-z]|\bsrc=|\bhref=|@import/i);
    expect(res.text).toContain("/openapi.json");
    expect(res.text).toContain('id="key"'); // the admin key field of the "try it" form
    const csp = res.headers.get("Content-Security-Policy") ?? "";
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("connect-src 'self'");
    const script = /<script>([\s\S]*)<\/script>/.exec(res.text)?.[1] ?? "";
    const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(script)));
    expect(csp).toContain(`script-src 'sha256-${btoa(String.fromCharCode(...digest))}'`);
  });

  it("and /openapi.json are a plain 404 when DOCS_ENABLED is not set", async () => {
    for (const value of [undefined, "", "false"]) {
      for (const path of ["/docs", "/openapi.json"]) {
        const res = await fetchWithEnv({ DOCS_ENABLED: value }, request("GET", path));
        expectTextError({ status: res.status, text: await res.text(), json: null, headers: res.headers }, 404, "Route not found");
      }
    }
    const on = await fetchWithEnv({ DOCS_ENABLED: "true" }, request("GET", "/openapi.json"));
    expect(on.status).toBe(200);
  });
});
