// Field schemas shared by several requests.
import { z } from "zod";
import { Errors } from "../domain/errors";
import { samaMessage } from "./validation";

/** Device ids are strings or numbers on the wire (SAMA stringifies them). */
export const deviceId = z
  .union([z.string().min(1).max(255), z.number()], samaMessage(Errors.DEVICE_ID_MISSED))
  .transform((v) => String(v));

/** A date as Joi accepts it (ISO string or Unix ms), as Unix ms. */
export const date = z.union([z.string(), z.number()]).transform((value, ctx) => {
  const ms = typeof value === "number" ? value : Date.parse(value);
  if (Number.isNaN(ms)) {
    ctx.addIssue({ code: "invalid_type", expected: "date", input: value });
    return z.NEVER;
  }
  return ms;
});

// Control characters and bidirectional formatting (marks, embeddings, overrides, isolates) change how
// a name displays to others (a login that reads as someone else's): refused in logins and names.
const SPOOFING = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/;
const displayable = (text: string) => !SPOOFING.test(text);
/** The custom issue's marker, turned into a Joi-style message by validation.ts. */
const NOT_DISPLAYABLE = { notDisplayable: true };

export const login = z.string(samaMessage(Errors.INCORRECT_LOGIN)).min(3).max(40).refine(displayable, { params: NOT_DISPLAYABLE });
export const password = z.string(samaMessage(Errors.INCORRECT_PASSWORD)).min(3).max(40);
export const phone = z.string().min(3).max(15);
// SAMA's pattern accepts lower-case addresses with 2–4 letter TLDs only; Parley accepts any case and longer TLDs.
export const email = z.string().max(255).regex(/^[a-zA-Z0-9._%+-]+@[a-zA-Z0-9.-]+\.[a-zA-Z]{2,}$/);
// user_create: SAMA takes any string there (its own test suite signs up "email_1"); Parley takes the
// characters of an address only, so no markup, spaces or line breaks (header injection) get in.
export const signUpEmail = z.string().min(1).max(255).regex(/^[a-zA-Z0-9._%+@-]+$/);
export const personName = z.string().min(1).max(20).refine(displayable, { params: NOT_DISPLAYABLE });

export const imageObject = z.strictObject({
  file_id: z.string().min(1).max(255),
  file_name: z.string().max(255).optional(),
  file_blur_hash: z.string().max(255).optional(),
});

/** A `{gt, lt}` date window (conversation_list, message_list, user_search). */
export const dateWindow = z.looseObject({ gt: date.optional(), lt: date.optional() });

/** A conversation id that SAMA requires with its own message. */
export const cid = z.string(samaMessage(Errors.CID_REQUIRED)).min(1);

/** Any params object (SAMA requires `{}` even for requests without parameters). */
export const anyObject = z.looseObject({});
