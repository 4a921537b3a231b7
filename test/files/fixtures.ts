// Helpers for the file tests: declared files through the protocol, raw fetches of absolute URLs,
// deterministic bytes and their SHA-256.
import { exports } from "cloudflare:workers";
import { expect } from "vitest";
import type { FileView } from "../../src/services/files";
import { isRecord, type TestSocket } from "../helpers/socket";

/** The documented lifetimes (docs/files.md), as literals: a test must not take them from the code it checks. */
export const UPLOAD_URL_LIFETIME_S = 3600; // 1 hour
export const DOWNLOAD_URL_LIFETIME_S = 7 * 24 * 3600; // 7 days

export interface CreatedFile extends FileView {
  upload_url: string;
}

export interface Declared {
  name: string;
  size: number;
  content_type: string;
}

/** create_files with one or more declarations; fails the test on an error answer. */
export async function createFiles(socket: TestSocket, declared: Declared[]): Promise<CreatedFile[]> {
  const response = await socket.request("create_files", declared);
  if (!Array.isArray(response.files)) throw new Error(`create_files failed: ${JSON.stringify(response)}`);
  return response.files as CreatedFile[];
}

export async function createFile(socket: TestSocket, declared: Declared): Promise<CreatedFile> {
  const [file] = await createFiles(socket, [declared]);
  if (!file) throw new Error("create_files answered no file");
  return file;
}

/** get_file_urls; fails the test on an error answer. */
export async function fileUrls(socket: TestSocket, ids: string[]): Promise<Record<string, string>> {
  const response = await socket.request("get_file_urls", { file_ids: ids });
  if (!isRecord(response.file_urls)) throw new Error(`get_file_urls failed: ${JSON.stringify(response)}`);
  return response.file_urls as Record<string, string>;
}

/** A request to an absolute URL, answered by the Worker under test. */
export function send(url: string, init: RequestInit = {}): Promise<Response> {
  return exports.default.fetch(new Request(url, init));
}

export function put(url: string, body: BodyInit | null, contentType: string | null, headers: Record<string, string> = {}): Promise<Response> {
  const all: Record<string, string> = { ...headers };
  if (contentType !== null) all["Content-Type"] = contentType;
  return send(url, { method: "PUT", body, headers: all });
}

/** `length` bytes from a seeded xorshift32: the same seed always gives the same bytes. */
export function deterministicBytes(length: number, seed = 0x9e3779b9): Uint8Array {
  const words = new Uint32Array(Math.ceil(length / 4));
  let x = seed >>> 0 || 1;
  for (let i = 0; i < words.length; i++) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    words[i] = x;
  }
  return new Uint8Array(words.buffer, 0, length);
}

export async function sha256Hex(data: ArrayBuffer | Uint8Array): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", data);
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}

/** The SHA-256 of a response body, read as a stream (never held whole). */
export async function streamSha256Hex(body: ReadableStream<Uint8Array>): Promise<{ hash: string; bytes: number }> {
  const digest = new crypto.DigestStream("SHA-256");
  let bytes = 0;
  await body
    .pipeThrough(
      new TransformStream<Uint8Array, Uint8Array>({
        transform(chunk, controller) {
          bytes += chunk.byteLength;
          controller.enqueue(chunk);
        },
      }),
    )
    .pipeTo(digest);
  const hash = Array.from(new Uint8Array(await digest.digest), (b) => b.toString(16).padStart(2, "0")).join("");
  return { hash, bytes };
}

/** A SAMA-style text error from /files. */
export async function expectText(res: Response, status: number, text: string): Promise<void> {
  expect({ status: res.status, text: await res.text() }).toEqual({ status, text });
  expect(res.headers.get("Content-Type")).toMatch(/^text\/plain/);
}
