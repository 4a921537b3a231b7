// Which of an organization's files a user may download: D1's grants, and the posts still in a
// Conversation's outbox. Used by get_file_urls, image checks and the Inbox's pushes.
import { and, eq, inArray, sql } from "drizzle-orm";
import { inChunks, type Db } from "../db/client";
import { files } from "../db/schema";

export type FileRow = typeof files.$inferSelect;

/** Files of the organization among `objectIds`; unknown and foreign ids are skipped. */
export function filesByObjectIds({ db }: { db: Db }, organizationId: string, objectIds: readonly string[]): Promise<FileRow[]> {
  return inChunks(objectIds, (chunk) =>
    db
      .select()
      .from(files)
      .where(and(eq(files.organizationId, organizationId), inArray(files.objectId, chunk)))
      .all(),
  );
}

/** How many conversations shared with an uploader one check asks about files not yet copied to D1. */
const UNFLUSHED_LOOKUPS_MAX = 25;

/** Asks a Conversation which of `objectIds` its messages from `from` carry that D1 does not show yet. */
export type OutboxFiles = (cid: string, from: string, objectIds: string[]) => Promise<string[]>;

/** D1, and the way to the Conversations' outboxes (objects/stubs.ts makes these: files/ sits below the objects). */
export interface FileAccessDeps {
  db: Db;
  outboxFiles: OutboxFiles;
}

/** Which of `objectIds` D1 shows `userId`: avatars, images of their conversations, files posted in their conversations. */
async function grantedInD1(db: Db, organizationId: string, userId: string, objectIds: readonly string[]): Promise<Set<string>> {
  const ids = JSON.stringify(objectIds);
  const rows = await db.all<{ id: string }>(sql`
    SELECT json_extract(avatar_object, '$.file_id') AS id FROM users
    WHERE organization_id = ${organizationId} AND json_extract(avatar_object, '$.file_id') IN (SELECT value FROM json_each(${ids}))
    UNION
    SELECT g.object_id FROM file_grants g JOIN conversation_participants p ON p.conversation_id = g.conversation_id
    WHERE p.user_id = ${userId} AND g.organization_id = ${organizationId} AND g.object_id IN (SELECT value FROM json_each(${ids}))
    UNION
    SELECT json_extract(c.image_object, '$.file_id') FROM conversations c JOIN conversation_participants p ON p.conversation_id = c.id
    WHERE p.user_id = ${userId} AND c.organization_id = ${organizationId}
      AND json_extract(c.image_object, '$.file_id') IN (SELECT value FROM json_each(${ids}))`);
  return new Set(rows.map((r) => r.id));
}

/**
 * Files among `others` that their uploader posted a moment ago in a conversation shared with
 * `userId`, whose copy is still in that Conversation's outbox (D1 lags up to a flush, ~10 s).
 * Only conversations with the uploader in them can hold such a message; the newest are asked.
 */
async function postedJustNow(deps: FileAccessDeps, organizationId: string, userId: string, others: readonly FileRow[]): Promise<Set<string>> {
  const byUploader = new Map<string, string[]>();
  for (const f of others) byUploader.set(f.userId, [...(byUploader.get(f.userId) ?? []), f.objectId]);
  const shared = await deps.db.all<{ cid: string; uploader: string }>(sql`
    SELECT a.conversation_id AS cid, b.user_id AS uploader FROM conversation_participants a
    JOIN conversation_participants b ON b.conversation_id = a.conversation_id
    WHERE a.user_id = ${userId} AND a.organization_id = ${organizationId}
      AND b.user_id IN (SELECT value FROM json_each(${JSON.stringify([...byUploader.keys()])}))
    ORDER BY a.conversation_id DESC LIMIT ${UNFLUSHED_LOOKUPS_MAX}`);
  // A Conversation that cannot answer grants nothing (D1 will, after its next flush).
  const found = await Promise.all(
    shared.map(({ cid, uploader }) =>
      deps.outboxFiles(cid, uploader, byUploader.get(uploader) ?? []).catch(() => []),
    ),
  );
  return new Set(found.flat());
}

/**
 * Which of these files (all of one organization) `userId` may download: their own uploads, files
 * posted in a conversation they are in (by someone who could see them), images of their
 * conversations, and avatars. Opening a chat with an uploader grants nothing by itself. Posts
 * reach D1's file_grants through the Conversation's outbox (up to a flush later), so a file that D1
 * does not show yet is looked up in the outboxes of the conversations shared with its uploader: it
 * can be fetched the moment its message arrives. No message send waits for any of this.
 */
export async function visibleFileIds(deps: FileAccessDeps, organizationId: string, userId: string, rows: readonly FileRow[]): Promise<Set<string>> {
  const visible = new Set(rows.filter((f) => f.userId === userId).map((f) => f.objectId));
  const unseen = () => rows.filter((f) => !visible.has(f.objectId));
  const add = (ids: Set<string>) => ids.forEach((id) => visible.add(id));
  if (unseen().length === 0) return visible;
  add(await grantedInD1(deps.db, organizationId, userId, unseen().map((f) => f.objectId)));
  if (unseen().length === 0) return visible;
  add(await postedJustNow(deps, organizationId, userId, unseen()));
  // A flush may have moved a grant from an outbox to D1 between the two reads above.
  if (unseen().length > 0) add(await grantedInD1(deps.db, organizationId, userId, unseen().map((f) => f.objectId)));
  return visible;
}

/** Whether `userId` may download the organization's file `objectId` (get_file_urls' rule). */
export async function mayDownload(deps: FileAccessDeps, organizationId: string, userId: string, objectId: string): Promise<boolean> {
  const rows = await filesByObjectIds(deps, organizationId, [objectId]);
  return (await visibleFileIds(deps, organizationId, userId, rows)).has(objectId);
}
