import * as shapes from "../shapes";
import { z } from "zod";
import { authenticateAccessToken, isLiveToken } from "../../services/auth";
import { Errors, SamaError } from "../../domain/errors";
import { deviceId } from "../fields";
import { publicRequest } from "../request";

const schema = z.strictObject({
  device_id: deviceId,
  token: z.unknown().optional(),
});

const connectDoc = {
  summary: "Binds the socket to the user of an access token obtained from HTTP /login.",
  reply: shapes.success,
  errors: [Errors.DEVICE_ID_MISSED, Errors.TOKEN_EXPIRED],
};

export const connect = publicRequest("connect", schema, connectDoc, async (ctx, params) => {
  if (typeof params.token !== "string" || params.token === "") throw new SamaError(Errors.TOKEN_EXPIRED);
  const user = await authenticateAccessToken(ctx, params.token, params.device_id);
  const token = params.token;
  await ctx.signIn({ userId: user.id, organizationId: user.organizationId, deviceId: params.device_id }, () => isLiveToken(ctx, token, params.device_id));
  return { success: true };
});
