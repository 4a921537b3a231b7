import type { Config } from "../config";
import type { Db } from "../db/client";

/** What a service needs from the outside world; built once per request or frame. */
export interface ServiceDeps {
  db: Db;
  config: Config;
  /** Unix ms, read once so one request sees one time. */
  now: number;
}
