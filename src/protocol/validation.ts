// Validation with zod, worded like SAMA's Joi: `"limit" must be a number`, `"ids" is required`.
// A schema that carries one of SAMA's table messages (see domain/errors.ts) reports that message with its
// status; every other failure is a 422 with the Joi-style text.
import { z } from "zod";
import { SamaError, statusOfMessage } from "../domain/errors";

type RawIssue = z.core.$ZodRawIssue;

function label(path: readonly PropertyKey[] | undefined): string {
  if (!path || path.length === 0) return "value";
  let out = "";
  for (const key of path) {
    if (typeof key === "number") out += `[${key}]`;
    else out += out === "" ? String(key) : `.${String(key)}`;
  }
  return out;
}

const typeWords: Record<string, string> = {
  string: "must be a string",
  number: "must be a number",
  int: "must be an integer",
  boolean: "must be a boolean",
  array: "must be an array",
  object: "must be of type object",
  date: "must be a valid date",
};

function joiMessage(issue: RawIssue): string {
  const name = `"${label(issue.path)}"`;
  switch (issue.code) {
    case "invalid_type":
      if (issue.input === undefined) return `${name} is required`;
      return `${name} ${typeWords[issue.expected] ?? `must be a ${issue.expected}`}`;
    case "too_small": {
      const n = String(issue.minimum);
      if (issue.origin === "string") {
        return n === "1" ? `${name} is not allowed to be empty` : `${name} length must be at least ${n} characters long`;
      }
      if (issue.origin === "array") return `${name} must contain at least ${n} items`;
      return `${name} must be greater than ${issue.inclusive === false ? "" : "or equal to "}${n}`;
    }
    case "too_big": {
      const n = String(issue.maximum);
      if (issue.origin === "string") return `${name} length must be less than or equal to ${n} characters long`;
      if (issue.origin === "array") return `${name} must contain less than or equal to ${n} items`;
      return `${name} must be less than ${issue.inclusive === false ? "" : "or equal to "}${n}`;
    }
    case "unrecognized_keys":
      return `"${label([...(issue.path ?? []), issue.keys[0] ?? ""])}" is not allowed`;
    case "invalid_format":
      if (issue.format === "regex" && "pattern" in issue && typeof issue.pattern === "string") {
        return `${name} with value ${JSON.stringify(issue.input)} fails to match the required pattern: ${issue.pattern}`;
      }
      return `${name} must be a valid ${issue.format}`;
    case "invalid_value":
      return `${name} must be one of [${issue.values.map(String).join(", ")}]`;
    case "invalid_union":
      return `${name} does not match any of the allowed types`;
    case "custom":
      if (issue.params?.notDisplayable === true) return `${name} must not contain control or bidirectional formatting characters`;
      return `${name} is invalid`;
    default:
      return `${name} is invalid`;
  }
}

const errorMap: z.core.$ZodErrorMap = (issue) => joiMessage(issue);

/** The parsed value, or the first problem worded as Joi (abortEarly) would. */
export function validate<S extends z.ZodType>(schema: S, value: unknown): { ok: true; data: z.output<S> } | { ok: false; message: string } {
  const result = schema.safeParse(value, { error: errorMap });
  if (result.success) return { ok: true, data: result.data };
  return { ok: false, message: result.error.issues[0]?.message ?? `"value" is invalid` };
}

/** Parses request params or throws a SamaError with the first problem, as Joi (abortEarly) would. */
export function parseParams<S extends z.ZodType>(schema: S, params: unknown): z.output<S> {
  const result = validate(schema, params);
  if (result.ok) return result.data;
  throw new SamaError({ status: statusOfMessage(result.message), message: result.message });
}

/** Attaches one of SAMA's table messages to every failure of a schema. */
export function samaMessage(body: { message: string }): { error: string } {
  return { error: body.message };
}
