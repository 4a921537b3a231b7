// The second engine: Cloudflare's Worker Loader. The handler runs in its own V8 isolate, one per
// conversation and code (warm isolates are reused), with no network (`globalOutbound: null`), no bindings,
// and a CPU limit that Cloudflare enforces in production (the local runtime ignores it, so the QuickJS
// engine is the default). SAMA's handler is a module that runs once; an isolate evaluates a module
// once, so the handler's top-level code becomes the body of a function called per message.
// FETCH reaches the network only through a per-run object handed to the isolate as an RPC argument:
// it counts the calls and goes through HandlerOutbound (the QuickJS engine's checks). Nothing in the
// isolate's env is safe from the handler (any module can import it from "cloudflare:workers"), so
// the limits live on this side.
import { RpcTarget } from "cloudflare:workers";
import { sha256Hex } from "../auth/encoding";
import type { FetchResult } from "./outbound";
import type { HandlerOutbound } from "./outbound-entrypoint";
import type { HandlerInput, RunOutcome } from "../domain/handler-outcome";
import type { Budgets, HandlerEngine } from "./types";

/** The entrypoint FETCH goes through, as ctx.exports hands it out. */
export type OutboundBinding = Service<HandlerOutbound>;

const COMPATIBILITY_DATE = "2026-11-01";

// The isolate's entry: builds `env` for each call, runs the handler, answers with its decision.
const MAIN_MODULE = `import { WorkerEntrypoint } from "cloudflare:workers";
import { run } from "./handler.js";
export default class extends WorkerEntrypoint {
  async run(input, outbound) {
    let decision = null;
    // The handler gets this function; the call cap is kept by the outbound object, on Parley's side.
    const fetch = async (url, init) => {
      const r = await outbound.request(url, init === undefined ? {} : JSON.parse(JSON.stringify(init)));
      if (r.error !== undefined) throw new Error(r.error);
      return Object.freeze({ ok: r.ok, status: r.status, statusText: r.statusText, headers: r.headers,
        text: async () => r.body, json: async () => JSON.parse(r.body) });
    };
    const env = Object.freeze({
      MESSAGE: input.message,
      USER: input.user,
      ACCEPT: () => { decision ??= { kind: "accept" }; },
      RESOLVE: (value, options) => {
        const [resolved, resolveOptions] = JSON.parse(JSON.stringify([value ?? null, options ?? null]));
        decision ??= { kind: "resolve", value: resolved, options: resolveOptions };
      },
      REJECT: (reason) => { decision ??= { kind: "reject", reason: typeof reason === "string" ? reason : null }; },
      FETCH: fetch,
    });
    try {
      await run(env);
      return JSON.stringify(decision ?? { kind: "accept" });
    } catch (err) {
      return JSON.stringify({ kind: "threw", error: err instanceof Error ? err.name + ": " + err.message : String(err) });
    }
  }
};
`;

/** One run's FETCH: at most `maxCalls`, and none once the run is over (a handler may leave calls running). */
class RunOutbound extends RpcTarget {
  private calls = 0;
  private over = false;

  constructor(
    private readonly outbound: OutboundBinding,
    private readonly maxCalls: number,
  ) {
    super();
  }

  async request(url: unknown, init: unknown): Promise<FetchResult | { error: string }> {
    if (this.over) return { error: "FETCH: the handler's run is over" };
    if (++this.calls > this.maxCalls) return { error: `FETCH: at most ${this.maxCalls} requests per message` };
    // A plain copy: handing the RPC result itself back across a second RPC hop left the call hanging.
    const answer = await this.outbound.request(url, init);
    return { ...answer };
  }

  end(): void {
    this.over = true;
  }
}

/** The isolate's entrypoint, as this engine calls it. */
interface HandlerIsolate {
  run(input: HandlerInput, outbound: RunOutbound): Promise<string>;
}

/** The handler's module as a function of `env`: its `export default <expr>` becomes `return <expr>`. */
export function handlerModule(code: string): string {
  return `export async function run(env) {\n${code.replace(/(^|[;{}\n])(\s*)export\s+default\s+/g, "$1$2return ")}\n}\n`;
}

const KINDS = new Set(["accept", "reject", "resolve", "threw"]);

/** The isolate's answer; its code is the handler's neighbour, so anything unexpected is an engine failure. */
function asOutcome(value: unknown): RunOutcome {
  if (typeof value === "object" && value !== null && KINDS.has((value as { kind?: unknown }).kind as string)) return value as RunOutcome;
  return { kind: "failed", failure: "engine", detail: "unexpected answer from the handler's isolate" };
}

/**
 * A call that threw. An isolate that cannot start is the handler's doing (main.js is fixed; only
 * handler.js varies): its code does not parse. That is a throw, as under QuickJS and in SAMA.
 */
function failureOf(err: unknown): RunOutcome {
  const text = String(err);
  const uncaught = /Failed to start Worker:\s*Uncaught (.+)/.exec(text);
  if (uncaught) return { kind: "threw", error: uncaught[1]! };
  return { kind: "failed", failure: "engine", detail: text };
}

export class WorkerLoaderEngine implements HandlerEngine {
  readonly name = "worker-loader";

  constructor(
    private readonly loader: WorkerLoader,
    private readonly outbound: OutboundBinding,
  ) {}

  async run(code: string, input: HandlerInput, budgets: Budgets): Promise<RunOutcome> {
    if (new TextEncoder().encode(JSON.stringify(input)).byteLength > budgets.inputBytes) {
      return { kind: "failed", failure: "input_too_large", detail: `input over ${budgets.inputBytes} bytes` };
    }
    // One isolate per conversation and code: two conversations with the same handler must not share its globals.
    const worker = this.loader.get(`handler-${String(input.message.cid)}-${await sha256Hex(code)}`, () => ({
      compatibilityDate: COMPATIBILITY_DATE,
      mainModule: "main.js",
      modules: { "main.js": MAIN_MODULE, "handler.js": handlerModule(code) },
      env: {},
      globalOutbound: null,
      limits: { cpuMs: Math.ceil(budgets.wallMs / 3) },
    }));
    const outbound = new RunOutbound(this.outbound, budgets.fetch.maxCalls);
    let timer: ReturnType<typeof setTimeout> | null = null;
    const timeout = new Promise<RunOutcome>((resolve) => {
      timer = setTimeout(() => resolve({ kind: "failed", failure: "timeout", detail: `no decision within ${budgets.wallMs} ms` }), budgets.wallMs);
    });
    const call = (async (): Promise<RunOutcome> => {
      const isolate = worker.getEntrypoint() as unknown as HandlerIsolate;
      const text = await isolate.run(input, outbound);
      if (new TextEncoder().encode(text).byteLength > budgets.resultBytes) return { kind: "failed", failure: "result_too_large", detail: `result over ${budgets.resultBytes} bytes` };
      return asOutcome(JSON.parse(text));
    })().catch(failureOf);
    try {
      return await Promise.race([call, timeout]);
    } finally {
      clearTimeout(timer);
      outbound.end();
    }
  }
}
