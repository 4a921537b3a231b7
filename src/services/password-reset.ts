// Password reset by a six-digit code sent by email (user_send_otp, then user_reset_password). The
// code is stored only as an HMAC keyed with a server secret, so a copy of D1 does not reveal it. A
// code dies when it is used, when OTP_TTL_SECONDS pass, or after OTP_MAX_ATTEMPTS wrong guesses;
// each user gets at most one code per OTP_RESEND_COOLDOWN_SECONDS and MAX_SENDS_PER_DAY codes a day,
// so guessing stays bounded and the email API cannot be used to flood someone's inbox.
// Every check that guards a limit is one conditional statement, so concurrent requests cannot
// slip past it.
import { and, eq, gt, isNotNull, lt, lte, or, sql } from "drizzle-orm";
import { hmacSha256Hex, safeEqual } from "../auth/encoding";
import { hashPassword } from "../auth/password";
import { passwordResetCodes, userTokens, users, type UserRow } from "../db/schema";
import { newOtpCode } from "../domain/otp";
import type { EmailSender } from "../email/sender";
import { Errors, SamaError } from "../domain/errors";
import type { ServiceDeps } from "./context";
import { deviceKeyDeletions } from "./encrypted-devices";
import { clearAccountFailures } from "./login-throttle";
import { requireOrganization } from "./organizations";
import { findUserByEmail } from "./users";
import { logError } from "../log";

const DAY_MS = 24 * 3600 * 1000;
/** Codes one user can be sent per day: with 5 guesses each, 50 guesses a day out of 900,000 codes. */
export const MAX_SENDS_PER_DAY = 10;

/** The code bound to its user, under a key no one without the Worker's secrets has ("otp\0" keeps it apart from the JWTs the secret also signs). */
function codeHash(deps: ServiceDeps, userId: string, code: number): Promise<string> {
  return hmacSha256Hex(deps.config.jwtAccessSecret, `otp\0${userId}\0${code}`);
}

export function resetEmail(code: number, ttlSeconds: number): { subject: string; text: string } {
  // Whole minutes when the lifetime is whole minutes; otherwise seconds (rounding 90 s to "2 minutes" would promise time the code does not have).
  const [count, unit] = ttlSeconds % 60 === 0 ? [ttlSeconds / 60, "minute"] : [ttlSeconds, "second"];
  return {
    subject: "Your password reset code",
    text:
      `Your password reset code is ${code}.\n\n` +
      `It expires in ${count} ${unit}${count === 1 ? "" : "s"} and works once. ` +
      "If you did not ask to reset your password, ignore this email: your password stays as it is.",
  };
}

/** user_send_otp: a new code for the user with this email, replacing any earlier one, sent by `sender`. */
export async function sendResetCode(deps: ServiceDeps, organizationId: string, email: string, sender: EmailSender): Promise<void> {
  const { db, config, now } = deps;
  await requireOrganization(deps, organizationId);
  const user = await findUserByEmail(deps, organizationId, email);
  if (!user || user.email === null) throw new SamaError(Errors.USER_NOT_FOUND);
  const code = newOtpCode();
  const hash = await codeHash(deps, user.id, code);
  const t = passwordResetCodes;
  const newWindow = sql`${t.windowStart} <= ${now - DAY_MS}`;
  const stored = await db
    .insert(t)
    .values({ userId: user.id, organizationId, codeHash: hash, expiresAt: now + config.otpTtlSeconds * 1000, attempts: 0, sentAt: now, windowStart: now, windowSends: 1 })
    .onConflictDoUpdate({
      target: t.userId,
      set: {
        codeHash: hash,
        expiresAt: now + config.otpTtlSeconds * 1000,
        attempts: 0,
        sentAt: now,
        windowStart: sql`CASE WHEN ${newWindow} THEN ${now} ELSE ${t.windowStart} END`,
        windowSends: sql`CASE WHEN ${newWindow} THEN 1 ELSE ${t.windowSends} + 1 END`,
      },
      // Cooldown and daily cap, checked and applied in the same statement.
      setWhere: and(lte(t.sentAt, now - config.otpResendCooldownSeconds * 1000), or(newWindow, lt(t.windowSends, MAX_SENDS_PER_DAY))),
    })
    .returning({ userId: t.userId });
  if (stored.length === 0) throw new SamaError(Errors.OTP_RESEND_COOLDOWN);
  try {
    await sender.send({ to: user.email, ...resetEmail(code, config.otpTtlSeconds) });
  } catch (err) {
    // Not delivered: the code is withdrawn and the cooldown lifted, so the user can ask again at once.
    await db
      .update(t)
      .set({ codeHash: null, sentAt: 0, windowSends: sql`${t.windowSends} - 1` })
      .where(and(eq(t.userId, user.id), eq(t.codeHash, hash)));
    logError("password recovery email failed", { kind: "Email", id: null, user: user.id }, err);
    throw new SamaError(Errors.OTP_EMAIL_FAILED);
  }
}

export interface PasswordReset {
  organizationId: string;
  email: string;
  /** The code as sent by the client; null when it is not a six-digit number. */
  code: number | null;
  newPassword: string;
}

/**
 * user_reset_password: with the right code, sets the new password and ends every session of the
 * user: all tokens of all devices are revoked, live sockets are signed out, E2EE device bundles are
 * deleted (a device must sign in and register again) and login lockouts are cleared. Every failure
 * (unknown email, no code, wrong, expired or dead code) is the same 403.
 */
export async function resetPassword(deps: ServiceDeps, input: PasswordReset): Promise<UserRow> {
  const { db, config, now } = deps;
  await requireOrganization(deps, input.organizationId);
  const user = await findUserByEmail(deps, input.organizationId, input.email);
  if (!user || input.code === null) throw new SamaError(Errors.INCORRECT_OTP_TOKEN);
  const t = passwordResetCodes;
  // An attempt is counted before the comparison, in one statement: concurrent guesses cannot exceed the limit.
  const [live] = await db
    .update(t)
    .set({ attempts: sql`${t.attempts} + 1` })
    .where(and(eq(t.userId, user.id), isNotNull(t.codeHash), gt(t.expiresAt, now), lt(t.attempts, config.otpMaxAttempts)))
    .returning({ codeHash: t.codeHash });
  const expected = await codeHash(deps, user.id, input.code);
  if (!live?.codeHash || !safeEqual(live.codeHash, expected)) throw new SamaError(Errors.INCORRECT_OTP_TOKEN);
  const passwordHash = await hashPassword(input.newPassword);
  // Used once: of two requests with the right code, only one finds it still there.
  const used = await db
    .update(t)
    .set({ codeHash: null })
    .where(and(eq(t.userId, user.id), eq(t.codeHash, expected)))
    .returning({ userId: t.userId });
  if (used.length === 0) throw new SamaError(Errors.INCORRECT_OTP_TOKEN);
  await db.batch([
    db.update(users).set({ passwordHash, updatedAt: now }).where(eq(users.id, user.id)),
    db.delete(userTokens).where(eq(userTokens.userId, user.id)),
    ...deviceKeyDeletions(db, user.id, null),
    clearAccountFailures(deps, user.organizationId, user.login),
  ]);
  await deps.sessions.signOut(user.organizationId, user.id, null);
  return user;
}
