// With no AI provider configured (no AI_API_URL, no AI binding: how `npm run dev` runs), both AI
// requests answer a clear error instead of `Unknown request`; message_summary still refuses whom it
// refuses first.
import { describe, expect, it } from "vitest";
import { createConversation, send } from "../chat/messages-fixtures";
import { connectedSocket, signUp } from "../helpers/users";

const NOT_CONFIGURED = { status: 501, message: "No AI provider is configured on this server." };

describe("AI requests without a provider", () => {
  it("answer that no provider is configured", async () => {
    const [alice, bob, eve] = await Promise.all([signUp(), signUp(), signUp()]);
    const [a, e] = [(await connectedSocket(alice)).socket, (await connectedSocket(eve)).socket];
    const group = await createConversation(a, "g", [bob.id]);
    expect(await a.requestError("message_summary", { cid: group })).toEqual(NOT_CONFIGURED);
    await send(a, group, { body: "hello" });
    expect(await a.requestError("message_summary", { cid: group, filter: "last-day" })).toEqual(NOT_CONFIGURED);
    expect(await a.requestError("message_tone", { body: "hello", tone: "cringe" })).toEqual(NOT_CONFIGURED);
    expect(await e.requestError("message_summary", { cid: group })).toEqual({ status: 403, message: "Forbidden." });
  });
});
