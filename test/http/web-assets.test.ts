// The web chat is served from the Worker's static assets (wrangler.toml [assets], built by
// `npm run build:web` before the tests), and the Worker's own routes still answer first.
import { describe, expect, it } from "vitest";
import { TestSocket } from "../helpers/socket";
import { http } from "../helpers/users";

describe("web chat assets", () => {
  it("GET / is the web chat's page, and its script and style are served", async () => {
    const page = await http("GET", "/");
    expect(page.status).toBe(200);
    expect(page.headers.get("Content-Type")).toMatch(/^text\/html/);
    expect(page.text).toContain('<script type="module" src="/app.js">');
    const script = await http("GET", "/app.js");
    expect(script.status).toBe(200);
    expect(script.headers.get("Content-Type")).toMatch(/javascript/);
    expect((await http("GET", "/style.css")).status).toBe(200);
  });

  it("a WebSocket upgrade on / still reaches the chat server, not the page", async () => {
    const socket = await TestSocket.open("/");
    const reply = await socket.request("ping", {});
    expect(reply).toMatchObject({ pong: {} });
  });

  it("the Worker's routes win over assets, and unknown paths stay 404 Route not found", async () => {
    expect((await http("GET", "/health")).status).toBe(200);
    const login = await http("POST", "/login", { body: {} });
    expect(login.status).not.toBe(200);
    const missing = await http("GET", "/no-such-file.js");
    expect(missing.status).toBe(404);
    expect(missing.text).toBe("Route not found");
    const api = await http("GET", "/api/nope");
    expect(api.status).toBe(404);
  });
});
