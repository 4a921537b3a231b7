// avatar_url (SAMA-PROTOCOL.md §1.4): users with an avatar_object get a download URL for its file,
// null when the organization has no such file, and no avatar_url at all without an avatar.
import { describe, expect, it } from "vitest";
import { newObjectId } from "../../src/domain/object-id";
import { ORIGIN, type Frame } from "../helpers/socket";
import { connectedSocket, createOrganization, signUp } from "../helpers/users";
import { createFile, put, send } from "./fixtures";

describe("avatar_url", () => {
  it("is a working download URL in user_edit, get_users_by_ids and user_search", async () => {
    const owner = await signUp({ firstName: "Avatarowner" });
    const { socket } = await connectedSocket(owner);
    const file = await createFile(socket, { name: "me.png", size: 4, content_type: "image/png" });
    expect((await put(file.upload_url, new Uint8Array([0x89, 0x50, 0x4e, 0x47]), "image/png")).status).toBe(200);

    const edited = (await socket.request("user_edit", { avatar_object: { file_id: file.object_id, file_name: "me.png" } })).user as Frame;
    const url = String(edited.avatar_url);
    expect(url).toMatch(new RegExp(`^${ORIGIN}/files/${file.object_id}\\?exp=\\d+&sig=`));
    const image = await send(url);
    expect(image.status).toBe(200);
    expect(image.headers.get("Content-Type")).toBe("image/png");
    expect((await image.arrayBuffer()).byteLength).toBe(4);

    const viewer = await signUp();
    const { socket: other } = await connectedSocket(viewer);
    const byIds = (await other.request("get_users_by_ids", { ids: [owner.id, viewer.id] })).users as Frame[];
    expect(byIds.find((u) => u._id === owner.id)?.avatar_url).toBe(url);
    expect(byIds.find((u) => u._id === viewer.id)).not.toHaveProperty("avatar_url");
    const found = (await other.request("user_search", { keyword: owner.login })).users as Frame[];
    expect(found.find((u) => u._id === owner.id)?.avatar_url).toBe(url);
  });

  it("is in get_participants_by_cids and get_admins_by_cids, where SAMA's web app reads it for member lists and chat headers", async () => {
    const owner = await signUp();
    const { socket } = await connectedSocket(owner);
    const file = await createFile(socket, { name: "me.png", size: 4, content_type: "image/png" });
    expect((await put(file.upload_url, new Uint8Array([0x89, 0x50, 0x4e, 0x47]), "image/png")).status).toBe(200);
    const url = String(((await socket.request("user_edit", { avatar_object: { file_id: file.object_id, file_name: "me.png" } })).user as Frame).avatar_url);

    const member = await signUp();
    const { socket: other } = await connectedSocket(member);
    const group = ((await socket.request("conversation_create", { type: "g", name: "faces", participants: [member.id] })).conversation as Frame)._id;
    await socket.request("conversation_update", { id: group, admins: { add: [member.id] } });
    for (const request of ["get_participants_by_cids", "get_admins_by_cids"]) {
      const users = (await other.request(request, { cids: [group] })).users as Frame[];
      expect({ request, avatar_url: users.find((u) => u._id === owner.id)?.avatar_url }).toEqual({ request, avatar_url: url });
      expect(users.find((u) => u._id === member.id)).not.toHaveProperty("avatar_url");
    }
    expect((await send(url)).status).toBe(200);
  });

  it("is null for a file the organization does not have", async () => {
    const orgId = await createOrganization();
    const stranger = await signUp({ organizationId: orgId });
    const { socket: strangerSocket } = await connectedSocket(stranger);
    const foreign = await createFile(strangerSocket, { name: "x.png", size: 4, content_type: "image/png" });

    const user = await signUp();
    const { socket } = await connectedSocket(user);
    for (const fileId of [newObjectId(), foreign.object_id]) {
      const edited = (await socket.request("user_edit", { avatar_object: { file_id: fileId } })).user as Frame;
      expect(edited.avatar_object).toEqual({ file_id: fileId });
      expect(edited.avatar_url).toBeNull();
    }
  });
});

describe("someone else's file as an avatar or conversation image", () => {
  it("is refused, so its download URL never reaches people who may not see it", async () => {
    const owner = await signUp();
    const { socket: ownerSocket } = await connectedSocket(owner);
    const secret = await createFile(ownerSocket, { name: "private.png", size: 4, content_type: "image/png" });
    const thief = await signUp();
    const { socket } = await connectedSocket(thief);
    const refused = { status: 422, message: "Can't find file." };

    expect(await socket.requestError("user_edit", { avatar_object: { file_id: secret.object_id } })).toEqual(refused);
    expect(await socket.requestError("conversation_create", { type: "c", name: "leak", image_object: { file_id: secret.object_id } })).toEqual(refused);
    const channel = (await socket.request("conversation_create", { type: "c", name: "leak" })).conversation as Frame;
    expect(await socket.requestError("conversation_update", { id: channel._id, image_object: { file_id: secret.object_id } })).toEqual(refused);
    expect(await socket.requestError("get_file_urls", { file_ids: [secret.object_id] })).toEqual(refused);
    // Being put in a group with the owner shares nothing.
    const shared = ((await ownerSocket.request("conversation_create", { type: "g", name: "shared", participants: [thief.id] })).conversation as Frame)._id as string;
    expect(await socket.requestError("conversation_update", { id: channel._id, image_object: { file_id: secret.object_id } })).toEqual(refused);
    // A file posted to the caller may be a conversation image, but only their own upload an avatar.
    const arrived = socket.next((f) => (f.message as Frame | undefined)?.cid === shared && JSON.stringify(f.message).includes(secret.object_id));
    ownerSocket.send({ message: { id: "with-file", cid: shared, body: "", attachments: [{ file_id: secret.object_id }] } });
    await arrived;
    expect((await socket.request("conversation_update", { id: channel._id, image_object: { file_id: secret.object_id } })).conversation).toBeDefined();
    expect(await socket.requestError("user_edit", { avatar_object: { file_id: secret.object_id } })).toEqual(refused);
  });
});

describe("image_url", () => {
  it("is a working download URL on conversations with an image, in create, update and list", async () => {
    const owner = await signUp();
    const member = await signUp();
    const { socket } = await connectedSocket(owner);
    const file = await createFile(socket, { name: "group.png", size: 4, content_type: "image/png" });
    expect((await put(file.upload_url, new Uint8Array([1, 2, 3, 4]), "image/png")).status).toBe(200);
    const image_object = { file_id: file.object_id, file_name: "group.png" };

    const created = (await socket.request("conversation_create", { type: "g", name: "pics", participants: [member.id], image_object })).conversation as Frame;
    expect(String(created.image_url)).toMatch(new RegExp(`^${ORIGIN}/files/${file.object_id}\\?exp=\\d+&sig=`));
    expect((await send(String(created.image_url))).status).toBe(200);

    const plain = (await socket.request("conversation_create", { type: "g", name: "no pics", participants: [member.id] })).conversation as Frame;
    expect(plain).not.toHaveProperty("image_url");

    const updated = (await socket.request("conversation_update", { id: plain._id, image_object })).conversation as Frame;
    expect(updated.image_url).toBe(created.image_url);

    const { socket: memberSocket } = await connectedSocket(member);
    const listed = (await memberSocket.request("conversation_list", { ids: [created._id as string] })).conversations as Frame[];
    expect(listed[0]?.image_url).toBe(created.image_url);
  });
});

