// `npm run dev [-- <wrangler dev flags>]` (after `predev`, scripts/dev-setup.mjs): wrangler dev,
// offline, with wrangler's local observability off unless X_LOCAL_OBSERVABILITY=true, and with
// PUBLIC_URL set to the address it listens on, so `npm run dev -- --port 9000` makes push
// attachment links to port 9000 (scripts/dev-public-url.ts; a non-loopback PUBLIC_URL in .dev.vars is kept).
import { spawn } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { devPublicUrl } from "./dev-public-url.ts";
import { OFFLINE_WRANGLER_ENV } from "./wrangler-env.mjs";

const args = process.argv.slice(2);
const publicUrl = devPublicUrl(args, existsSync(".dev.vars") ? readFileSync(".dev.vars", "utf8") : "");
const child = spawn("wrangler", ["dev", ...args, ...(publicUrl === null ? [] : ["--var", `PUBLIC_URL:${publicUrl}`])], {
  stdio: "inherit",
  env: { ...process.env, ...OFFLINE_WRANGLER_ENV, X_LOCAL_OBSERVABILITY: process.env.X_LOCAL_OBSERVABILITY ?? "false" },
});
// Ctrl-C reaches the whole process group; a signal sent to this process alone is passed on.
for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"]) process.on(signal, () => child.kill(signal));
child.on("exit", (code, signal) => process.exit(code ?? (signal === null ? 1 : 128)));
