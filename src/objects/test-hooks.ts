// What only tests may do to an object (only with TEST_HOOKS=1, which the vitest config sets).

/** Throws unless the test hooks are on: every test-only call checks this first. */
export function requireTestHooks(env: Env): void {
  if ((env.TEST_HOOKS as string) !== "1") throw new Error("test hooks are disabled");
}

/**
 * The runtime's abort of an object, for the chaos test: in-flight calls fail, its sockets close,
 * whatever it held only in memory is lost, and the next call builds a fresh instance from storage.
 * Unlike evictDurableObject it waits for nothing.
 */
export function abortForTest(ctx: DurableObjectState, env: Env): void {
  requireTestHooks(env);
  ctx.abort("chaos: aborted by the test");
}
