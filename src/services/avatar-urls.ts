// Download URLs inside views (SAMA-PROTOCOL.md §1.4): `avatar_url` on users with an `avatar_object`
// and `image_url` on conversations with an `image_object`, or null when the organization has no
// such file.
import type { UserRow } from "../db/schema";
import { toPublicUser, type PublicUser } from "../domain/user-view";
import type { ServiceDeps } from "./context";
import { filesByObjectIds } from "../files/access";
import { fileUrlSigner } from "../files/signer";

export type PublicUserWithAvatar = PublicUser & { avatar_url?: string | null };

/** The public views of `users` (all of `organizationId`), with avatar URLs; one D1 query at most. */
export async function withAvatarUrls(
  deps: ServiceDeps & { origin: string | null },
  organizationId: string,
  users: readonly UserRow[],
): Promise<PublicUserWithAvatar[]> {
  const fileIds = users.flatMap((u) => (u.avatarObject ? [u.avatarObject.file_id] : []));
  const known = new Set(fileIds.length === 0 ? [] : (await filesByObjectIds(deps, organizationId, fileIds)).map((f) => f.objectId));
  const signer = known.size === 0 ? null : fileUrlSigner(deps, deps.origin);
  return Promise.all(
    users.map(async (user) => {
      const view: PublicUserWithAvatar = toPublicUser(user);
      if (user.avatarObject) {
        const id = user.avatarObject.file_id;
        view.avatar_url = signer && known.has(id) ? await signer.downloadUrl(id) : null;
      }
      return view;
    }),
  );
}

/**
 * SAMA's `image_url` on conversations: a download URL for `image_object.file_id`, or null when the
 * organization has no such file. Works on any conversation-shaped object; one D1 query at most.
 */
export async function withImageUrls<T extends { image_object?: { file_id: string } }>(
  deps: ServiceDeps & { origin: string | null },
  organizationId: string,
  conversations: readonly T[],
): Promise<Array<T & { image_url?: string | null }>> {
  const fileIds = conversations.flatMap((c) => (c.image_object ? [c.image_object.file_id] : []));
  if (fileIds.length === 0) return [...conversations];
  const known = new Set((await filesByObjectIds(deps, organizationId, fileIds)).map((f) => f.objectId));
  const signer = known.size === 0 ? null : fileUrlSigner(deps, deps.origin);
  return Promise.all(
    conversations.map(async (c) => {
      if (!c.image_object) return c;
      const id = c.image_object.file_id;
      return { ...c, image_url: signer && known.has(id) ? await signer.downloadUrl(id) : null };
    }),
  );
}
