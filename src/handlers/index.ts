// Conversation handlers' sandbox: the budgets every run gets and the engine HANDLER_ENGINE selects.
import { QuickJsEngine } from "./quickjs";
import type { Budgets, HandlerEngine, HandlerFetch } from "./types";
import { WorkerLoaderEngine, type OutboundBinding } from "./worker-loader";

/** Longest handler source accepted by conversation_handler_create, in characters. */
export const MAX_HANDLER_CODE = 65536;

export const HANDLER_BUDGETS: Budgets = {
  wallMs: 3000,
  // About 1 s of a tight loop on this project's machines (docs/handlers.md): well inside the 3 s.
  interrupts: 8_000,
  memoryBytes: 8 * 1024 * 1024,
  // QuickJS's frames live on the host's native stack: past ~256 KiB the host overflows first.
  stackBytes: 256 * 1024,
  inputBytes: 256 * 1024,
  resultBytes: 256 * 1024,
  fetch: { timeoutMs: 2000, responseBytes: 256 * 1024, maxCalls: 5 },
};

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

export type { Budgets, HandlerEngine, HandlerFetch, HandlerInput, RunOutcome } from "./types";
