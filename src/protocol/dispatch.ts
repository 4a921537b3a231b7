// Turns one inbound frame into the frame that answers it: envelope, auth guard, validation, handler,
// and errors always as {"status","message"}.
import type { RequestContext } from "./context";
import { errorFrame, parseEnvelope, responseFrame, tooDeep } from "./envelope";
import { Errors, SamaError, unknownRequest, type ErrorBody } from "../domain/errors";
import { requestHandlers } from "./registry";
import { logError } from "../log";
import { count } from "../operator-counters";

/** The frame answering `text`, or null when the request succeeds silently (typing). */
export async function answerFrame(ctx: RequestContext, text: string): Promise<string | null> {
  const envelope = parseEnvelope(text);
  if (!("action" in envelope)) return errorFrame(null, envelope);
  const deep = tooDeep(envelope);
  if (deep) return errorFrame(deep, Errors.INVALID_DATA_FORMAT);
  const handler = requestHandlers.get(envelope.action);
  if (!handler) return errorFrame(envelope, unknownRequest(envelope.action));
  if (handler.requiresAuth && !ctx.session) return errorFrame(envelope, Errors.UNAUTHORIZED);
  try {
    const reply = await handler.run(ctx, envelope.params);
    if ("response" in reply) return responseFrame(envelope, reply.response);
    return "frame" in reply ? JSON.stringify(reply.frame) : null;
  } catch (err) {
    if (err instanceof SamaError) return errorFrame(envelope, err.toBody());
    logError("request failed", { kind: "Session", id: ctx.sessionId, request: envelope.action, request_id: typeof envelope.id === "string" || typeof envelope.id === "number" ? String(envelope.id).slice(0, 64) : null }, err);
    count("requestFailures");
    return errorFrame(envelope, Errors.INTERNAL_SERVER);
  }
}

/** The answer to a frame refused before it was handled (rate limit, size), echoing its id if it has one. */
export function refusalFrame(text: string, error: ErrorBody): string {
  const envelope = parseEnvelope(text);
  return errorFrame("action" in envelope ? envelope : null, error);
}
