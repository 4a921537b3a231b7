// A handler's FETCH as it leaves the sandbox (src/handlers/outbound.ts): what is left of a request
// that ran past its budget.
import { describe, expect, it } from "vitest";
import { guardedFetch, outboundRequest } from "../../src/handlers/outbound";
import type { HandlerFetch } from "../../src/handlers/types";

const budgets = { timeoutMs: 50, responseBytes: 1024, maxCalls: 5 };
const request = outboundRequest("https://api.example.test/", {});

describe("guardedFetch", () => {
  it("aborts a request that gets no answer in time", async () => {
    let signal: AbortSignal | undefined;
    const fetchFn: HandlerFetch = (_url, init) => {
      signal = init.signal;
      return new Promise<Response>(() => {});
    };
    await expect(guardedFetch(fetchFn, request, budgets)).rejects.toThrow("FETCH: no answer within 50 ms");
    expect(signal?.aborted).toBe(true);
  });

  it("stops reading a body that is still dripping when time runs out", async () => {
    let cancelled = false;
    let pulls = 0;
    const body = new ReadableStream<Uint8Array>({
      async pull(controller) {
        pulls += 1;
        await new Promise((resolve) => setTimeout(resolve, 20));
        controller.enqueue(new Uint8Array([120]));
      },
      cancel() {
        cancelled = true;
      },
    });
    const fetchFn: HandlerFetch = async () => new Response(body);
    await expect(guardedFetch(fetchFn, request, budgets)).rejects.toThrow("FETCH: no answer within 50 ms");
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(cancelled).toBe(true);
    const afterCancel = pulls;
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(pulls).toBe(afterCancel);
  });
});
