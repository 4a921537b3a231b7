// Worker-signed upload and download URLs (DESIGN.md "R2", SAMA-PROTOCOL.md §3.9): bytes streamed
// into R2 and back unchanged, ranges, and every way a URL or an upload is refused.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { getConfig } from "../../src/config";
import { newObjectId } from "../../src/domain/object-id";
import { workerSignedUrl } from "../../src/files/signer";
import { ORIGIN } from "../helpers/socket";
import { connectedSocket, signUp } from "../helpers/users";
import {
  createFile,
  deterministicBytes,
  expectText,
  fileUrls,
  put,
  send,
  sha256Hex,
  streamSha256Hex,
} from "./fixtures";

const SECRET = "test-files-signing-secret-0123456789abcdef"; // FILES_SIGNING_SECRET in vitest.config.ts
const MiB = 1024 * 1024;

async function signedIn() {
  const user = await signUp();
  const { socket } = await connectedSocket(user);
  return { user, socket };
}

/** A declared file uploaded with `bytes`; returns its object id and a download URL. */
async function uploaded(bytes: Uint8Array, contentType = "application/octet-stream") {
  const { socket } = await signedIn();
  const file = await createFile(socket, { name: "blob.bin", size: bytes.byteLength, content_type: contentType });
  const res = await put(file.upload_url, bytes, contentType);
  expect(res.status).toBe(200);
  const url = (await fileUrls(socket, [file.object_id]))[file.object_id];
  if (!url) throw new Error("no download URL");
  return { objectId: file.object_id, url, socket };
}

describe("a 20 MiB file through signed URLs", () => {
  it("uploads streamed and downloads byte-identical, with type, length and etag", async () => {
    const bytes = deterministicBytes(20 * MiB);
    const expected = await sha256Hex(bytes);
    const { socket } = await signedIn();
    const file = await createFile(socket, { name: "video.mp4", size: bytes.byteLength, content_type: "video/mp4" });

    const upload = await put(file.upload_url, bytes, "video/mp4");
    expect(upload.status).toBe(200);
    expect(upload.ok).toBe(true);
    await upload.arrayBuffer();

    // Stored as declared, under the object id.
    const stored = await env.FILES.head(file.object_id);
    expect(stored?.size).toBe(20 * MiB);
    expect(stored?.httpMetadata?.contentType).toBe("video/mp4");

    const url = (await fileUrls(socket, [file.object_id]))[file.object_id] ?? "";
    const res = await send(url);
    expect(res.status).toBe(200);
    expect(res.headers.get("Content-Type")).toBe("video/mp4");
    expect(res.headers.get("Content-Length")).toBe(String(20 * MiB));
    expect(res.headers.get("ETag")).toBe(stored?.httpEtag);
    expect(res.headers.get("Accept-Ranges")).toBe("bytes");
    expect(res.headers.get("X-Content-Type-Options")).toBe("nosniff");
    expect(res.headers.get("Content-Security-Policy")).toContain("sandbox");
    if (!res.body) throw new Error("no body");
    expect(await streamSha256Hex(res.body)).toEqual({ hash: expected, bytes: 20 * MiB });
  });
});

describe("downloads", () => {
  const bytes = deterministicBytes(1000, 7);

  it("serve a byte range with 206 and Content-Range", async () => {
    const { url } = await uploaded(bytes);
    const res = await send(url, { headers: { Range: "bytes=100-199" } });
    expect(res.status).toBe(206);
    expect(res.headers.get("Content-Range")).toBe("bytes 100-199/1000");
    expect(res.headers.get("Content-Length")).toBe("100");
    expect(new Uint8Array(await res.arrayBuffer())).toEqual(bytes.slice(100, 200));
  });

  it("serve open-ended and suffix ranges, clamped to the object", async () => {
    const { url } = await uploaded(bytes);
    const tail = await send(url, { headers: { Range: "bytes=990-" } });
    expect(tail.status).toBe(206);
    expect(tail.headers.get("Content-Range")).toBe("bytes 990-999/1000");
    expect(new Uint8Array(await tail.arrayBuffer())).toEqual(bytes.slice(990));

    const suffix = await send(url, { headers: { Range: "bytes=-10" } });
    expect(suffix.status).toBe(206);
    expect(suffix.headers.get("Content-Range")).toBe("bytes 990-999/1000");
    expect(new Uint8Array(await suffix.arrayBuffer())).toEqual(bytes.slice(990));

    const past = await send(url, { headers: { Range: "bytes=900-5000" } });
    expect(past.status).toBe(206);
    expect(past.headers.get("Content-Range")).toBe("bytes 900-999/1000");
    expect((await past.arrayBuffer()).byteLength).toBe(100);
  });

  it("answer 416 for a range past the end, and ignore ranges they do not serve", async () => {
    const { url } = await uploaded(bytes);
    const beyond = await send(url, { headers: { Range: "bytes=1000-" } });
    expect(beyond.status).toBe(416);
    expect(beyond.headers.get("Content-Range")).toBe("bytes */1000");
    await beyond.arrayBuffer();

    for (const range of ["bytes=0-1,5-6", "items=0-1", "bytes=20-10"]) {
      const whole = await send(url, { headers: { Range: range } });
      expect(whole.status).toBe(200);
      expect((await whole.arrayBuffer()).byteLength).toBe(1000);
    }
  });

  it("answer HEAD with the headers and no body", async () => {
    const { url } = await uploaded(bytes, "image/png");
    const res = await send(url, { method: "HEAD" });
    expect(res.status).toBe(200);
    expect(res.headers.get("Content-Type")).toBe("image/png");
    expect(res.headers.get("Content-Length")).toBe("1000");
    expect((await res.arrayBuffer()).byteLength).toBe(0);
  });

  it("answer 404 for a declared file that was never uploaded", async () => {
    const { socket } = await signedIn();
    const file = await createFile(socket, { name: "ghost.txt", size: 10, content_type: "text/plain" });
    const url = (await fileUrls(socket, [file.object_id]))[file.object_id] ?? "";
    await expectText(await send(url), 404, "File not found.");
  });

  it("refuse a tampered signature, another object, an upload URL and an expired URL", async () => {
    const { objectId, url } = await uploaded(bytes);
    const u = new URL(url);
    const sig = u.searchParams.get("sig") ?? "";

    const flipped = new URL(url);
    flipped.searchParams.set("sig", (sig[0] === "A" ? "B" : "A") + sig.slice(1));
    await expectText(await send(flipped.toString()), 403, "Forbidden.");

    const later = new URL(url);
    later.searchParams.set("exp", String(Number(u.searchParams.get("exp")) + 1));
    await expectText(await send(later.toString()), 403, "Forbidden.");

    const other = new URL(url);
    other.pathname = `/files/${newObjectId()}`;
    await expectText(await send(other.toString()), 403, "Forbidden.");

    const unsigned = new URL(url);
    unsigned.search = "";
    await expectText(await send(unsigned.toString()), 403, "Forbidden.");

    // A signed upload URL does not allow a download.
    const uploadUrl = await workerSignedUrl(SECRET, ORIGIN, {
      method: "PUT",
      objectId,
      exp: Math.floor(Date.now() / 1000) + 60,
      size: 1000,
      contentType: "application/octet-stream",
    });
    await expectText(await send(uploadUrl), 403, "Forbidden.");

    const expired = await workerSignedUrl(SECRET, ORIGIN, { method: "GET", objectId, exp: Math.floor(Date.now() / 1000) - 1 });
    await expectText(await send(expired), 403, "Forbidden.");

    const fine = await workerSignedUrl(SECRET, ORIGIN, { method: "GET", objectId, exp: Math.floor(Date.now() / 1000) + 60 });
    expect((await send(fine)).status).toBe(200);
  });
});

describe("uploads", () => {
  it("accept a body shorter than declared and a content type with parameters", async () => {
    const { socket } = await signedIn();
    const file = await createFile(socket, { name: "a.txt", size: 100, content_type: "text/plain" });
    const res = await put(file.upload_url, "hello", "text/plain;charset=UTF-8");
    expect(res.status).toBe(200);
    const stored = await env.FILES.get(file.object_id);
    expect(await stored?.text()).toBe("hello");
    expect(stored?.httpMetadata?.contentType).toBe("text/plain");
  });

  it("refuse a body larger than declared with 413 and store nothing", async () => {
    const { socket } = await signedIn();
    const file = await createFile(socket, { name: "a.bin", size: 1000, content_type: "application/octet-stream" });
    await expectText(await put(file.upload_url, deterministicBytes(1001), "application/octet-stream"), 413, "Payload Too Large.");
    expect(await env.FILES.head(file.object_id)).toBeNull();
  });

  // A body longer than its Content-Length cannot happen over HTTP/1.1 framing, but a Worker-to-Worker
  // request can carry one: this is the byte counter's job. (workerd logs the aborted request stream
  // as an "uncaught exception … client disconnected"; that line is expected here.)
  it("stop a body that runs past its declared size although its Content-Length claimed less (413)", async () => {
    const { socket } = await signedIn();
    const file = await createFile(socket, { name: "a.bin", size: 1000, content_type: "application/octet-stream" });
    const chunks = [deterministicBytes(600, 1), deterministicBytes(600, 2)];
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        const next = chunks.shift();
        if (next) controller.enqueue(next);
        else controller.close();
      },
    });
    const res = await put(file.upload_url, body, "application/octet-stream", { "Content-Length": "1000" });
    await expectText(res, 413, "Payload Too Large.");
    expect(await env.FILES.head(file.object_id)).toBeNull();
  });

  it("refuse another content type (415) or none", async () => {
    const { socket } = await signedIn();
    const file = await createFile(socket, { name: "a.png", size: 10, content_type: "image/png" });
    await expectText(await put(file.upload_url, "0123456789", "text/html"), 415, "Unsupported Media Type.");
    await expectText(await put(file.upload_url, "0123456789", null), 415, "Unsupported Media Type.");
    expect(await env.FILES.head(file.object_id)).toBeNull();
  });

  it("take any Content-Type for a declared type that is no media type, and serve the bytes as application/octet-stream", async () => {
    const { socket } = await signedIn();
    const file = await createFile(socket, { name: "a.html", size: 10, content_type: "text/html\r\nX-Evil: 1" });
    expect((await put(file.upload_url, "<b>hi</b>!", "text/html")).status).toBe(200);
    expect((await env.FILES.head(file.object_id))?.httpMetadata?.contentType).toBe("application/octet-stream");
    const res = await send((await fileUrls(socket, [file.object_id]))[file.object_id] ?? "");
    expect(res.status).toBe(200);
    expect(res.headers.get("Content-Type")).toBe("application/octet-stream");
    expect(res.headers.get("X-Evil")).toBeNull();
    expect(res.headers.get("X-Content-Type-Options")).toBe("nosniff");
    expect(await res.text()).toBe("<b>hi</b>!");
  });

  it("refuse a tampered, re-targeted or expired upload URL (403)", async () => {
    const { socket } = await signedIn();
    const file = await createFile(socket, { name: "a.png", size: 10, content_type: "image/png" });
    const body = "0123456789";

    const bigger = new URL(file.upload_url);
    bigger.searchParams.set("size", "104857600");
    await expectText(await put(bigger.toString(), body, "image/png"), 403, "Forbidden.");

    const html = new URL(file.upload_url);
    html.searchParams.set("type", "text/html");
    await expectText(await put(html.toString(), body, "text/html"), 403, "Forbidden.");

    const elsewhere = new URL(file.upload_url);
    elsewhere.pathname = `/files/${newObjectId()}`;
    await expectText(await put(elsewhere.toString(), body, "image/png"), 403, "Forbidden.");

    const sig = new URL(file.upload_url).searchParams.get("sig") ?? "";
    const middle = new URL(file.upload_url);
    middle.searchParams.set("sig", sig.slice(0, 20) + (sig[20] === "A" ? "B" : "A") + sig.slice(21));
    await expectText(await put(middle.toString(), body, "image/png"), 403, "Forbidden.");
    // The last character carries two spare bits: another spelling of the same bytes is refused too.
    const respelled = new URL(file.upload_url);
    const last = sig.at(-1) ?? "A";
    const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    respelled.searchParams.set("sig", sig.slice(0, -1) + (alphabet[alphabet.indexOf(last) ^ 1] ?? "A"));
    await expectText(await put(respelled.toString(), body, "image/png"), 403, "Forbidden.");

    const expired = await workerSignedUrl(SECRET, ORIGIN, {
      method: "PUT",
      objectId: file.object_id,
      exp: Math.floor(Date.now() / 1000) - 1,
      size: 10,
      contentType: "image/png",
    });
    await expectText(await put(expired, body, "image/png"), 403, "Forbidden.");

    // A download URL does not allow an upload.
    const download = (await fileUrls(socket, [file.object_id]))[file.object_id] ?? "";
    await expectText(await put(download, body, "image/png"), 403, "Forbidden.");
    expect(await env.FILES.head(file.object_id)).toBeNull();

    expect((await put(file.upload_url, body, "image/png")).status).toBe(200);
  });

  it("is single-use: once the object exists, another PUT gets 409 and the bytes stay those first sent", async () => {
    const { socket } = await signedIn();
    const first = deterministicBytes(1000);
    const file = await createFile(socket, { name: "a.bin", size: 1000, content_type: "application/octet-stream" });
    expect((await put(file.upload_url, first, "application/octet-stream")).status).toBe(200);
    // The same URL, still within its hour, with other bytes (as after the recipients fetched the file).
    await expectText(await put(file.upload_url, deterministicBytes(1000, 7), "application/octet-stream"), 409, "File already uploaded.");
    // Two racing uploads of a fresh file: one is stored, the other refused.
    const raced = await createFile(socket, { name: "b.bin", size: 1000, content_type: "application/octet-stream" });
    const statuses = await Promise.all([1, 2].map(async (seed) => (await put(raced.upload_url, deterministicBytes(1000, seed), "application/octet-stream")).status));
    expect(statuses.sort()).toEqual([200, 409]);
    const url = (await fileUrls(socket, [file.object_id]))[file.object_id] ?? "";
    expect(new Uint8Array(await (await send(url)).arrayBuffer())).toEqual(first);
  });

  it("uses a secret the Worker is configured with", () => {
    expect(getConfig(env).filesSigningSecret).toBe(SECRET);
  });
});
