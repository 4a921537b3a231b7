import * as shapes from "../shapes";
import { z } from "zod";
import { withImageUrls } from "../../services/avatar-urls";
import { requireUsableFile } from "../../services/files";
import { actorOf, conversationFor, deleteFromDirectory, syncDirectory, unwrap, userCards } from "../../services/conversations";
import { Errors, SamaError } from "../../domain/errors";
import { imageObject } from "../fields";
import { authedRequest } from "../request";

const changeList = z.looseObject({ add: z.array(z.string()).optional(), remove: z.array(z.string()).optional() });

const schema = z.strictObject({
  id: z.string(),
  name: z.string().min(1).max(255).optional(),
  description: z.string().max(255).optional(),
  participants: changeList.optional(),
  admins: changeList.optional(),
  image_object: imageObject.optional(),
});

const conversationUpdateDoc = {
  summary:
    "Renames, re-describes, changes the image, participants and admins; owner or admins only (groups, channels).",
  reply: z.union([z.strictObject({ conversation: shapes.conversation }), z.strictObject({ deleted: z.literal(true).meta({ description: "The last participant was removed: the conversation is gone" }) })]),
  errors: [
    Errors.BAD_REQUEST,
    Errors.FORBIDDEN,
    Errors.PARTICIPANTS_LIMIT,
    Errors.TOO_MANY_USERS_IN_REQUEST,
    Errors.FILE_NOT_FOUND,
  ],
};

export const conversationUpdate = authedRequest("conversation_update", schema, conversationUpdateDoc, async (ctx, params) => {
  const conversation = conversationFor(ctx, params.id, Errors.BAD_REQUEST);
  const org = ctx.session.organizationId;
  if (params.image_object) await requireUsableFile(ctx, ctx.session, params.image_object.file_id, "visible");
  const addAdmins = params.admins?.add ?? [];
  const add = [...new Set([...(params.participants?.add ?? []), ...addAdmins])];
  const remove = [...new Set(params.participants?.remove ?? [])];
  // Channels have no member cap; this bounds what one request looks up and writes.
  if (add.length + remove.length + (params.admins?.remove?.length ?? 0) > ctx.config.participantsPerRequestMax) throw new SamaError(Errors.TOO_MANY_USERS_IN_REQUEST);
  const [addCards, removedCards] = await Promise.all([userCards(ctx, org, add), userCards(ctx, org, remove)]);
  const result = unwrap(
    await conversation.update(actorOf(ctx), {
      name: params.name,
      description: params.description,
      imageObject: params.image_object,
      add: addCards,
      remove,
      addAdmins: addAdmins.filter((id) => addCards.some((c) => c.userId === id)),
      removeAdmins: params.admins?.remove ?? [],
      removedCards,
      maxGroupParticipants: ctx.config.conversationMaxParticipants,
    }),
  );
  if (result.view === null) {
    await deleteFromDirectory(ctx, params.id);
    return { deleted: true };
  }
  await syncDirectory(ctx, result.meta, result.participants);
  const [withImage] = await withImageUrls(ctx, org, [result.view]);
  return { conversation: withImage };
});
