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
