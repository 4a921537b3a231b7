import * as shapes from "../shapes";
import { z } from "zod";
import { toPublicUser } from "../../domain/user-view";
import { isLiveToken, issueAccessToken, passwordLogin, tokenLogin } from "../../services/auth";
import { Errors } from "../../domain/errors";
import { deviceId } from "../fields";
import { publicRequest } from "../request";
import { samaMessage } from "../validation";

const schema = z
  .looseObject({
    organization_id: z.string().min(1),
    device_id: deviceId,
    login: z.string(samaMessage(Errors.USER_LOGIN_OR_PASS)).optional(),
    password: z.string(samaMessage(Errors.USER_LOGIN_OR_PASS)).optional(),
    token: z.string().min(1).optional(),
  })
  .superRefine((params, ctx) => {
    if (params.token !== undefined && params.login !== undefined) {
      ctx.addIssue({ code: "custom", message: '"value" contains a conflict between optional exclusive peers [token, login]' });
    } else if (params.login !== undefined && params.password === undefined) {
      ctx.addIssue({ code: "custom", message: '"login" missing required peer "password"' });
    } else if (params.token === undefined && params.login === undefined) {
      ctx.addIssue({ code: "custom", message: Errors.USER_LOGIN_OR_PASS.message });
    }
  });

const userLoginDoc = {
  summary:
    "The legacy WebSocket login (SAMA deprecates it for HTTP /login + connect; clients still use it).",
  reply: z.strictObject({ user: shapes.publicUser, token: z.string().meta({ description: "Access token (JWT)" }) }),
  errors: [
    Errors.USER_LOGIN_OR_PASS,
    Errors.DEVICE_ID_MISSED,
    Errors.ORG_NOT_FOUND,
    Errors.INCORRECT_LOGIN_OR_PASSWORD,
    Errors.TOKEN_EXPIRED,
    Errors.TOO_MANY_LOGIN_ATTEMPTS,
  ],
};

export const userLogin = publicRequest("user_login", schema, userLoginDoc, async (ctx, params) => {
  const { user, proof } =
    params.token !== undefined
      ? await tokenLogin(ctx, params.token, params.device_id)
      : await passwordLogin(ctx, {
          organizationId: params.organization_id,
          login: params.login ?? "",
          password: params.password ?? "",
          deviceId: params.device_id,
        });
  await ctx.credentialChecked();
  const access = await issueAccessToken(ctx, user, params.device_id, proof);
  // A password was checked once: what a revocation since would have deleted is the token just issued.
  const credential = params.token ?? access.token;
  await ctx.signIn({ userId: user.id, organizationId: user.organizationId, deviceId: params.device_id }, () => isLiveToken(ctx, credential, params.device_id));
  return { user: toPublicUser(user), token: access.token };
});
