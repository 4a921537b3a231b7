// The rules that turn a handler's run into what happens to the message (src/domain/handler-outcome.ts).
import { describe, expect, it } from "vitest";
import { handlerModule } from "../../src/handlers/worker-loader";
import { nextFailureStreak, verdictOf } from "../../src/domain/handler-outcome";

/** Documented (README, docs/handlers.md): five failures in a row disable a handler. */
const FAILURES_TO_DISABLE = 5;

const blocked = { status: 422, message: "Message blocked by conversation rules." };

describe("verdictOf", () => {
  it("accept, reject with a reason or SAMA's default, a thrown error accepted but counted", () => {
    expect(verdictOf({ kind: "accept" })).toEqual({ decision: { action: "accept" }, failure: null });
    expect(verdictOf({ kind: "reject", reason: "No." })).toEqual({ decision: { action: "reject", error: { status: 422, message: "No." } }, failure: null });
    for (const reason of ["", "  ", null, 42]) expect(verdictOf({ kind: "reject", reason }).decision).toEqual({ action: "reject", error: blocked });
    expect(verdictOf({ kind: "reject", reason: "r".repeat(5000) }).decision).toEqual({ action: "reject", error: { status: 422, message: "r".repeat(1000) } });
    expect(verdictOf({ kind: "threw", error: "Error: x" })).toEqual({ decision: { action: "accept" }, failure: "threw Error: x" });
  });

  it("a stopped run is refused (fail closed) and counted", () => {
    expect(verdictOf({ kind: "failed", failure: "cpu", detail: "stopped" })).toEqual({
      decision: { action: "reject", error: { status: 422, message: "Message blocked: the conversation handler failed." } },
      failure: "cpu: stopped",
    });
  });

  it("resolve: replace with isReplaceBody, else a reply; SAMA's 422s for bad content", () => {
    expect(verdictOf({ kind: "resolve", value: { message: { body: "b" } }, options: { isReplaceBody: true } }).decision).toEqual({ action: "replace", content: { body: "b" } });
    expect(verdictOf({ kind: "resolve", value: { message: { body: "b" } }, options: { isReplaceBody: "yes" } }).decision).toEqual({ action: "reply", content: { body: "b" } });
    const attachment = { file_url: "u", file_blur_hash: "h", file_content_type: "image/png", file_size: 1, file_width: 2, file_height: 3 };
    expect(verdictOf({ kind: "resolve", value: { message: { attachments: [attachment] } }, options: null }).decision).toEqual({ action: "reply", content: { attachments: [attachment] } });
    const invalidAttachment = { decision: { action: "reject", error: { status: 422, message: "Invalid attachment fields." } } };
    // The limits a client's own attachment has (a 2,049-character URL, a 256-character type, a huge width) apply too.
    for (const attachments of [[{ file_id: "x" }], [{ file_size: "1" }], "nope", [null], [{ file_url: "u".repeat(2049) }], [{ file_content_type: "t".repeat(256) }], [{ file_width: 10001 }], [{ file_size: Number.NaN }]]) {
      expect(verdictOf({ kind: "resolve", value: { message: { body: "b", attachments } }, options: null })).toMatchObject(invalidAttachment);
    }
    const invalidBody = { decision: { action: "reject", error: { status: 422, message: "Incorrect type of message body." } } };
    for (const value of [null, {}, { message: {} }, { message: { body: 1 } }, { message: { body: "x".repeat(65537) } }, { message: "text" }]) {
      expect(verdictOf({ kind: "resolve", value, options: null })).toMatchObject(invalidBody);
    }
  });
});

describe("nextFailureStreak", () => {
  it("counts failures in a row, resets on a success, disables at the limit", () => {
    let streak = 0;
    for (let i = 1; i < FAILURES_TO_DISABLE; i++) {
      const next = nextFailureStreak(streak, true);
      expect(next).toEqual({ streak: i, disable: false });
      streak = next.streak;
    }
    expect(nextFailureStreak(streak, false)).toEqual({ streak: 0, disable: false });
    expect(nextFailureStreak(streak, true)).toEqual({ streak: FAILURES_TO_DISABLE, disable: true });
  });
});

describe("handlerModule (worker-loader)", () => {
  it("turns the module's default export into the function's return value", () => {
    expect(handlerModule("const a = 1;\nexport default await f(a);")).toBe("export async function run(env) {\nconst a = 1;\nreturn await f(a);\n}\n");
    expect(handlerModule("x();export default 2")).toContain("x();return 2");
  });
});
