// The SAMA envelope: both request forms, id echo, errors as {status, message}, a usable socket after
// every error.
import { describe, expect, it } from "vitest";
import { TestSocket, isRecord } from "../helpers/socket";

describe("envelope", () => {
  it("answers ping in the request form, echoing string and number ids verbatim", async () => {
    const socket = await TestSocket.open();
    expect(await socket.request("ping", {}, "xyz")).toEqual({ id: "xyz", pong: {} });
    expect(await socket.request("ping", {}, 42)).toEqual({ id: 42, pong: {} });
  });

  it("accepts the WebSocket on any path", async () => {
    const socket = await TestSocket.open("/some/deep/path?x=1");
    expect(await socket.request("ping", {}, "p")).toEqual({ id: "p", pong: {} });
  });

  it("answers the top-level form with a response carrying the top-level id", async () => {
    const socket = await TestSocket.open();
    const reply = socket.next((f) => isRecord(f.response) && f.response.id === "t1");
    socket.send({ ping: {}, id: "t1" });
    expect(await reply).toEqual({ response: { id: "t1", pong: {} } });
  });

  it("tolerates the id before the action (SAMA requires the action first)", async () => {
    const socket = await TestSocket.open();
    const reply = socket.next((f) => isRecord(f.response) && f.response.id === "first");
    socket.send('{"request":{"id":"first","ping":{}}}');
    expect(await reply).toEqual({ response: { id: "first", pong: {} } });
  });

  it("refuses a 10,000-deep x with 400, echoing the id, and keeps the socket usable", async () => {
    const socket = await TestSocket.open();
    const reply = socket.next((f) => isRecord(f.response) && f.response.id === "deep");
    socket.send(`{"request":{"system_message":{"id":"s","cid":"c","x":{"a":${"[".repeat(10_000)}${"]".repeat(10_000)}}},"id":"deep"}}`);
    expect(await reply).toEqual({ response: { id: "deep", error: { status: 400, message: "Bad request - invalid data format" } } });
    expect(await socket.request("ping", {}, "after")).toEqual({ id: "after", pong: {} });
  });

  it("answers a non-JSON frame with 400 and keeps the socket usable", async () => {
    const socket = await TestSocket.open();
    const reply = socket.next((f) => isRecord(f.response) && isRecord(f.response.error));
    socket.send("not json");
    expect(await reply).toEqual({ response: { error: { status: 400, message: "Bad request - invalid data format" } } });
    expect(await socket.request("ping", {}, "after")).toEqual({ id: "after", pong: {} });
  });

  it.each(["[]", "123", '"text"', "null", "{}", '{"request":5}', '{"request":{}}', '{"request":{"id":"only"}}'])(
    "answers the frame %s with 400",
    async (text) => {
      const socket = await TestSocket.open();
      const reply = socket.next((f) => isRecord(f.response) && isRecord(f.response.error));
      socket.send(text);
      const frame = await reply;
      expect((frame.response as { error: unknown }).error).toEqual({ status: 400, message: "Bad request - invalid data format" });
    },
  );

  it("answers an unknown request with 400 Unknown request in both forms", async () => {
    const socket = await TestSocket.open();
    expect(await socket.request("no_such_thing", {}, 7)).toEqual({
      id: 7,
      error: { status: 400, message: "Unknown request: no_such_thing" },
    });
    const reply = socket.next((f) => "frobnicate" in f);
    socket.send({ frobnicate: { id: "f1" } });
    expect(await reply).toEqual({ frobnicate: { id: "f1", error: { status: 400, message: "Unknown request: frobnicate" } } });
  });

  it("guards every authenticated request with 401 before validating it", async () => {
    const socket = await TestSocket.open();
    expect(await socket.requestError("user_search", { not: "valid" })).toEqual({ status: 401, message: "Unauthorized." });
    expect(await socket.requestError("get_users_by_ids", {})).toEqual({ status: 401, message: "Unauthorized." });
    expect(await socket.requestError("user_logout", {})).toEqual({ status: 401, message: "Unauthorized." });
  });

  it("reports errors of the top-level form under the action, with the inner id", async () => {
    const socket = await TestSocket.open();
    const reply = socket.next((f) => "user_edit" in f);
    socket.send({ user_edit: { id: "e1", first_name: "x" } });
    expect(await reply).toEqual({ user_edit: { id: "e1", error: { status: 401, message: "Unauthorized." } } });
  });

  it("ignores empty frames and decodes binary frames as UTF-8", async () => {
    const socket = await TestSocket.open();
    socket.send("");
    const reply = socket.next((f) => isRecord(f.response) && f.response.id === "bin");
    socket.ws.send(new TextEncoder().encode('{"request":{"ping":{},"id":"bin"}}'));
    expect(await reply).toEqual({ response: { id: "bin", pong: {} } });
    expect(socket.frames).toHaveLength(1);
  });

  it("refuses a frame over 1 MiB with 413, echoing its id", async () => {
    const socket = await TestSocket.open();
    const big = "x".repeat(1024 * 1024);
    const reply = socket.next((f) => isRecord(f.response) && f.response.id === "big");
    socket.send({ request: { user_search: { keyword: big }, id: "big" } });
    expect(await reply).toEqual({ response: { id: "big", error: { status: 413, message: "Request is too large." } } });
    expect(await socket.request("ping", {}, "still")).toEqual({ id: "still", pong: {} });
  });

  it("answers the plain-text keep-alive ping without a JSON envelope", async () => {
    const socket = await TestSocket.open();
    const pong = socket.next((f) => "text" in f);
    socket.ws.send("ping");
    expect(await pong).toEqual({ text: "pong" });
  });
});
