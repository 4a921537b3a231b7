// The Conversation object's outbox: every message, status and reaction change is queued in the
// object's SQLite in the same transaction as the change, then copied to D1 in batches by the
// alarm. Copies are idempotent (upserts and deletes), so a retried batch does no harm. Messages are
// copied as they are at the flush, with their delivered status (see D1Copy).
import type { StoredMessage } from "../domain/message";
import { toMessage, type MessageRow } from "./conversation-rows";

export interface OutboxRow {
  id: number;
  kind: "message" | "message_ref" | "delete" | "status" | "reaction";
  payload: string;
  [key: string]: SqlStorageValue;
}

/** The outbox carries the whole stored message and its organization (D1's copy is org-scoped). */
type MessageCopy = StoredMessage & { organizationId: string };

/** The conversation whose outbox this is (D1's copy is org-scoped). */
export interface OutboxScope {
  cid: string;
  organizationId: string;
}

const BATCH = 100;

/** A message as the object holds it now (with its delivered status), or nothing when it was deleted (its delete row follows). */
function messageNow(db: D1Database, sql: SqlStorage, scope: OutboxScope, seq: number): D1PreparedStatement[] {
  const row = sql.exec<MessageRow>("SELECT * FROM messages WHERE seq = ?", seq).toArray()[0];
  return row ? copyOf(db, scope, row) : [];
}

function copyOf(db: D1Database, scope: OutboxScope, row: MessageRow): D1PreparedStatement[] {
  const copy: MessageCopy = { ...toMessage(row, scope.cid), organizationId: scope.organizationId };
  const statements = messageCopy(db, copy);
  if (row.delivered_by !== null && row.delivered_at !== null) {
    statements.push(statusCopy(db, { cid: scope.cid, mid: row.id, user_id: row.delivered_by, status: "delivered", at: row.delivered_at }));
  }
  return statements;
}

/**
 * The message's conversation may now see the files it carries (files/access.ts visibleFileIds), each one
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

function messageCopy(db: D1Database, m: MessageCopy): D1PreparedStatement[] {
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

function statusCopy(db: D1Database, p: Record<string, unknown>): D1PreparedStatement {
  // "read" outranks "delivered": a late delivered report never downgrades a read.
  return db
    .prepare(
      `INSERT INTO message_statuses (cid, mid, user_id, status, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)
       ON CONFLICT (mid, user_id) DO UPDATE SET status = CASE WHEN status = 'read' THEN status ELSE excluded.status END,
       updated_at = excluded.updated_at`,
    )
    .bind(p.cid, p.mid, p.user_id, p.status, p.at, p.at);
}

function statementFor(db: D1Database, sql: SqlStorage, scope: OutboxScope, row: OutboxRow): D1PreparedStatement[] {
  const p = JSON.parse(row.payload) as Record<string, unknown>;
  switch (row.kind) {
    case "message":
      return messageCopy(db, p as unknown as MessageCopy); // queued whole by earlier versions
    case "message_ref":
      return messageNow(db, sql, scope, p.seq as number);
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
      return [statusCopy(db, p)];
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

/**
 * The D1 copy of one conversation. New messages need no row of their own: a cursor (`copied_seq`)
 * tells which messages D1 has, and each flush copies those past it as they are then (delivered
 * status included). A change to a message already copied queues one `message_ref` row until the
 * next flush, however often it changes; other changes (deletes, read marks, reactions) queue rows.
 */
export class D1Copy {
  /** Messages read for copying (memory; the durable cursor moves once D1 has them). */
  private readUpTo: number | undefined = undefined;
  /** Messages and outbox rows D1 has, not yet recorded here: recorded with the next commit (writeProgress). */
  private copiedUpTo: number | null = null;
  private copiedRowsUpTo = 0;
  /** Copied messages with a `message_ref` row waiting (memory: after an eviction a change adds a row again). */
  private readonly queued = new Set<number>();

  constructor(private readonly sql: SqlStorage) {}

  /** A message changed (sent, edited, delivered, hidden). */
  message(seq: number): void {
    if (seq > this.cursor() || this.queued.has(seq)) return; // the next flush copies it as it is
    this.queued.add(seq);
    this.queue("message_ref", { seq });
  }

  queue(kind: OutboxRow["kind"], payload: unknown): void {
    this.sql.exec("INSERT INTO outbox (kind, payload) VALUES (?, ?)", kind, JSON.stringify(payload));
  }

  /** Files among `objectIds` that messages by `from` carry and D1 does not have yet (their grants are not there either). */
  uncopiedAttachments(from: string, objectIds: string[]): string[] {
    const copied = this.copiedUpTo ?? Number(this.sql.exec<{ v: string }>("SELECT v FROM meta WHERE k = 'copied_seq'").toArray()[0]?.v ?? 0);
    return this.sql
      .exec<{ id: string }>(
        `SELECT DISTINCT json_extract(a.value, '$.file_id') AS id FROM messages m, json_each(m.attachments) a
         WHERE m.seq > ? AND m.from_id = ? AND m.attachments IS NOT NULL AND json_extract(a.value, '$.file_id') IN (SELECT value FROM json_each(?))`,
        copied,
        from,
        JSON.stringify(objectIds),
      )
      .toArray()
      .map((r) => r.id);
  }

  /** Something waits for D1. */
  pending(): boolean {
    const newest = this.sql.exec<{ s: number | null }>("SELECT max(seq) AS s FROM messages").one().s ?? 0;
    return newest > this.cursor() || this.sql.exec<{ n: number }>("SELECT count(*) AS n FROM outbox WHERE id > ?", this.copiedRowsUpTo).one().n > 0;
  }

  /**
   * Records what D1 has (the cursor, and the outbox rows it took), in the caller's commit: a flush
   * does not pay a commit of its own for it. Until then an evicted object copies those again, which
   * D1's upserts and deletes, replayed in order, absorb.
   */
  writeProgress(): void {
    if (this.copiedUpTo !== null) this.sql.exec("INSERT OR REPLACE INTO meta (k, v) VALUES ('copied_seq', ?)", String(this.copiedUpTo));
    if (this.copiedRowsUpTo > 0) this.sql.exec("DELETE FROM outbox WHERE id <= ?", this.copiedRowsUpTo);
    this.copiedUpTo = null;
    this.copiedRowsUpTo = 0;
  }

  /** Copies new messages past the cursor, then queued changes, oldest first; what was copied is recorded by writeProgress. */
  async flush(db: D1Database, scope: OutboxScope): Promise<void> {
    for (;;) {
      const rows = this.sql.exec<MessageRow>("SELECT * FROM messages WHERE seq > ? ORDER BY seq LIMIT ?", this.cursor(), BATCH).toArray();
      if (rows.length === 0) break;
      const upTo = rows.at(-1)!.seq;
      const statements = rows.flatMap((row) => copyOf(db, scope, row));
      const durable = this.cursor();
      this.readUpTo = upTo; // a change from now on is a change after this read: it queues a row
      try {
        await db.batch(statements);
      } catch (err) {
        this.readUpTo = durable; // D1 has none of them: the next flush reads them again
        throw err;
      }
      this.copiedUpTo = upTo;
      if (rows.length < BATCH) break;
    }
    for (;;) {
      const rows = this.sql.exec<OutboxRow>("SELECT * FROM outbox WHERE id > ? ORDER BY id LIMIT ?", this.copiedRowsUpTo, BATCH).toArray();
      if (rows.length === 0) return;
      const statements = rows.flatMap((row) => statementFor(db, this.sql, scope, row));
      for (const row of rows) if (row.kind === "message_ref") this.queued.delete((JSON.parse(row.payload) as { seq: number }).seq);
      if (statements.length > 0) await db.batch(statements);
      this.copiedRowsUpTo = rows.at(-1)!.id;
      if (rows.length < BATCH) return;
    }
  }

  private cursor(): number {
    this.readUpTo ??= Number(this.sql.exec<{ v: string }>("SELECT v FROM meta WHERE k = 'copied_seq'").toArray()[0]?.v ?? 0);
    return this.readUpTo;
  }
}
