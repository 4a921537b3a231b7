import * as shapes from "../shapes";
import { z } from "zod";
import { emailSenderFor, emailSettingsOf } from "../../email/sender";
import { sendResetCode } from "../../services/password-reset";
import { Errors, SamaError } from "../../domain/errors";
import { deviceId, email } from "../fields";
import { publicRequest } from "../request";

// device_id is accepted as SAMA's clients send it; the code belongs to the account, not to a device.
const schema = z.strictObject({
  organization_id: z.string().min(1),
  email,
  device_id: deviceId.optional(),
});

const userSendOtpDoc = {
  summary:
    "Password reset, step 1: emails a six-digit code to the user with this email (SAMA's 422 when there is none).",
  reply: shapes.success,
  errors: [
    Errors.DEVICE_ID_MISSED,
    Errors.MISSING_OTP_SENDER_SERVICE,
    Errors.ORG_NOT_FOUND,
    Errors.USER_NOT_FOUND,
    Errors.OTP_RESEND_COOLDOWN,
    Errors.OTP_EMAIL_FAILED,
  ],
};

export const userSendOtp = publicRequest("user_send_otp", schema, userSendOtpDoc, async (ctx, params) => {
  const sender = emailSenderFor(emailSettingsOf(ctx.env), (url, init) => fetch(url, init));
  if (!sender) throw new SamaError(Errors.MISSING_OTP_SENDER_SERVICE);
  await sendResetCode(ctx, params.organization_id, params.email, sender);
  return { success: true };
});
