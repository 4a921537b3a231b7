// Rules without I/O for password reset: the code draw (uniform, no modulo bias), reading the code a
// client sent, and the email senders (the HTTP one against a recording fake fetch, byte for byte).
import { describe, expect, it } from "vitest";
import { newOtpCode, OTP_REJECT_FROM, otpCodeOf, type RandomSource } from "../../src/domain/otp";
import { consoleEmailSender, emailSenderFor, emailSettingsOf, httpEmailSender } from "../../src/email/sender";
import { resetEmail } from "../../src/services/password-reset";
import { fakeFetch } from "../push/fakes";

/** A random source that yields `values` in order. */
function scripted(values: number[]): RandomSource & { used: number } {
  const source = Object.assign(
    (bytes: Uint32Array<ArrayBuffer>) => {
      const next = values[source.used++];
      if (next === undefined) throw new Error("ran out of scripted values");
      bytes[0] = next;
    },
    { used: 0 },
  );
  return source;
}

describe("newOtpCode", () => {
  it("maps a 32-bit draw onto 100000..999999 and rejects the draws that would bias it", () => {
    expect(OTP_REJECT_FROM).toBe(4_294_800_000); // 4772 × 900,000: the last 167,296 values are redrawn
    expect(newOtpCode(scripted([0]))).toBe(100000);
    expect(newOtpCode(scripted([899_999]))).toBe(999999);
    expect(newOtpCode(scripted([OTP_REJECT_FROM - 1]))).toBe(999999);
    const source = scripted([OTP_REJECT_FROM, 0xffffffff, 7]);
    expect(newOtpCode(source)).toBe(100007);
    expect(source.used).toBe(3);
  });

  it("draws six-digit codes from crypto.getRandomValues, spread over the whole range", () => {
    const codes = Array.from({ length: 2000 }, () => newOtpCode());
    for (const code of codes) {
      expect(Number.isInteger(code)).toBe(true);
      expect(String(code)).toMatch(/^[1-9]\d{5}$/);
    }
    // Each ninth of the range gets about 222 of 2000 draws; 120 is far below any plausible chance result.
    const ninths = new Array<number>(9).fill(0);
    for (const code of codes) ninths[Math.floor((code - 100000) / 100000)]! += 1;
    for (const n of ninths) expect(n).toBeGreaterThan(120);
    expect(new Set(codes).size).toBeGreaterThan(1990);
  });
});

describe("otpCodeOf", () => {
  it("takes SAMA's JSON number, or its six digits as a string", () => {
    expect(otpCodeOf(123456)).toBe(123456);
    expect(otpCodeOf("654321")).toBe(654321);
  });

  it.each([undefined, null, "", "12345", "1234567", "12345a", " 123456", 99999, 1000000, 123456.5, -123456, true, [123456], { code: 123456 }])(
    "refuses %j",
    (value) => {
      expect(otpCodeOf(value)).toBeNull();
    },
  );
});

const message = { to: "sam@example.com", subject: "Your password reset code", text: "Your password reset code is 123456." };

describe("httpEmailSender", () => {
  it("POSTs {from, to, subject, text} as JSON with the key as a bearer token", async () => {
    const fake = fakeFetch(() => new Response('{"id":"x"}', { status: 200 }));
    await httpEmailSender({ url: "https://api.mail.test/emails", key: "k-123", from: "Parley <no-reply@x.test>" }, fake.fetch).send(message);
    expect(fake.requests).toHaveLength(1);
    const [sent] = fake.requests;
    expect(sent!.url).toBe("https://api.mail.test/emails");
    expect(sent!.method).toBe("POST");
    expect([...sent!.headers]).toEqual([
      ["authorization", "Bearer k-123"],
      ["content-type", "application/json"],
    ]);
    expect(sent!.text).toBe(
      '{"from":"Parley <no-reply@x.test>","to":"sam@example.com","subject":"Your password reset code","text":"Your password reset code is 123456."}',
    );
  });

  it("sends no Authorization header without a key and no from without EMAIL_FROM", async () => {
    const fake = fakeFetch(() => new Response(null, { status: 202 }));
    await httpEmailSender({ url: "https://api.mail.test/emails", key: null, from: null }, fake.fetch).send(message);
    expect([...fake.requests[0]!.headers]).toEqual([["content-type", "application/json"]]);
    expect(fake.requests[0]!.text).toBe(JSON.stringify(message));
  });

  it("fails when the API does not accept the message", async () => {
    const fake = fakeFetch(() => new Response("quota", { status: 429 }));
    await expect(httpEmailSender({ url: "https://api.mail.test/emails", key: "k", from: null }, fake.fetch).send(message)).rejects.toThrow("email API answered 429");
  });

  it("gives up on an API that does not answer, so the request (and the socket's queue behind it) does not hang", async () => {
    let aborted = false;
    const silent = (_url: string, init: RequestInit) =>
      new Promise<Response>((_, reject) => {
        init.signal?.addEventListener("abort", () => {
          aborted = true;
          reject(new Error("aborted"));
        });
      });
    const sender = httpEmailSender({ url: "https://api.mail.test/emails", key: "k", from: null }, silent, 50);
    await expect(sender.send(message)).rejects.toThrow();
    expect(aborted).toBe(true);
  });
});

describe("email configuration", () => {
  const neverFetch = () => Promise.reject(new Error("no fetch expected"));

  it("uses the HTTP API when EMAIL_API_URL is set", async () => {
    const settings = emailSettingsOf({ EMAIL_API_URL: " https://api.mail.test/emails ", EMAIL_API_KEY: "k", EMAIL_FROM: "", EMAIL_DEV_CONSOLE: "true" });
    expect(settings).toEqual({ api: { url: "https://api.mail.test/emails", key: "k", from: null }, devConsole: true });
    const fake = fakeFetch();
    await emailSenderFor(settings, fake.fetch)!.send(message);
    expect(fake.requests.map((r) => r.url)).toEqual(["https://api.mail.test/emails"]);
  });

  it("prints to the console only when EMAIL_DEV_CONSOLE=true, and has no sender otherwise (SAMA's 401)", () => {
    expect(emailSenderFor(emailSettingsOf({ EMAIL_DEV_CONSOLE: "true" }), neverFetch)).not.toBeNull();
    expect(emailSenderFor(emailSettingsOf({ EMAIL_API_URL: "", EMAIL_DEV_CONSOLE: "" }), neverFetch)).toBeNull();
    expect(emailSenderFor(emailSettingsOf({}), neverFetch)).toBeNull();
  });

  it("the dev console sender prints the whole message, marked DEV-ONLY", async () => {
    const lines: string[] = [];
    await consoleEmailSender((line) => lines.push(line)).send(message);
    expect(lines).toEqual([
      "[DEV-ONLY email, not sent] to: sam@example.com\nsubject: Your password reset code\n\nYour password reset code is 123456.",
    ]);
  });
});

describe("resetEmail", () => {
  it("states the code's lifetime without rounding it up", () => {
    expect(resetEmail(123456, 600).text).toContain("It expires in 10 minutes and works once.");
    expect(resetEmail(123456, 60).text).toContain("It expires in 1 minute and works once.");
    expect(resetEmail(123456, 90).text).toContain("It expires in 90 seconds and works once.");
  });
});
