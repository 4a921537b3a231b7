// A page of one conversation's messages, statuses or reactions for an organization export, read from
// the object's SQLite: the record (D1's copy trails it by the outbox's delay).
import type { ConversationMeta } from "../domain/conversation";
import { messageRecord, ndjsonLine, reactionRecord, statusRecord, type ConversationCollection, type ExportRecord, type Position } from "../domain/export-records";
import { toMessage, type MessageRow } from "./conversation-rows";

export interface ExportPage {
  /** The records as NDJSON lines (strings cross the RPC boundary as they go out). */
  lines: string[];
  /** Where the page ended when more records follow; null at the conversation's end. */
  next: Position | null;
}

interface StatusRow {
  seq: number;
  mid: string;
  user_id: string;
  status: string;
  at: number;
  [key: string]: SqlStorageValue;
}

interface ReactionRow {
  seq: number;
  mid: string;
  user_id: string;
  reaction: string;
  at: number;
  [key: string]: SqlStorageValue;
}

/** Up to `limit` records after `after` (null: from the start), ordered by message then user (then emoji). */
export async function exportPage(sql: SqlStorage, meta: ConversationMeta, collection: ConversationCollection, after: Position | null, limit: number): Promise<ExportPage> {
  // One row more than asked tells whether the page is the last.
  switch (collection) {
    case "messages": {
      const rows = sql.exec<MessageRow>("SELECT * FROM messages WHERE seq > ? ORDER BY seq LIMIT ?", Number(after?.[0] ?? 0), limit + 1).toArray();
      return page(rows, limit, (r) => [r.seq], async (r) => messageRecord(toMessage(r, meta.id), meta.organizationId));
    }
    case "message_statuses": {
      // Read marks are rows; "delivered" is a column of the message (a read by the same user outranks it).
      const rows = sql
        .exec<StatusRow>(
          `SELECT x.seq, m.id AS mid, x.user_id, x.status, x.at FROM (
             SELECT seq, user_id, status, updated_at AS at FROM statuses
             UNION ALL
             SELECT seq, delivered_by, 'delivered', delivered_at FROM messages d WHERE delivered_by IS NOT NULL
               AND NOT EXISTS (SELECT 1 FROM statuses s WHERE s.seq = d.seq AND s.user_id = d.delivered_by)
           ) x JOIN messages m ON m.seq = x.seq
           WHERE (x.seq, x.user_id) > (?, ?) ORDER BY x.seq, x.user_id LIMIT ?`,
          Number(after?.[0] ?? 0),
          String(after?.[1] ?? ""),
          limit + 1,
        )
        .toArray();
      return page(rows, limit, (r) => [r.seq, r.user_id], (r) => statusRecord({ cid: meta.id, mid: r.mid, userId: r.user_id, status: r.status, at: r.at }));
    }
    case "message_reactions": {
      const rows = sql
        .exec<ReactionRow>(
          `SELECT r.seq, m.id AS mid, r.user_id, r.reaction, r.created_at AS at FROM reactions r JOIN messages m ON m.seq = r.seq
           WHERE (r.seq, r.user_id, r.reaction) > (?, ?, ?) ORDER BY r.seq, r.user_id, r.reaction LIMIT ?`,
          Number(after?.[0] ?? 0),
          String(after?.[1] ?? ""),
          String(after?.[2] ?? ""),
          limit + 1,
        )
        .toArray();
      return page(rows, limit, (r) => [r.seq, r.user_id, r.reaction], (r) =>
        reactionRecord({ organizationId: meta.organizationId, cid: meta.id, mid: r.mid, userId: r.user_id, reaction: r.reaction, at: r.at }),
      );
    }
  }
}

async function page<R>(rows: R[], limit: number, position: (row: R) => Position, record: (row: R) => Promise<ExportRecord>): Promise<ExportPage> {
  const kept = rows.slice(0, limit);
  return { lines: (await Promise.all(kept.map(record))).map(ndjsonLine), next: rows.length > limit ? position(kept.at(-1)!) : null };
}
