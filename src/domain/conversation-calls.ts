// What callers and a Conversation object exchange: the arguments and answers of its RPC methods.
// Here, below both, so services and the object share them without importing each other.
import type { ConversationMeta, Participant } from "./conversation";
import type { ErrorBody } from "./errors";
import type { ResolvedContent } from "./handler-outcome";
import type { SentContent } from "./message";

/** An answer or a refusal; `needsCards` asks the caller for these users' cards and to call again (private-chat restore). */
export type Result<T> = { ok: true; value: T } | { ok: false; error: ErrorBody; needsCards?: string[] };

export const ok = <T>(value: T): Result<T> => ({ ok: true, value });
export const fail = (error: ErrorBody): Result<never> => ({ ok: false, error });

/** Who is acting, and through which socket (that socket gets the reply instead of a copy). */
export interface Actor {
  userId: string;
  organizationId: string;
  sessionId: string | null;
}

export interface SendInput extends SentContent {
  clientId: string | null;
  deletedFor: string[];
}

export interface Ask {
  mid?: string;
  server_mid: string;
  t: number;
  /** What a conversation handler replaced (SAMA: body and attachments), else null. */
  modified: ResolvedContent | null;
  /** The handler's bot reply, as its `message` packet, else null (`object`: RPC types cannot carry `unknown`). */
  bot_message: object | null;
}

export interface MessageQuery {
  limit: number;
  gt?: number | undefined;
  lt?: number | undefined;
  ids?: string[] | undefined;
}

/** A participant change announced with a persisted message: the affected user's public fields. */
export interface UserCard {
  userId: string;
  name: string;
  view: Record<string, unknown>;
}

export interface ConversationChange {
  name?: string | undefined;
  description?: string | undefined;
  imageObject?: ConversationMeta["imageObject"] | undefined;
  add: UserCard[];
  remove: string[];
  addAdmins: string[];
  removeAdmins: string[];
  /** Users to announce when removed (public fields). */
  removedCards: UserCard[];
  /** The cap on a group's participants (channels and private chats have their own rules). */
  maxGroupParticipants: number;
}

export interface Membership {
  meta: ConversationMeta;
  participants: Participant[];
}

/** message_summary's windows (SAMA's `filter`). */
export const SUMMARY_FILTERS = ["last-7-days", "last-day", "unreads"] as const;
export type SummaryFilter = (typeof SUMMARY_FILTERS)[number];

/** A message as message_summary hands it to the model: who wrote it (display name) and what. */
export interface SummaryLine {
  name: string;
  body: string;
  t: number;
}
