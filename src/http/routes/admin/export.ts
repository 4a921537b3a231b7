import { z } from "zod";
import { toBase64Url, fromBase64 } from "../../../auth/encoding";
import { EXPORTED_COLLECTIONS, EXPORT_INCLUDES } from "../../../domain/export-records";
import { Errors, SamaError } from "../../../domain/errors";
import { parseParams } from "../../../protocol/validation";
import { exportCollection, type ExportCursor } from "../../../services/export";
import { documented } from "../../documented";
import { withErrors } from "../../responses";
import { serviceDeps } from "../../types";

/** Records per page unless `limit` says otherwise, and the most a page may hold. */
const DEFAULT_LIMIT = 500;
const MAX_LIMIT = 1000;

export const NEXT_CURSOR_HEADER = "x-next-cursor";

const pathSchema = z.object({ organization_id: z.string().min(1), collection: z.enum(EXPORTED_COLLECTIONS) });

const querySchema = z.strictObject({
  cursor: z.string().min(1).max(2048).optional().meta({ description: `The \`${NEXT_CURSOR_HEADER}\` header of the previous page` }),
  limit: z.coerce.number().int().min(1).max(MAX_LIMIT).optional().meta({ description: `Records per page (default ${DEFAULT_LIMIT})` }),
  include: z
    .string()
    .optional()
    .meta({ description: "Comma-separated: `password_hashes` (users' hashes), `push_subscriptions` (needed to export that collection: push tokens and keys)" }),
});

const includeSchema = z.array(z.enum(EXPORT_INCLUDES));

const cursorSchema = z.strictObject({ cid: z.string().min(1).optional(), after: z.array(z.union([z.string(), z.number()])).min(1).max(3).optional() });

const INVALID_CURSOR = { status: 422, message: '"cursor" is invalid' };

function encodeCursor(cursor: ExportCursor): string {
  return toBase64Url(new TextEncoder().encode(JSON.stringify(cursor)));
}

function decodeCursor(text: string | undefined): ExportCursor {
  if (text === undefined) return {};
  try {
    const json = new TextDecoder().decode(fromBase64(text.replace(/-/g, "+").replace(/_/g, "/")));
    const parsed = cursorSchema.safeParse(JSON.parse(json));
    if (parsed.success) return parsed.data;
  } catch {
    // not base64 or not JSON: the same answer as a cursor of the wrong shape
  }
  throw new SamaError(INVALID_CURSOR);
}

/** GET /admin/organizations/:organization_id/export/:collection: one page of an organization's export. */
export const adminExport = documented({
  method: "get",
  path: "/admin/organizations/:organization_id/export/:collection",
  tag: "Admin",
  admin: true,
  summary: "Export one collection of an organization, a page at a time",
  description:
    "One page of NDJSON (`application/x-ndjson`): one record per line, in the shape of SAMA's MongoDB collection of that name, " +
    "as relaxed MongoDB Extended JSON (`_id` as `{\"$oid\"}` when ObjectId-shaped, dates as `{\"$date\"}`). " +
    `While more records follow, the \`${NEXT_CURSOR_HEADER}\` header holds the cursor of the next page; the last page has none. ` +
    "Users carry no password hash unless `include=password_hashes`; tokens, device keys and push events are never exported. " +
    "`npm run export` writes a whole organization to files (README, Export).",
  query: querySchema,
  responses: withErrors(
    {
      200: { description: `One page of records, one JSON document per line; \`${NEXT_CURSOR_HEADER}\` when more follow`, bytes: "application/x-ndjson" },
    },
    [Errors.UNAUTHORIZED, Errors.ORG_NOT_FOUND, INVALID_CURSOR],
  ),
  handle: async (c) => {
    const path = parseParams(pathSchema, c.req.param());
    const query = parseParams(querySchema, c.req.query());
    const include = parseParams(includeSchema, query.include === undefined || query.include === "" ? [] : query.include.split(","));
    const result = await exportCollection(serviceDeps(c), c.env, {
      organizationId: path.organization_id,
      collection: path.collection,
      cursor: decodeCursor(query.cursor),
      limit: query.limit ?? DEFAULT_LIMIT,
      include: new Set(include),
    });
    const headers = new Headers({ "Content-Type": "application/x-ndjson; charset=utf-8", "Cache-Control": "no-store" });
    if (result.next !== null) headers.set(NEXT_CURSOR_HEADER, encodeCursor(result.next));
    // The page goes out line by line as the client reads it, never as one string.
    const encoder = new TextEncoder();
    let i = 0;
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (i < result.lines.length) controller.enqueue(encoder.encode(result.lines[i++]!));
        else controller.close();
      },
    });
    return new Response(body, { status: 200, headers });
  },
});
