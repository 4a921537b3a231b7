// The Worker Loader engine (HANDLER_ENGINE=worker-loader in this project): the same handler source and
// outcomes as QuickJS. Runaway code is not tested here: the local runtime ignores the loader's CPU limit.
// FETCH leaves through the HandlerOutbound entrypoint, which runs in this Worker's isolate, so a spy on
// the global fetch stands in for the network and records what reached it.
import { afterEach, describe, expect, it, vi } from "vitest";
import { listMessages, nextPacket } from "../../chat/messages-fixtures";
import { chatWithHandler, expectAsk, expectError, samaHandler, sendMessage } from "../fixtures";

/** URLs of the calls that reached the stand-in API (anything else goes out as usual). */
function recordApiCalls(): string[] {
  const seen: string[] = [];
  const realFetch = globalThis.fetch;
  vi.spyOn(globalThis, "fetch").mockImplementation(async (input, init) => {
    const request = new Request(input, init);
    if (!request.url.startsWith("https://api.example.test/")) return realFetch(input, init);
    seen.push(request.url);
    return Response.json({});
  });
  return seen;
}

describe("worker-loader engine", () => {
  it("accepts, rejects, replaces and replies as the QuickJS engine does", async () => {
    const chat = await chatWithHandler(
      samaHandler(`
        if (message.body === "reject") return reject("Not here.");
        if (message.body === "replace") return resolve({ message: { body: "replaced for " + user.login } }, { isReplaceBody: true });
        if (message.body === "reply") return resolve({ message: { body: "bot says hi" } });
        if (message.body === "throw") throw new Error("bug");
        return accept();`),
    );
    const accepted = await expectAsk(sendMessage(chat.memberSocket, chat.cid, { body: "plain" }));
    expect(accepted).toMatchObject({ modified: null, bot_message: null });
    expect(await expectError(sendMessage(chat.memberSocket, chat.cid, { body: "reject" }))).toEqual({ status: 422, message: "Not here." });
    const replaced = await expectAsk(sendMessage(chat.memberSocket, chat.cid, { body: "replace" }));
    expect(replaced.modified).toEqual({ body: `replaced for ${chat.member.login}` });
    expect((await nextPacket(chat.ownerSocket, "message", (m) => m._id === replaced.server_mid)).body).toBe(`replaced for ${chat.member.login}`);
    const replied = await expectAsk(sendMessage(chat.memberSocket, chat.cid, { body: "reply" }));
    expect(replied.bot_message).toMatchObject({ body: "bot says hi", from: "000000000000000000000b07" });
    await expectAsk(sendMessage(chat.memberSocket, chat.cid, { body: "throw" }));
    const bodies = (await listMessages(chat.ownerSocket, { cid: chat.cid })).map((m) => m.body).reverse();
    expect(bodies).toEqual(["plain", `replaced for ${chat.member.login}`, "reply", "bot says hi", "throw"]);
  });

  it("the isolate has no network and no Parley bindings or secrets", async () => {
    const chat = await chatWithHandler(
      samaHandler(`
        let network;
        try { await globalThis.fetch("https://example.test/"); network = "reached"; } catch (e) { network = "blocked"; }
        let viaFetch;
        try { await fetch("ftp://example.test/"); viaFetch = "reached"; } catch (e) { viaFetch = e.message; }
        const probe = { network, viaFetch, envKeys: Object.keys(env).sort(), secret: typeof env.JWT_ACCESS_SECRET, db: typeof globalThis.DB };
        return resolve({ message: { body: JSON.stringify(probe) } });`),
    );
    const ask = await expectAsk(sendMessage(chat.memberSocket, chat.cid, { body: "probe" }));
    expect(JSON.parse((ask.bot_message as Record<string, string>).body!)).toEqual({
      network: "blocked",
      viaFetch: "FETCH: only http and https URLs are allowed",
      envKeys: ["ACCEPT", "FETCH", "MESSAGE", "REJECT", "RESOLVE", "USER"],
      secret: "undefined",
      db: "undefined",
    });
  });

  it("code that does not parse is a throw, as under QuickJS: the message is accepted", async () => {
    const chat = await chatWithHandler("export default {");
    await expectAsk(sendMessage(chat.memberSocket, chat.cid, { body: "after syntax error" }));
    const misplaced = await chatWithHandler(samaHandler("return accept();") + "\nexport const extra = 1;");
    await expectAsk(sendMessage(misplaced.memberSocket, misplaced.cid, { body: "after misplaced export" }));
  });

  it("two conversations with the same handler code do not share its isolate's globals", async () => {
    const code = samaHandler(`
      globalThis.seen = (globalThis.seen ?? 0) + 1;
      return resolve({ message: { body: "seen " + globalThis.seen } });`);
    const first = await chatWithHandler(code);
    const second = await chatWithHandler(code);
    const reply = async (chat: typeof first) =>
      ((await expectAsk(sendMessage(chat.memberSocket, chat.cid, { body: "count" }))).bot_message as Record<string, string>).body;
    expect(await reply(first)).toBe("seen 1");
    expect(await reply(first)).toBe("seen 2");
    expect(await reply(second)).toBe("seen 1");
  });

  it("FETCH goes out through the checked outbound, at most 5 times per message", async () => {
    const seen: Array<{ url: string; method: string; headers: Record<string, string>; body: string }> = [];
    const realFetch = globalThis.fetch;
    vi.spyOn(globalThis, "fetch").mockImplementation(async (input, init) => {
      const request = new Request(input, init);
      if (!request.url.startsWith("https://api.example.test/")) return realFetch(input, init);
      seen.push({ url: request.url, method: request.method, headers: Object.fromEntries(request.headers), body: await request.text() });
      return Response.json({ verdict: request.url.endsWith("/bad") ? "blocked" : "fine" });
    });
    const chat = await chatWithHandler(
      samaHandler(`
        if (message.body === "many") {
          const errors = [];
          for (let i = 0; i < 6; i++) { try { await fetch("https://api.example.test/ok"); } catch (e) { errors.push(e.message); } }
          return resolve({ message: { body: JSON.stringify(errors) } });
        }
        const r = await fetch("https://api.example.test/" + message.body, { method: "POST", headers: { "X-Key": "k1" }, body: JSON.stringify({ text: message.body }) });
        const { verdict } = await r.json();
        return verdict === "blocked" ? reject("Blocked by the checker.") : accept();`),
    );
    expect(await expectError(sendMessage(chat.memberSocket, chat.cid, { body: "bad" }))).toEqual({ status: 422, message: "Blocked by the checker." });
    await expectAsk(sendMessage(chat.memberSocket, chat.cid, { body: "good" }));
    expect(seen.slice(0, 2)).toEqual([
      { url: "https://api.example.test/bad", method: "POST", headers: { "content-type": "text/plain;charset=UTF-8", "x-key": "k1" }, body: '{"text":"bad"}' },
      { url: "https://api.example.test/good", method: "POST", headers: { "content-type": "text/plain;charset=UTF-8", "x-key": "k1" }, body: '{"text":"good"}' },
    ]);
    const many = await expectAsk(sendMessage(chat.memberSocket, chat.cid, { body: "many" }));
    expect(JSON.parse((many.bot_message as Record<string, string>).body!)).toEqual(["FETCH: at most 5 requests per message"]);
    expect(seen).toHaveLength(7);
  });

  it("the handler's module cannot reach the outbound itself: the five-call cap is kept outside the isolate", async () => {
    const seen = recordApiCalls();
    // The isolate's own env (cloudflare:workers) is open to any module in it, the handler's included.
    const chat = await chatWithHandler(
      samaHandler(`
        const { env: isolateEnv } = await import("cloudflare:workers");
        const reached = [];
        for (const binding of Object.values(isolateEnv ?? {})) {
          for (let i = 0; i < 8; i++) {
            try { await binding.request("https://api.example.test/" + i, {}); reached.push(i); } catch (e) {}
          }
        }
        return resolve({ message: { body: JSON.stringify({ bindings: Object.keys(isolateEnv ?? {}), reached: reached.length }) } });`),
    );
    const ask = await expectAsk(sendMessage(chat.memberSocket, chat.cid, { body: "escape" }));
    expect(JSON.parse((ask.bot_message as Record<string, string>).body!)).toEqual({ bindings: [], reached: 0 });
    expect(seen).toEqual([]);
  });

  it("a run that timed out can no longer FETCH, though its isolate may still be running", async () => {
    const seen = recordApiCalls();
    const chat = await chatWithHandler(
      samaHandler(`
        await new Promise((r) => setTimeout(r, 3300));
        await fetch("https://api.example.test/late");
        return accept();`),
    );
    expect(await expectError(sendMessage(chat.memberSocket, chat.cid, { body: "slow" }))).toEqual({
      status: 422,
      message: "Message blocked: the conversation handler failed.",
    });
    await new Promise((resolve) => setTimeout(resolve, 800));
    expect(seen).toEqual([]);
  });
});

afterEach(() => {
  vi.restoreAllMocks();
});
