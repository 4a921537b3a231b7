// FETCH from a handler against a fake network (bound through the TEST_HOOKS hook): what reaches the
// network, http(s) only, the timeout, and arrival order kept while a handler awaits.
import { describe, expect, it } from "vitest";
import { listMessages } from "../chat/messages-fixtures";
import { TestSocket } from "../helpers/socket";
import { chatWithHandler, expectAsk, expectError, fakeNetwork, samaHandler, sendMessage, useFakeNetwork } from "./fixtures";

const json = (value: unknown) => new Response(JSON.stringify(value), { headers: { "Content-Type": "application/json" } });

describe("FETCH", () => {
  it("reaches the network as asked, before and after other awaits, and its answer decides", async () => {
    const chat = await chatWithHandler(
      samaHandler(`
        const first = await fetch("https://api.example.test/check?text=" + encodeURIComponent(message.body), { method: "POST", headers: { "X-Key": "k1" }, body: JSON.stringify({ text: message.body }) });
        const verdict = await first.json();
        const second = await fetch("http://api.example.test/plain");
        const text = await second.text();
        return verdict.ok ? resolve({ message: { body: text + " " + first.status } }) : reject(verdict.reason);`),
    );
    const network = fakeNetwork((url) => (url.includes("/check") ? json(url.includes("bad") ? { ok: false, reason: "Rejected by API." } : { ok: true }) : new Response("plain answer")));
    await useFakeNetwork(chat.cid, network.fetchFn);

    const ask = await expectAsk(sendMessage(chat.memberSocket, chat.cid, { body: "good words" }));
    expect((ask.bot_message as Record<string, unknown>).body).toBe("plain answer 200");
    expect(await expectError(sendMessage(chat.memberSocket, chat.cid, { body: "bad words" }))).toEqual({ status: 422, message: "Rejected by API." });
    expect(network.requests).toEqual([
      { url: "https://api.example.test/check?text=good%20words", method: "POST", headers: { "X-Key": "k1" }, body: '{"text":"good words"}' },
      { url: "http://api.example.test/plain", method: "GET", headers: {}, body: null },
      { url: "https://api.example.test/check?text=bad%20words", method: "POST", headers: { "X-Key": "k1" }, body: '{"text":"bad words"}' },
      { url: "http://api.example.test/plain", method: "GET", headers: {}, body: null },
    ]);
  });

  it("only http(s) URLs leave; other schemes, a slow answer and a large answer are errors inside the handler", async () => {
    const chat = await chatWithHandler(
      samaHandler(`
        const tries = [];
        for (const url of ["file:///etc/passwd", "data:text/plain,hi", "ftp://x.test/", "not a url", "https://slow.example.test/", "https://big.example.test/"]) {
          try { await fetch(url); tries.push("fetched " + url); } catch (e) { tries.push(e.message); }
        }
        return resolve({ message: { body: JSON.stringify(tries) } });`),
    );
    const network = fakeNetwork(
      (url) => new Response(url.includes("big") ? "x".repeat(300 * 1024) : "late"),
      (url) => (url.includes("slow") ? 2500 : 0),
    );
    await useFakeNetwork(chat.cid, network.fetchFn);
    const ask = await expectAsk(sendMessage(chat.memberSocket, chat.cid, { body: "try" }));
    expect(JSON.parse((ask.bot_message as Record<string, string>).body!)).toEqual([
      "FETCH: only http and https URLs are allowed",
      "FETCH: only http and https URLs are allowed",
      "FETCH: only http and https URLs are allowed",
      "FETCH: invalid URL",
      "FETCH: no answer within 2000 ms",
      "FETCH: the response is larger than 262144 bytes",
    ]);
    expect(network.requests.map((r) => r.url)).toEqual(["https://slow.example.test/", "https://big.example.test/"]);
  });

  it("keeps arrival order: quick sends wait for a slow handler run before them", async () => {
    const chat = await chatWithHandler(samaHandler(`await fetch("https://api.example.test/" + message.body); return accept();`));
    const network = fakeNetwork(() => new Response("ok"), (url) => (url.endsWith("slow") ? 600 : 0));
    await useFakeNetwork(chat.cid, network.fetchFn);
    const ownerTab = chat.ownerSocket;
    const otherTab: TestSocket = chat.memberSocket;
    // Warm up each sender (the object keeps the sender's card for a minute).
    await expectAsk(sendMessage(ownerTab, chat.cid, { body: "warm-owner" }));
    await expectAsk(sendMessage(otherTab, chat.cid, { body: "warm-member" }));

    const slow = sendMessage(otherTab, chat.cid, { body: "slow" });
    while (!network.requests.some((r) => r.url.endsWith("slow"))) await new Promise((resolve) => setTimeout(resolve, 5));
    const quick = [sendMessage(ownerTab, chat.cid, { body: "quick1" })];
    await new Promise((resolve) => setTimeout(resolve, 20));
    quick.push(sendMessage(ownerTab, chat.cid, { body: "quick2" }));
    const [slowAsk, ...quickAsks] = await Promise.all([expectAsk(slow), ...quick.map((q) => expectAsk(q))]);
    const listed = await listMessages(ownerTab, { cid: chat.cid, limit: 10 });
    expect(listed.map((m) => m.body).reverse()).toEqual(["warm-owner", "warm-member", "slow", "quick1", "quick2"]);
    expect([slowAsk!, ...quickAsks].map((a) => a.server_mid)).toEqual(listed.slice(0, 3).map((m) => m._id).reverse());
  });
});
