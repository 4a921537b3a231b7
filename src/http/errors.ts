// One error handler for the whole app. SAMA's routes answer errors as SAMA does (status code and
// a text/plain message, which the SAMA SDK shows); Parley's own /api/* routes answer JSON.
import type { ErrorHandler, NotFoundHandler } from "hono";
import { HTTPException } from "hono/http-exception";
import { Errors, SamaError, type ErrorBody } from "../domain/errors";
import type { AppContext, AppEnv } from "./types";

function respond(c: AppContext, error: ErrorBody): Response {
  if (new URL(c.req.url).pathname.startsWith("/api/")) {
    return c.json({ status: error.status, message: error.message }, error.status as 400);
  }
  return c.text(error.message, error.status as 400);
}

export const onError: ErrorHandler<AppEnv> = (err, c) => {
  if (err instanceof SamaError) return respond(c, err.toBody());
  if (err instanceof HTTPException) return respond(c, { status: err.status, message: err.message || "Bad Request." });
  console.error("http request failed", err);
  return respond(c, Errors.INTERNAL_SERVER);
};

export const notFound: NotFoundHandler<AppEnv> = (c) => respond(c, Errors.ROUTE_NOT_FOUND);
