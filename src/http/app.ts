import { Hono } from "hono";
import { cors } from "./cors";
import { notFound, onError } from "./errors";
import { requireAdminKey } from "./routes/admin/guard";
import { adminOrganization } from "./routes/admin/organization";
import { files } from "./routes/files";
import { health } from "./routes/health";
import { live } from "./routes/live";
import { login } from "./routes/login";
import { logout } from "./routes/logout";
import type { AppEnv } from "./types";
import { websocketUpgrade } from "./websocket";

export function buildApp(): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  app.use(websocketUpgrade);
  app.use(cors);
  app.use("/admin/*", requireAdminKey);
  app.route("/", health);
  app.route("/", login);
  app.route("/", logout);
  app.route("/", adminOrganization);
  app.route("/", files);
  app.route("/", live);
  app.notFound(notFound);
  app.onError(onError);
  return app;
}
