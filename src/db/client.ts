import { drizzle, type DrizzleD1Database } from "drizzle-orm/d1";
import * as schema from "./schema";

export type Db = DrizzleD1Database<typeof schema>;

// Building a drizzle client walks the whole schema (~10 µs of relational config per call): one per binding.
const clients = new WeakMap<D1Database, Db>();

export function getDb(env: Env): Db {
  let db = clients.get(env.DB);
  if (!db) {
    db = drizzle(env.DB, { schema });
    clients.set(env.DB, db);
  }
  return db;
}

/** True for a D1 error raised by a UNIQUE index (the race a pre-check cannot close). */
export function isUniqueViolation(err: unknown): boolean {
  const text = err instanceof Error ? `${err.message} ${String(err.cause ?? "")}` : String(err);
  return text.includes("UNIQUE constraint failed");
}

/** D1 binds at most 100 parameters per statement: room for 90 ids and a few other parameters. */
const ID_CHUNK = 90;

/** Runs `query` over the distinct `ids` in D1-sized chunks and concatenates the rows. */
export async function inChunks<T>(ids: readonly string[], query: (chunk: string[]) => Promise<T[]>): Promise<T[]> {
  const unique = [...new Set(ids)];
  const rows: T[] = [];
  for (let i = 0; i < unique.length; i += ID_CHUNK) rows.push(...(await query(unique.slice(i, i + ID_CHUNK))));
  return rows;
}
