// Shapes of JSON answers, for the OpenAPI document (the handlers build them from the domain views).
import { z } from "zod";
import { Errors, type ErrorBody } from "../domain/errors";
import type { ResponseDoc } from "./documented";

export const isoDate = z.string().meta({ format: "date-time" });

export const successResponse = z.object({ success: z.literal(true) });

/** What other users see of a user (src/domain/user-view.ts). */
export const publicUser = z.object({
  _id: z.string(),
  native_id: z.string(),
  login: z.string(),
  email: z.string().optional(),
  phone: z.string().optional(),
  first_name: z.string().optional(),
  last_name: z.string().optional(),
  avatar_object: z.looseObject({ file_id: z.string() }).optional(),
  recent_activity: z.number().int().meta({ description: "Last seen, Unix seconds" }),
  created_at: isoDate,
  updated_at: isoDate,
});

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
