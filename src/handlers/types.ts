// The contract between the Conversation object and a sandbox that runs a conversation handler
// (SAMA-PROTOCOL.md §3.8): the handler sees `env.MESSAGE`, `env.USER` and four functions, and its
// first call of ACCEPT, RESOLVE or REJECT is its decision. What a run is given and reports is in
// domain/handler-outcome.ts, the rules that read it.
import type { HandlerInput, RunOutcome } from "../domain/handler-outcome";

/** Limits of one run. A run that exceeds one is stopped and reported as a failure. */
export interface Budgets {
  /** Wall-clock time of the whole run, fetches included. */
  wallMs: number;
  /** QuickJS interrupt-handler calls (one per ~10,000 bytecode steps): the CPU budget, which holds even where the clock stands still. */
  interrupts: number;
  memoryBytes: number;
  stackBytes: number;
  /** The JSON of HandlerInput, in UTF-8 bytes. */
  inputBytes: number;
  /** The JSON of RESOLVE's arguments, in UTF-8 bytes. */
  resultBytes: number;
  fetch: FetchBudgets;
}

export interface FetchBudgets {
  timeoutMs: number;
  responseBytes: number;
  /** FETCH calls per run. */
  maxCalls: number;
}

/** A FETCH made by a handler, as it leaves the sandbox. */
export interface OutboundRequest {
  url: string;
  method: string;
  headers: Record<string, string>;
  body: string | null;
}

/** The network function FETCH goes through (the global fetch in production; tests inject a fake). `signal` aborts a request past its budget. */
export type HandlerFetch = (
  url: string,
  init: { method: string; headers: Record<string, string>; body: string | null; signal: AbortSignal },
) => Promise<Response>;

export interface HandlerEngine {
  readonly name: "quickjs" | "worker-loader";
  run(code: string, input: HandlerInput, budgets: Budgets): Promise<RunOutcome>;
}
