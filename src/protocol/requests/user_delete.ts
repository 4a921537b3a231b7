import * as shapes from "../shapes";
import { deleteUser } from "../../services/users";
import { currentUser } from "../current-user";
import { anyObject } from "../fields";
import { authedRequest } from "../request";

const userDeleteDoc = {
  summary: "Deletes the signed-in user (tokens and block lists too; messages stay, as in SAMA).",
  reply: shapes.success,
  errors: [],
};

export const userDelete = authedRequest("user_delete", anyObject, userDeleteDoc, async (ctx) => {
  await deleteUser(ctx, await currentUser(ctx));
  await ctx.signOut();
  return { success: true };
});
