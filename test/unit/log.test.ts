// src/log.ts: what an error line keeps of an error (known-answer cases for the ways errors quote data).
import { DrizzleQueryError } from "drizzle-orm/errors";
import { afterEach, describe, expect, it, vi } from "vitest";
import { logError, logWarning } from "../../src/log";

function captured(level: "error" | "warn", run: () => void): Record<string, unknown> {
  const lines: string[] = [];
  vi.spyOn(console, level).mockImplementation((line: unknown) => void lines.push(String(line)));
  run();
  expect(lines).toHaveLength(1);
  return JSON.parse(lines[0]!) as Record<string, unknown>;
}

afterEach(() => vi.restoreAllMocks());

describe("logError", () => {
  it("writes one JSON object: level, what, where, and the error's name, message and frames", () => {
    const err = new Error("no such table: messages");
    const entry = captured("error", () => logError("outbox flush failed", { kind: "Conversation", id: "abc", shard: 2 }, err));
    expect(entry).toMatchObject({ level: "error", what: "outbox flush failed", kind: "Conversation", id: "abc", shard: 2 });
    expect(entry.error).toMatchObject({ name: "Error", message: "no such table: messages" });
    expect((entry.error as { stack: string }).stack).toMatch(/^at /);
  });

  it("keeps a drizzle query's SQL and drops its parameters (the second line)", () => {
    const err = new DrizzleQueryError('insert into "push_subscriptions" ("device_token") values (?)', ["device-token-secret"], new Error("D1_ERROR: disk full"));
    const entry = captured("error", () => logError("request failed", { kind: "Session", id: "s" }, err));
    expect(JSON.stringify(entry)).not.toContain("device-token-secret");
    expect(entry.error).toMatchObject({
      message: 'Failed query: insert into "push_subscriptions" ("device_token") values (?)',
      cause: { name: "Error", message: "D1_ERROR: disk full" },
    });
  });

  it("drops quoted text (JSON.parse quotes what it could not parse) and token-like runs", () => {
    let parseError: unknown;
    try {
      JSON.parse("the message body, not JSON");
    } catch (err) {
      parseError = err;
    }
    const jwt = "eyJhbGciOiJIUzI1NiJ9.eyJfaWQiOiIxMjM0NTY3ODkwMTIzNDU2Nzg5MDEyMzQifQ.c2lnbmF0dXJlLXNpZ25hdHVyZS1zaWduYXR1cmU";
    const a = captured("error", () => logError("a", { kind: "Worker", id: null }, parseError));
    expect(JSON.stringify(a)).not.toContain("message body");
    const b = captured("warn", () => logWarning("b", { kind: "Push", id: "sub" }, `rejected token ${jwt}`));
    expect(b).toMatchObject({ level: "warn", error: { name: "string", message: "rejected token [redacted]" } });
  });
});
