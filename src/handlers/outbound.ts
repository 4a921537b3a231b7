// FETCH as handlers get it: http(s) only, a timeout, a cap on the response size and on the number of
// calls. It goes through the network function it is given (the global fetch), never through one of
// Parley's bindings.
import type { FetchBudgets, HandlerFetch, OutboundRequest } from "./types";
import { readAtMost } from "../domain/bounded-read";

/** What FETCH hands back to the handler. */
export interface FetchResult {
  ok: boolean;
  status: number;
  statusText: string;
  headers: Record<string, string>;
  body: string;
}

/** A FETCH refused or failed; its message is what the handler's code sees. */
export class FetchError extends Error {
  override readonly name = "FetchError";
}

/** The request a handler asked for, checked: an absolute http(s) URL, string headers, a string body. */
export function outboundRequest(url: unknown, init: unknown): OutboundRequest {
  if (typeof url !== "string") throw new FetchError("FETCH: the URL must be a string");
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new FetchError("FETCH: invalid URL");
  }
  if (parsed.protocol !== "http:" && parsed.protocol !== "https:") throw new FetchError("FETCH: only http and https URLs are allowed");
  const options = typeof init === "object" && init !== null ? (init as Record<string, unknown>) : {};
  const method = typeof options.method === "string" ? options.method.toUpperCase() : "GET";
  const headers: Record<string, string> = {};
  if (typeof options.headers === "object" && options.headers !== null) {
    for (const [name, value] of Object.entries(options.headers)) if (typeof value === "string") headers[name] = value;
  }
  const body = typeof options.body === "string" && method !== "GET" && method !== "HEAD" ? options.body : null;
  return { url: parsed.href, method, headers, body };
}

/** Runs one FETCH within the budgets; past the time budget the request and its body are abandoned for good. */
export async function guardedFetch(fetchFn: HandlerFetch, request: OutboundRequest, budgets: FetchBudgets): Promise<FetchResult> {
  // Losing the race is not enough: a server that keeps dripping would hold the connection open.
  const abort = new AbortController();
  let timer: ReturnType<typeof setTimeout> | null = null;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      reject(new FetchError(`FETCH: no answer within ${budgets.timeoutMs} ms`));
      abort.abort();
    }, budgets.timeoutMs);
  });
  try {
    const response = await Promise.race([fetchFn(request.url, { method: request.method, headers: request.headers, body: request.body, signal: abort.signal }), timeout]);
    const body = await Promise.race([readCapped(response, budgets.responseBytes, abort.signal), timeout]);
    const headers: Record<string, string> = {};
    response.headers.forEach((value, name) => {
      headers[name] = value;
    });
    return { ok: response.ok, status: response.status, statusText: response.statusText, headers, body };
  } catch (err) {
    if (err instanceof FetchError) throw err;
    throw new FetchError(`FETCH: ${err instanceof Error ? err.message : String(err)}`);
  } finally {
    clearTimeout(timer);
  }
}

/** The body as text, refused as soon as it passes `limit` bytes (a declared Content-Length is checked first). */
async function readCapped(response: Response, limit: number, signal: AbortSignal): Promise<string> {
  const tooLarge = () => new FetchError(`FETCH: the response is larger than ${limit} bytes`);
  const declared = Number(response.headers.get("Content-Length") ?? "0");
  if (declared > limit) {
    await response.body?.cancel();
    throw tooLarge();
  }
  if (!response.body) return "";
  const reader = response.body.getReader();
  const stop = () => void reader.cancel().catch(() => undefined);
  if (signal.aborted) stop();
  else signal.addEventListener("abort", stop, { once: true });
  const bytes = await readAtMost(reader, limit);
  if (bytes === null) throw tooLarge();
  return new TextDecoder().decode(bytes);
}
