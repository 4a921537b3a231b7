// Files (SAMA-PROTOCOL.md §1.5.6, §3.9): create_files records what a user is about to upload and
// answers upload URLs; get_file_urls answers download URLs. URLs come from src/files/signer.ts.
import * as shapes from "../shapes";
import { z } from "zod";
import { fileUrlSigner } from "../../files/signer";
import { filesByObjectIds, visibleFileIds } from "../../files/access";
import { fileAccess } from "../../objects/stubs";
import { createFiles, toFileView } from "../../services/files";
import { Errors, SamaError } from "../../domain/errors";
import { authedRequest } from "../request";
import { samaMessage } from "../validation";

/** SAMA's limits: 10 files per request, 100 MiB each. */
export const MAX_FILES_PER_REQUEST = 10;
export const MAX_FILE_SIZE = 104857600;

const file = z.strictObject({
  name: z.string(samaMessage(Errors.INCORRECT_FILE_NAME)).min(1).max(255),
  size: z.number(samaMessage(Errors.INCORRECT_FILE_SIZE)).int().positive().max(MAX_FILE_SIZE),
  // Any non-empty string, as SAMA; the upload route decides what may reach a Content-Type header.
  content_type: z.string(samaMessage(Errors.INCORRECT_CONTENT_TYPE)).min(1).max(255),
});

// The count is checked before the items, so eleven files get the file-limit error whatever they hold.
const createSchema = z
  .array(z.unknown())
  .min(1)
  .max(MAX_FILES_PER_REQUEST, samaMessage(Errors.FILE_LIMIT_EXCEEDED))
  .pipe(z.array(file));

const createFilesDoc = {
  summary:
    "Records 1–10 files of the signed-in user and answers each with a URL to PUT its bytes to.",
  reply: z.strictObject({ files: z.array(shapes.file) }),
  errors: [
    Errors.INCORRECT_FILE_NAME,
    Errors.INCORRECT_FILE_SIZE,
    Errors.INCORRECT_CONTENT_TYPE,
    Errors.FILE_LIMIT_EXCEEDED,
  ],
};

export const createFilesRequest = authedRequest("create_files", createSchema, createFilesDoc, async (ctx, params) => {
  const signer = fileUrlSigner(ctx, ctx.origin);
  const rows = await createFiles(
    ctx,
    { organizationId: ctx.session.organizationId, userId: ctx.session.userId },
    params.map((f) => ({ name: f.name, size: f.size, contentType: f.content_type })),
  );
  const views = await Promise.all(
    rows.map(async (row) => ({
      ...toFileView(row),
      upload_url: await signer.uploadUrl({ objectId: row.objectId, size: row.size, contentType: row.contentType }),
    })),
  );
  return { files: views };
});

const fileIdsSchema = z.strictObject({
  file_ids: z
    .array(z.string().min(1).max(255), samaMessage(Errors.FILE_IDS_MISSED))
    .min(1)
    .max(10, samaMessage(Errors.FILE_IDS_EXCEEDED)),
});

const getFileUrlsDoc = {
  summary:
    "Download URLs keyed by object_id. Every id must be a file of the caller's organization: as in SAMA, one unknown or foreign id fails the whole request (422 \"Can't find file.\"), so no URL is ever made for another organization's object.",
  reply: z.strictObject({ file_urls: z.record(z.string(), z.string()).meta({ description: "object_id → download URL (7 days)" }) }),
  errors: [Errors.FILE_IDS_MISSED, Errors.FILE_IDS_EXCEEDED, Errors.FILE_NOT_FOUND],
};

export const getFileUrls = authedRequest("get_file_urls", fileIdsSchema, getFileUrlsDoc, async (ctx, params) => {
  const ids = [...new Set(params.file_ids)];
  const found = await filesByObjectIds(ctx, ctx.session.organizationId, ids);
  const visible = await visibleFileIds(fileAccess(ctx.env, ctx.db), ctx.session.organizationId, ctx.session.userId, found);
  // An unknown id, another organization's file and a file the caller may not see look the same.
  if (found.length !== ids.length || visible.size !== ids.length) throw new SamaError(Errors.FILE_NOT_FOUND);
  const signer = fileUrlSigner(ctx, ctx.origin);
  const urls: Record<string, string> = {};
  for (const id of ids) urls[id] = await signer.downloadUrl(id);
  return { file_urls: urls };
});
