// SAMA's UserService.addAvatarUrl: users with an `avatar_object` also get `avatar_url`, a download
// URL for its file_id, or null when the organization has no such file (SAMA-PROTOCOL.md §1.4).
import type { UserRow } from "../db/schema";
import { toPublicUser, type PublicUser } from "../domain/user-view";
import type { ServiceDeps } from "../services/context";
import { filesByObjectIds } from "../services/files";
import { fileUrlSigner } from "./signer";

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
