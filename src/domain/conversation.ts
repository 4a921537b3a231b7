// Conversations as plain data, and the rules about them that need no I/O.
import type { AvatarObject } from "../db/schema";
import { timestamps } from "./timestamps";

export type ConversationType = "u" | "g" | "c";
export type Role = "owner" | "admin" | null;

export interface ConversationMeta {
  id: string;
  organizationId: string;
  type: ConversationType;
  name: string | null;
  description: string | null;
  ownerId: string;
  opponentId: string | null;
  imageObject: AvatarObject | null;
  isEncrypted: boolean;
  createdAt: number;
  updatedAt: number;
}

export interface Participant {
  userId: string;
  role: Role;
  /** "first last", else login: the name system messages use. */
  name: string;
}

/** SAMA's conversation object (§1.4). `last_message` and `unread_messages_count` are added by the Inbox. */
export interface ConversationView {
  _id: string;
  organization_id: string;
  type: ConversationType;
  name?: string;
  description?: string;
  image_object?: AvatarObject;
  owner_id: string;
  opponent_id?: string;
  is_encrypted?: boolean;
  subscribers_count?: number;
  created_at: string;
  updated_at: string;
}

export function conversationView(meta: ConversationMeta, participantCount: number): ConversationView {
  const view: ConversationView = {
    _id: meta.id,
    organization_id: meta.organizationId,
    type: meta.type,
    owner_id: meta.ownerId,
    ...timestamps(meta),
  };
  if (meta.name !== null) view.name = meta.name;
  if (meta.description !== null) view.description = meta.description;
  if (meta.imageObject !== null) view.image_object = meta.imageObject;
  if (meta.opponentId !== null) view.opponent_id = meta.opponentId;
  if (meta.isEncrypted) view.is_encrypted = true;
  if (meta.type === "c") view.subscribers_count = participantCount;
  return view;
}

export function displayName(user: { login: string; firstName: string | null; lastName: string | null }): string {
  const full = [user.firstName ?? "", user.lastName ?? ""].join(" ").trim();
  return full === "" ? user.login : full;
}

export function isManager(role: Role): boolean {
  return role === "owner" || role === "admin";
}

/** Key that makes a private chat unique per pair (and encryption), whoever created it. */
export function pairKey(a: string, b: string, isEncrypted: boolean): string {
  const [x, y] = a < b ? [a, b] : [b, a];
  return `${x}:${y}:${isEncrypted ? "e" : "p"}`;
}

/** Channels: only the owner and admins post; subscribers neither type nor mark as read. */
export function mayPost(type: ConversationType, role: Role): boolean {
  return type !== "c" || isManager(role);
}
