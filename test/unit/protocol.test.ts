// Rules with no I/O: the envelope, Joi-style validation messages, the token bucket, ids.
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { newObjectId } from "../../src/domain/object-id";
import { fullBucket, take, takeUpTo } from "../../src/domain/token-bucket";
import { errorFrame, nestedDeeperThan, parseEnvelope, responseFrame, tooDeep } from "../../src/protocol/envelope";
import { Errors, SamaError } from "../../src/domain/errors";
import { date } from "../../src/protocol/fields";
import { parseParams, samaMessage } from "../../src/protocol/validation";

function failure(schema: z.ZodType, value: unknown): { status: number; message: string } {
  try {
    parseParams(schema, value);
  } catch (err) {
    if (err instanceof SamaError) return err.toBody();
    throw err;
  }
  throw new Error("expected a validation failure");
}

describe("validation messages", () => {
  const schema = z.strictObject({
    name: z.string().min(1).max(3),
    n: z.number().int().min(1).max(100).optional(),
    ids: z.array(z.string()).min(1).max(2).optional(),
    kind: z.enum(["a", "b"]).optional(),
    when: z.strictObject({ gt: date.optional() }).optional(),
    custom: z.string(samaMessage(Errors.INCORRECT_LOGIN)).optional(),
  });

  it.each<[unknown, string]>([
    [undefined, '"value" is required'],
    ["x", '"value" must be of type object'],
    [{}, '"name" is required'],
    [{ name: 5 }, '"name" must be a string'],
    [{ name: "" }, '"name" is not allowed to be empty'],
    [{ name: "abcd" }, '"name" length must be less than or equal to 3 characters long'],
    [{ name: "a", n: "1" }, '"n" must be a number'],
    [{ name: "a", n: 101 }, '"n" must be less than or equal to 100'],
    [{ name: "a", n: 0 }, '"n" must be greater than or equal to 1'],
    [{ name: "a", ids: [] }, '"ids" must contain at least 1 items'],
    [{ name: "a", ids: ["1", "2", "3"] }, '"ids" must contain less than or equal to 2 items'],
    [{ name: "a", ids: ["1", 2] }, '"ids[1]" must be a string'],
    [{ name: "a", kind: "c" }, '"kind" must be one of [a, b]'],
    [{ name: "a", when: { gt: "yesterday-ish" } }, '"when.gt" must be a valid date'],
    [{ name: "a", when: { lt: 1 } }, '"when.lt" is not allowed'],
    [{ name: "a", extra: 1 }, '"extra" is not allowed'],
  ])("%j → %s", (value, message) => {
    expect(failure(schema, value)).toEqual({ status: 422, message });
  });

  it("reports SAMA's table messages with their own status", () => {
    expect(failure(schema, { name: "a", custom: 1 })).toEqual({ status: 422, message: "The login provided is incorrect." });
    expect(failure(z.strictObject({ p: z.string(samaMessage(Errors.INCORRECT_CURRENT_PASSWORD)) }), {})).toEqual({
      status: 401,
      message: "The current password you entered is incorrect.",
    });
  });

  it("accepts dates as ISO strings or Unix ms", () => {
    expect(parseParams(schema, { name: "a", when: { gt: "2025-01-01T00:00:00.000Z" } }).when?.gt).toBe(Date.UTC(2025, 0, 1));
    expect(parseParams(schema, { name: "a", when: { gt: 5 } }).when?.gt).toBe(5);
  });
});

describe("envelope", () => {
  it("reads both forms and echoes ids verbatim", () => {
    const request = parseEnvelope('{"request":{"ping":{},"id":5}}');
    expect(request).toEqual({ form: "request", action: "ping", params: {}, id: 5 });
    const top = parseEnvelope('{"message":{"id":"m1","cid":"c"}}');
    expect(top).toEqual({ form: "top-level", action: "message", params: { id: "m1", cid: "c" }, id: "m1" });
    if (!("action" in request) || !("action" in top)) throw new Error("parse failed");
    expect(responseFrame(request, { pong: {} })).toBe('{"response":{"id":5,"pong":{}}}');
    expect(errorFrame(top, Errors.FORBIDDEN)).toBe('{"message":{"id":"m1","error":{"status":403,"message":"Forbidden."}}}');
    expect(errorFrame(null, Errors.INVALID_DATA_FORMAT)).toBe(
      '{"response":{"error":{"status":400,"message":"Bad request - invalid data format"}}}',
    );
  });

  it.each(["", "x", "[]", "1", "null", "{}", '{"id":1}', '{"request":[]}', '{"request":{"id":1}}'])("rejects %j", (text) => {
    expect(parseEnvelope(text)).toEqual({ status: 400, message: "Bad request - invalid data format" });
  });

  // Documented (docs/limits.md): 32 levels.
  const MAX_DEPTH = 32;
  it(`refuses params nested deeper than ${MAX_DEPTH} levels, echoing a plain id`, () => {
    const envelope = (depth: number, objects: boolean, id: unknown = "m1") => {
      const x = `${objects ? '{"a":'.repeat(depth) : "[".repeat(depth)}1${(objects ? "}" : "]").repeat(depth)}`;
      const parsed = parseEnvelope(JSON.stringify({ message: { id, cid: "c", x: "X" } }).replace('"X"', x));
      if (!("action" in parsed)) throw new Error("parse failed");
      return parsed;
    };
    // The params object itself is one level, so `x` may nest MAX_DEPTH - 1 levels.
    for (const objects of [true, false]) {
      expect(tooDeep(envelope(MAX_DEPTH - 1, objects))).toBeNull();
      expect(tooDeep(envelope(MAX_DEPTH, objects))).toMatchObject({ action: "message", id: "m1" });
      expect(tooDeep(envelope(10_000, objects))).toMatchObject({ id: "m1" });
    }
    expect(tooDeep(envelope(10_000, true, { a: { b: 1 } }))?.id).toBeUndefined();
    expect(nestedDeeperThan({ a: [1, { b: [] }] }, 4)).toBe(false);
    expect(nestedDeeperThan({ a: [1, { b: [] }] }, 3)).toBe(true);
  });
});

describe("token bucket", () => {
  const limits = { perSecond: 50, burst: 200 };

  it("lets a burst through, then refuses, then refills with time", () => {
    let bucket = fullBucket(limits, 0);
    let allowed = 0;
    for (let i = 0; i < 500; i++) {
      const r = take(bucket, limits, 0);
      bucket = r.bucket;
      if (r.allowed) allowed++;
    }
    expect(allowed).toBe(200);
    expect(take(bucket, limits, 10).allowed).toBe(false);
    const later = take(bucket, limits, 1000);
    expect(later.allowed).toBe(true);
    expect(later.bucket.tokens).toBeCloseTo(49);
    expect(take(bucket, limits, 1_000_000).bucket.tokens).toBe(199);
  });

  it("hands out slices: whole tokens up to what is asked, none when empty", () => {
    let bucket = fullBucket(limits, 0);
    const grants: number[] = [];
    for (let i = 0; i < 22; i++) {
      const r = takeUpTo(bucket, limits, 0, 10);
      bucket = r.bucket;
      grants.push(r.granted);
    }
    expect(grants).toEqual([...Array<number>(20).fill(10), 0, 0]);
    // 150 ms at 50/s refill 7.5 tokens: 7 are handed out, the half stays.
    const later = takeUpTo(bucket, limits, 150, 10);
    expect(later.granted).toBe(7);
    expect(later.bucket.tokens).toBeCloseTo(0.5);
  });
});

describe("object ids", () => {
  it("are 24 hex chars, time-prefixed and increasing", () => {
    const ids = Array.from({ length: 1000 }, () => newObjectId(Date.UTC(2026, 0, 1)));
    for (const id of ids) expect(id).toMatch(/^[0-9a-f]{24}$/);
    expect(ids[0]!.slice(0, 8)).toBe((Date.UTC(2026, 0, 1) / 1000).toString(16));
    expect(new Set(ids).size).toBe(1000);
  });
});
