// An HTTP route is declared once, as data: method, path, its zod schemas and its answers. The same
// declaration registers the Hono handler and feeds the OpenAPI document (src/http/openapi.ts), so
// the document cannot drift from what the Worker serves.
import { Hono, type Handler } from "hono";
import type { z } from "zod";
import type { AppEnv } from "./types";

export type Method = "get" | "post" | "put" | "delete";

export interface ResponseDoc {
  description: string;
  /** A JSON body of this shape. */
  json?: z.ZodType;
  /** A text/plain body: the error messages (SAMA's wording) this status carries. */
  text?: readonly string[];
  /** Raw bytes of this media type (file downloads). */
  bytes?: string;
}

export interface Operation {
  method: Method;
  /** Hono's form: `/files/:object_id`. */
  path: string;
  summary: string;
  description?: string;
  tag: string;
  /** Needs the `admin-api-key` header. */
  admin?: boolean;
  /** A JSON request body. */
  body?: z.ZodType;
  /** A request body example (shown and pre-filled by /docs). */
  example?: unknown;
  /** A raw request body of this media type (file uploads). */
  bytes?: string;
  query?: z.ZodObject;
  /** Request headers that matter besides the admin key, e.g. Authorization. */
  headers?: Record<string, string>;
  responses: Record<number, ResponseDoc>;
}

export interface DocumentedRoutes {
  app: Hono<AppEnv>;
  operations: readonly Operation[];
}

/** Registers each operation's handler and keeps the operations for the document. */
export function documented(...routes: ReadonlyArray<Operation & { handle: Handler<AppEnv> }>): DocumentedRoutes {
  const app = new Hono<AppEnv>();
  const operations: Operation[] = [];
  for (const { handle, ...operation } of routes) {
    app.on(operation.method.toUpperCase(), operation.path, handle);
    operations.push(operation);
  }
  return { app, operations };
}
