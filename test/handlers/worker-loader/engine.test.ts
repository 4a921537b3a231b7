// The Worker Loader engine (HANDLER_ENGINE=worker-loader in this project): the same handler source and
// outcomes as QuickJS. Runaway code is not tested here: the local runtime ignores the loader's CPU limit.
import { describe, expect, it } from "vitest";
import { listMessages, nextPacket } from "../../chat/messages-fixtures";
import { chatWithHandler, expectAsk, expectError, samaHandler, sendMessage } from "../fixtures";

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
        try { await fetch("https://example.test/"); viaFetch = "reached"; } catch (e) { viaFetch = e.message; }
        const probe = { network, viaFetch, envKeys: Object.keys(env).sort(), secret: typeof env.JWT_ACCESS_SECRET, db: typeof globalThis.DB };
        return resolve({ message: { body: JSON.stringify(probe) } });`),
    );
    const ask = await expectAsk(sendMessage(chat.memberSocket, chat.cid, { body: "probe" }));
    expect(JSON.parse((ask.bot_message as Record<string, string>).body!)).toEqual({
      network: "blocked",
      viaFetch: "FETCH is not available on this engine",
      envKeys: ["ACCEPT", "FETCH", "MESSAGE", "REJECT", "RESOLVE", "USER"],
      secret: "undefined",
      db: "undefined",
    });
  });
});
