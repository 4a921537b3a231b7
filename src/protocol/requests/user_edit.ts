import * as shapes from "../shapes";
import { z } from "zod";
import { hashPassword, verifyPassword } from "../../auth/password";
import { withAvatarUrls } from "../../services/avatar-urls";
import { requireUsableFile } from "../../services/files";
import { updateUser } from "../../services/users";
import { currentUser } from "../current-user";
import { Errors, SamaError } from "../../domain/errors";
import { email, imageObject, login, password, personName, phone } from "../fields";
import { authedRequest } from "../request";
import { samaMessage } from "../validation";

const schema = z.strictObject({
  current_password: z.string(samaMessage(Errors.INCORRECT_CURRENT_PASSWORD)).optional(),
  new_password: password.optional(),
  first_name: personName.optional(),
  last_name: personName.optional(),
  login: login.optional(),
  email: email.optional(),
  phone: phone.optional(),
  avatar_object: imageObject.optional(),
});

const userEditDoc = {
  summary: "Edits the signed-in user's profile; a new password needs the current one.",
  reply: z.strictObject({ user: shapes.userWithAvatar }),
  errors: [
    Errors.INCORRECT_CURRENT_PASSWORD,
    Errors.INCORRECT_PASSWORD,
    Errors.INCORRECT_LOGIN,
    Errors.USER_ALREADY_EXISTS,
    Errors.FILE_NOT_FOUND,
  ],
};

export const userEdit = authedRequest("user_edit", schema, userEditDoc, async (ctx, params) => {
  const user = await currentUser(ctx);
  if (params.avatar_object) await requireUsableFile(ctx, ctx.session, params.avatar_object.file_id, "own");
  let passwordHash: string | undefined;
  if (params.new_password !== undefined) {
    const check = await verifyPassword(params.current_password ?? "", user.passwordHash);
    if (!check.ok) throw new SamaError(Errors.INCORRECT_CURRENT_PASSWORD);
    passwordHash = await hashPassword(params.new_password);
  }
  const updated = await updateUser(ctx, user, {
    login: params.login,
    email: params.email,
    phone: params.phone,
    firstName: params.first_name,
    lastName: params.last_name,
    avatarObject: params.avatar_object,
    passwordHash,
  });
  const [view] = await withAvatarUrls(ctx, ctx.session.organizationId, [updated]);
  return { user: view };
});
