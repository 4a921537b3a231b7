// The user aggregate in D1: creation, edits, deletion, lookups and search, always scoped to one
// organization.
import { and, desc, eq, gt, inArray, or, sql, type SQL } from "drizzle-orm";
import { inChunks, isUniqueViolation } from "../db/client";
import { blockedUsers, passwordResetCodes, userTokens, users, type AvatarObject, type UserRow } from "../db/schema";
import { newObjectId } from "../domain/object-id";
import { searchTextOf } from "../domain/user-view";
import { hashPassword } from "../auth/password";
import { Errors, SamaError } from "../domain/errors";
import { followUserContacts, rematchContacts } from "./contacts";
import type { ServiceDeps } from "./context";
import { deviceKeyDeletions } from "./encrypted-devices";
import { requireOrganization } from "./organizations";

export interface NewUser {
  organizationId: string;
  login: string;
  password: string;
  email?: string | undefined;
  phone?: string | undefined;
  firstName?: string | undefined;
  lastName?: string | undefined;
  deviceId?: string | undefined;
}

export interface UserChanges {
  login?: string | undefined;
  email?: string | undefined;
  phone?: string | undefined;
  firstName?: string | undefined;
  lastName?: string | undefined;
  avatarObject?: AvatarObject | undefined;
  passwordHash?: string | undefined;
}

const key = (value: string | undefined | null): string | null => (value == null ? null : value.toLowerCase());

/** Users of `organizationId` other than `exceptId` that already use one of these identifiers. */
async function identifierTaken(
  { db }: ServiceDeps,
  organizationId: string,
  ids: { login?: string | undefined; email?: string | undefined; phone?: string | undefined },
  exceptId?: string,
): Promise<boolean> {
  const clauses: SQL[] = [];
  if (ids.login !== undefined) clauses.push(eq(users.loginKey, ids.login.toLowerCase()));
  if (ids.email !== undefined) clauses.push(eq(users.emailKey, ids.email.toLowerCase()));
  if (ids.phone !== undefined) clauses.push(eq(users.phoneKey, ids.phone.toLowerCase()));
  if (clauses.length === 0) return false;
  const found = await db
    .select({ id: users.id })
    .from(users)
    .where(and(eq(users.organizationId, organizationId), or(...clauses)))
    .all();
  return found.some((row) => row.id !== exceptId);
}

export async function createUser(deps: ServiceDeps, input: NewUser): Promise<UserRow> {
  await requireOrganization(deps, input.organizationId);
  if (await identifierTaken(deps, input.organizationId, input)) throw new SamaError(Errors.USER_ALREADY_EXISTS);
  const { now } = deps;
  const row: UserRow = {
    id: newObjectId(now),
    organizationId: input.organizationId,
    login: input.login,
    loginKey: input.login.toLowerCase(),
    email: input.email ?? null,
    emailKey: key(input.email),
    phone: input.phone ?? null,
    phoneKey: key(input.phone),
    firstName: input.firstName ?? null,
    lastName: input.lastName ?? null,
    passwordHash: await hashPassword(input.password),
    avatarObject: null,
    recentActivity: Math.floor(now / 1000),
    deviceId: input.deviceId ?? null,
    isBot: false,
    searchText: searchTextOf({ login: input.login, firstName: input.firstName ?? null, lastName: input.lastName ?? null }),
    createdAt: now,
    updatedAt: now,
  };
  try {
    // Address-book entries with this email or phone now point at the new user.
    await deps.db.batch([deps.db.insert(users).values(row), rematchContacts(deps, row.organizationId, row)]);
  } catch (err) {
    if (isUniqueViolation(err)) throw new SamaError(Errors.USER_ALREADY_EXISTS);
    throw err;
  }
  return row;
}

export async function findUser({ db }: ServiceDeps, organizationId: string, id: string): Promise<UserRow | null> {
  return (
    (await db
      .select()
      .from(users)
      .where(and(eq(users.organizationId, organizationId), eq(users.id, id)))
      .get()) ?? null
  );
}

export async function findUserByLogin({ db }: ServiceDeps, organizationId: string, login: string): Promise<UserRow | null> {
  return (
    (await db
      .select()
      .from(users)
      .where(and(eq(users.organizationId, organizationId), eq(users.loginKey, login.toLowerCase())))
      .get()) ?? null
  );
}

/** The user with this email (any letter case) in the organization; users who cannot log in (the bot) are not found. */
export async function findUserByEmail({ db }: ServiceDeps, organizationId: string, email: string): Promise<UserRow | null> {
  const row = await db
    .select()
    .from(users)
    .where(and(eq(users.organizationId, organizationId), eq(users.emailKey, email.toLowerCase())))
    .get();
  return row && row.passwordHash !== null ? row : null;
}

export async function updateUser(deps: ServiceDeps, user: UserRow, changes: UserChanges): Promise<UserRow> {
  if (await identifierTaken(deps, user.organizationId, changes, user.id)) throw new SamaError(Errors.USER_ALREADY_EXISTS);
  const next: UserRow = {
    ...user,
    login: changes.login ?? user.login,
    loginKey: changes.login !== undefined ? changes.login.toLowerCase() : user.loginKey,
    email: changes.email ?? user.email,
    emailKey: changes.email !== undefined ? changes.email.toLowerCase() : user.emailKey,
    phone: changes.phone ?? user.phone,
    phoneKey: changes.phone !== undefined ? changes.phone.toLowerCase() : user.phoneKey,
    firstName: changes.firstName ?? user.firstName,
    lastName: changes.lastName ?? user.lastName,
    avatarObject: changes.avatarObject ?? user.avatarObject,
    passwordHash: changes.passwordHash ?? user.passwordHash,
    updatedAt: deps.now,
  };
  next.searchText = searchTextOf(next);
  // A new password replaces only the hash its current password was checked against (a reset meanwhile stays).
  const checkedHash = changes.passwordHash !== undefined && user.passwordHash !== null ? [eq(users.passwordHash, user.passwordHash)] : [];
  let changed: number;
  try {
    const [update] = await deps.db.batch([
      deps.db
        .update(users)
        .set({
          login: next.login,
          loginKey: next.loginKey,
          email: next.email,
          emailKey: next.emailKey,
          phone: next.phone,
          phoneKey: next.phoneKey,
          firstName: next.firstName,
          lastName: next.lastName,
          avatarObject: next.avatarObject,
          // Written only when it changes: the row was read before, and a password reset meanwhile
          // must not be undone by an edit of something else.
          ...(changes.passwordHash !== undefined ? { passwordHash: next.passwordHash } : {}),
          searchText: next.searchText,
          updatedAt: next.updatedAt,
        })
        .where(and(eq(users.id, user.id), eq(users.organizationId, user.organizationId), ...checkedHash)),
      // Entries matched by the old email/phone take the new one; contacts listing the new ones gain the match.
      ...followUserContacts(deps, user.organizationId, user, next),
      rematchContacts(deps, user.organizationId, user, next),
    ]);
    changed = update.meta.changes;
  } catch (err) {
    if (isUniqueViolation(err)) throw new SamaError(Errors.USER_ALREADY_EXISTS);
    throw err;
  }
  if (checkedHash.length > 0 && changed === 0) throw new SamaError(Errors.INCORRECT_CURRENT_PASSWORD);
  return next;
}

/** Replaces the user's password hash `from` by `to`; false when `from` is no longer theirs (a reset came first and stays). */
export async function replacePasswordHash({ db, now }: ServiceDeps, userId: string, from: string, to: string): Promise<boolean> {
  const replaced = await db
    .update(users)
    .set({ passwordHash: to, updatedAt: now })
    .where(and(eq(users.id, userId), eq(users.passwordHash, from)))
    .returning({ id: users.id });
  return replaced.length > 0;
}

export async function touchRecentActivity({ db, now }: ServiceDeps, userId: string): Promise<void> {
  await db
    .update(users)
    .set({ recentActivity: Math.floor(now / 1000) })
    .where(eq(users.id, userId));
}

/**
 * Deletes the user with their tokens, E2EE key bundles, password-reset row and block-list rows in
 * both directions (SAMA keeps messages), and signs out their sockets.
 */
export async function deleteUser({ db, sessions, now }: ServiceDeps, user: UserRow): Promise<void> {
  await db.batch([
    db.delete(userTokens).where(eq(userTokens.userId, user.id)),
    ...deviceKeyDeletions(db, user.id, null),
    db.delete(passwordResetCodes).where(eq(passwordResetCodes.userId, user.id)),
    db.delete(blockedUsers).where(or(eq(blockedUsers.userId, user.id), eq(blockedUsers.blockedUserId, user.id))),
    db.delete(users).where(and(eq(users.id, user.id), eq(users.organizationId, user.organizationId))),
    rematchContacts({ db, now }, user.organizationId, user), // after the delete: clears the user's matches
  ]);
  await sessions.signOut(user.organizationId, user.id, null);
}

export interface UserSearch {
  organizationId: string;
  keyword: string;
  limit: number;
  updatedAfter?: number | undefined;
  excludeIds: ReadonlySet<string>;
}

/** Substring match on login, first and last name, case-insensitive; SAMA's sort order. */
export async function searchUsers({ db }: ServiceDeps, search: UserSearch): Promise<UserRow[]> {
  const conditions: SQL[] = [
    eq(users.organizationId, search.organizationId),
    sql`instr(${users.searchText}, ${search.keyword.toLowerCase()}) > 0`,
  ];
  if (search.updatedAfter !== undefined) conditions.push(gt(users.updatedAt, search.updatedAfter));
  // Exclusions are filtered here, not in SQL, to stay under D1's 100 bound parameters.
  const rows = await db
    .select()
    .from(users)
    .where(and(...conditions))
    .orderBy(desc(users.firstName), users.lastName, users.login)
    .limit(search.limit + search.excludeIds.size)
    .all();
  return rows.filter((row) => !search.excludeIds.has(row.id)).slice(0, search.limit);
}

/** Users of the organization among `ids`, newest first; unknown and foreign ids are skipped. */
export async function usersByIds({ db }: ServiceDeps, organizationId: string, ids: readonly string[]): Promise<UserRow[]> {
  const found = await inChunks(ids, (chunk) =>
    db
      .select()
      .from(users)
      .where(and(eq(users.organizationId, organizationId), inArray(users.id, chunk)))
      .all(),
  );
  return found.sort((a, b) => (a.id < b.id ? 1 : a.id > b.id ? -1 : 0));
}
