import * as shapes from "../shapes";
import { z } from "zod";
import { block, blockedIds, setBlockListEnabled, unblock } from "../../services/blocks";
import { usersByIds } from "../../services/users";
import type { AuthedContext } from "../context";
import { Errors, SamaError } from "../../domain/errors";
import { anyObject } from "../fields";
import { authedRequest } from "../request";
import { samaMessage } from "../validation";

const badFormat = samaMessage(Errors.INVALID_DATA_FORMAT);
// SAMA takes a string id of at least 24 characters (an object id's length) or a number.
const ids = z.strictObject({ ids: z.array(z.union([z.string().min(24, badFormat), z.number()], badFormat), badFormat).min(1, badFormat).max(50) });

/** The organization's users among the given ids (ids of others are ignored, never revealed). */
async function knownUsers(ctx: AuthedContext, raw: Array<string | number>): Promise<string[]> {
  const wanted = raw.map(String);
  if (wanted.includes(ctx.session.userId)) throw new SamaError(Errors.CANNOT_BLOCK_SELF);
  return (await usersByIds(ctx, ctx.session.organizationId, wanted)).map((u) => u.id);
}

const blockUserDoc = {
  summary:
    "Blocks users: while blocked (either way), a private chat between the two takes no messages or typing.",
  reply: shapes.success,
  errors: [Errors.INVALID_DATA_FORMAT, Errors.CANNOT_BLOCK_SELF],
};

export const blockUser = authedRequest("block_user", ids, blockUserDoc, async (ctx, params) => {
  await block(ctx, await knownUsers(ctx, params.ids));
  return { success: true };
});

const unblockUserDoc = {
  summary: "Unblocks users.",
  reply: shapes.success,
  errors: [Errors.INVALID_DATA_FORMAT],
};

export const unblockUser = authedRequest("unblock_user", ids, unblockUserDoc, async (ctx, params) => {
  await unblock(ctx, params.ids.map(String));
  return { success: true };
});

const listBlockedUsersDoc = {
  summary: "Ids of the users the caller blocked.",
  reply: z.strictObject({ users: z.array(z.string()) }),
  errors: [],
};

export const listBlockedUsers = authedRequest("list_blocked_users", anyObject, listBlockedUsersDoc, async (ctx) => ({ users: await blockedIds(ctx, ctx.session.userId) }));

const blockListEnableDoc = {
  summary: "Turns all of the caller's blocks off (or back on) without forgetting them.",
  reply: shapes.success,
  errors: [],
};

export const blockListEnable = authedRequest("block_list_enable", z.strictObject({ enable: z.boolean() }), blockListEnableDoc, async (ctx, params) => {
  await setBlockListEnabled(ctx, params.enable);
  return { success: true };
});
