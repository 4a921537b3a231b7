// What every import step gets: the request's services, whether it only validates, and (in a dry
// run, where nothing earlier was written) the ids the same run already found valid.
import { sql } from "drizzle-orm";
import type { SQLiteColumn } from "drizzle-orm/sqlite-core";
import type { ServiceDeps } from "../context";

export interface ImportContext {
  deps: ServiceDeps;
  env: Env;
  dryRun: boolean;
  /** Ids accepted earlier in this dry run (empty otherwise): they count as present. */
  known: ReadonlySet<string>;
  /** The origin the request came in on (file upload URLs are signed on it). */
  origin: string;
}

/** `column IN (ids)` with one bound parameter, whatever the number of ids (D1 binds at most 100). */
export function inList(column: SQLiteColumn, ids: readonly string[]) {
  return sql`${column} IN (SELECT value FROM json_each(${JSON.stringify([...new Set(ids)])}))`;
}
