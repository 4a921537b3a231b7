// MongoDB Extended JSON (what `mongoexport` writes), canonical or relaxed, as plain JSON: an ObjectId
// `{"$oid": "…"}` becomes its hex string, a date `{"$date": "…"}` or `{"$date": {"$numberLong": "…"}}`
// an ISO-8601 string, and the number wrappers numbers. Everything else is kept as it is.

const NUMBER_WRAPPERS = ["$numberInt", "$numberLong", "$numberDouble", "$numberDecimal"] as const;

export function fromExtendedJson(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(fromExtendedJson);
  if (typeof value !== "object" || value === null) return value;
  const record = value as Record<string, unknown>;
  const keys = Object.keys(record);
  if (keys.length === 1) {
    const [key] = keys as [string];
    const inner = record[key];
    if (key === "$oid" && typeof inner === "string") return inner;
    if (key === "$date") return dateOf(inner) ?? value;
    if ((NUMBER_WRAPPERS as readonly string[]).includes(key) && typeof inner === "string") {
      const n = Number(inner);
      return Number.isFinite(n) ? n : value;
    }
  }
  return Object.fromEntries(keys.map((key) => [key, fromExtendedJson(record[key])]));
}

/** `$date`'s value (an ISO string, Unix ms, or canonical `{"$numberLong": "ms"}`) as an ISO string. */
function dateOf(inner: unknown): string | null {
  const unwrapped = fromExtendedJson(inner);
  const date = typeof unwrapped === "string" || typeof unwrapped === "number" ? new Date(unwrapped) : null;
  return date !== null && !Number.isNaN(date.getTime()) ? date.toISOString() : null;
}
