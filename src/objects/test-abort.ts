// The runtime's abort of an object, for the chaos test (only with TEST_HOOKS=1, which the vitest
// config sets): in-flight calls fail, its sockets close, whatever it held only in memory is lost,
// and the next call builds a fresh instance from storage. Unlike evictDurableObject it waits for nothing.

/** Aborts the object at once; a call with the hooks off throws instead. */
export function abortForTest(ctx: DurableObjectState, env: Env): void {
  if ((env.TEST_HOOKS as string) !== "1") throw new Error("test hooks are disabled");
  ctx.abort("chaos: aborted by the test");
}
