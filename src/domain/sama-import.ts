// What the SAMA importer's parts exchange: the admin route, the services that write D1, and the
// Conversation objects that take each conversation's history.
import type { StoredMessage } from "./message";

/** SAMA collections the importer moves, in the order it moves them (each refers only to earlier ones). */
export const IMPORTED_COLLECTIONS = [
  "organizations",
  "users",
  "files",
  "conversations",
  "conversations_participants",
  "conversation_handlers",
  "contacts",
  "blocked_users",
  "push_subscriptions",
  "messages",
  "message_statuses",
  // Not a collection: each conversation's staged messages and statuses become its history.
  "history",
  // After the history: reactions find their conversation through the D1 copy of messages.
  "message_reactions",
] as const;

export type ImportStep = (typeof IMPORTED_COLLECTIONS)[number];

/** SAMA collections that do not move, and why. */
export const NOT_MOVED: Record<string, string> = {
  user_tokens: "tokens are not moved: users sign in again",
  push_events: "push events are not moved (already sent)",
  operations_log: "the operations log is not moved: it is derived here, from the history",
  encrypted_devices: "E2EE device keys are not moved: devices register again",
  encrypted_message_statuses: "E2EE statuses are not moved",
  cluster_nodes: "cluster nodes are SAMA's own deployment state",
};

export interface Skipped {
  id: string;
  reason: string;
}

/** One batch's answer. `accepted`: ids of records that are (or, in a dry run, would be) there. */
export interface BatchOutcome {
  imported: number;
  existing: number;
  skipped: Skipped[];
  accepted: string[];
  /** Files whose bytes Parley does not have yet: where to PUT them (not in a dry run). */
  uploads?: FileUpload[];
}

export interface FileUpload {
  object_id: string;
  url: string;
  size: number;
  content_type: string;
}

/** A SAMA message as the Conversation object stages it: its seq comes at the history step. */
export type ImportedMessage = Omit<StoredMessage, "seq">;

export interface ImportedStatus {
  id: string;
  mid: string;
  userId: string;
  /** Parley keeps one delivered status per message (the first): later ones are there already. */
  status: "read" | "delivered";
  /** Unix ms. */
  at: number;
}

export interface ImportedReaction {
  id: string;
  mid: string;
  userId: string;
  reaction: string;
  at: number;
}

/** A Conversation object's answer to a staging or reaction batch. */
export interface StageOutcome {
  imported: string[];
  existing: string[];
  skipped: Skipped[];
}

/** What one conversation's history step did. */
export interface HistoryOutcome {
  messages: number;
  statuses: number;
  /** More staged messages wait: call again. */
  more: boolean;
}

export const emptyOutcome = (): BatchOutcome => ({ imported: 0, existing: 0, skipped: [], accepted: [] });
