// The limits of conversation handlers: the source they may have and the budgets every run gets.
// Apart from index.ts, so the FETCH entrypoint reads them without importing the engines.
import type { Budgets } from "./types";

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
