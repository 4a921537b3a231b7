import { Errors } from "../../domain/errors";
import * as shapes from "../shapes";
import { z } from "zod";
import { toPublicUser } from "../../domain/user-view";
import { createUser } from "../../services/users";
import { deviceId, login, password, personName, phone, signUpEmail } from "../fields";
import { publicRequest } from "../request";

// first_name/last_name are a Parley extension (SAMA only sets them with user_edit).
const schema = z.strictObject({
  organization_id: z.string().min(1),
  login,
  password,
  email: signUpEmail,
  phone: phone.optional(),
  device_id: deviceId.optional(),
  first_name: personName.optional(),
  last_name: personName.optional(),
});

const userCreateDoc = {
  summary: "Registers a user; does not sign the socket in.",
  reply: z.strictObject({ user: shapes.publicUser }),
  errors: [
    Errors.INCORRECT_LOGIN,
    Errors.INCORRECT_PASSWORD,
    Errors.DEVICE_ID_MISSED,
    Errors.ORG_NOT_FOUND,
    Errors.USER_ALREADY_EXISTS,
  ],
};

export const userCreate = publicRequest("user_create", schema, userCreateDoc, async (ctx, params) => {
  const user = await createUser(ctx, {
    organizationId: params.organization_id,
    login: params.login,
    password: params.password,
    email: params.email,
    phone: params.phone,
    firstName: params.first_name,
    lastName: params.last_name,
    deviceId: params.device_id,
  });
  return { user: toPublicUser(user) };
});
