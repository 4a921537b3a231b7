// Errors as one JSON line each (Workers Logs indexes their fields: [observability] in wrangler.toml):
// what failed, where (the object kind and a request, socket or object id), and the error's name,
// first message line and stack frames. Never message bodies, tokens, passwords or keys: callers pass
// ids, never payloads; and an error's own text is cut to its first line and scrubbed, because some
// quote data (drizzle's "Failed query" error appends the query's parameters on its second line,
// V8's JSON.parse error quotes the text it could not parse).

export type LogKind = "Worker" | "Gateway" | "Session" | "Conversation" | "Inbox" | "Push" | "Email" | "Handler" | "AI";

export interface LogWhere {
  kind: LogKind;
  /** A request id (cf-ray or generated), the socket's Session id, or the object's id; null when there is none. */
  id: string | null;
  /** Further ids or small facts (a request name, a shard, a subscription id): never user content. */
  [field: string]: string | number | null;
}

interface ErrorFields {
  name: string;
  message: string;
  stack?: string;
  cause?: ErrorFields;
}

const MAX_MESSAGE = 300;
const MAX_FRAMES = 8;

/** Quoted text (could be anything a user sent) and long token-like runs (JWTs, keys, hashes) out. */
function scrub(text: string): string {
  return text
    .replace(/"[^"]*"|'[^']*'/g, '"…"')
    .replace(/[A-Za-z0-9+/_=.-]{32,}/g, "[redacted]")
    .slice(0, MAX_MESSAGE);
}

function firstLine(text: string): string {
  const end = text.indexOf("\n");
  return end === -1 ? text : text.slice(0, end);
}

function describe(err: unknown, depth = 0): ErrorFields {
  if (!(err instanceof Error)) return { name: typeof err, message: scrub(firstLine(String(err))) };
  // A drizzle query's first line is its SQL with placeholders: kept, quotes and all (the values are on the next line).
  const line = firstLine(err.message);
  const fields: ErrorFields = { name: err.name, message: line.startsWith("Failed query: ") ? line.replace(/[A-Za-z0-9+/_=.-]{32,}/g, "[redacted]").slice(0, MAX_MESSAGE) : scrub(line) };
  const frames = err.stack
    ?.split("\n")
    .filter((l) => l.trimStart().startsWith("at "))
    .slice(0, MAX_FRAMES)
    .map((l) => l.trim());
  if (frames && frames.length > 0) fields.stack = frames.join("\n");
  if (err.cause !== undefined && depth < 2) fields.cause = describe(err.cause, depth + 1);
  return fields;
}

function line(level: "error" | "warn", what: string, where: LogWhere, err: unknown): string {
  return JSON.stringify({ level, what, ...where, ...(err === undefined ? {} : { error: describe(err) }) });
}

/** One structured line at error level: `what` failed, `where`, because of `err`. */
export function logError(what: string, where: LogWhere, err?: unknown): void {
  console.error(line("error", what, where, err));
}

/** The same at warning level: a failure the server absorbs (a push a service refused, a handler that failed). */
export function logWarning(what: string, where: LogWhere, err?: unknown): void {
  console.warn(line("warn", what, where, err));
}
