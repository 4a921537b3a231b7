// SAMA's records as the importer writes them: each collection's document, validated and mapped to
// Parley's rows (the admin route's schemas produce these; src/http/routes/admin/import-records.ts).
import type { blockedUsers, files, organizations, pushSubscriptions, users } from "../../db/schema";
import type { ConversationMeta, Role } from "../../domain/conversation";
import type { ImportedMessage, ImportedReaction, ImportedStatus } from "../../domain/sama-import";
import type { ContactRow } from "../contacts";

export type OrganizationRecord = typeof organizations.$inferSelect & {
  /** The bot's id when the dump names it (an export of Parley's: `bot_user_id`); else the bot gets a new one. */
  botUserId: string | null;
};
export type UserRecord = typeof users.$inferSelect;
export type FileRecord = typeof files.$inferSelect;
export type BlockRecord = typeof blockedUsers.$inferSelect;
export type PushSubscriptionRecord = typeof pushSubscriptions.$inferSelect;
export type ContactRecord = ContactRow;

export type ConversationRecord = ConversationMeta;

export interface ParticipantRecord {
  /** SAMA's _id (reported); Parley keys a participant by conversation and user. */
  id: string;
  organizationId: string | null;
  conversationId: string;
  userId: string;
  role: Role;
  createdAt: number;
  updatedAt: number;
}

export interface HandlerRecord {
  id: string;
  conversationId: string;
  content: string;
  updatedBy: string;
  createdAt: number;
  updatedAt: number;
}

export type MessageRecord = ImportedMessage & { organizationId: string | null };
export type StatusRecord = ImportedStatus & { cid: string };
export type ReactionRecord = ImportedReaction & { cid: string | null };
