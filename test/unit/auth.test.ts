// Known-answer tests: the cookie format and SAMA's legacy hash must match SAMA byte for byte, or
// cookies and imported users stop working.
import { describe, expect, it } from "vitest";
import { readCookie, signCookieValue, unsignCookieValue } from "../../src/auth/cookie";
import { hashPassword, importedSamaHash, verifyPassword } from "../../src/auth/password";
import { secretEquals } from "../../src/auth/encoding";
import { peekClaims, signToken, verifyToken } from "../../src/auth/jwt";

describe("signed cookie (cookie-signature format)", () => {
  it("signs like cookie-signature's reference vector", async () => {
    expect(await signCookieValue("hello", "tobiiscool")).toBe("s:hello.DGDUkGlIkCzPz+C0B064FNgHdEjox7ch8tOBGslZ5QI");
  });

  it("unsigns only with the right secret and an intact value", async () => {
    const signed = await signCookieValue("a.b.c", "k");
    expect(await unsignCookieValue(signed, "k")).toBe("a.b.c");
    expect(await unsignCookieValue(signed, "other")).toBeNull();
    expect(await unsignCookieValue(signed.replace("a.b", "a.x"), "k")).toBeNull();
    expect(await unsignCookieValue("a.b.c", "k")).toBeNull();
  });

  it("reads a URL-encoded cookie among others", () => {
    expect(readCookie("x=1; refresh_token=s%3Aabc.def; y=2", "refresh_token")).toBe("s:abc.def");
    expect(readCookie("x=1", "refresh_token")).toBeNull();
    expect(readCookie(null, "refresh_token")).toBeNull();
  });
});

describe("passwords", () => {
  it("verifies SAMA's legacy hash (20 rounds of SHA-512) and asks for a re-hash", async () => {
    const stored = importedSamaHash(
      "abcSALTxyz",
      "2c8318f4296fc85abfd74b96ca4382b7e882a948435544ba1e54e5d21467e5d454a022f47aaaa11311446915caa70f5831ed9661993e937fe6c2e8e3e452c9e4",
    );
    expect(await verifyPassword("secret", stored)).toEqual({ ok: true, needsRehash: true });
    expect(await verifyPassword("Secret", stored)).toEqual({ ok: false, needsRehash: false });
  });

  it("hashes new passwords with salted PBKDF2-SHA256 at 100,000 iterations", async () => {
    const a = await hashPassword("secret");
    const b = await hashPassword("secret");
    expect(a).toMatch(/^pbkdf2-sha256\$100000\$[A-Za-z0-9+/=]{24}\$[A-Za-z0-9+/=]{44}$/);
    expect(a).not.toBe(b);
    expect(await verifyPassword("secret", a)).toEqual({ ok: true, needsRehash: false });
    expect(await verifyPassword("secret!", a)).toEqual({ ok: false, needsRehash: false });
    expect(await verifyPassword("secret", null)).toEqual({ ok: false, needsRehash: false });
  });
});

describe("tokens", () => {
  const claims = { _id: "6b0630a81cacf5b42c0b2abe", native_id: "6b0630a81cacf5b42c0b2abe", login: "a", type: "access", org: "default", device_id: "d" } as const;

  it("carries SAMA's claims and expires", async () => {
    const now = Date.UTC(2026, 0, 1);
    const { token, expiresAt } = await signToken(claims, "k", 60, now);
    expect(expiresAt).toBe(now + 60_000);
    expect(peekClaims(token)).toMatchObject({ ...claims, exp: now / 1000 + 60 });
    expect(await verifyToken(token, "k", "access", now + 59_000)).toMatchObject(claims);
    expect(await verifyToken(token, "k", "access", now + 61_000)).toBeNull();
    expect(await verifyToken(token, "other", "access", now)).toBeNull();
    expect(await verifyToken(token, "k", "refresh", now)).toBeNull();
  });
});

describe("secretEquals (the admin key)", () => {
  it("matches exactly: no prefix, no extension, no case folding, any length", async () => {
    expect(await secretEquals("test-admin-key", "test-admin-key")).toBe(true);
    for (const given of ["", "test", "test-admin-ke", "test-admin-key ", "Test-admin-key", "test-admin-key-and-more"]) {
      expect(await secretEquals(given, "test-admin-key")).toBe(false);
    }
  });
});
