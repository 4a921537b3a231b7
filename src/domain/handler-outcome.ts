// What a conversation handler's run means for the message (SAMA-PROTOCOL.md §3.8), and when a
// handler that keeps failing is switched off. No I/O: the Conversation object applies the verdict.
import { Errors, type ErrorBody } from "./errors";
import { ATTACHMENT_LIMITS, contentFields, MAX_BODY, type SentContent } from "./message";

/** What a conversation handler is given: the incoming message (without its client id) and the sender's public fields. */
export interface HandlerInput {
  message: Record<string, unknown>;
  user: Record<string, unknown>;
}

export type FailureKind = "timeout" | "cpu" | "memory" | "stack" | "input_too_large" | "result_too_large" | "unsettled" | "engine";

/** What the sandbox reports; verdictOf turns it into what happens to the message. */
export type RunOutcome =
  | { kind: "accept" }
  | { kind: "reject"; reason: unknown }
  | { kind: "resolve"; value: unknown; options: unknown }
  /** The handler threw (SAMA swallows this and accepts the message). */
  | { kind: "threw"; error: string }
  /** The run was stopped or could not run. */
  | { kind: "failed"; failure: FailureKind; detail: string };

/** The replacement or reply a RESOLVE carries: only the fields it gave. (A type, not an interface: it crosses RPC.) */
export type ResolvedContent = {
  body?: string;
  attachments?: ResolvedAttachment[];
};

/** An attachment a handler gave: only SAMA's allowed fields, each a string or a number. */
export type ResolvedAttachment = Record<string, string | number>;

export type HandlerDecision =
  | { action: "accept" }
  | { action: "reject"; error: ErrorBody }
  /** RESOLVE with isReplaceBody: the message is stored with these fields instead. */
  | { action: "replace"; content: ResolvedContent }
  /** RESOLVE without it: the message is stored as sent, and the bot answers with this. */
  | { action: "reply"; content: ResolvedContent };

export interface Verdict {
  decision: HandlerDecision;
  /** Why this run counts as a failure of the handler (thrown, stopped, invalid result); null for a success. */
  failure: string | null;
}

/** Consecutive failures after which a handler is disabled. */
export const MAX_CONSECUTIVE_FAILURES = 5;
const MAX_REASON = 1000;

/** The only fields a handler may put in an attachment (SAMA), with their types; each has the limit a client's attachment has. */
const ATTACHMENT_FIELDS = {
  file_url: "string",
  file_blur_hash: "string",
  file_content_type: "string",
  file_size: "number",
  file_width: "number",
  file_height: "number",
} as const satisfies Partial<Record<keyof typeof ATTACHMENT_LIMITS, "string" | "number">>;

/**
 * The verdict on a run. SAMA's rules: the first of ACCEPT/RESOLVE/REJECT decides, none means accept,
 * a thrown error is swallowed (accepted). Parley's rule for a run stopped by its budgets: the message
 * is refused (fail closed), so a sender cannot slip past a moderating handler by making it time out.
 */
export function verdictOf(outcome: RunOutcome): Verdict {
  switch (outcome.kind) {
    case "accept":
      return { decision: { action: "accept" }, failure: null };
    case "reject": {
      const reason = typeof outcome.reason === "string" && outcome.reason.trim() !== "" ? outcome.reason.slice(0, MAX_REASON) : null;
      return { decision: { action: "reject", error: reason === null ? Errors.MESSAGE_BLOCKED_BY_HANDLER : { status: 422, message: reason } }, failure: null };
    }
    case "resolve": {
      const checked = resolvedContent(outcome.value);
      if ("error" in checked) return { decision: { action: "reject", error: checked.error }, failure: `invalid result: ${checked.error.message}` };
      const replace = isRecord(outcome.options) && outcome.options.isReplaceBody === true;
      return { decision: { action: replace ? "replace" : "reply", content: checked.content }, failure: null };
    }
    case "threw":
      return { decision: { action: "accept" }, failure: `threw ${outcome.error}` };
    case "failed":
      return { decision: { action: "reject", error: Errors.HANDLER_FAILED }, failure: `${outcome.failure}: ${outcome.detail}` };
  }
}

/** RESOLVE's `{message:{body, attachments}}`, checked as SAMA checks it. */
export function resolvedContent(value: unknown): { content: ResolvedContent } | { error: ErrorBody } {
  const message = isRecord(value) ? value.message : undefined;
  if (!isRecord(message)) return { error: Errors.INCORRECT_TYPE_OF_BODY };
  const content: ResolvedContent = {};
  if (message.body !== undefined) {
    if (typeof message.body !== "string" || message.body.length > MAX_BODY) return { error: Errors.INCORRECT_TYPE_OF_BODY };
    content.body = message.body;
  }
  if (message.attachments !== undefined) {
    const list = message.attachments;
    if (!Array.isArray(list) || !list.every(isValidAttachment)) return { error: Errors.INVALID_ATTACHMENT_FIELDS };
    content.attachments = list;
  }
  if (content.body === undefined && content.attachments === undefined) return { error: Errors.INCORRECT_TYPE_OF_BODY };
  return { content };
}

function isValidAttachment(item: unknown): item is ResolvedAttachment {
  return (
    isRecord(item) &&
    Object.entries(item).every(([key, value]) => {
      if (!Object.hasOwn(ATTACHMENT_FIELDS, key)) return false;
      const field = key as keyof typeof ATTACHMENT_FIELDS;
      const max = ATTACHMENT_LIMITS[field];
      if (ATTACHMENT_FIELDS[field] === "string") return typeof value === "string" && value.length <= max;
      return typeof value === "number" && Number.isFinite(value) && value <= max;
    })
  );
}

/** The failure streak after a run, and whether it just reached the limit (the handler is disabled then). */
export function nextFailureStreak(streak: number, failed: boolean): { streak: number; disable: boolean } {
  if (!failed) return { streak: 0, disable: false };
  const next = streak + 1;
  return { streak: next, disable: next >= MAX_CONSECUTIVE_FAILURES };
}

/** `env.MESSAGE`: the message as the client sent it, without its client id (SAMA). */
export function handlerMessage(cid: string, sent: SentContent): HandlerInput["message"] {
  return { cid, ...contentFields(sent) };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
