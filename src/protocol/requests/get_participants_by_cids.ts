import { z } from "zod";
import * as shapes from "../shapes";
import { OBJECT_ID } from "../../domain/object-id";
import { withAvatarUrls } from "../../services/avatar-urls";
import { conversationStub } from "../../objects/stubs";
import { asSeenBy } from "../../services/contacts";
import { usersByIds } from "../../services/users";
import type { AuthedContext } from "../context";
import { Errors } from "../../domain/errors";
import { authedRequest } from "../request";
import { samaMessage } from "../validation";

const schema = z.strictObject({ cids: z.array(z.string(), samaMessage(Errors.CIDS_REQUIRED)).max(100) });

const participantsReply = z.strictObject({
  users: z.array(shapes.userWithAvatar),
  conversations: z.record(z.string(), z.array(z.string())).meta({ description: "conversation id → its user ids" }),
});

/** For each conversation the caller is in, the ids that `pick` selects; plus those users (max 100, newest first). */
async function usersOfConversations(ctx: AuthedContext, cids: string[], adminsOnly: boolean) {
  const org = ctx.session.organizationId;
  const me = ctx.session.userId;
  const conversations: Record<string, string[]> = {};
  await Promise.all(
    [...new Set(cids)].filter((cid) => OBJECT_ID.test(cid)).map(async (cid) => {
      const membership = await conversationStub(ctx.env, cid).membership(org);
      if (!membership) return;
      const mine = membership.participants.find((p) => p.userId === me);
      if (!mine) return;
      if (adminsOnly) {
        if (mine.role === null) return;
        const admins = membership.participants.filter((p) => p.role === "admin").map((p) => p.userId);
        conversations[cid] = [membership.meta.ownerId, ...admins];
      } else {
        const ids = membership.participants.map((p) => p.userId);
        // Private chats list both members, even one who left (SAMA adds owner and opponent).
        for (const id of [membership.meta.ownerId, membership.meta.opponentId]) if (id && !ids.includes(id) && membership.meta.type === "u") ids.push(id);
        conversations[cid] = ids;
      }
    }),
  );
  const users = await usersByIds(ctx, org, [...new Set(Object.values(conversations).flat())]);
  // With avatar_url, as SAMA answers: its web app shows member lists and chat headers from these users.
  return { users: await withAvatarUrls(ctx, org, await asSeenBy(ctx, ctx.session, users.slice(0, 100))), conversations };
}

const getParticipantsByCidsDoc = {
  summary:
    "Users of the conversations the caller is in (both members of a private chat, even one who left), max 100, and each conversation's member ids.",
  reply: participantsReply,
  errors: [Errors.CIDS_REQUIRED],
};

export const getParticipantsByCids = authedRequest("get_participants_by_cids", schema, getParticipantsByCidsDoc, (ctx, params) => usersOfConversations(ctx, params.cids, false));

const getAdminsByCidsDoc = {
  summary: "Owner and admins of the conversations where the caller is owner or admin.",
  reply: participantsReply,
  errors: [Errors.CIDS_REQUIRED],
};

export const getAdminsByCids = authedRequest("get_admins_by_cids", schema, getAdminsByCidsDoc, (ctx, params) => usersOfConversations(ctx, params.cids, true));
