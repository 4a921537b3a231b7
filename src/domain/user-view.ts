import type { UserRow } from "../db/schema";
import { timestamps } from "./timestamps";

// What other users see of a user: SAMA's visible fields, present only when set. Never the password
// hash, the organization or the device id.
export interface PublicUser {
  _id: string;
  native_id: string;
  login: string;
  email?: string;
  phone?: string;
  first_name?: string;
  last_name?: string;
  avatar_object?: NonNullable<UserRow["avatarObject"]>;
  recent_activity: number;
  created_at: string;
  updated_at: string;
}

export function toPublicUser(user: UserRow): PublicUser {
  const view: PublicUser = {
    _id: user.id,
    native_id: user.id,
    login: user.login,
    recent_activity: user.recentActivity,
    ...timestamps(user),
  };
  if (user.email !== null) view.email = user.email;
  if (user.phone !== null) view.phone = user.phone;
  if (user.firstName !== null) view.first_name = user.firstName;
  if (user.lastName !== null) view.last_name = user.lastName;
  if (user.avatarObject !== null) view.avatar_object = user.avatarObject;
  return view;
}

/** Lower-cased text that user_search matches keywords against. */
export function searchTextOf(user: { login: string; firstName: string | null; lastName: string | null }): string {
  return [user.login, user.firstName ?? "", user.lastName ?? ""].join("\n").toLowerCase();
}
