// Shapes of JSON answers, for the OpenAPI document (the handlers build them from the domain views).
import { Errors, type ErrorBody } from "../domain/errors";
import type { ResponseDoc } from "./documented";

// The WebSocket replies' shapes, shared with the admin routes that answer the same objects.
export { isoDate, publicUser, success as successResponse } from "../protocol/shapes";

const STATUS_DESCRIPTIONS: Record<number, string> = {
  400: "Bad request",
  401: "Not authenticated",
  403: "Not allowed",
  404: "Not found",
  422: "Invalid or refused: a text/plain message, SAMA's wording where SAMA has one",
  429: "Throttled",
  500: "Server error",
};

/** Success answers plus the text/plain errors a route can give, grouped by status. */
export function withErrors(success: Record<number, ResponseDoc>, errors: readonly ErrorBody[]): Record<number, ResponseDoc> {
  const out: Record<number, ResponseDoc> = { ...success };
  for (const error of errors) {
    const doc = out[error.status] ?? { description: STATUS_DESCRIPTIONS[error.status] ?? "Error", text: [] };
    out[error.status] = { ...doc, text: [...(doc.text ?? []), error.message] };
  }
  return out;
}

/** Every admin route: the key guard, and the organization and user it acts for. */
export const ADMIN_ERRORS: readonly ErrorBody[] = [Errors.UNAUTHORIZED, Errors.ORG_NOT_FOUND, Errors.INCORRECT_USER];
