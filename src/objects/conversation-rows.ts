// The Conversation object's SQLite tables and its row mappers.
import type { Participant, Role } from "../domain/conversation";
import type { Attachment, StoredMessage } from "../domain/message";

export interface ParticipantRow {
  user_id: string;
  role: string | null;
  name: string;
  joined_seq: number;
  read_seq: number;
  [key: string]: SqlStorageValue;
}

export interface MessageRow {
  seq: number;
  id: string;
  from_id: string;
  body: string | null;
  attachments: string | null;
  x: string;
  t: number;
  created_at: number;
  updated_at: number;
  replied_message_id: string | null;
  forwarded_message_id: string | null;
  encrypted_message_type: number | null;
  deleted_for: string;
  client_id: string | null;
  /** The recipient whose live device had it first (conversation-receipts.ts), and when. */
  delivered_by: string | null;
  delivered_at: number | null;
  [key: string]: SqlStorageValue;
}

/** Creates the tables of a new object, and brings an older object's up to date. */
export function createSchema(sql: SqlStorage): void {
  sql.exec(`
    CREATE TABLE IF NOT EXISTS meta (k TEXT PRIMARY KEY, v TEXT NOT NULL);
    CREATE TABLE IF NOT EXISTS participants (
      user_id TEXT PRIMARY KEY, role TEXT, name TEXT NOT NULL,
      joined_seq INTEGER NOT NULL, read_seq INTEGER NOT NULL DEFAULT 0, added_at INTEGER NOT NULL);
    CREATE TABLE IF NOT EXISTS messages (
      seq INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, from_id TEXT NOT NULL, body TEXT, attachments TEXT,
      x TEXT NOT NULL, t INTEGER NOT NULL, created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL,
      replied_message_id TEXT, forwarded_message_id TEXT, encrypted_message_type INTEGER,
      deleted_for TEXT NOT NULL DEFAULT '[]', client_id TEXT, delivered_by TEXT, delivered_at INTEGER);
    CREATE TABLE IF NOT EXISTS sends (from_id TEXT NOT NULL, client_id TEXT NOT NULL, ask TEXT NOT NULL,
      created_at INTEGER NOT NULL, PRIMARY KEY (from_id, client_id));
    CREATE TABLE IF NOT EXISTS statuses (seq INTEGER NOT NULL, user_id TEXT NOT NULL, status TEXT NOT NULL,
      updated_at INTEGER NOT NULL, PRIMARY KEY (seq, user_id));
    CREATE TABLE IF NOT EXISTS reactions (seq INTEGER NOT NULL, user_id TEXT NOT NULL, reaction TEXT NOT NULL,
      created_at INTEGER NOT NULL, PRIMARY KEY (seq, user_id, reaction));
    CREATE TABLE IF NOT EXISTS fanout (id INTEGER PRIMARY KEY, packet TEXT, recipients TEXT NOT NULL, options TEXT NOT NULL);
    CREATE TABLE IF NOT EXISTS outbox (id INTEGER PRIMARY KEY, kind TEXT NOT NULL, payload TEXT NOT NULL);
  `);
  upgradeSchema(sql);
}

/**
 * Objects created before the store-once path: every index and counter row is a row written per
 * message, so the updated_at index goes (message_list scans), and the columns that replace the
 * per-send idempotency row and the delivered status row are added. (Their AUTOINCREMENT tables stay:
 * correct, one counter row dearer.)
 */
function upgradeSchema(sql: SqlStorage): void {
  const columns = new Set(sql.exec<{ name: string }>("SELECT name FROM pragma_table_info('messages')").toArray().map((c) => c.name));
  if (columns.has("client_id")) return;
  sql.exec("DROP INDEX IF EXISTS messages_updated");
  sql.exec("ALTER TABLE messages ADD COLUMN client_id TEXT");
  sql.exec("ALTER TABLE messages ADD COLUMN delivered_by TEXT");
  sql.exec("ALTER TABLE messages ADD COLUMN delivered_at INTEGER");
  // Earlier versions queued every message whole in the outbox: the copy cursor starts past them.
  const newest = sql.exec<{ s: number | null }>("SELECT max(seq) AS s FROM messages").one().s;
  if (newest !== null) sql.exec("INSERT OR REPLACE INTO meta (k, v) VALUES ('copied_seq', ?)", String(newest));
}

export function toParticipant(row: ParticipantRow): Participant {
  return { userId: row.user_id, role: (row.role as Role) ?? null, name: row.name };
}

export function toMessage(row: MessageRow, cid: string): StoredMessage {
  return {
    id: row.id,
    seq: row.seq,
    cid,
    from: row.from_id,
    body: row.body,
    attachments: row.attachments === null ? null : (JSON.parse(row.attachments) as Attachment[]),
    x: JSON.parse(row.x) as Record<string, unknown>,
    t: row.t,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    repliedMessageId: row.replied_message_id,
    forwardedMessageId: row.forwarded_message_id,
    encryptedMessageType: row.encrypted_message_type,
    deletedFor: JSON.parse(row.deleted_for) as string[],
  };
}
