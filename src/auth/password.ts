// Password hashing. New passwords: PBKDF2-SHA256, 100,000 iterations (the Workers maximum), 16-byte
// salt. Users imported from SAMA keep SAMA's hash (20 rounds of SHA-512 over password+salt) until
// their next successful login, when the caller re-hashes with PBKDF2.
import { fromBase64, safeEqual, toBase64, toHex, utf8 } from "./encoding";

const ITERATIONS = 100_000;
const PBKDF2 = "pbkdf2-sha256";
const SAMA = "sama";

async function pbkdf2(password: string, salt: Uint8Array<ArrayBuffer>, iterations: number): Promise<string> {
  const key = await crypto.subtle.importKey("raw", utf8(password), "PBKDF2", false, ["deriveBits"]);
  const bits = await crypto.subtle.deriveBits({ name: "PBKDF2", hash: "SHA-256", salt, iterations }, key, 256);
  return toBase64(bits);
}

export async function hashPassword(password: string): Promise<string> {
  const salt = crypto.getRandomValues(new Uint8Array(16));
  return `${PBKDF2}$${ITERATIONS}$${toBase64(salt)}$${await pbkdf2(password, salt, ITERATIONS)}`;
}

async function samaLegacyHash(password: string, salt: string): Promise<string> {
  let h = password + salt;
  for (let i = 0; i < 20; i++) h = toHex(await crypto.subtle.digest("SHA-512", utf8(h)));
  return h;
}

/** Stored form of a hash imported from SAMA's users.password_salt / users.encrypted_password. */
export function importedSamaHash(salt: string, encryptedPassword: string): string {
  return `${SAMA}$${salt}$${encryptedPassword}`;
}

/**
 * A stored hash as SAMA's users.password_salt / encrypted_password (an organization export): an
 * imported SAMA hash as SAMA had it; Parley's own PBKDF2 hash whole in encrypted_password (SAMA
 * cannot check it, an importer into Parley keeps it as is).
 */
export function exportedPasswordFields(stored: string): { password_salt?: string; encrypted_password: string } {
  const parts = stored.split("$");
  if (parts[0] === SAMA && parts.length === 3) return { password_salt: parts[1]!, encrypted_password: parts[2]! };
  return { encrypted_password: stored };
}

export interface PasswordCheck {
  ok: boolean;
  /** True when the stored hash is not the current scheme and should be replaced. */
  needsRehash: boolean;
}

export async function verifyPassword(password: string, stored: string | null): Promise<PasswordCheck> {
  if (stored === null) {
    await burnEquivalentTime(password);
    return { ok: false, needsRehash: false };
  }
  const parts = stored.split("$");
  if (parts[0] === PBKDF2 && parts.length === 4) {
    const iterations = Number(parts[1]);
    const actual = await pbkdf2(password, fromBase64(parts[2]!), iterations);
    return { ok: safeEqual(actual, parts[3]!), needsRehash: iterations !== ITERATIONS };
  }
  if (parts[0] === SAMA && parts.length === 3) {
    const ok = safeEqual(await samaLegacyHash(password, parts[1]!), parts[2]!);
    return { ok, needsRehash: ok };
  }
  return { ok: false, needsRehash: false };
}

const dummySalt = new Uint8Array(16);

/** Spends a hash's worth of time when there is no user, so timing does not reveal which logins exist. */
export async function burnEquivalentTime(password: string): Promise<void> {
  await pbkdf2(password, dummySalt, ITERATIONS);
}
