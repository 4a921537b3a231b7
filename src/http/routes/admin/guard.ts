import type { MiddlewareHandler } from "hono";
import { secretEquals } from "../../../auth/encoding";
import { getConfig } from "../../../config";
import { Errors, SamaError } from "../../../domain/errors";
import type { AppEnv } from "../../types";

/** Admin routes refuse everything unless ADMIN_API_KEY is configured and sent as `admin-api-key`. */
export const requireAdminKey: MiddlewareHandler<AppEnv> = async (c, next) => {
  const expected = getConfig(c.env).adminApiKey;
  const given = c.req.header("admin-api-key");
  if (expected === null || given === undefined || !(await secretEquals(given, expected))) throw new SamaError(Errors.UNAUTHORIZED);
  await next();
};
