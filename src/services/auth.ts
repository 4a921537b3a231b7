// Credentials and device tokens. Access tokens are verified as JWTs *and* looked up in user_tokens
// (so logout revokes them); refresh tokens are rotated on every use and a rotated one presented
// after the grace window revokes the whole device (token theft detection). A new token is written
// only while what it is issued on (a password's hash, a presented token) still holds (Proof).
import { and, eq, lt, notExists } from "drizzle-orm";
import { alias } from "drizzle-orm/sqlite-core";
import { sha256Hex } from "../auth/encoding";
import { peekClaims, signToken, verifyToken, type SignedToken, type TokenType } from "../auth/jwt";
import { hashPassword, verifyPassword } from "../auth/password";
import { userTokens, users, type UserRow, type UserTokenRow } from "../db/schema";
import { newObjectId } from "../domain/object-id";
import { Errors, SamaError } from "../domain/errors";
import type { ServiceDeps } from "./context";
import { deviceKeyDeletions } from "./encrypted-devices";
import { requireOrganization } from "./organizations";
import { assertLoginAllowed, recordLoginFailure, recordLoginSuccess } from "./login-throttle";
import { findUser, findUserByLogin, replacePasswordHash } from "./users";

export interface PasswordCredentials {
  organizationId: string;
  login: string;
  password: string;
  deviceId: string;
}

/**
 * A password that matched the user's stored hash. Tokens issued on it are written only while that
 * hash is still the user's: a reset (or change) between the check and the token leaves no token of
 * the old password behind (the reset's delete of every token came before it, or deletes it).
 */
export interface PasswordProof {
  password: string;
  /** The stored hash it matched; follows another login's re-hash of the same password (issueToken). */
  hash: string;
}

/**
 * A live token presented to sign in (access, or refresh). Tokens issued on it are written only while
 * its stored row is: a revocation (logout, theft, password reset, user deleted) between the check and
 * the new token leaves none behind (its delete came before, or deletes the new one too).
 */
export interface TokenProof {
  /** The presented token's row in user_tokens. */
  tokenId: string;
}

/** What new tokens are issued on, checked again in the transaction that writes them. */
export type Proof = PasswordProof | TokenProof;

export interface SignedIn {
  user: UserRow;
  proof: Proof;
}

export async function passwordLogin(deps: ServiceDeps, creds: PasswordCredentials): Promise<{ user: UserRow; proof: PasswordProof }> {
  await requireOrganization(deps, creds.organizationId);
  await assertLoginAllowed(deps, creds.organizationId, creds.login, creds.deviceId);
  const user = await findUserByLogin(deps, creds.organizationId, creds.login);
  const check = await verifyPassword(creds.password, user?.passwordHash ?? null);
  if (!user?.passwordHash || !check.ok) {
    await recordLoginFailure(deps, creds.organizationId, creds.login, creds.deviceId);
    throw new SamaError(Errors.INCORRECT_LOGIN_OR_PASSWORD);
  }
  await recordLoginSuccess(deps, creds.organizationId, creds.login, creds.deviceId);
  const proof = { password: creds.password, hash: user.passwordHash };
  if (check.needsRehash) {
    const rehashed = await hashPassword(creds.password);
    if (await replacePasswordHash(deps, user.id, proof.hash, rehashed)) proof.hash = rehashed;
  }
  return { user, proof };
}

async function issueToken(deps: ServiceDeps, user: UserRow, deviceId: string, type: TokenType, proof: Proof): Promise<SignedToken> {
  const { db, config, now } = deps;
  const secret = type === "access" ? config.jwtAccessSecret : config.jwtRefreshSecret;
  const ttl = type === "access" ? config.accessTokenTtlSeconds : config.refreshTokenTtlSeconds;
  const signed = await signToken(
    { _id: user.id, native_id: user.id, login: user.login, type, org: user.organizationId, device_id: deviceId },
    secret,
    ttl,
    now,
  );
  const id = newObjectId(now);
  const write = [
    // Expired rows of this device go as new ones come, so the table does not grow without bound.
    db
      .delete(userTokens)
      .where(and(eq(userTokens.userId, user.id), eq(userTokens.deviceId, deviceId), lt(userTokens.expiresAt, now))),
    db.insert(userTokens).values({
      id,
      organizationId: user.organizationId,
      userId: user.id,
      deviceId,
      type,
      tokenHash: await sha256Hex(signed.token),
      replacedAt: null,
      expiresAt: signed.expiresAt,
      createdAt: now,
      updatedAt: now,
    }),
  ] as const;
  // Taken back in the same transaction unless the presented token's row, or the hash the password
  // matched, is still there.
  const presented = alias(userTokens, "presented");
  const stillHolds =
    "tokenId" in proof
      ? db.select({ id: presented.id }).from(presented).where(eq(presented.id, proof.tokenId))
      : db.select({ id: users.id }).from(users).where(and(eq(users.id, user.id), eq(users.passwordHash, proof.hash)));
  const [, , takenBack] = await db.batch([...write, db.delete(userTokens).where(and(eq(userTokens.id, id), notExists(stillHolds))).returning({ id: userTokens.id })]);
  if (takenBack.length === 0) return signed;
  if ("tokenId" in proof) throw new SamaError(Errors.TOKEN_EXPIRED);
  // The hash changed since the check: still this password (another login re-hashed it), or refused.
  const current = (await findUser(deps, user.organizationId, user.id))?.passwordHash ?? null;
  if (current === null || current === proof.hash || !(await verifyPassword(proof.password, current)).ok) throw new SamaError(Errors.INCORRECT_LOGIN_OR_PASSWORD);
  proof.hash = current;
  return issueToken(deps, user, deviceId, type, proof);
}

/** `proof`: what the user signed in with (see Proof); refused as it would be now if it no longer holds. */
export function issueAccessToken(deps: ServiceDeps, user: UserRow, deviceId: string, proof: Proof): Promise<SignedToken> {
  return issueToken(deps, user, deviceId, "access", proof);
}

export function issueRefreshToken(deps: ServiceDeps, user: UserRow, deviceId: string, proof: Proof): Promise<SignedToken> {
  return issueToken(deps, user, deviceId, "refresh", proof);
}

interface Verified {
  user: UserRow;
  row: UserTokenRow;
}

/** A live token of `type` bound to `deviceId`, with its stored row and still-existing user; else null. */
async function verifyStoredToken(deps: ServiceDeps, token: string, deviceId: string, type: TokenType): Promise<Verified | null> {
  const { db, config, now } = deps;
  const claims = await verifyToken(token, type === "access" ? config.jwtAccessSecret : config.jwtRefreshSecret, type, now);
  if (!claims || claims.device_id !== deviceId) return null;
  const row = await db
    .select()
    .from(userTokens)
    .where(eq(userTokens.tokenHash, await sha256Hex(token)))
    .get();
  if (!row || row.type !== type || row.deviceId !== deviceId || row.userId !== claims._id || row.expiresAt <= now) return null;
  const user = await findUser(deps, row.organizationId, row.userId);
  return user ? { user, row } : null;
}

/** A live token of `type`, not replaced, as what new tokens are issued on; SAMA's 422 otherwise. */
async function unreplacedToken(deps: ServiceDeps, token: string, deviceId: string, type: TokenType): Promise<SignedIn> {
  const verified = await verifyStoredToken(deps, token, deviceId, type);
  if (!verified || verified.row.replacedAt !== null) throw new SamaError(Errors.TOKEN_EXPIRED);
  return { user: verified.user, proof: { tokenId: verified.row.id } };
}

/** A Bearer login's access token (see unreplacedToken). */
export function accessTokenLogin(deps: ServiceDeps, token: string, deviceId: string): Promise<SignedIn> {
  return unreplacedToken(deps, token, deviceId, "access");
}

/** The user behind an access token for `connect`, logout and live sockets; SAMA's 422 otherwise. */
export async function authenticateAccessToken(deps: ServiceDeps, token: string, deviceId: string): Promise<UserRow> {
  return (await accessTokenLogin(deps, token, deviceId)).user;
}

/**
 * Retires a refresh token for the new one the caller issues on the answer. A token already retired
 * within the grace window (browser tabs racing to refresh) gets another new one; after the window it
 * is treated as stolen and every token of the device is revoked.
 */
export async function rotateRefreshToken(deps: ServiceDeps, token: string, deviceId: string): Promise<SignedIn> {
  const verified = await verifyStoredToken(deps, token, deviceId, "refresh");
  if (!verified) throw new SamaError(Errors.TOKEN_EXPIRED);
  const { user, row } = verified;
  if (row.replacedAt !== null && deps.now - row.replacedAt > deps.config.refreshReuseGraceSeconds * 1000) {
    await revokeDevice(deps, user, deviceId);
    throw new SamaError(Errors.TOKEN_EXPIRED);
  }
  if (row.replacedAt === null) {
    await deps.db.update(userTokens).set({ replacedAt: deps.now, updatedAt: deps.now }).where(eq(userTokens.id, row.id));
  }
  return { user, proof: { tokenId: row.id } };
}

/** SAMA's WS `user_login` with a token: an access token, or a refresh token (not rotated: there is no cookie to return it in). */
export function tokenLogin(deps: ServiceDeps, token: string, deviceId: string): Promise<SignedIn> {
  return unreplacedToken(deps, token, deviceId, peekClaims(token)?.type === "refresh" ? "refresh" : "access");
}

/** Whether `token` still passes tokenLogin (a sign-in checks again when a revocation may have come since its check). */
export function isLiveToken(deps: ServiceDeps, token: string, deviceId: string): Promise<boolean> {
  return tokenLogin(deps, token, deviceId).then(
    () => true,
    (err: unknown) => {
      if (err instanceof SamaError) return false;
      throw err;
    },
  );
}

/** True when `token` is a live refresh token of this user's device (logout's second check). */
export async function isLiveRefreshToken(deps: ServiceDeps, token: string, userId: string, deviceId: string): Promise<boolean> {
  const verified = await verifyStoredToken(deps, token, deviceId, "refresh");
  return verified !== null && verified.user.id === userId;
}

/**
 * Logout: every token of (user, device) stops working, the device's E2EE key bundle is deleted (as
 * SAMA's logout does), and every live socket of that device is signed out.
 */
export async function revokeDevice({ db, sessions }: ServiceDeps, user: Pick<UserRow, "id" | "organizationId">, deviceId: string): Promise<void> {
  await db.batch([db.delete(userTokens).where(and(eq(userTokens.userId, user.id), eq(userTokens.deviceId, deviceId))), ...deviceKeyDeletions(db, user.id, deviceId)]);
  await sessions.signOut(user.organizationId, user.id, deviceId);
}
