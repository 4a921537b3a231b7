// mongoexport's Extended JSON, canonical and relaxed, as the importer's schemas see it.
import { describe, expect, it } from "vitest";
import { fromExtendedJson } from "../../src/domain/extended-json";

describe("fromExtendedJson", () => {
  it("unwraps ObjectIds, dates and numbers, canonical and relaxed, at any depth", () => {
    const canonical = {
      _id: { $oid: "68270a15d6a78a5b3a04e041" },
      size: { $numberLong: "305254" },
      file_width: { $numberInt: "1145" },
      ratio: { $numberDouble: "0.5" },
      created_at: { $date: { $numberLong: "1747388949062" } },
      deleted_for: [{ $oid: "68270a0ad6a78a5b3a04e03b" }],
      avatar_object: { file_id: "x", nested: { at: { $date: "2025-05-16T09:49:09.062Z" } } },
    };
    expect(fromExtendedJson(canonical)).toEqual({
      _id: "68270a15d6a78a5b3a04e041",
      size: 305254,
      file_width: 1145,
      ratio: 0.5,
      created_at: "2025-05-16T09:49:09.062Z",
      deleted_for: ["68270a0ad6a78a5b3a04e03b"],
      avatar_object: { file_id: "x", nested: { at: "2025-05-16T09:49:09.062Z" } },
    });
    expect(fromExtendedJson({ $date: "2025-05-16T09:49:09.062+02:00" })).toBe("2025-05-16T07:49:09.062Z");
  });

  it("keeps what is not a wrapper: plain values, objects with more keys, invalid dates", () => {
    expect(fromExtendedJson({ _id: "default", name: "default", n: 3, ok: null })).toEqual({ _id: "default", name: "default", n: 3, ok: null });
    expect(fromExtendedJson({ $oid: "a", other: 1 })).toEqual({ $oid: "a", other: 1 });
    expect(fromExtendedJson({ $date: "not a date" })).toEqual({ $date: "not a date" });
    expect(fromExtendedJson({ $binary: { base64: "AA==", subType: "00" } })).toEqual({ $binary: { base64: "AA==", subType: "00" } });
  });
});
