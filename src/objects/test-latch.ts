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
