// The URL signer without I/O: SigV4 presigning against AWS's published example, the R2 URL shape,
// Worker-signed URLs and their verification.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { getConfig, type Config } from "../../src/config";
import { fileUrlSigner, verifyWorkerSigned, workerSignedUrl } from "../../src/files/signer";
import { amzDate, presignUrl, uriEncode } from "../../src/files/sigv4";
import { parseRange } from "../../src/http/routes/files";
import { DOWNLOAD_URL_LIFETIME_S, UPLOAD_URL_LIFETIME_S } from "./fixtures";

const SECRET = "unit-test-secret";
const OBJECT = "65a1b2c3d4e5f60718293a4b";

describe("SigV4 query presigning", () => {
  it("reproduces AWS's published presigned GET example", async () => {
    // https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-query-string-auth.html
    const url = await presignUrl({
      method: "GET",
      url: "https://examplebucket.s3.amazonaws.com/test.txt",
      accessKeyId: "AKIAIOSFODNN7EXAMPLE",
      secretAccessKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
      region: "us-east-1",
      signedAt: Date.UTC(2013, 4, 24),
      expiresIn: 86400,
    });
    expect(url).toBe(
      "https://examplebucket.s3.amazonaws.com/test.txt" +
        "?X-Amz-Algorithm=AWS4-HMAC-SHA256" +
        "&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request" +
        "&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host" +
        "&X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404",
    );
  });

  it("encodes like SigV4 and formats dates", () => {
    expect(uriEncode("a b/c~d*e'(f)!")).toBe("a%20b%2Fc~d%2Ae%27%28f%29%21");
    expect(amzDate(Date.UTC(2026, 0, 2, 3, 4, 5, 678))).toBe("20260102T030405Z");
  });

  it("gives R2 presigned PUT and GET URLs when R2 S3 credentials are configured", async () => {
    const config: Config = {
      ...getConfig(env),
      filesSigningSecret: null,
      r2S3: { accountId: "0123456789abcdef0123456789abcdef", bucketName: "parley-files", accessKeyId: "AKID", secretAccessKey: "SECRET" },
    };
    const now = Date.UTC(2026, 5, 1, 12, 34, 56);
    const signer = fileUrlSigner({ config, now }, null);
    const upload = new URL(await signer.uploadUrl({ objectId: OBJECT, size: 10, contentType: "image/png" }));
    expect(upload.origin).toBe("https://0123456789abcdef0123456789abcdef.r2.cloudflarestorage.com");
    expect(upload.pathname).toBe(`/parley-files/${OBJECT}`);
    expect(Object.fromEntries(upload.searchParams)).toEqual({
      "X-Amz-Algorithm": "AWS4-HMAC-SHA256",
      "X-Amz-Credential": "AKID/20260601/auto/s3/aws4_request",
      "X-Amz-Date": "20260601T123456Z",
      "X-Amz-Expires": String(UPLOAD_URL_LIFETIME_S),
      "X-Amz-SignedHeaders": "host",
      "X-Amz-Signature": expect.stringMatching(/^[0-9a-f]{64}$/) as unknown as string,
    });
    const download = new URL(await signer.downloadUrl(OBJECT));
    expect(download.searchParams.get("X-Amz-Expires")).toBe(String(DOWNLOAD_URL_LIFETIME_S));
    // Signed as of the start of the hour, so the URL is stable within it.
    expect(download.searchParams.get("X-Amz-Date")).toBe("20260601T120000Z");
    const again = fileUrlSigner({ config, now: now + 20 * 60 * 1000 }, null);
    expect(await again.downloadUrl(OBJECT)).toBe(download.toString());
    expect(await again.uploadUrl({ objectId: OBJECT, size: 10, contentType: "image/png" })).not.toBe(upload.toString());
  });
});

describe("Worker-signed URLs", () => {
  const config: Config = { ...getConfig(env), filesSigningSecret: SECRET, r2S3: null };
  const now = Date.UTC(2026, 5, 1, 12, 34, 56);

  it("are absolute on the given origin, stable within the hour for downloads", async () => {
    const signer = fileUrlSigner({ config, now }, "http://127.0.0.1:9999");
    const download = await signer.downloadUrl(OBJECT);
    expect(download).toMatch(new RegExp(`^http://127\\.0\\.0\\.1:9999/files/${OBJECT}\\?exp=\\d+&sig=[A-Za-z0-9_-]{43}$`));
    expect(new URL(download).searchParams.get("exp")).toBe(String(Date.UTC(2026, 5, 1, 12) / 1000 + DOWNLOAD_URL_LIFETIME_S));
    expect(await fileUrlSigner({ config, now: now + 60_000 }, "http://127.0.0.1:9999").downloadUrl(OBJECT)).toBe(download);
    const upload = new URL(await signer.uploadUrl({ objectId: OBJECT, size: 42, contentType: "text/plain; charset=utf-8" }));
    expect(upload.searchParams.get("exp")).toBe(String(now / 1000 + UPLOAD_URL_LIFETIME_S));
    expect(upload.searchParams.get("type")).toBe("text/plain; charset=utf-8");
  });

  it("verify their own grant only, and not after exp", async () => {
    const exp = now / 1000 + 60;
    const put = new URL(await workerSignedUrl(SECRET, "https://x.test", { method: "PUT", objectId: OBJECT, exp, size: 5, contentType: "image/png" }));
    expect(await verifyWorkerSigned(SECRET, "PUT", OBJECT, put.searchParams, now)).toEqual({
      method: "PUT",
      objectId: OBJECT,
      exp,
      size: 5,
      contentType: "image/png",
    });
    expect(await verifyWorkerSigned(SECRET, "PUT", OBJECT, put.searchParams, exp * 1000)).toBeNull();
    expect(await verifyWorkerSigned(SECRET, "GET", OBJECT, put.searchParams, now)).toBeNull();
    expect(await verifyWorkerSigned("another-secret", "PUT", OBJECT, put.searchParams, now)).toBeNull();
    expect(await verifyWorkerSigned(SECRET, "PUT", "65a1b2c3d4e5f60718293a4c", put.searchParams, now)).toBeNull();

    const get = new URL(await workerSignedUrl(SECRET, "https://x.test", { method: "GET", objectId: OBJECT, exp }));
    expect(await verifyWorkerSigned(SECRET, "GET", OBJECT, get.searchParams, now)).toMatchObject({ method: "GET" });
    expect(await verifyWorkerSigned(SECRET, "HEAD", OBJECT, get.searchParams, now)).toMatchObject({ method: "GET" });
    expect(await verifyWorkerSigned(SECRET, "DELETE", OBJECT, get.searchParams, now)).toBeNull();
    for (const exp of ["", "1e12", "-1", "0x10"]) {
      const bad = new URLSearchParams(get.searchParams);
      bad.set("exp", exp);
      expect(await verifyWorkerSigned(SECRET, "GET", OBJECT, bad, now)).toBeNull();
    }
  });

  it("need the signing secret when R2 credentials are absent", () => {
    expect(() => fileUrlSigner({ config: { ...config, filesSigningSecret: null }, now }, "https://x.test")).toThrow(/FILES_SIGNING_SECRET/);
  });
});

describe("Range parsing", () => {
  it("reads one bytes range, clamps it, and tells ignored from unsatisfiable", () => {
    expect(parseRange("bytes=0-0", 10)).toEqual({ offset: 0, length: 1 });
    expect(parseRange("bytes=2-", 10)).toEqual({ offset: 2, length: 8 });
    expect(parseRange("bytes=5-100", 10)).toEqual({ offset: 5, length: 5 });
    expect(parseRange("bytes=-3", 10)).toEqual({ offset: 7, length: 3 });
    expect(parseRange("bytes=-30", 10)).toEqual({ offset: 0, length: 10 });
    expect(parseRange("bytes=10-", 10)).toBe("unsatisfiable");
    expect(parseRange("bytes=-0", 10)).toBe("unsatisfiable");
    expect(parseRange("bytes=0-", 0)).toBe("unsatisfiable");
    expect(parseRange("bytes=5-2", 10)).toBeNull();
    expect(parseRange("bytes=0-1,3-4", 10)).toBeNull();
    expect(parseRange("bytes=-", 10)).toBeNull();
    expect(parseRange("lines=1-2", 10)).toBeNull();
  });
});
