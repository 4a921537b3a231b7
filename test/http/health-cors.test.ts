// GET /health, the 404 fallback, and CORS with credentials (the configured origin echoed exactly,
// never "*"; any other origin gets no Access-Control-Allow-Origin).
import { describe, expect, it } from "vitest";
import { http } from "../helpers/users";

const ALLOWED = "https://app.example.test"; // CORS_ORIGINS in vitest.config.ts
const OTHER = "https://evil.example.test";

describe("GET /health", () => {
  it("answers 200 JSON with status ok and the hostname", async () => {
    const res = await http("GET", "/health");
    expect(res.status).toBe(200);
    expect(res.headers.get("Content-Type")).toMatch(/^application\/json/);
    expect(res.json).toEqual({ status: "ok", hostname: "parley.test" });
  });
});

describe("unknown routes", () => {
  it.each([
    ["GET", "/nope"],
    ["POST", "/health"],
    ["GET", "/login"],
    ["PUT", "/logout"],
  ])("%s %s answers 404 text/plain Route not found", async (method, path) => {
    const res = await http(method, path);
    expect(res.status).toBe(404);
    expect(res.headers.get("Content-Type")).toMatch(/^text\/plain/);
    expect(res.text).toBe("Route not found");
  });
});

describe("CORS", () => {
  it("echoes the configured origin with credentials on a success", async () => {
    const res = await http("GET", "/health", { headers: { Origin: ALLOWED } });
    expect(res.status).toBe(200);
    expect(res.headers.get("Access-Control-Allow-Origin")).toBe(ALLOWED);
    expect(res.headers.get("Access-Control-Allow-Credentials")).toBe("true");
    expect(res.headers.get("Vary")).toMatch(/Origin/);
  });

  it("echoes the configured origin on errors too (404 and 401)", async () => {
    const notFound = await http("GET", "/nope", { headers: { Origin: ALLOWED } });
    expect(notFound.status).toBe(404);
    expect(notFound.headers.get("Access-Control-Allow-Origin")).toBe(ALLOWED);
    expect(notFound.headers.get("Access-Control-Allow-Credentials")).toBe("true");

    const unauthorized = await http("POST", "/login", { headers: { Origin: ALLOWED }, body: { device_id: "cors-dev" } });
    expect(unauthorized.status).toBe(401);
    expect(unauthorized.text).toBe("Missing authentication credentials.");
    expect(unauthorized.headers.get("Access-Control-Allow-Origin")).toBe(ALLOWED);
    expect(unauthorized.headers.get("Access-Control-Allow-Credentials")).toBe("true");
  });

  it("never answers with the wildcard", async () => {
    for (const origin of [ALLOWED, OTHER, "null"]) {
      const res = await http("GET", "/health", { headers: { Origin: origin } });
      expect(res.headers.get("Access-Control-Allow-Origin")).not.toBe("*");
    }
  });

  it("gives another origin no Access-Control-Allow-Origin", async () => {
    const res = await http("GET", "/health", { headers: { Origin: OTHER } });
    expect(res.status).toBe(200);
    expect(res.headers.get("Access-Control-Allow-Origin")).toBeNull();
    expect(res.headers.get("Access-Control-Allow-Credentials")).toBeNull();
  });

  it("does not treat a prefix or suffix of the configured origin as allowed", async () => {
    for (const origin of ["https://app.example.test.evil.test", "http://app.example.test", "https://app.example.tes"]) {
      const res = await http("GET", "/health", { headers: { Origin: origin } });
      expect(res.headers.get("Access-Control-Allow-Origin")).toBeNull();
    }
  });

  it("gives a request without Origin no Access-Control-Allow-Origin", async () => {
    const res = await http("GET", "/health");
    expect(res.headers.get("Access-Control-Allow-Origin")).toBeNull();
  });

  it("answers an OPTIONS preflight from the allowed origin with 204 and the CORS headers", async () => {
    const res = await http("OPTIONS", "/login", {
      headers: {
        Origin: ALLOWED,
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "Content-Type, Authorization",
      },
    });
    expect(res.status).toBe(204);
    expect(res.text).toBe("");
    expect(res.headers.get("Access-Control-Allow-Origin")).toBe(ALLOWED);
    expect(res.headers.get("Access-Control-Allow-Credentials")).toBe("true");
    const methods = (res.headers.get("Access-Control-Allow-Methods") ?? "").split(",").map((m) => m.trim());
    expect(methods).toEqual(expect.arrayContaining(["POST", "PUT", "DELETE"]));
    const headers = (res.headers.get("Access-Control-Allow-Headers") ?? "").split(",").map((h) => h.trim().toLowerCase());
    expect(headers).toEqual(expect.arrayContaining(["content-type", "authorization", "api-key"]));
  });

  it("answers OPTIONS on any path, including admin ones, without asking for the admin key", async () => {
    const res = await http("OPTIONS", "/admin/organization", { headers: { Origin: ALLOWED } });
    expect(res.status).toBe(204);
    expect(res.headers.get("Access-Control-Allow-Origin")).toBe(ALLOWED);
  });

  it("answers an OPTIONS preflight from another origin with 204 and no allow headers", async () => {
    const res = await http("OPTIONS", "/login", { headers: { Origin: OTHER, "Access-Control-Request-Method": "POST" } });
    expect(res.status).toBe(204);
    expect(res.headers.get("Access-Control-Allow-Origin")).toBeNull();
    expect(res.headers.get("Access-Control-Allow-Credentials")).toBeNull();
    expect(res.headers.get("Access-Control-Allow-Methods")).toBeNull();
  });
});
