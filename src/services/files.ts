// File records in D1 (SAMA's `files` collection): what a user declared before uploading. The bytes
// live in R2 under the record's object_id; nothing here checks that an upload happened (SAMA
// does not either).
import { and, eq, inArray, sql } from "drizzle-orm";
import { inChunks } from "../db/client";
import { files } from "../db/schema";
import { newObjectId } from "../domain/object-id";
import { Errors, SamaError } from "../protocol/errors";
import type { ServiceDeps } from "./context";
import { timestamps } from "../domain/timestamps";

export type FileRow = typeof files.$inferSelect;

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

/** Files of the organization among `objectIds`; unknown and foreign ids are skipped. */
export function filesByObjectIds({ db }: Pick<ServiceDeps, "db">, organizationId: string, objectIds: readonly string[]): Promise<FileRow[]> {
  return inChunks(objectIds, (chunk) =>
    db
      .select()
      .from(files)
      .where(and(eq(files.organizationId, organizationId), inArray(files.objectId, chunk)))
      .all(),
  );
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
 * Which of these files (all of one organization) `userId` may download: their own uploads, files
 * of anyone they share a conversation with (attachments, conversation images), and avatars. The
 * rule reads only the directory (D1's participants), which is current when a conversation changes,
 * so an attachment can be fetched the moment its message arrives.
 */
export async function visibleFileIds({ db }: Pick<ServiceDeps, "db">, organizationId: string, userId: string, rows: readonly FileRow[]): Promise<Set<string>> {
  const visible = new Set(rows.filter((f) => f.userId === userId).map((f) => f.objectId));
  const others = rows.filter((f) => !visible.has(f.objectId));
  if (others.length === 0) return visible;
  const uploaders = [...new Set(others.map((f) => f.userId))];
  const objectIds = others.map((f) => f.objectId);
  const shared = await db.all<{ user_id: string }>(sql`
    SELECT DISTINCT b.user_id FROM conversation_participants a
    JOIN conversation_participants b ON b.conversation_id = a.conversation_id
    WHERE a.user_id = ${userId} AND a.organization_id = ${organizationId}
      AND b.user_id IN (SELECT value FROM json_each(${JSON.stringify(uploaders)}))`);
  const avatars = await db.all<{ file_id: string }>(sql`
    SELECT json_extract(avatar_object, '$.file_id') AS file_id FROM users
    WHERE organization_id = ${organizationId}
      AND json_extract(avatar_object, '$.file_id') IN (SELECT value FROM json_each(${JSON.stringify(objectIds)}))`);
  const sharing = new Set(shared.map((r) => r.user_id));
  const avatarIds = new Set(avatars.map((r) => r.file_id));
  for (const f of others) if (sharing.has(f.userId) || avatarIds.has(f.objectId)) visible.add(f.objectId);
  return visible;
}

/** Whether `userId` may download the organization's file `objectId` (get_file_urls' rule). */
export async function mayDownload(deps: Pick<ServiceDeps, "db">, organizationId: string, userId: string, objectId: string): Promise<boolean> {
  const rows = await filesByObjectIds(deps, organizationId, [objectId]);
  return (await visibleFileIds(deps, organizationId, userId, rows)).has(objectId);
}

/**
 * Refuses (422 "Can't find file.") a file of the organization that `userId` may not attach to a
 * profile or conversation: an avatar must be their own upload (avatars are visible to the whole
 * organization), a conversation image a file they can already see. Otherwise naming someone's
 * private file as an image would hand its download URL to everyone who sees the image. Ids that are
 * no file of the organization pass, as in SAMA: they are stored and get no URL.
 */
export async function requireUsableFile(deps: ServiceDeps, owner: { organizationId: string; userId: string }, fileId: string, rule: "own" | "visible"): Promise<void> {
  const [row] = await filesByObjectIds(deps, owner.organizationId, [fileId]);
  if (row === undefined || row.userId === owner.userId) return;
  if (rule === "visible" && (await visibleFileIds(deps, owner.organizationId, owner.userId, [row])).has(fileId)) return;
  throw new SamaError(Errors.FILE_NOT_FOUND);
}
