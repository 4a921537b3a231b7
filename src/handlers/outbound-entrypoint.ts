// FETCH for handlers run by the Worker Loader engine. Their isolate has no network (globalOutbound:
// null) and no bindings; its FETCH calls the run's RunOutbound (src/handlers/worker-loader.ts), which
// counts the calls and passes each to this entrypoint (a loopback binding from ctx.exports). It applies
// the same checks as the QuickJS engine's FETCH and goes out through the global fetch, never through
// one of Parley's bindings.
import { WorkerEntrypoint } from "cloudflare:workers";
import { HANDLER_BUDGETS } from "./budgets";
import { guardedFetch, outboundRequest, type FetchResult } from "./outbound";

export class HandlerOutbound extends WorkerEntrypoint<Env> {
  /** One FETCH of a handler: http(s) only, within the time and size budgets. A refusal is answered, not thrown (the isolate throws it). */
  async request(url: unknown, init: unknown): Promise<FetchResult | { error: string }> {
    try {
      return await guardedFetch((to, options) => fetch(to, { ...options, redirect: "follow" }), outboundRequest(url, init), HANDLER_BUDGETS.fetch);
    } catch (err) {
      return { error: err instanceof Error ? err.message : String(err) };
    }
  }
}
