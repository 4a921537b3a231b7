// conversation_handler_create / get_conversation_handler / conversation_handler_delete: SAMA's
// answers and errors (SAMA-PROTOCOL.md §1.5.4).
import { describe, expect, it } from "vitest";
import { createGroup, device, tab, users } from "../chat/messages-fixtures";
import { chatWithHandler, expectAsk, expectError, samaHandler, sendMessage } from "./fixtures";

describe("conversation handler requests", () => {
  it("create is an upsert by the owner; get shows it; delete removes it and messages flow unchecked", async () => {
    const chat = await chatWithHandler(samaHandler(`return reject("first");`));
    const first = await chat.ownerSocket.request("get_conversation_handler", { cid: chat.cid });
    expect(first).toEqual({
      id: expect.any(String),
      conversation_handler: { content: samaHandler(`return reject("first");`), updated_by: chat.owner.id, updated_at: expect.stringMatching(/^\d{4}-\d\d-\d\dT.*Z$/) },
    });
    expect(await expectError(sendMessage(chat.memberSocket, chat.cid))).toEqual({ status: 422, message: "first" });

    expect(await chat.ownerSocket.request("conversation_handler_create", { cid: chat.cid, content: samaHandler(`return reject("second");`) })).toMatchObject({ success: true });
    expect(await expectError(sendMessage(chat.memberSocket, chat.cid))).toEqual({ status: 422, message: "second" });
    const second = await chat.ownerSocket.request("get_conversation_handler", { cid: chat.cid });
    expect((second.conversation_handler as Record<string, unknown>).content).toContain("second");

    expect(await chat.ownerSocket.request("conversation_handler_delete", { cid: chat.cid })).toMatchObject({ success: true });
    await expectAsk(sendMessage(chat.memberSocket, chat.cid));
    expect(await chat.ownerSocket.requestError("get_conversation_handler", { cid: chat.cid })).toEqual({ status: 422, message: "Handler for this conversation not found." });
    expect(await chat.ownerSocket.requestError("conversation_handler_delete", { cid: chat.cid })).toEqual({ status: 422, message: "Handler for this conversation not found." });
  });

  it("only the owner: a member or an admin gets 403, an unknown conversation 400", async () => {
    const [owner, admin, member] = await users(3);
    const ownerSocket = await tab(await device(owner!));
    const adminSocket = await tab(await device(admin!));
    const memberSocket = await tab(await device(member!));
    const cid = await createGroup(ownerSocket, [admin!.id, member!.id]);
    await ownerSocket.request("conversation_update", { id: cid, admins: { add: [admin!.id] } });
    const forbidden = { status: 403, message: "Forbidden." };
    for (const socket of [adminSocket, memberSocket]) {
      expect(await socket.requestError("conversation_handler_create", { cid, content: "export default 1;" })).toEqual(forbidden);
      expect(await socket.requestError("get_conversation_handler", { cid })).toEqual(forbidden);
      expect(await socket.requestError("conversation_handler_delete", { cid })).toEqual(forbidden);
    }
    const badRequest = { status: 400, message: "Bad Request." };
    for (const unknown of ["0123456789abcdef01234567", "nope"]) {
      expect(await ownerSocket.requestError("conversation_handler_create", { cid: unknown, content: "x" })).toEqual(badRequest);
      expect(await ownerSocket.requestError("get_conversation_handler", { cid: unknown })).toEqual(badRequest);
      expect(await ownerSocket.requestError("conversation_handler_delete", { cid: unknown })).toEqual(badRequest);
    }
    // Nothing was stored by the refused calls.
    expect(await ownerSocket.requestError("get_conversation_handler", { cid })).toEqual({ status: 422, message: "Handler for this conversation not found." });
  });

  it("validates as SAMA's Joi does, and caps the source size", async () => {
    const [owner, member] = await users(2);
    const socket = await tab(await device(owner!));
    const cid = await createGroup(socket, [member!.id]);
    expect(await socket.requestError("conversation_handler_create", { content: "x" })).toEqual({ status: 422, message: '"cid" is required' });
    expect(await socket.requestError("conversation_handler_create", { cid })).toEqual({ status: 422, message: '"content" is required' });
    expect(await socket.requestError("conversation_handler_create", { cid, content: 5 })).toEqual({ status: 422, message: '"content" must be a string' });
    expect(await socket.requestError("conversation_handler_create", { cid, content: "x".repeat(65537) })).toEqual({
      status: 422,
      message: '"content" length must be less than or equal to 65536 characters long',
    });
    expect(await socket.requestError("get_conversation_handler", {})).toEqual({ status: 422, message: '"cid" is required' });
    expect(await socket.requestError("conversation_handler_delete", { cid, extra: 1 })).toEqual({ status: 422, message: '"extra" is not allowed' });
  });
});
