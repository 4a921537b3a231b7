import { Errors } from "../../domain/errors";
import * as shapes from "../shapes";
import { z } from "zod";
import { otpCodeOf } from "../../domain/otp";
import { resetPassword } from "../../services/password-reset";
import { deviceId, email, password } from "../fields";
import { publicRequest } from "../request";

// `token` is checked by the service: any missing or malformed code is the same 403 as a wrong one.
const schema = z.strictObject({
  organization_id: z.string().min(1),
  email,
  device_id: deviceId.optional(),
  token: z.unknown().optional(),
  new_password: password,
});

const userResetPasswordDoc = {
  summary:
    "Password reset, step 2: the emailed code and a new password; every session of the user ends.",
  reply: shapes.success,
  errors: [
    Errors.INCORRECT_PASSWORD,
    Errors.DEVICE_ID_MISSED,
    Errors.INCORRECT_OTP_TOKEN,
    Errors.ORG_NOT_FOUND,
    Errors.USER_NOT_FOUND,
  ],
};

export const userResetPassword = publicRequest("user_reset_password", schema, userResetPasswordDoc, async (ctx, params) => {
  await resetPassword(ctx, { organizationId: params.organization_id, email: params.email, code: otpCodeOf(params.token), newPassword: params.new_password });
  return { success: true };
});
