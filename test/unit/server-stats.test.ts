import { describe, expect, it } from "vitest";
import { formatUptime, objectIdAt, previousWindow } from "../../src/domain/server-stats";
import { newObjectId } from "../../src/domain/object-id";

describe("previousWindow", () => {
  it("is the last completed window, aligned to UTC", () => {
    const t = Date.UTC(2026, 10, 25, 13, 42, 17, 500);
    expect(previousWindow(t, 60)).toEqual({ from: Date.UTC(2026, 10, 25, 13, 41) / 1000, to: Date.UTC(2026, 10, 25, 13, 42) / 1000 });
    expect(previousWindow(t, 3600)).toEqual({ from: Date.UTC(2026, 10, 25, 12) / 1000, to: Date.UTC(2026, 10, 25, 13) / 1000 });
    expect(previousWindow(t, 86400)).toEqual({ from: Date.UTC(2026, 10, 24) / 1000, to: Date.UTC(2026, 10, 25) / 1000 });
  });

  it("on a boundary, the window that just ended", () => {
    const t = Date.UTC(2026, 10, 25, 13, 42);
    expect(previousWindow(t, 60)).toEqual({ from: t / 1000 - 60, to: t / 1000 });
  });
});

describe("objectIdAt", () => {
  it("bounds the ids made in a second", () => {
    const seconds = Date.UTC(2026, 10, 25, 13, 42, 17) / 1000;
    const id = newObjectId(seconds * 1000 + 999);
    expect(id >= objectIdAt(seconds)).toBe(true);
    expect(id < objectIdAt(seconds + 1)).toBe(true);
    expect(newObjectId(seconds * 1000 - 1) < objectIdAt(seconds)).toBe(true);
    expect(objectIdAt(0x6b0656d7)).toBe("6b0656d70000000000000000");
  });
});

describe("formatUptime", () => {
  it("writes SAMA's text from the largest non-zero unit down to seconds", () => {
    expect(formatUptime(0)).toBe("0s");
    expect(formatUptime(59)).toBe("59s");
    expect(formatUptime(1234)).toBe("20m 34s");
    expect(formatUptime(3600)).toBe("1h 0m 0s");
    expect(formatUptime(3 * 3600 + 5)).toBe("3h 0m 5s");
    expect(formatUptime(2 * 86400 + 3600)).toBe("2d 1h 0m 0s");
    expect(formatUptime(-5)).toBe("0s");
  });
});
