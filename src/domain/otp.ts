// One-time codes for password reset. SAMA clients send the code back as a JSON number, so a code
// is a six-digit number without a leading zero: 100000..999999, drawn uniformly.

export const OTP_MIN = 100_000;
export const OTP_SPAN = 900_000;

/** Fills `bytes` with random values; crypto.getRandomValues in production. */
export type RandomSource = (bytes: Uint32Array<ArrayBuffer>) => void;

const cryptoRandom: RandomSource = (bytes) => {
  crypto.getRandomValues(bytes);
};

/** Largest multiple of OTP_SPAN that fits in 32 bits: draws at or above it are rejected, so `x % OTP_SPAN` has no bias. */
export const OTP_REJECT_FROM = Math.floor(2 ** 32 / OTP_SPAN) * OTP_SPAN;

export function newOtpCode(random: RandomSource = cryptoRandom): number {
  const draw = new Uint32Array(1);
  for (;;) {
    random(draw);
    const x = draw[0]!;
    if (x < OTP_REJECT_FROM) return OTP_MIN + (x % OTP_SPAN);
  }
}

/** The code as the client sent it: a JSON number (SAMA) or, as a Parley extension, its six digits as a string. */
export function otpCodeOf(value: unknown): number | null {
  const n = typeof value === "string" && /^\d{6}$/.test(value) ? Number(value) : value;
  return typeof n === "number" && Number.isInteger(n) && n >= OTP_MIN && n < OTP_MIN + OTP_SPAN ? n : null;
}
