// A held call, for tests that need an object's answer to come late (only with TEST_HOOKS=1): the
// next call that passes the latch waits until the test releases it, then goes on or fails.
import { requireTestHooks } from "./test-hooks";

export class TestLatch {
  private held: { taken: boolean; released: Promise<boolean>; release: (fail: boolean) => void; reached: PromiseWithResolvers<void> } | null = null;

  /** Whether the next call must wait (checked before awaiting anything, so calls pay nothing otherwise). */
  get armed(): boolean {
    return this.held !== null && !this.held.taken;
  }

  /** Holds the next call that passes; a call with the hooks off throws instead. */
  arm(env: Env): void {
    requireTestHooks(env);
    let release!: (fail: boolean) => void;
    const released = new Promise<boolean>((resolve) => (release = resolve));
    this.held = { taken: false, released, release, reached: Promise.withResolvers<void>() };
  }

  /** Resolves once a call waits at the latch (at once when none is held). */
  async reached(): Promise<void> {
    await this.held?.reached.promise;
  }

  /** Lets the held call go on, or fail as a call that never got through. */
  release(fail: boolean): void {
    this.held?.release(fail);
    this.held = null;
  }

  /** Where the call waits: resolves when released, rejects when released to fail. */
  async pass(): Promise<void> {
    const held = this.held;
    if (held === null || held.taken) return;
    held.taken = true;
    held.reached.resolve();
    if (await held.released) throw new Error("test: the held call failed");
  }
}

/** An object's latches by the point of its way they hold (one trio of test calls per object, not one per point). */
export class TestLatches<Point extends string> {
  private readonly latches = new Map<Point, TestLatch>();

  private latch(point: Point): TestLatch {
    let latch = this.latches.get(point);
    if (!latch) this.latches.set(point, (latch = new TestLatch()));
    return latch;
  }

  /** Holds the next call that passes `point`. */
  arm(point: Point, env: Env): void {
    this.latch(point).arm(env);
  }

  reached(point: Point): Promise<void> {
    return this.latch(point).reached();
  }

  release(point: Point, fail: boolean): void {
    this.latch(point).release(fail);
  }

  /** Whether the next call at `point` must wait: checked before awaiting pass, so a hot path pays no await otherwise. */
  armed(point: Point): boolean {
    return this.latches.get(point)?.armed ?? false;
  }

  /** Where a call passes `point`: it waits if a test armed it (see armed). */
  async pass(point: Point): Promise<void> {
    const latch = this.latches.get(point);
    if (latch?.armed) await latch.pass();
  }
}
