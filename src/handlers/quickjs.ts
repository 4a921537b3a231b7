// The default engine: QuickJS compiled to WebAssembly. Each run gets a fresh runtime and context in
// the isolate's one QuickJS module, so nothing is shared between runs or with Parley: the handler's
// global scope holds only `env` (and a silent `console`). FETCH returns a QuickJS promise settled by
// the host, so it works before and after any `await` (an asyncified host function would not: it can
// only suspend during the first synchronous stretch of the module; see docs/handlers.md).
import variant from "@jitl/quickjs-wasmfile-release-sync";
import wasmModule from "@jitl/quickjs-wasmfile-release-sync/wasm";
import {
  newQuickJSWASMModuleFromVariant,
  newVariant,
  type QuickJSContext,
  type QuickJSDeferredPromise,
  type QuickJSHandle,
  type QuickJSRuntime,
  type QuickJSWASMModule,
} from "quickjs-emscripten-core";
import { guardedFetch, outboundRequest } from "./outbound";
import type { FailureKind, HandlerInput, RunOutcome } from "../domain/handler-outcome";
import type { Budgets, HandlerEngine, HandlerFetch } from "./types";
import { logError } from "../log";

let modulePromise: Promise<QuickJSWASMModule> | null = null;

/** The isolate's QuickJS module (compiled once, instantiated once); dropped when a run broke it. */
function quickjs(): Promise<QuickJSWASMModule> {
  modulePromise ??= newQuickJSWASMModuleFromVariant(newVariant(variant, { wasmModule })).catch((err: unknown) => {
    modulePromise = null;
    throw err;
  });
  return modulePromise;
}

// Runs before the handler, as a script: builds `env` from the host's functions and the input JSON.
const PRELUDE = `(function (input, accept, resolve, reject, rawFetch) {
  const data = JSON.parse(input);
  const fetch = async (url, init) => {
    const r = JSON.parse(await rawFetch(url, JSON.stringify(init === undefined ? {} : init)));
    return Object.freeze({ ok: r.ok, status: r.status, statusText: r.statusText, headers: r.headers,
      text: async () => r.body, json: async () => JSON.parse(r.body) });
  };
  const quiet = () => undefined;
  globalThis.console = Object.freeze({ log: quiet, info: quiet, warn: quiet, error: quiet, debug: quiet });
  globalThis.env = Object.freeze({ MESSAGE: data.message, USER: data.user, ACCEPT: accept, RESOLVE: resolve,
    REJECT: reject, FETCH: fetch });
})`;

export const utf8Length = (text: string): number => new TextEncoder().encode(text).byteLength;

const failed = (failure: FailureKind, detail: string): RunOutcome => ({ kind: "failed", failure, detail });

export class QuickJsEngine implements HandlerEngine {
  readonly name = "quickjs";

  constructor(private readonly fetchFn: HandlerFetch) {}

  async run(code: string, input: HandlerInput, budgets: Budgets): Promise<RunOutcome> {
    const inputJson = JSON.stringify(input);
    if (utf8Length(inputJson) > budgets.inputBytes) return failed("input_too_large", `input over ${budgets.inputBytes} bytes`);
    let module: QuickJSWASMModule;
    try {
      module = await quickjs();
    } catch (err) {
      return failed("engine", `QuickJS did not start: ${String(err)}`);
    }
    const run = new Run(module, budgets, this.fetchFn);
    try {
      return await run.execute(code, inputJson);
    } catch (err) {
      // A failure of the host side (not of the handler): start from a new module next time.
      modulePromise = null;
      return failed("engine", String(err));
    } finally {
      if (!run.dispose()) modulePromise = null;
    }
  }
}

/** One handler run: its runtime, its context, every handle it made, and its decision. */
class Run {
  private readonly rt: QuickJSRuntime;
  private readonly ctx: QuickJSContext;
  private readonly deadline: number;
  private readonly deferreds = new Set<QuickJSDeferredPromise>();
  private readonly inFlight = new Set<Promise<void>>();
  private interrupts = 0;
  private stopped: FailureKind | null = null;
  private decision: RunOutcome | null = null;
  private fetchCalls = 0;
  private finished = false;

  constructor(
    module: QuickJSWASMModule,
    private readonly budgets: Budgets,
    private readonly fetchFn: HandlerFetch,
  ) {
    this.deadline = Date.now() + budgets.wallMs;
    this.rt = module.newRuntime();
    this.rt.setMemoryLimit(budgets.memoryBytes);
    this.rt.setMaxStackSize(budgets.stackBytes);
    // The count holds where Date.now() stands still during synchronous code (production); the
    // deadline catches the rest. An interrupt cannot be caught by the handler's try/catch.
    this.rt.setInterruptHandler(() => {
      this.interrupts += 1;
      if (this.interrupts > budgets.interrupts) this.stopped ??= "cpu";
      else if (Date.now() > this.deadline) this.stopped ??= "timeout";
      return this.stopped !== null;
    });
    this.ctx = this.rt.newContext();
  }

  async execute(code: string, inputJson: string): Promise<RunOutcome> {
    const setup = this.installEnv(inputJson);
    if (setup) return setup;
    const evaluated = this.ctx.evalCode(code, "handler.js", { type: "module" });
    if (evaluated.error) return this.failure(evaluated.error);
    const completion = evaluated.value;
    let timer: ReturnType<typeof setTimeout> | null = null;
    const deadline = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, Math.max(0, this.deadline - Date.now()));
    });
    try {
      for (;;) {
        const jobs = this.rt.executePendingJobs();
        if (jobs.error) return this.failure(jobs.error);
        if (this.stopped) return failed(this.stopped, "stopped");
        const state = this.ctx.getPromiseState(completion);
        if (state.type === "fulfilled") {
          // A module without top-level await completes with a plain value: `state.value` is then
          // `completion` itself, disposed below (disposing it twice threw and failed the run).
          if (!state.notAPromise) state.value.dispose();
          return this.decision ?? { kind: "accept" };
        }
        if (state.type === "rejected") return this.failure(state.error);
        if (this.rt.hasPendingJob()) continue;
        // Waiting on nothing the host will ever settle: it would hang until the deadline.
        if (this.inFlight.size === 0) return failed("unsettled", "the handler awaits a promise that never settles");
        await Promise.race([...this.inFlight, deadline]);
        if (Date.now() >= this.deadline) return failed("timeout", `no decision within ${this.budgets.wallMs} ms`);
      }
    } finally {
      clearTimeout(timer);
      completion.dispose();
    }
  }

  /** Frees every handle, then the context and the runtime; false when QuickJS could not be torn down cleanly. */
  dispose(): boolean {
    this.finished = true;
    try {
      for (const deferred of this.deferreds) if (deferred.alive) deferred.dispose();
      this.ctx.dispose();
      this.rt.dispose();
      return true;
    } catch (err) {
      logError("QuickJS teardown failed; the module is replaced", { kind: "Handler", id: null }, err);
      return false;
    }
  }

  private installEnv(inputJson: string): RunOutcome | null {
    const ctx = this.ctx;
    const prelude = ctx.evalCode(PRELUDE, "prelude.js", { type: "global" });
    if (prelude.error) return this.failure(prelude.error);
    const args = [
      ctx.newString(inputJson),
      ctx.newFunction("ACCEPT", () => {
        this.decision ??= { kind: "accept" };
      }),
      ctx.newFunction("RESOLVE", (value, options) => {
        const [json, error] = this.toJson(ctx, value, options);
        if (error) return { error };
        const [resolved, resolveOptions] = JSON.parse(json) as [unknown, unknown];
        this.decision ??= { kind: "resolve", value: resolved ?? null, options: resolveOptions ?? null };
        return undefined;
      }),
      ctx.newFunction("REJECT", (reason) => {
        this.decision ??= { kind: "reject", reason: reason !== undefined && ctx.typeof(reason) === "string" ? ctx.getString(reason) : null };
      }),
      ctx.newFunction("FETCH", (url, init) => this.fetch(url, init)),
    ];
    const called = ctx.callFunction(prelude.value, ctx.undefined, ...args);
    for (const handle of [prelude.value, ...args]) handle.dispose();
    if (called.error) return this.failure(called.error);
    called.value.dispose();
    return null;
  }

  /** RESOLVE's arguments as JSON, or an error handle to throw into the handler. */
  private toJson(ctx: QuickJSContext, ...values: Array<QuickJSHandle | undefined>): [string, null] | [string, QuickJSHandle] {
    const list = ctx.newArray();
    values.forEach((value, i) => ctx.setProp(list, i, value ?? ctx.undefined));
    const json = ctx.getProp(ctx.global, "JSON");
    const result = ctx.callMethod(json, "stringify", [list]);
    json.dispose();
    list.dispose();
    if (result.error) return ["", result.error];
    const text = ctx.typeof(result.value) === "string" ? ctx.getString(result.value) : "[null,null]";
    result.value.dispose();
    if (utf8Length(text) > this.budgets.resultBytes) return ["", ctx.newError(`RESOLVE: the result is larger than ${this.budgets.resultBytes} bytes`)];
    return [text, null];
  }

  private fetch(urlHandle: QuickJSHandle | undefined, initHandle: QuickJSHandle | undefined): QuickJSHandle | { error: QuickJSHandle } {
    const ctx = this.ctx;
    let request;
    try {
      const url = urlHandle !== undefined && ctx.typeof(urlHandle) === "string" ? ctx.getString(urlHandle) : null;
      const init = initHandle !== undefined && ctx.typeof(initHandle) === "string" ? (JSON.parse(ctx.getString(initHandle)) as unknown) : {};
      request = outboundRequest(url, init);
    } catch (err) {
      return { error: ctx.newError(err instanceof Error ? err.message : String(err)) };
    }
    this.fetchCalls += 1;
    if (this.fetchCalls > this.budgets.fetch.maxCalls) return { error: ctx.newError(`FETCH: at most ${this.budgets.fetch.maxCalls} requests per message`) };
    const deferred = ctx.newPromise();
    this.deferreds.add(deferred);
    const settle = (ok: boolean, text: string) => {
      if (this.finished || !deferred.alive) return; // the run ended first; its handles are gone
      const handle = ok ? ctx.newString(text) : ctx.newError(text);
      if (ok) deferred.resolve(handle);
      else deferred.reject(handle);
      handle.dispose();
      deferred.dispose();
      this.deferreds.delete(deferred);
    };
    const call: Promise<void> = guardedFetch(this.fetchFn, request, this.budgets.fetch)
      .then(
        (result) => settle(true, JSON.stringify(result)),
        (err: unknown) => settle(false, err instanceof Error ? err.message : String(err)),
      )
      .finally(() => this.inFlight.delete(call));
    this.inFlight.add(call);
    return deferred.handle;
  }

  /** A thrown value or rejection, classified: a stopped run or an exhausted limit is a failure; anything else the handler threw. */
  private failure(errorHandle: QuickJSHandle): RunOutcome {
    // An out-of-memory run may not even have room to read its error: a little headroom, for reading only.
    this.rt.setMemoryLimit(this.budgets.memoryBytes + 1024 * 1024);
    const text = this.describe(errorHandle);
    errorHandle.dispose();
    if (this.stopped) return failed(this.stopped, text);
    // QuickJS throws null when it cannot even allocate the error (so a handler's own `throw null` counts as out of memory too).
    if (/^InternalError: (out of memory|string too long)/.test(text) || text === "null") return failed("memory", text);
    if (/^(RangeError: Maximum call stack size exceeded|InternalError: stack overflow)/.test(text)) return failed("stack", text);
    return { kind: "threw", error: text };
  }

  private describe(handle: QuickJSHandle): string {
    try {
      const value: unknown = this.ctx.dump(handle);
      if (typeof value === "object" && value !== null && "message" in value) {
        const { name, message } = value as { name?: unknown; message?: unknown };
        return `${String(name ?? "Error")}: ${String(message)}`;
      }
      return String(value);
    } catch {
      return "InternalError: out of memory (the error could not be read)";
    }
  }
}
