// SAMA's two AI requests (message_summary, message_tone) behind one small interface: a chat
// completion from Cloudflare Workers AI (an `AI` binding) or from any OpenAI-compatible
// chat-completions endpoint (a hosted API or a local model server).
//
// Vars:    AI_API_URL (the endpoint, e.g. https://api.openai.com/v1/chat/completions or
//          http://127.0.0.1:11434/v1/chat/completions; wins over the binding), AI_MODEL (the model
//          name; with the binding, defaults to WORKERS_AI_DEFAULT_MODEL), AI_TIMEOUT_SECONDS (default 15).
// Secret:  AI_API_KEY (sent as "Authorization: Bearer <key>" when set).
// Binding: AI (Workers AI), optional; `npm run dev` has none and stays offline.
import { readAtMost } from "../domain/bounded-read";
import { Errors, SamaError } from "../domain/errors";
import { logError } from "../log";

export interface ChatMessage {
  role: "system" | "user";
  content: string;
}

export interface AiProvider {
  /** What the model answers to `messages`, at most about `maxTokens` tokens long. */
  complete(messages: ChatMessage[], maxTokens: number, signal: AbortSignal): Promise<string>;
}

export type Fetch = (url: string, init: RequestInit) => Promise<Response>;

/** The part of the Workers AI binding used here. */
interface WorkersAi {
  run(model: string, inputs: { messages: ChatMessage[]; max_tokens: number }, options?: { signal?: AbortSignal }): Promise<unknown>;
}

export const WORKERS_AI_DEFAULT_MODEL = "@cf/meta/llama-3.1-8b-instruct";
const DEFAULT_TIMEOUT_SECONDS = 15;
/** The most of a provider's HTTP answer read: an answer is a few KB of JSON. */
const MAX_RESPONSE_BYTES = 256 * 1024;

export interface AiSettings {
  provider: AiProvider;
  timeoutMs: number;
}

function setting(env: object, name: string): string | null {
  const value: unknown = Reflect.get(env, name);
  return typeof value === "string" && value.trim() !== "" ? value.trim() : null;
}

function isWorkersAi(value: unknown): value is WorkersAi {
  return typeof value === "object" && value !== null && typeof (value as { run?: unknown }).run === "function";
}

/** The configured provider (the vars and binding are optional, so read by name), or null when there is none. */
export function aiSettingsOf(env: object, fetch: Fetch): AiSettings | null {
  const seconds = Number(setting(env, "AI_TIMEOUT_SECONDS") ?? DEFAULT_TIMEOUT_SECONDS);
  const timeoutMs = (Number.isFinite(seconds) && seconds > 0 ? seconds : DEFAULT_TIMEOUT_SECONDS) * 1000;
  const url = setting(env, "AI_API_URL");
  const model = setting(env, "AI_MODEL");
  if (url !== null) return { provider: openAiCompatible(url, setting(env, "AI_API_KEY"), model, fetch), timeoutMs };
  const binding: unknown = Reflect.get(env, "AI");
  if (isWorkersAi(binding)) return { provider: workersAi(binding, model ?? WORKERS_AI_DEFAULT_MODEL), timeoutMs };
  return null;
}

/** POST {model?, messages, max_tokens} and read choices[0].message.content. */
export function openAiCompatible(url: string, key: string | null, model: string | null, fetch: Fetch): AiProvider {
  return {
    async complete(messages, maxTokens, signal) {
      const headers: Record<string, string> = { "Content-Type": "application/json" };
      if (key !== null) headers.Authorization = `Bearer ${key}`;
      const body = JSON.stringify({ ...(model !== null ? { model } : {}), messages, max_tokens: maxTokens });
      const res = await fetch(url, { method: "POST", headers, body, signal });
      const bytes = res.body === null ? new Uint8Array(0) : await readAtMost(res.body.getReader(), MAX_RESPONSE_BYTES);
      // The answer is not logged: it may quote the conversation.
      if (!res.ok) throw new Error(`AI endpoint answered ${res.status}`);
      if (bytes === null) throw new Error("AI endpoint answer too large");
      const parsed: unknown = JSON.parse(new TextDecoder().decode(bytes));
      const content = (parsed as { choices?: Array<{ message?: { content?: unknown } }> }).choices?.[0]?.message?.content;
      if (typeof content !== "string") throw new Error("AI endpoint answer has no choices[0].message.content");
      return content;
    },
  };
}

export function workersAi(ai: WorkersAi, model: string): AiProvider {
  return {
    async complete(messages, maxTokens, signal) {
      const answer = await ai.run(model, { messages, max_tokens: maxTokens }, { signal });
      const content = (answer as { response?: unknown } | null)?.response;
      if (typeof content !== "string") throw new Error("Workers AI answer has no response");
      return content;
    },
  };
}

/** The configured provider, or the clear error that there is none (asked before anything is read). */
export function requireAi(env: object, fetch: Fetch): AiSettings {
  const settings = aiSettingsOf(env, fetch);
  if (settings === null) throw new SamaError(Errors.AI_NOT_CONFIGURED);
  return settings;
}

/**
 * One completion within the settings' time, trimmed and cut to `maxChars`. A provider that fails or
 * answers nothing is SAMA's AI_AGENT_ERROR; one that takes too long is AI_TIMEOUT (the socket answers
 * its requests in order, so a provider that never answers would hold every later request).
 * Nothing of the conversation is logged, only the failure.
 */
export async function complete(settings: AiSettings, messages: ChatMessage[], limits: { maxTokens: number; maxChars: number }): Promise<string> {
  const abort = new AbortController();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      abort.abort();
      reject(new SamaError(Errors.AI_TIMEOUT));
    }, settings.timeoutMs);
  });
  try {
    const answer = (await Promise.race([settings.provider.complete(messages, limits.maxTokens, abort.signal), timeout])).trim();
    if (answer === "") throw new Error("empty AI answer");
    return Array.from(answer).slice(0, limits.maxChars).join("");
  } catch (err) {
    if (err instanceof SamaError) throw err;
    logError("AI provider failed", { kind: "AI", id: null }, err);
    throw new SamaError(Errors.AI_AGENT_ERROR);
  } finally {
    if (timer !== undefined) clearTimeout(timer);
  }
}
