import type { UserRow } from "../db/schema";
import { findUser } from "../services/users";
import type { AuthedContext } from "./context";
import { Errors, SamaError } from "../domain/errors";

/** The signed-in user's row; a socket whose user was deleted elsewhere is signed out with a 401. */
export async function currentUser(ctx: AuthedContext): Promise<UserRow> {
  const user = await findUser(ctx, ctx.session.organizationId, ctx.session.userId);
  if (!user) {
    await ctx.signOut();
    throw new SamaError(Errors.UNAUTHORIZED);
  }
  return user;
}
