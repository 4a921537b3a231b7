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

/** Registers a user; does not sign the socket in. */
export const userCreate = publicRequest("user_create", schema, async (ctx, params) => {
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
