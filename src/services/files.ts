// File records in D1 (SAMA's `files` collection): what a user declared before uploading. The bytes
// live in R2 under the record's object_id; nothing here checks that an upload happened (SAMA
// does not either).
import { files } from "../db/schema";
import { newObjectId } from "../domain/object-id";
import { Errors, SamaError } from "../domain/errors";
import type { ServiceDeps } from "./context";
import { filesByObjectIds, visibleFileIds, type FileRow } from "../files/access";
import { fileAccess } from "../objects/stubs";
import { timestamps } from "../domain/timestamps";

export interface NewFile {
  name: string;
  size: number;
  contentType: string;
}

/** SAMA's File shape (SAMA-PROTOCOL.md §1.4). */
export interface FileView {
  _id: string;
  organization_id: string;
  user_id: string;
  name: string;
  size: number;
  content_type: string;
  object_id: string;
  created_at: string;
  updated_at: string;
}

/** Records the files a user is about to upload (at most 10, so one insert stays under D1's 100 parameters). */
export async function createFiles(
  { db, now }: ServiceDeps,
  owner: { organizationId: string; userId: string },
  declared: readonly NewFile[],
): Promise<FileRow[]> {
  const rows: FileRow[] = declared.map((file) => ({
    id: newObjectId(now),
    organizationId: owner.organizationId,
    userId: owner.userId,
    name: file.name,
    size: file.size,
    contentType: file.contentType,
    objectId: newObjectId(now),
    createdAt: now,
    updatedAt: now,
  }));
  if (rows.length > 0) await db.insert(files).values(rows);
  return rows;
}

export function toFileView(row: FileRow): FileView {
  return {
    _id: row.id,
    organization_id: row.organizationId,
    user_id: row.userId,
    name: row.name,
    size: row.size,
    content_type: row.contentType,
    object_id: row.objectId,
    ...timestamps(row),
  };
}

/**
 * Refuses (422 "Can't find file.") a file of the organization that `userId` may not attach to a
 * profile or conversation: an avatar must be their own upload (avatars are visible to the whole
 * organization), a conversation image a file they can already see. Otherwise naming someone's
 * private file as an image would hand its download URL to everyone who sees the image. Ids that are
 * no file of the organization pass, as in SAMA: they are stored and get no URL.
 */
export async function requireUsableFile(deps: ServiceDeps & { env: Env }, owner: { organizationId: string; userId: string }, fileId: string, rule: "own" | "visible"): Promise<void> {
  const [row] = await filesByObjectIds(deps, owner.organizationId, [fileId]);
  if (row === undefined || row.userId === owner.userId) return;
  if (rule === "visible" && (await visibleFileIds(fileAccess(deps.env, deps.db), owner.organizationId, owner.userId, [row])).has(fileId)) return;
  throw new SamaError(Errors.FILE_NOT_FOUND);
}
