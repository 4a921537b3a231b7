// Throttles password guessing. Failures are counted per account+device and per account, never per
// IP alone: clients behind one NAT must not lock each other out, and rotating IPs must not help.
// A device locks after a few failures; the whole account only after many (so a stranger cannot
// lock a user out cheaply, yet distributed guessing is still capped).
import { eq, inArray, or, sql } from "drizzle-orm";
import { authFailures } from "../db/schema";
import { Errors, SamaError } from "../domain/errors";
import type { ServiceDeps } from "./context";

interface ThrottleKeys {
  account: string;
  device: string;
}

/**
 * A key part with no ':' left in it: logins may contain ":dev:", and a raw "<account>:dev:" prefix
 * would also cover another account's keys (a password reset cleared them). Not encodeURIComponent,
 * which throws on a lone surrogate.
 */
const keyPart = (text: string): string => text.replace(/%/g, "%25").replace(/:/g, "%3A");

function keysFor(organizationId: string, login: string, deviceId: string): ThrottleKeys {
  const account = `acct:${organizationId}:${keyPart(login.toLowerCase())}`;
  return { account, device: `${account}:dev:${keyPart(deviceId)}` };
}

export async function assertLoginAllowed({ db, now }: ServiceDeps, organizationId: string, login: string, deviceId: string): Promise<void> {
  const keys = keysFor(organizationId, login, deviceId);
  const rows = await db
    .select()
    .from(authFailures)
    .where(inArray(authFailures.key, [keys.account, keys.device]))
    .all();
  if (rows.some((row) => row.lockedUntil !== null && row.lockedUntil > now)) {
    throw new SamaError(Errors.TOO_MANY_LOGIN_ATTEMPTS);
  }
}

export async function recordLoginFailure(deps: ServiceDeps, organizationId: string, login: string, deviceId: string): Promise<void> {
  const { db, now, config } = deps;
  const keys = keysFor(organizationId, login, deviceId);
  const windowMs = config.loginLockoutSeconds * 1000;
  const limits: Array<[string, number]> = [
    [keys.device, config.loginMaxFailuresPerDevice],
    [keys.account, config.loginMaxFailuresPerAccount],
  ];
  const existing = new Map(
    (
      await db
        .select()
        .from(authFailures)
        .where(inArray(authFailures.key, [keys.account, keys.device]))
        .all()
    ).map((row) => [row.key, row]),
  );
  const writes = limits.map(([key, max]) => {
    const row = existing.get(key);
    const fresh = !row || now - row.windowStart > windowMs;
    const failures = fresh ? 1 : row.failures + 1;
    const windowStart = fresh ? now : row.windowStart;
    const lockedUntil = failures >= max ? now + windowMs : null;
    return db
      .insert(authFailures)
      .values({ key, failures, windowStart, lockedUntil })
      .onConflictDoUpdate({ target: authFailures.key, set: { failures, windowStart, lockedUntil } });
  });
  const [first, ...rest] = writes;
  if (first) await db.batch([first, ...rest]);
}

/** A successful login clears the device's counter (the account counter ages out on its own). */
export async function recordLoginSuccess({ db }: ServiceDeps, organizationId: string, login: string, deviceId: string): Promise<void> {
  await db.delete(authFailures).where(eq(authFailures.key, keysFor(organizationId, login, deviceId).device));
}

/** After a password reset: every failure count of the account (all devices) starts again. */
export function clearAccountFailures({ db }: Pick<ServiceDeps, "db">, organizationId: string, login: string) {
  const { account } = keysFor(organizationId, login, "");
  const devicePrefix = `${account}:dev:`;
  return db
    .delete(authFailures)
    .where(or(eq(authFailures.key, account), sql`substr(${authFailures.key}, 1, ${devicePrefix.length}) = ${devicePrefix}`));
}
