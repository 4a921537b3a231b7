import { Hono } from "hono";
import { BODY_LIMITS, bodyLimit } from "./body";
import { cors } from "./cors";
import type { DocumentedRoutes } from "./documented";
import { notFound, onError } from "./errors";
import { adminActivityOnline } from "./routes/admin/activity_online";
import { adminExport } from "./routes/admin/export";
import { requireAdminKey } from "./routes/admin/guard";
import { adminImport } from "./routes/admin/import";
import { adminMessage } from "./routes/admin/message";
import { adminMetrics } from "./routes/admin/metrics";
import { adminMessageDelete } from "./routes/admin/message_delete";
import { adminMessageEdit } from "./routes/admin/message_edit";
import { adminMessageReaction } from "./routes/admin/message_reaction";
import { adminMessageRead } from "./routes/admin/message_read";
import { adminMessageSystem } from "./routes/admin/message_system";
import { adminOrganization } from "./routes/admin/organization";
import { adminServerStats } from "./routes/admin/server_stats";
import { apiDocs } from "./routes/docs";
import { files } from "./routes/files";
import { health } from "./routes/health";
import { live } from "./routes/live";
import { login } from "./routes/login";
import { logout } from "./routes/logout";
import type { AppEnv } from "./types";
import { websocketUpgrade } from "./websocket";

/** Every HTTP route, each with its OpenAPI description. */
const routes: readonly DocumentedRoutes[] = [
  health,
  login,
  logout,
  files,
  live,
  adminOrganization,
  adminServerStats,
  adminMetrics,
  adminMessage,
  adminMessageEdit,
  adminMessageDelete,
  adminMessageSystem,
  adminMessageRead,
  adminMessageReaction,
  adminActivityOnline,
  adminExport,
  adminImport,
];

export function buildApp(): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  app.use(websocketUpgrade);
  app.use(cors);
  for (const path of ["/login", "/logout"]) app.use(path, bodyLimit(BODY_LIMITS.signIn));
  app.use("/admin/*", bodyLimit(BODY_LIMITS.admin));
  app.use("/admin/*", requireAdminKey);
  for (const route of [...routes, apiDocs(routes)]) app.route("/", route.app);
  app.notFound(notFound);
  app.onError(onError);
  return app;
}
