// /files/:object_id: the Worker-signed upload and download URLs of src/files/signer.ts, streamed to
// and from the R2 binding without holding a whole file in memory. SAMA clients PUT to presigned
// URLs and only check `ok`, so an upload answers a bare 200. Errors are text/plain like SAMA's routes.
import { z } from "zod";
import { getConfig } from "../../config";
import { OBJECT_ID } from "../../domain/object-id";
import { isMediaType, storedContentType } from "../../files/media-type";
import { verifyWorkerSigned, type Grant } from "../../files/signer";
import { Errors, SamaError, type ErrorBody } from "../../domain/errors";
import { PAYLOAD_TOO_LARGE } from "../body";
import { documented } from "../documented";
import { withErrors } from "../responses";
import type { AppContext } from "../types";

const FILE_ERRORS = {
  BAD_REQUEST: Errors.BAD_REQUEST,
  NOT_FOUND: { status: 404, message: "File not found." },
  LENGTH_REQUIRED: { status: 411, message: "Length Required." },
  TOO_LARGE: PAYLOAD_TOO_LARGE,
  WRONG_TYPE: { status: 415, message: "Unsupported Media Type." },
  RANGE: { status: 416, message: "Range Not Satisfiable." },
  UPLOADED: { status: 409, message: "File already uploaded." },
} as const satisfies Record<string, ErrorBody>;

/**
 * Downloads are user content served from Parley's own origin: never let a browser run it there
 * (an uploaded HTML or SVG file could otherwise read the refresh cookie's /login).
 */
const SAFE_DOWNLOAD_HEADERS = {
  "X-Content-Type-Options": "nosniff",
  "Content-Security-Policy": "default-src 'none'; sandbox",
} as const;

async function authorize(c: AppContext): Promise<Grant> {
  const objectId = c.req.param("object_id") ?? "";
  const secret = getConfig(c.env).filesSigningSecret;
  const grant =
    secret !== null && OBJECT_ID.test(objectId)
      ? await verifyWorkerSigned(secret, c.req.method, objectId, new URL(c.req.url).searchParams, Date.now())
      : null;
  if (!grant) throw new SamaError(Errors.FORBIDDEN);
  return grant;
}

/** "image/png; charset=x" → "image/png" */
function mediaType(value: string | undefined): string {
  return (value ?? "").split(";")[0]?.trim().toLowerCase() ?? "";
}

/** Passes bytes through, failing the stream once more than `limit` have gone by. */
function byteCounter(limit: number): { stream: TransformStream<Uint8Array, Uint8Array>; seen: () => number; ended: () => boolean } {
  let seen = 0;
  let ended = false;
  const stream = new TransformStream<Uint8Array, Uint8Array>({
    transform(chunk, controller) {
      seen += chunk.byteLength;
      if (seen > limit) controller.error(new Error(`upload exceeds its declared ${limit} bytes`));
      else controller.enqueue(chunk);
    },
    flush() {
      ended = true;
    },
  });
  return { stream, seen: () => seen, ended: () => ended };
}

async function upload(c: AppContext): Promise<Response> {
  const grant = await authorize(c);
  if (grant.method !== "PUT") throw new SamaError(Errors.FORBIDDEN);
  // A declared type that is no media type (SAMA allows "image") constrains nothing: it is stored as bytes.
  if (isMediaType(grant.contentType) && mediaType(c.req.header("Content-Type")) !== mediaType(grant.contentType)) {
    throw new SamaError(FILE_ERRORS.WRONG_TYPE);
  }
  const lengthHeader = c.req.header("Content-Length");
  if (lengthHeader === undefined) throw new SamaError(FILE_ERRORS.LENGTH_REQUIRED);
  if (!/^[0-9]{1,16}$/.test(lengthHeader.trim())) throw new SamaError(FILE_ERRORS.BAD_REQUEST);
  const length = Number(lengthHeader.trim());
  if (length > grant.size) throw new SamaError(FILE_ERRORS.TOO_LARGE);

  // Upload URLs are single-use: a sent file's bytes never change under its recipients. This answers
  // before reading the body; the conditional put below settles two racing uploads.
  if ((await c.env.FILES.head(grant.objectId)) !== null) throw new SamaError(FILE_ERRORS.UPLOADED);

  const body = c.req.raw.body;
  if (body === null && length !== 0) throw new SamaError(FILE_ERRORS.BAD_REQUEST);
  const counter = byteCounter(grant.size);
  // R2 needs a stream of known length: the FixedLengthStream also fails a body that is shorter or
  // longer than its Content-Length. A failing pipe aborts it, which fails the put.
  let value: ReadableStream | Uint8Array = new Uint8Array(0);
  let piping: Promise<void> = Promise.resolve();
  if (body !== null) {
    const fixed = new FixedLengthStream(length);
    // Two pipes rather than pipeThrough, so that a failing pipe's promise is always handled.
    piping = Promise.all([body.pipeTo(counter.stream.writable), counter.stream.readable.pipeTo(fixed.writable)]).then(
      () => undefined,
      () => undefined,
    );
    value = fixed.readable;
  }
  let stored: R2Object | null;
  try {
    stored = await c.env.FILES.put(grant.objectId, value, {
      httpMetadata: { contentType: storedContentType(grant.contentType) },
      onlyIf: new Headers({ "If-None-Match": "*" }),
    });
    await piping;
  } catch (err) {
    await piping;
    if (counter.seen() > grant.size) throw new SamaError(FILE_ERRORS.TOO_LARGE);
    // A body that broke off or did not match its Content-Length is the client's fault; anything else is R2's.
    if (counter.seen() !== length || !counter.ended()) throw new SamaError(FILE_ERRORS.BAD_REQUEST);
    throw err;
  }
  if (stored === null) throw new SamaError(FILE_ERRORS.UPLOADED);
  return new Response(null, { status: 200, headers: { ETag: stored.httpEtag } });
}

type ByteRange = { offset: number; length: number };

/** A single `bytes=` range against an object of `size` bytes: null to ignore it (serve it all), "unsatisfiable" for 416. */
export function parseRange(header: string, size: number): ByteRange | "unsatisfiable" | null {
  const match = /^\s*bytes\s*=\s*([0-9]*)\s*-\s*([0-9]*)\s*$/i.exec(header);
  if (!match) return null; // multiple ranges or another unit: RFC 9110 lets a server ignore them
  const [, first = "", last = ""] = match;
  if (first === "" && last === "") return null;
  if (first === "") {
    const suffix = Number(last);
    if (suffix === 0 || size === 0) return "unsatisfiable";
    const length = Math.min(suffix, size);
    return { offset: size - length, length };
  }
  const start = Number(first);
  const end = last === "" ? size - 1 : Math.min(Number(last), size - 1);
  if (last !== "" && Number(last) < start) return null; // invalid, so ignored
  if (start >= size) return "unsatisfiable";
  return { offset: start, length: end - start + 1 };
}

function objectHeaders(object: R2Object, length: number): Headers {
  const headers = new Headers(SAFE_DOWNLOAD_HEADERS);
  headers.set("Content-Type", object.httpMetadata?.contentType ?? "application/octet-stream");
  headers.set("Content-Length", String(length));
  headers.set("ETag", object.httpEtag);
  headers.set("Last-Modified", object.uploaded.toUTCString());
  headers.set("Accept-Ranges", "bytes");
  headers.set("Cache-Control", "private, max-age=86400");
  return headers;
}

async function download(c: AppContext): Promise<Response> {
  const grant = await authorize(c);
  const bucket = c.env.FILES;
  if (c.req.method === "HEAD") {
    const head = await bucket.head(grant.objectId);
    if (!head) throw new SamaError(FILE_ERRORS.NOT_FOUND);
    return new Response(null, { status: 200, headers: objectHeaders(head, head.size) });
  }
  const rangeHeader = c.req.header("Range");
  if (rangeHeader === undefined) {
    const object = await bucket.get(grant.objectId);
    if (!object) throw new SamaError(FILE_ERRORS.NOT_FOUND);
    return new Response(object.body, { status: 200, headers: objectHeaders(object, object.size) });
  }
  const head = await bucket.head(grant.objectId);
  if (!head) throw new SamaError(FILE_ERRORS.NOT_FOUND);
  const range = parseRange(rangeHeader, head.size);
  if (range === "unsatisfiable") {
    return new Response(FILE_ERRORS.RANGE.message, {
      status: 416,
      headers: { "Content-Type": "text/plain; charset=UTF-8", "Content-Range": `bytes */${head.size}` },
    });
  }
  // The object may have been replaced since head(): only serve the version that was measured.
  const options: R2GetOptions = { onlyIf: { etagMatches: head.etag } };
  if (range !== null) options.range = range;
  const object = await bucket.get(grant.objectId, options);
  if (!object) throw new SamaError(FILE_ERRORS.NOT_FOUND);
  if (!("body" in object)) throw new SamaError({ status: 412, message: "Precondition Failed." });
  if (range === null) return new Response(object.body, { status: 200, headers: objectHeaders(object, object.size) });
  const headers = objectHeaders(object, range.length);
  headers.set("Content-Range", `bytes ${range.offset}-${range.offset + range.length - 1}/${object.size}`);
  return new Response(object.body, { status: 206, headers });
}

const signedQuery = z.looseObject({
  exp: z.string().meta({ description: "Expiry, Unix seconds" }),
  sig: z.string().meta({ description: "HMAC signature (base64url)" }),
  size: z.string().optional().meta({ description: "Uploads: the declared size in bytes" }),
  type: z.string().optional().meta({ description: "Uploads: the declared content type" }),
});

const fileErrors = [Errors.FORBIDDEN, ...Object.values(FILE_ERRORS)];

export const files = documented(
  {
    method: "put",
    path: "/files/:object_id",
    tag: "Files",
    summary: "Upload an attachment to a signed URL from create_files",
    description: "The body is the file; its Content-Type and Content-Length must match what the URL was signed for.",
    query: signedQuery,
    bytes: "application/octet-stream",
    responses: withErrors({ 200: { description: "Stored (empty body, ETag header)" } }, fileErrors),
    handle: upload,
  },
  {
    method: "get",
    path: "/files/:object_id",
    tag: "Files",
    summary: "Download an attachment from a signed URL from get_file_urls (HEAD and Range too)",
    query: signedQuery,
    responses: withErrors(
      { 200: { description: "The file", bytes: "application/octet-stream" }, 206: { description: "The requested range", bytes: "application/octet-stream" } },
      fileErrors,
    ),
    handle: download,
  },
);
