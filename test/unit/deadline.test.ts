import { describe, expect, it, vi } from "vitest";
import { EXPIRED, SharedDeadline } from "../../src/objects/deadline";

const never = new Promise<string>(() => undefined);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe("SharedDeadline", () => {
  it("answers with the call's result when it settles in time", async () => {
    const deadline = new SharedDeadline(1_000);
    await expect(deadline.race(Promise.resolve("pushed"))).resolves.toBe("pushed");
    await expect(deadline.race(Promise.reject(new Error("gone")))).rejects.toThrow("gone");
  });

  it("expires calls that never settle, and calls started within half a period share the first one's timer", async () => {
    const deadline = new SharedDeadline(200);
    const started = Date.now();
    const first = deadline.race(never).then((r) => ({ r, at: Date.now() - started }));
    await sleep(50);
    const second = deadline.race(never).then((r) => ({ r, at: Date.now() - started }));
    const [a, b] = await Promise.all([first, second]);
    expect(a.r).toBe(EXPIRED);
    expect(b.r).toBe(EXPIRED);
    // Both fire at the first deadline (~200 ms), not the second at ~250 ms.
    expect(Math.abs(b.at - a.at)).toBeLessThan(40);
  });

  it("starts a new timer once the current one has less than half its period left", async () => {
    const deadline = new SharedDeadline(100);
    const started = Date.now();
    void deadline.race(never);
    await sleep(70);
    const late = await deadline.race(never);
    expect(late).toBe(EXPIRED);
    // A call made 70 ms into a 100 ms period still gets at least half a period.
    expect(Date.now() - started).toBeGreaterThanOrEqual(70 + 50);
  });
});

describe("SharedDeadline's timer", () => {
  it("goes once every call under it has settled (a pending timer keeps an object from being evicted)", async () => {
    vi.useFakeTimers();
    try {
      const deadline = new SharedDeadline(1_000);
      let answer: (value: string) => void = () => undefined;
      const first = deadline.race(new Promise<string>((resolve) => (answer = resolve)));
      const second = deadline.race(Promise.resolve("at once"));
      expect(vi.getTimerCount()).toBe(1);
      await expect(second).resolves.toBe("at once");
      expect(vi.getTimerCount()).toBe(1); // the first call still races it
      answer("later");
      await expect(first).resolves.toBe("later");
      expect(vi.getTimerCount()).toBe(0);
    } finally {
      vi.useRealTimers();
    }
  });
});
