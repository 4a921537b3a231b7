// create_files and get_file_urls (SAMA-PROTOCOL.md §1.5.6): shapes, every validation error, and
// organization isolation. URLs are absolute on the origin the socket was opened on.
import { env, exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { getConfig } from "../../src/config";
import { newObjectId } from "../../src/domain/object-id";
import { isRecord, ORIGIN, TestSocket, type Frame } from "../helpers/socket";
import { connectedSocket, createOrganization, loginHttp, signUp, unique } from "../helpers/users";
import { createFile, createFiles, DOWNLOAD_URL_LIFETIME_S, fileUrls, put, send, UPLOAD_URL_LIFETIME_S } from "./fixtures";

const HEX24 = /^[0-9a-f]{24}$/;
const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

async function signedIn(organizationId?: string) {
  const user = await signUp(organizationId === undefined ? {} : { organizationId });
  const { socket } = await connectedSocket(user);
  return { user, socket };
}

describe("create_files", () => {
  it("records each file and answers SAMA's file shape with an absolute upload URL", async () => {
    const { user, socket } = await signedIn();
    const before = Math.floor(Date.now() / 1000);
    const response = await socket.request(
      "create_files",
      [
        { name: "1.png", size: 123, content_type: "image/png" },
        { name: "2.mp4", size: 321, content_type: "video/mp4" },
      ],
      "50",
    );
    expect(Object.keys(response).sort()).toEqual(["files", "id"]);
    expect(response.id).toBe("50");
    const files = response.files as Frame[];
    expect(files).toHaveLength(2);
    expect(files.map((f) => [f.name, f.size, f.content_type])).toEqual([
      ["1.png", 123, "image/png"],
      ["2.mp4", 321, "video/mp4"],
    ]);
    for (const file of files) {
      expect(Object.keys(file).sort()).toEqual(
        ["_id", "content_type", "created_at", "name", "object_id", "organization_id", "size", "updated_at", "upload_url", "user_id"].sort(),
      );
      expect(file).toMatchObject({ organization_id: "default", user_id: user.id });
      expect(file._id).toMatch(HEX24);
      expect(file.object_id).toMatch(HEX24);
      expect(file.object_id).not.toBe(file._id);
      expect(file.created_at).toMatch(ISO);
      expect(file.updated_at).toBe(file.created_at);

      const url = new URL(file.upload_url as string);
      expect(url.origin).toBe(ORIGIN);
      expect(url.pathname).toBe(`/files/${String(file.object_id)}`);
      expect(url.searchParams.get("size")).toBe(String(file.size));
      expect(url.searchParams.get("type")).toBe(file.content_type);
      expect(url.searchParams.get("sig")).toMatch(/^[A-Za-z0-9_-]{43}$/);
      const exp = Number(url.searchParams.get("exp"));
      expect(exp).toBeGreaterThanOrEqual(before + UPLOAD_URL_LIFETIME_S);
      expect(exp).toBeLessThanOrEqual(Math.ceil(Date.now() / 1000) + UPLOAD_URL_LIFETIME_S);
    }
    expect(new Set(files.map((f) => f.object_id)).size).toBe(2);
  });

  it("accepts ten files, 100 MiB each, and content types with parameters", async () => {
    const { socket } = await signedIn();
    const declared = Array.from({ length: 10 }, (_, i) => ({ name: `f${i}.txt`, size: 104857600, content_type: "text/plain; charset=utf-8" }));
    const files = await createFiles(socket, declared);
    expect(files).toHaveLength(10);
  });

  it("accepts any content_type string, as SAMA (its own tests declare \"image\"), and answers it as declared", async () => {
    const { socket } = await signedIn();
    const declared = ["image", "png", "image/png\r\nX-Evil: 1"].map((content_type, i) => ({ name: `${i}.png`, size: 10, content_type }));
    const files = await createFiles(socket, declared);
    expect(files.map((f) => f.content_type)).toEqual(["image", "png", "image/png\r\nX-Evil: 1"]);
    for (const f of files) expect(new URL(f.upload_url).searchParams.get("type")).toBe(f.content_type);
  });

  it("answers SAMA's errors for the list and for each field", async () => {
    const { socket } = await signedIn();
    const ok = { name: "a.png", size: 10, content_type: "image/png" };
    const cases: [unknown, number, string][] = [
      [[], 422, '"value" must contain at least 1 items'],
      [Array.from({ length: 11 }, () => ok), 422, "You've exceeded the file limit."],
      [Array.from({ length: 11 }, () => ({})), 422, "You've exceeded the file limit."],
      [{ name: "a.png", size: 10, content_type: "image/png" }, 422, '"value" must be an array'],
      [[{ size: 10, content_type: "image/png" }], 422, "Incorrect file name."],
      [[{ ...ok, name: "" }], 422, "Incorrect file name."],
      [[{ ...ok, name: "x".repeat(256) }], 422, "Incorrect file name."],
      [[{ ...ok, name: 5 }], 422, "Incorrect file name."],
      [[{ name: "a.png", content_type: "image/png" }], 422, "Incorrect file size."],
      [[{ ...ok, size: 0 }], 422, "Incorrect file size."],
      [[{ ...ok, size: -1 }], 422, "Incorrect file size."],
      [[{ ...ok, size: 1.5 }], 422, "Incorrect file size."],
      [[{ ...ok, size: "10" }], 422, "Incorrect file size."],
      [[{ ...ok, size: 104857601 }], 422, "Incorrect file size."],
      [[{ name: "a.png", size: 10 }], 422, "Incorrect content type."],
      [[{ ...ok, content_type: "" }], 422, "Incorrect content type."],
      [[{ ...ok, content_type: "x".repeat(256) }], 422, "Incorrect content type."],
      [[{ ...ok, content_type: 7 }], 422, "Incorrect content type."],
      [[ok, { ...ok, extra: 1 }], 422, '"[1].extra" is not allowed'],
      [["a.png"], 422, '"[0]" must be of type object'],
    ];
    for (const [params, status, message] of cases) {
      expect({ params, error: await socket.requestError("create_files", params) }).toEqual({ params, error: { status, message } });
    }
  });

  it("records nothing when one file of the list is invalid", async () => {
    const { user, socket } = await signedIn();
    await socket.requestError("create_files", [
      { name: "good.png", size: 10, content_type: "image/png" },
      { name: "bad.png", size: 0, content_type: "image/png" },
    ]);
    const rows = await env.DB.prepare("SELECT count(*) AS n FROM files WHERE user_id = ?").bind(user.id).first<{ n: number }>();
    expect(rows?.n).toBe(0);
  });

  it("needs a signed-in socket", async () => {
    const socket = await TestSocket.open();
    expect(await socket.requestError("create_files", [{ name: "a", size: 1, content_type: "text/plain" }])).toEqual({
      status: 401,
      message: "Unauthorized.",
    });
    expect(await socket.requestError("get_file_urls", { file_ids: [newObjectId()] })).toEqual({ status: 401, message: "Unauthorized." });
  });
});

describe("get_file_urls", () => {
  it("gives URLs only for files the caller may see: own uploads and avatars, never files of someone they merely chat with", async () => {
    const uploader = await signUp();
    const { socket: up } = await connectedSocket(uploader);
    const attachment = await createFile(up, { name: "a.png", size: 4, content_type: "image/png" });
    const avatar = await createFile(up, { name: "me.png", size: 4, content_type: "image/png" });
    await up.request("user_edit", { avatar_object: { file_id: avatar.object_id } });
    expect(Object.keys(await fileUrls(up, [attachment.object_id, avatar.object_id])).sort()).toEqual([attachment.object_id, avatar.object_id].sort());

    const stranger = await signUp();
    const { socket: other } = await connectedSocket(stranger);
    expect(await other.requestError("get_file_urls", { file_ids: [attachment.object_id] })).toEqual({ status: 422, message: "Can't find file." });
    expect(Object.keys(await fileUrls(other, [avatar.object_id]))).toEqual([avatar.object_id]);
    // Anyone may open a chat with anyone: that alone shows nothing of the uploader's files.
    await other.request("conversation_create", { type: "u", participants: [uploader.id] });
    expect(await other.requestError("get_file_urls", { file_ids: [attachment.object_id] })).toEqual({ status: 422, message: "Can't find file." });
  });

  it("answers an object keyed by object_id with absolute download URLs valid about 7 days", async () => {
    const { socket } = await signedIn();
    const [a, b] = await createFiles(socket, [
      { name: "a.png", size: 10, content_type: "image/png" },
      { name: "b.png", size: 20, content_type: "image/png" },
    ]);
    if (!a || !b) throw new Error("files missing");
    const response = await socket.request("get_file_urls", { file_ids: [a.object_id, b.object_id, a.object_id] }, 51);
    expect(response.id).toBe(51);
    const urls = response.file_urls as Record<string, string>;
    expect(Object.keys(urls).sort()).toEqual([a.object_id, b.object_id].sort());
    const now = Math.floor(Date.now() / 1000);
    for (const [objectId, raw] of Object.entries(urls)) {
      const url = new URL(raw);
      expect(url.origin).toBe(ORIGIN);
      expect(url.pathname).toBe(`/files/${objectId}`);
      expect([...url.searchParams.keys()].sort()).toEqual(["exp", "sig"]);
      const exp = Number(url.searchParams.get("exp"));
      expect(exp).toBeGreaterThan(now + DOWNLOAD_URL_LIFETIME_S - 3600);
      expect(exp).toBeLessThanOrEqual(now + DOWNLOAD_URL_LIFETIME_S);
    }
  });

  it("answers SAMA's errors for missing, empty and too many ids", async () => {
    const { socket } = await signedIn();
    const ids = Array.from({ length: 11 }, () => newObjectId());
    const cases: [unknown, number, string][] = [
      [{}, 422, "File IDS missed."],
      [{ file_ids: [] }, 422, "File IDS missed."],
      [{ file_ids: "abc" }, 422, "File IDS missed."],
      [{ file_ids: ids }, 422, "File IDs for get download url exceeded."],
      [{ file_ids: [5] }, 422, '"file_ids[0]" must be a string'],
      [{ file_ids: [newObjectId()], more: 1 }, 422, '"more" is not allowed'],
      [{ file_ids: [newObjectId()] }, 422, "Can't find file."],
    ];
    for (const [params, status, message] of cases) {
      expect({ params, error: await socket.requestError("get_file_urls", params) }).toEqual({ params, error: { status, message } });
    }
  });

  it("never gives a user of another organization a URL for this organization's file", async () => {
    const { socket } = await signedIn();
    const mine = await createFile(socket, { name: "secret.pdf", size: 10, content_type: "application/pdf" });
    expect((await put(mine.upload_url, "0123456789", "application/pdf")).status).toBe(200);

    const orgId = await createOrganization();
    const { socket: stranger } = await signedIn(orgId);
    const own = await createFile(stranger, { name: "own.pdf", size: 10, content_type: "application/pdf" });

    for (const ids of [[mine.object_id], [own.object_id, mine.object_id]]) {
      const response = await stranger.request("get_file_urls", { file_ids: ids });
      expect(response.error).toEqual({ status: 422, message: "Can't find file." });
      expect(response).not.toHaveProperty("file_urls");
      expect(JSON.stringify(stranger.frames)).not.toContain(`/files/${mine.object_id}`);
    }
    // The stranger's own file is fine, and the owner still gets theirs.
    expect(Object.keys(await fileUrls(stranger, [own.object_id]))).toEqual([own.object_id]);
    const url = (await fileUrls(socket, [mine.object_id]))[mine.object_id] ?? "";
    const res = await send(url);
    expect(await res.text()).toBe("0123456789");
  });
});

describe("URL origin", () => {
  it("follows the origin the socket was opened on (custom domain, --port)", async () => {
    const user = await signUp();
    const device = unique("dev");
    const login = await loginHttp(user, device);
    const origin = "https://chat.example.test:8443";
    const res = await exports.default.fetch(new Request(`${origin}/`, { headers: { Upgrade: "websocket" } }));
    const ws = res.webSocket;
    if (!ws) throw new Error("no socket");
    ws.accept();
    const answers = new Map<string, Frame>();
    const waiting = new Map<string, (frame: Frame) => void>();
    ws.addEventListener("message", (event) => {
      const frame = JSON.parse(String(event.data)) as Frame;
      const response = frame.response;
      if (!isRecord(response) || typeof response.id !== "string") return;
      answers.set(response.id, response);
      waiting.get(response.id)?.(response);
    });
    const ask = (id: string, request: Frame) =>
      new Promise<Frame>((resolve) => {
        waiting.set(id, resolve);
        ws.send(JSON.stringify({ request: { ...request, id } }));
      });
    try {
      expect(await ask("c", { connect: { token: login.accessToken, device_id: device } })).toMatchObject({ success: true });
      const created = await ask("f", { create_files: [{ name: "a.txt", size: 3, content_type: "text/plain" }] });
      const file = (created.files as Frame[])[0] ?? {};
      expect(String(file.upload_url)).toMatch(new RegExp(`^${origin}/files/${String(file.object_id)}\\?`));
      const urls = await ask("u", { get_file_urls: { file_ids: [file.object_id] } });
      expect(String((urls.file_urls as Record<string, string>)[String(file.object_id)])).toMatch(new RegExp(`^${origin}/files/`));
    } finally {
      ws.close(1000, "done");
    }
  });
});

describe("configuration", () => {
  it("has a signing secret in tests and no R2 S3 credentials (Worker-signed URLs)", () => {
    const config = getConfig(env);
    expect(config.filesSigningSecret).not.toBeNull();
    expect(config.r2S3).toBeNull();
  });
});
