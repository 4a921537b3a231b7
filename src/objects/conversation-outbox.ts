// The Conversation object's outbox: every message, status and reaction change is queued in the
// object's SQLite in the same transaction as the change, then copied to D1 in batches by the
// alarm. Copies are idempotent (upserts and deletes), so a retried batch does no harm.
import type { StoredMessage } from "../domain/message";

export interface OutboxRow {
  id: number;
  kind: "message" | "delete" | "status" | "reaction";
  payload: string;
  [key: string]: SqlStorageValue;
}

/** The outbox carries the whole stored message and its organization (D1's copy is org-scoped). */
type MessageCopy = StoredMessage & { organizationId: string };

const BATCH = 100;

/**
 * The message's conversation may now see the files it carries (files.ts visibleFileIds), each one
 * only if its sender could: their own upload, or a file granted to a conversation they are in. A
 * file id named by someone who could not see it (ids are guessable) grants nothing.
 */
function fileGrant(db: D1Database, m: MessageCopy): D1PreparedStatement {
  return db
    .prepare(
      `INSERT OR IGNORE INTO file_grants (organization_id, object_id, conversation_id, created_at)
       SELECT f.organization_id, f.object_id, ?1, ?2 FROM files f
       WHERE f.organization_id = ?3 AND f.object_id IN (SELECT json_extract(value, '$.file_id') FROM json_each(?4))
         AND (f.user_id = ?5 OR EXISTS (
           SELECT 1 FROM file_grants g JOIN conversation_participants p ON p.conversation_id = g.conversation_id
           WHERE g.object_id = f.object_id AND p.user_id = ?5))`,
    )
    .bind(m.cid, m.createdAt, m.organizationId, JSON.stringify(m.attachments), m.from);
}

function statementFor(db: D1Database, row: OutboxRow): D1PreparedStatement[] {
  const p = JSON.parse(row.payload) as Record<string, unknown>;
  switch (row.kind) {
    case "message": {
      const m = p as unknown as MessageCopy;
      return [
        db
          .prepare(
            `INSERT OR REPLACE INTO messages (id, organization_id, cid, seq, from_id, body, attachments, x, t, deleted_for,
               replied_message_id, forwarded_message_id, encrypted_message_type, created_at, updated_at)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
          )
          .bind(
            m.id,
            m.organizationId,
            m.cid,
            m.seq,
            m.from,
            m.body,
            m.attachments === null ? null : JSON.stringify(m.attachments),
            JSON.stringify(m.x),
            m.t,
            JSON.stringify(m.deletedFor),
            m.repliedMessageId,
            m.forwardedMessageId,
            m.encryptedMessageType,
            m.createdAt,
            m.updatedAt,
          ),
        ...(m.attachments !== null && m.attachments.length > 0 ? [fileGrant(db, m)] : []),
      ];
    }
    case "delete": {
      const ids = p.ids as string[];
      const json = JSON.stringify(ids);
      return [
        db.prepare("DELETE FROM messages WHERE id IN (SELECT value FROM json_each(?))").bind(json),
        db.prepare("DELETE FROM message_statuses WHERE mid IN (SELECT value FROM json_each(?))").bind(json),
        db.prepare("DELETE FROM message_reactions WHERE mid IN (SELECT value FROM json_each(?))").bind(json),
      ];
    }
    case "status":
      // "read" outranks "delivered": a late delivered report never downgrades a read.
      return [
        db
          .prepare(
            `INSERT INTO message_statuses (cid, mid, user_id, status, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)
             ON CONFLICT (mid, user_id) DO UPDATE SET status = CASE WHEN status = 'read' THEN status ELSE excluded.status END,
             updated_at = excluded.updated_at`,
          )
          .bind(p.cid, p.mid, p.user_id, p.status, p.at, p.at),
      ];
    case "reaction":
      return [
        p.op === "add"
          ? db
              .prepare("INSERT OR IGNORE INTO message_reactions (cid, mid, user_id, reaction, created_at) VALUES (?, ?, ?, ?, ?)")
              .bind(p.cid, p.mid, p.user_id, p.reaction, p.at)
          : db.prepare("DELETE FROM message_reactions WHERE mid = ? AND user_id = ? AND reaction = ?").bind(p.mid, p.user_id, p.reaction),
      ];
  }
}

/** Copies queued changes to D1, oldest first, and removes what was copied. */
export async function flushOutbox(db: D1Database, sql: SqlStorage): Promise<void> {
  for (;;) {
    const rows = sql.exec<OutboxRow>("SELECT * FROM outbox ORDER BY id LIMIT ?", BATCH).toArray();
    if (rows.length === 0) return;
    await db.batch(rows.flatMap((row) => statementFor(db, row)));
    const last = rows[rows.length - 1]!.id;
    sql.exec("DELETE FROM outbox WHERE id <= ?", last);
    if (rows.length < BATCH) return;
  }
}
