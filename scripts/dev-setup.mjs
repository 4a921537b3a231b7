// `npm run dev` runs this first: dev secrets from .dev.vars.example when .dev.vars is missing, then
// the D1 migrations on the local database (idempotent; this seeds the `default` organization).
import { copyFileSync, existsSync } from "node:fs";
import { spawnSync } from "node:child_process";

if (!existsSync(".dev.vars")) {
  copyFileSync(".dev.vars.example", ".dev.vars");
  console.log("predev: created .dev.vars from .dev.vars.example (DEV-ONLY secrets, never use them in production)");
}

const result = spawnSync("wrangler", ["d1", "migrations", "apply", "DB", "--local"], {
  stdio: "inherit",
  env: {
    ...process.env,
    WRANGLER_SEND_METRICS: "false",
    CLOUDFLARE_CF_FETCH_ENABLED: "false",
    WRANGLER_HIDE_BANNER: "true",
    CI: "true", // no interactive confirmation prompt
  },
});
if (result.status !== 0) {
  console.error("predev: applying D1 migrations failed");
  process.exit(result.status ?? 1);
}
