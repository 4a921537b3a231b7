// The one place file URLs are made and checked (DESIGN.md "R2").
//
// By default the URLs are Worker-signed: `{origin}/files/{object_id}?exp=…&sig=…`, where `sig` is
// an HMAC-SHA256 (key FILES_SIGNING_SECRET) over the method, the object id, the expiry and, for
// uploads, the declared size and content type, so a URL grants exactly one operation on one object
// until `exp`. The bytes then stream through src/http/routes/files.ts to and from the R2 binding.
// When R2's S3 credentials are configured, real R2 presigned URLs (SigV4, src/files/sigv4.ts) are
// issued instead and clients talk to R2 directly.
import { fromBase64, toBase64Url } from "../auth/encoding";
import type { Config } from "../config";
import { presignUrl } from "./sigv4";

/** SAMA's FILE_UPLOAD_URL_EXPIRES_IN. */
export const UPLOAD_URL_TTL_SECONDS = 3600;
/** SAMA's FILE_DOWNLOAD_URL_EXPIRES_IN (also the longest a SigV4 URL may live). */
export const DOWNLOAD_URL_TTL_SECONDS = 604800;
/**
 * Download URLs are signed as of the start of the current hour, so repeated requests within the
 * hour get the same URL (SAMA caches its URLs for the same reason) and clients' caches hit. They
 * stay valid for at least DOWNLOAD_URL_TTL_SECONDS minus one hour.
 */
const DOWNLOAD_EPOCH_SECONDS = 3600;

export interface UploadGrant {
  objectId: string;
  /** Declared size in bytes: the most the upload may carry. */
  size: number;
  contentType: string;
}

/** What a Worker-signed URL allows: one method on one object until `exp` (Unix seconds). */
export type Grant =
  | { method: "PUT"; objectId: string; exp: number; size: number; contentType: string }
  | { method: "GET"; objectId: string; exp: number };

export interface FileUrlSigner {
  uploadUrl(grant: UploadGrant): Promise<string>;
  downloadUrl(objectId: string): Promise<string>;
}

/**
 * The URL signer for requests that arrived on `origin` (e.g. "http://127.0.0.1:8787"), at `now`
 * (Unix ms). Worker-signed URLs need the origin; R2 presigned ones do not.
 */
export function fileUrlSigner(deps: { config: Config; now: number }, origin: string | null): FileUrlSigner {
  const { config, now } = deps;
  const nowSeconds = Math.floor(now / 1000);
  const epoch = nowSeconds - (nowSeconds % DOWNLOAD_EPOCH_SECONDS);
  const r2 = config.r2S3;
  if (r2) {
    const objectUrl = (objectId: string) =>
      `https://${r2.accountId}.r2.cloudflarestorage.com/${encodeURIComponent(r2.bucketName)}/${encodeURIComponent(objectId)}`;
    const credentials = { accessKeyId: r2.accessKeyId, secretAccessKey: r2.secretAccessKey, region: "auto" };
    return {
      uploadUrl: (grant) =>
        presignUrl({ ...credentials, method: "PUT", url: objectUrl(grant.objectId), signedAt: now, expiresIn: UPLOAD_URL_TTL_SECONDS }),
      downloadUrl: (objectId) =>
        presignUrl({ ...credentials, method: "GET", url: objectUrl(objectId), signedAt: epoch * 1000, expiresIn: DOWNLOAD_URL_TTL_SECONDS }),
    };
  }
  const secret = requireSigningSecret(config);
  if (origin === null) throw new Error("file URLs need the origin of the socket's upgrade request");
  return {
    uploadUrl: (grant) => workerSignedUrl(secret, origin, { method: "PUT", ...grant, exp: nowSeconds + UPLOAD_URL_TTL_SECONDS }),
    downloadUrl: (objectId) => workerSignedUrl(secret, origin, { method: "GET", objectId, exp: epoch + DOWNLOAD_URL_TTL_SECONDS }),
  };
}

export function requireSigningSecret(config: Config): string {
  if (!config.filesSigningSecret) {
    throw new Error("Secret FILES_SIGNING_SECRET is not configured (wrangler secret put FILES_SIGNING_SECRET)");
  }
  return config.filesSigningSecret;
}

/** The path of an object's Worker-signed URL. */
export function filePath(objectId: string): string {
  return `/files/${encodeURIComponent(objectId)}`;
}

/** An absolute Worker-signed URL for `grant`. Tests use it directly to make expired URLs. */
export async function workerSignedUrl(secret: string, origin: string, grant: Grant): Promise<string> {
  const query = new URLSearchParams({ exp: String(grant.exp) });
  if (grant.method === "PUT") {
    query.set("size", String(grant.size));
    query.set("type", grant.contentType);
  }
  query.set("sig", toBase64Url(await hmacSign(secret, canonical(grant))));
  return `${origin}${filePath(grant.objectId)}?${query.toString()}`;
}

/**
 * The grant a request carries, if its signature is right and it has not expired; null otherwise.
 * HEAD is checked as GET.
 */
export async function verifyWorkerSigned(
  secret: string,
  method: string,
  objectId: string,
  query: URLSearchParams,
  nowMs: number,
): Promise<Grant | null> {
  const exp = parseDecimal(query.get("exp"));
  const sig = fromBase64Url(query.get("sig") ?? "");
  if (exp === null || sig === null || exp * 1000 <= nowMs) return null;
  let grant: Grant;
  if (method === "PUT") {
    const size = parseDecimal(query.get("size"));
    const contentType = query.get("type");
    if (size === null || contentType === null) return null;
    grant = { method: "PUT", objectId, exp, size, contentType };
  } else if (method === "GET" || method === "HEAD") {
    grant = { method: "GET", objectId, exp };
  } else {
    return null;
  }
  const key = await hmacKey(secret);
  // subtle.verify compares in constant time.
  const ok = await crypto.subtle.verify("HMAC", key, sig, encoder.encode(canonical(grant)));
  return ok ? grant : null;
}

const encoder = new TextEncoder();
const keys = new Map<string, Promise<CryptoKey>>();

function hmacKey(secret: string): Promise<CryptoKey> {
  let key = keys.get(secret);
  if (!key) {
    key = crypto.subtle.importKey("raw", encoder.encode(secret), { name: "HMAC", hash: "SHA-256" }, false, ["sign", "verify"]);
    keys.set(secret, key);
  }
  return key;
}

async function hmacSign(secret: string, text: string): Promise<ArrayBuffer> {
  return crypto.subtle.sign("HMAC", await hmacKey(secret), encoder.encode(text));
}

/** The signed text; a version tag keeps it from ever matching another HMAC use of the secret. */
function canonical(grant: Grant): string {
  const parts = ["parley-file-url-v1", grant.method, grant.objectId, String(grant.exp)];
  if (grant.method === "PUT") parts.push(String(grant.size), grant.contentType);
  return parts.join("\n");
}

function parseDecimal(value: string | null): number | null {
  if (value === null || !/^[0-9]{1,15}$/.test(value)) return null;
  return Number(value);
}

function fromBase64Url(text: string): Uint8Array | null {
  if (!/^[A-Za-z0-9_-]{43}$/.test(text)) return null; // 32 bytes
  const bytes = fromBase64(text.replace(/-/g, "+").replace(/_/g, "/") + "=");
  // One spelling per signature: the last character's two spare bits must be zero.
  return toBase64Url(bytes) === text ? bytes : null;
}
