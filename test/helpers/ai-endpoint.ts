// The OpenAI-compatible endpoint the `workers` project configures (vitest.config.ts), faked at the
// Worker's outbound fetch (nothing can listen on loopback inside workerd); other URLs go out as usual.
import { vi } from "vitest";
import { record, type RecordedRequest } from "../push/fakes";

export const AI_API = "https://ai.parley.test/v1/chat/completions";

export type AiAnswer = (request: RecordedRequest, signal: AbortSignal | null) => Response | Promise<Response>;

/** A chat-completions answer carrying `content`. */
export const completion = (content: string) =>
  new Response(JSON.stringify({ id: "c1", choices: [{ index: 0, message: { role: "assistant", content } }] }), { status: 200 });

/** Answers the AI endpoint with `answer` until vi.restoreAllMocks(); returns what reached it, as it arrives. */
export function interceptAi(answer: AiAnswer): RecordedRequest[] {
  const seen: RecordedRequest[] = [];
  const realFetch = globalThis.fetch;
  vi.spyOn(globalThis, "fetch").mockImplementation(async (input, init) => {
    const url = typeof input === "string" ? input : input instanceof URL ? input.href : input.url;
    if (url !== AI_API) return realFetch(input, init);
    const request = await record(url, init);
    seen.push(request);
    return answer(request, init?.signal ?? null);
  });
  return seen;
}
