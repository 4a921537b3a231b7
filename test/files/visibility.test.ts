// Who may download a file (get_file_urls): the rule follows the file. Its uploader, and the
// participants of a conversation in which a message carrying it was posted by someone who could
// see it; avatars for everyone. Opening a chat with the uploader, or naming a file id one cannot
// see, grants nothing. D1's copy of a post (file_grants) is written by the Conversation's outbox, up
// to a flush after the send; until then the Conversation's outbox answers.
import { env } from "cloudflare:workers";
import { runDurableObjectAlarm } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { Frame, TestSocket } from "../helpers/socket";
import { connectedSocket, signUp, type TestUser } from "../helpers/users";
import { createFile, fileUrls } from "./fixtures";

const NOT_FOUND = { status: 422, message: "Can't find file." };

interface Person {
  user: TestUser;
  socket: TestSocket;
}

async function person(): Promise<Person> {
  const user = await signUp();
  return { user, socket: (await connectedSocket(user)).socket };
}

async function conversation(owner: Person, params: Record<string, unknown>): Promise<string> {
  const response = await owner.socket.request("conversation_create", params);
  return (response.conversation as Frame)._id as string;
}

async function declared(owner: Person): Promise<string> {
  return (await createFile(owner.socket, { name: "photo.png", size: 4, content_type: "image/png" })).object_id;
}

/** Posts a message carrying `fileId` and waits until `reader` received it. */
async function post(from: Person, cid: string, fileId: string, reader: Person): Promise<void> {
  const id = `m${Math.random().toString(36).slice(2)}`;
  const arrived = reader.socket.next((f) => (f.message as Frame | undefined)?.cid === cid && JSON.stringify(f.message).includes(fileId));
  const ask = from.socket.next((f) => (f.ask as Frame | undefined)?.mid === id);
  from.socket.send({ message: { id, cid, body: "look", attachments: [{ file_id: fileId, file_name: "photo.png" }] } });
  await ask;
  await arrived;
}

/** Runs the Conversation's alarm: its outbox is copied to D1 (file_grants included). */
async function flush(cid: string): Promise<void> {
  await runDurableObjectAlarm(env.CONVERSATION.get(env.CONVERSATION.idFromName(cid)));
}

async function grants(fileId: string): Promise<string[]> {
  const { results } = await env.DB.prepare("SELECT conversation_id FROM file_grants WHERE object_id = ? ORDER BY conversation_id").bind(fileId).all<{ conversation_id: string }>();
  return results.map((r) => r.conversation_id);
}

const sees = async (p: Person, fileId: string) => Object.keys(await fileUrls(p.socket, [fileId])).includes(fileId);
const refused = async (p: Person, fileId: string) => expect(await p.socket.requestError("get_file_urls", { file_ids: [fileId] })).toEqual(NOT_FOUND);

describe("file visibility follows the file", () => {
  it("a file sent to C is C's to see the moment it arrives, never B's for opening a chat with the sender", async () => {
    const [a, b, c] = [await person(), await person(), await person()];
    const withC = await conversation(a, { type: "u", participants: [c.user.id] });
    const file = await declared(a);
    await post(a, withC, file, c);
    // Nothing on the send path wrote D1: the grant is still in the Conversation's outbox, and C sees the file anyway.
    expect(await grants(file)).toEqual([]);
    expect(await sees(c, file)).toBe(true);

    await conversation(b, { type: "u", participants: [a.user.id] });
    await refused(b, file);

    await flush(withC);
    expect(await grants(file)).toEqual([withC]);
    expect(await sees(c, file)).toBe(true);
    await refused(b, file);
  });

  it("a group's files are its members': one added later sees them, one who left does not", async () => {
    const [a, c, d] = [await person(), await person(), await person()];
    const group = await conversation(a, { type: "g", name: "team", participants: [c.user.id] });
    const file = await declared(a);
    await post(a, group, file, c);
    await flush(group);
    await refused(d, file);
    await a.socket.request("conversation_update", { id: group, participants: { add: [d.user.id] } });
    expect(await sees(d, file)).toBe(true);
    await c.socket.request("conversation_delete", { id: group });
    await refused(c, file);
  });

  it("naming a file one cannot see grants nothing, to the poster or their conversation", async () => {
    const [a, b, c] = [await person(), await person(), await person()];
    const secret = await declared(a);
    const chat = await conversation(b, { type: "u", participants: [c.user.id] });
    // B learned (or guessed: ids are time-ordered) the id of A's file and posts it to C.
    await post(b, chat, secret, c);
    await refused(c, secret);
    await flush(chat);
    expect(await grants(secret)).toEqual([]);
    await refused(b, secret);
    await refused(c, secret);
  });

  it("a file forwarded by a member who sees it reaches the new conversation once its post is copied", async () => {
    const [a, c, f] = [await person(), await person(), await person()];
    const chat = await conversation(a, { type: "u", participants: [c.user.id] });
    const file = await declared(a);
    await post(a, chat, file, c);
    await flush(chat);
    const onward = await conversation(c, { type: "g", name: "onward", participants: [f.user.id] });
    await post(c, onward, file, f);
    await flush(onward);
    expect(await grants(file)).toEqual([chat, onward].sort());
    expect(await sees(f, file)).toBe(true);
  });
});
