// The second engine: Cloudflare's Worker Loader. The handler runs in its own V8 isolate, loaded by the
// hash of its code (warm isolates are reused), with no network (`globalOutbound: null`) and one
// binding that only its FETCH reaches (HandlerOutbound: the same checks as the QuickJS engine), and a
// CPU limit that Cloudflare enforces in production (the local runtime ignores it, so the QuickJS
// engine is the default). SAMA's handler is a module that runs once; an isolate evaluates a module
// once, so the handler's top-level code becomes the body of a function called per message.
import type { HandlerOutbound } from "./outbound-entrypoint";
import type { Budgets, HandlerEngine, HandlerInput, RunOutcome } from "./types";

/** The entrypoint FETCH goes through, as ctx.exports hands it out. */
export type OutboundBinding = Service<HandlerOutbound>;

const COMPATIBILITY_DATE = "2026-11-01";

// The isolate's entry: builds `env` for each request, runs the handler, answers with its decision.
const MAIN_MODULE = `import { run } from "./handler.js";
export default {
  async fetch(request, isolateEnv) {
    const { maxCalls, ...input } = await request.json();
    let decision = null;
    let calls = 0;
    // The handler sees only this function, never isolateEnv: its module is given nothing but env.
    const fetch = async (url, init) => {
      if (++calls > maxCalls) throw new Error("FETCH: at most " + maxCalls + " requests per message");
      const r = await isolateEnv.OUTBOUND.request(url, init === undefined ? {} : JSON.parse(JSON.stringify(init)));
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
      return Response.json(decision ?? { kind: "accept" });
    } catch (err) {
      return Response.json({ kind: "threw", error: err instanceof Error ? err.name + ": " + err.message : String(err) });
    }
  },
};
`;

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

async function sha256Hex(text: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

export class WorkerLoaderEngine implements HandlerEngine {
  readonly name = "worker-loader";

  constructor(
    private readonly loader: WorkerLoader,
    private readonly outbound: OutboundBinding,
  ) {}

  async run(code: string, input: HandlerInput, budgets: Budgets): Promise<RunOutcome> {
    const body = JSON.stringify({ ...input, maxCalls: budgets.fetch.maxCalls });
    if (new TextEncoder().encode(body).byteLength > budgets.inputBytes) return { kind: "failed", failure: "input_too_large", detail: `input over ${budgets.inputBytes} bytes` };
    const worker = this.loader.get(`handler-${await sha256Hex(code)}`, () => ({
      compatibilityDate: COMPATIBILITY_DATE,
      mainModule: "main.js",
      modules: { "main.js": MAIN_MODULE, "handler.js": handlerModule(code) },
      env: { OUTBOUND: this.outbound },
      globalOutbound: null,
      limits: { cpuMs: Math.ceil(budgets.wallMs / 3) },
    }));
    let timer: ReturnType<typeof setTimeout> | null = null;
    const timeout = new Promise<RunOutcome>((resolve) => {
      timer = setTimeout(() => resolve({ kind: "failed", failure: "timeout", detail: `no decision within ${budgets.wallMs} ms` }), budgets.wallMs);
    });
    const call = (async (): Promise<RunOutcome> => {
      const response = await worker.getEntrypoint().fetch("http://handler.invalid/", { method: "POST", body });
      const text = await response.text();
      if (new TextEncoder().encode(text).byteLength > budgets.resultBytes) return { kind: "failed", failure: "result_too_large", detail: `result over ${budgets.resultBytes} bytes` };
      return asOutcome(JSON.parse(text));
    })().catch((err: unknown): RunOutcome => ({ kind: "failed", failure: "engine", detail: String(err) }));
    try {
      return await Promise.race([call, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }
}
