// Conversation handlers' sandbox: the engine HANDLER_ENGINE selects (budgets.ts: what every run gets).
import { QuickJsEngine } from "./quickjs";
import type { HandlerEngine, HandlerFetch } from "./types";
import { WorkerLoaderEngine, type OutboundBinding } from "./worker-loader";

export type EngineName = HandlerEngine["name"];

export function engineName(env: Env): EngineName {
  return (env.HANDLER_ENGINE as string) === "worker-loader" ? "worker-loader" : "quickjs";
}

/**
 * The engine for this deployment. QuickJS's FETCH goes through `fetchFn` (the global fetch outside
 * tests); the Worker Loader's isolates call `outbound` (the HandlerOutbound entrypoint).
 */
export function handlerEngine(env: Env, fetchFn: HandlerFetch, outbound: OutboundBinding): HandlerEngine {
  return engineName(env) === "worker-loader" ? new WorkerLoaderEngine(env.LOADER, outbound) : new QuickJsEngine(fetchFn);
}

export type { HandlerFetch } from "./types";
