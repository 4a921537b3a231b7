// SAMA's JSON envelope (SAMA-PROTOCOL.md §1.2): the request form {"request":{"<action>":{…},"id":…}}
// and the top-level form {"<action>":{…},"id":…}. Replies echo the request id verbatim.
import { Errors, type ErrorBody } from "../domain/errors";

export interface Envelope {
  form: "request" | "top-level";
  action: string;
  params: unknown;
  /** The request id to echo (string or number as sent); undefined when absent. */
  id: unknown;
}

/**
 * Deepest nesting a request's params may have. SAMA's requests nest a few levels (plus a free-form
 * `x`); a deeper value would only overflow the stack of whatever copies it next (an RPC to a
 * Durable Object, JSON.stringify): a 10,000-deep `x` made `system_message` fail with a 500.
 */
export const MAX_PARAMS_DEPTH = 32;

/** Whether `value` nests objects/arrays more than `max` levels deep (iterative: depth itself is the hazard). */
export function nestedDeeperThan(value: unknown, max: number): boolean {
  const stack: Array<{ node: unknown; depth: number }> = [{ node: value, depth: 0 }];
  while (stack.length > 0) {
    const { node, depth } = stack.pop()!;
    if (typeof node !== "object" || node === null) continue;
    if (depth >= max) return true;
    for (const child of Array.isArray(node) ? node : Object.values(node)) stack.push({ node: child, depth: depth + 1 });
  }
  return false;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** The action is the first key other than "id" (SAMA requires it first; Parley tolerates either order). */
function actionOf(body: Record<string, unknown>): string | undefined {
  return Object.keys(body).find((k) => k !== "id");
}

/** Reads a frame's envelope, or returns the error to answer with. */
export function parseEnvelope(text: string): Envelope | ErrorBody {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return Errors.INVALID_DATA_FORMAT;
  }
  if (!isRecord(json)) return Errors.INVALID_DATA_FORMAT;
  if ("request" in json) {
    const inner = json.request;
    if (!isRecord(inner)) return Errors.INVALID_DATA_FORMAT;
    const action = actionOf(inner);
    if (action === undefined) return Errors.INVALID_DATA_FORMAT;
    return { form: "request", action, params: inner[action], id: inner.id };
  }
  const action = actionOf(json);
  if (action === undefined) return Errors.INVALID_DATA_FORMAT;
  const params = json[action];
  // Top-level sends carry their id inside the action object (message, system_message).
  const id = json.id !== undefined ? json.id : isRecord(params) ? params.id : undefined;
  return { form: "top-level", action, params, id };
}

/** A frame whose params nest too deep, refused as invalid data; its id is echoed unless it nests itself. */
export function tooDeep(envelope: Envelope): Envelope | null {
  if (!nestedDeeperThan(envelope.params, MAX_PARAMS_DEPTH) && !nestedDeeperThan(envelope.id, MAX_PARAMS_DEPTH)) return null;
  return { ...envelope, id: nestedDeeperThan(envelope.id, 1) ? undefined : envelope.id };
}

function withId(id: unknown, body: Record<string, unknown>): Record<string, unknown> {
  return id === undefined ? body : { id, ...body };
}

export function responseFrame(envelope: Envelope, payload: Record<string, unknown>): string {
  return JSON.stringify({ response: withId(envelope.id, payload) });
}

/** Error frames keep SAMA's shape: under "response" for the request form, under the action otherwise. */
export function errorFrame(envelope: Envelope | null, error: ErrorBody): string {
  const body = { status: error.status, message: error.message };
  if (!envelope) return JSON.stringify({ response: { error: body } });
  const key = envelope.form === "request" ? "response" : envelope.action;
  return JSON.stringify({ [key]: withId(envelope.id, { error: body }) });
}
