// Conversation handlers through real sockets: each outcome of SAMA-PROTOCOL.md §3.8, what the handler
// sees (env.MESSAGE, env.USER without secrets), and idempotent sends.
import { describe, expect, it } from "vitest";
import { clientId, listMessages, nextPacket, OBJECT_ID } from "../chat/messages-fixtures";
import type { Frame } from "../helpers/socket";
import { chatWithHandler, expectAsk, expectError, samaHandler, sendMessage } from "./fixtures";

describe("handler outcomes", () => {
  it("accept() stores the message unchanged and delivers it", async () => {
    const chat = await chatWithHandler(samaHandler("return accept();"));
    const ask = await expectAsk(sendMessage(chat.memberSocket, chat.cid, { body: "plain" }));
    expect(ask).toMatchObject({ modified: null, bot_message: null });
    expect(ask.server_mid).toMatch(OBJECT_ID);
    const delivered = await nextPacket(chat.ownerSocket, "message", (m) => m._id === ask.server_mid);
    expect(delivered.body).toBe("plain");
  });

  it("a handler that decides nothing accepts", async () => {
    const chat = await chatWithHandler(samaHandler("const n = 1 + 1;"));
    const ask = await expectAsk(sendMessage(chat.memberSocket, chat.cid, { body: "nothing" }));
    expect(ask.bot_message).toBeNull();
  });

  it("a module without top-level await decides like any other (env.ACCEPT / env.REJECT called directly)", async () => {
    const chat = await chatWithHandler(`if (env.MESSAGE.body === "no") env.REJECT("Not this one."); else env.ACCEPT();`);
    expect(await expectError(sendMessage(chat.memberSocket, chat.cid, { body: "no" }))).toEqual({ status: 422, message: "Not this one." });
    await expectAsk(sendMessage(chat.memberSocket, chat.cid, { body: "yes" }));
    const exported = await chatWithHandler("export default env.ACCEPT();");
    await expectAsk(sendMessage(exported.memberSocket, exported.cid, { body: "fine" }));
    expect((await listMessages(exported.ownerSocket, { cid: exported.cid })).map((m) => m.body)).toEqual(["fine"]);
  });

  it("reject(reason) refuses with SAMA's frame; an empty reason gives SAMA's default; nothing is stored", async () => {
    const chat = await chatWithHandler(samaHandler(`if (message.body.includes("spam")) return reject("No spam here."); if (message.body === "x") return reject(""); return accept();`));
    const id = clientId();
    const refusal = chat.memberSocket.next((f) => JSON.stringify(f) === JSON.stringify({ message: { id, error: { status: 422, message: "No spam here." } } }));
    chat.memberSocket.send({ message: { id, cid: chat.cid, body: "buy spam" } });
    await refusal;
    expect(await expectError(sendMessage(chat.memberSocket, chat.cid, { body: "x" }))).toEqual({ status: 422, message: "Message blocked by conversation rules." });
    await expectAsk(sendMessage(chat.memberSocket, chat.cid, { body: "fine" }));
    expect((await listMessages(chat.ownerSocket, { cid: chat.cid })).map((m) => m.body)).toEqual(["fine"]);
  });

  it("resolve with isReplaceBody stores and delivers the replacement and reports it in ask.modified", async () => {
    const chat = await chatWithHandler(
      samaHandler(`return resolve({ message: { body: message.body.toUpperCase(), attachments: [{ file_url: "https://cdn.example/a.png", file_width: 10 }] } }, { isReplaceBody: true });`),
    );
    const ask = await expectAsk(sendMessage(chat.memberSocket, chat.cid, { body: "shout", x: { k: 1 } }));
    const replaced = { body: "SHOUT", attachments: [{ file_url: "https://cdn.example/a.png", file_width: 10 }] };
    expect(ask.modified).toEqual(replaced);
    expect(ask.bot_message).toBeNull();
    const delivered = await nextPacket(chat.ownerSocket, "message", (m) => m._id === ask.server_mid);
    expect(delivered).toMatchObject({ ...replaced, x: { k: 1 }, from: chat.member.id });
    const [stored] = await listMessages(chat.ownerSocket, { cid: chat.cid });
    expect(stored).toMatchObject(replaced);
  });

  it("resolve without isReplaceBody stores the original and a bot reply from the organization's bot user", async () => {
    const chat = await chatWithHandler(samaHandler(`return resolve({ message: { body: "Hi " + user.login + ", you said: " + message.body } });`));
    const ask = await expectAsk(sendMessage(chat.memberSocket, chat.cid, { body: "hello bot" }));
    expect(ask.modified).toBeNull();
    const bot = ask.bot_message as Frame;
    expect(bot).toMatchObject({ cid: chat.cid, c_type: "g", from: "000000000000000000000b07", body: `Hi ${chat.member.login}, you said: hello bot` });
    expect(bot._id).toMatch(OBJECT_ID);
    // Both are stored in order and delivered like any message (the sender gets the bot's too).
    const original = await nextPacket(chat.ownerSocket, "message", (m) => m._id === ask.server_mid);
    expect(original.body).toBe("hello bot");
    expect(await nextPacket(chat.ownerSocket, "message", (m) => m._id === bot._id)).toEqual({ ...bot, event_seq: expect.any(Number) });
    expect(await nextPacket(chat.memberSocket, "message", (m) => m._id === bot._id)).toEqual({ ...bot, event_seq: expect.any(Number) });
    const listed = await listMessages(chat.ownerSocket, { cid: chat.cid });
    expect(listed.map((m) => [m._id, m.from])).toEqual([
      [bot._id, "000000000000000000000b07"],
      [ask.server_mid, chat.member.id],
    ]);
    expect((listed[0]!.seq as number) - (listed[1]!.seq as number)).toBe(1);
  });

  it("invalid results are SAMA's 422s: attachment fields, body type; a missing message", async () => {
    const chat = await chatWithHandler(
      samaHandler(`
        if (message.body === "a") return resolve({ message: { body: "ok", attachments: [{ file_id: "x" }] } }, { isReplaceBody: true });
        if (message.body === "b") return resolve({ message: { body: 42 } });
        if (message.body === "c") return resolve({ nothing: true });
        return accept();`),
    );
    expect(await expectError(sendMessage(chat.memberSocket, chat.cid, { body: "a" }))).toEqual({ status: 422, message: "Invalid attachment fields." });
    expect(await expectError(sendMessage(chat.memberSocket, chat.cid, { body: "b" }))).toEqual({ status: 422, message: "Incorrect type of message body." });
    expect(await expectError(sendMessage(chat.memberSocket, chat.cid, { body: "c" }))).toEqual({ status: 422, message: "Incorrect type of message body." });
    expect(await listMessages(chat.ownerSocket, { cid: chat.cid })).toEqual([]);
  });

  it("a repeated client id returns the first ask without running the handler again", async () => {
    // Each run replies with a number that only a second run would change.
    const chat = await chatWithHandler(samaHandler(`globalThis.runs = (globalThis.runs ?? 0) + 1; return resolve({ message: { body: "run " + globalThis.runs + " " + Math.random() } });`));
    const id = clientId();
    const first = await expectAsk(sendMessage(chat.memberSocket, chat.cid, { body: "once" }, id));
    const again = await expectAsk(sendMessage(chat.memberSocket, chat.cid, { body: "once" }, id));
    expect(again).toEqual(first);
    const listed = await listMessages(chat.ownerSocket, { cid: chat.cid });
    expect(listed).toHaveLength(2); // the message and one bot reply
  });

  it("env.MESSAGE is the message without its client id; env.USER is the sender's public record", async () => {
    const chat = await chatWithHandler(samaHandler(`return resolve({ message: { body: JSON.stringify({ message, user }) } });`));
    const ask = await expectAsk(sendMessage(chat.memberSocket, chat.cid, { body: "look", x: { a: [1] } }));
    const seen = JSON.parse((ask.bot_message as Frame).body as string) as { message: Frame; user: Frame };
    expect(seen.message).toEqual({ cid: chat.cid, body: "look", x: { a: [1] } });
    // The public record a stranger gets: no contact details for the owner's code to collect.
    const { email: _email, phone: _phone, ...publicFields } = chat.member.user;
    expect(seen.user).toEqual(publicFields);
    expect(Object.keys(seen.user).join(",")).not.toMatch(/password|salt|hash|organization|device|email|phone/i);
  });

  it("the handler cannot reach Parley's env, secrets or host objects", async () => {
    const chat = await chatWithHandler(
      samaHandler(`
        const probe = {
          envKeys: Object.keys(env).sort(),
          secret: typeof env.JWT_ACCESS_SECRET,
          globals: ["fetch", "process", "require", "caches", "crypto", "WebSocket", "Request", "Response", "setTimeout", "DB", "FILES", "LOADER", "CONVERSATION", "JWT_ACCESS_SECRET"].filter((k) => k in globalThis),
          fn: typeof Function("return this")().DB,
        };
        return resolve({ message: { body: JSON.stringify(probe) } });`),
    );
    const ask = await expectAsk(sendMessage(chat.memberSocket, chat.cid, { body: "probe" }));
    const body = (ask.bot_message as Frame).body as string;
    expect(JSON.parse(body)).toEqual({ envKeys: ["ACCEPT", "FETCH", "MESSAGE", "REJECT", "RESOLVE", "USER"], secret: "undefined", globals: [], fn: "undefined" });
    expect(body).not.toContain("test-access-secret");
  });
});
