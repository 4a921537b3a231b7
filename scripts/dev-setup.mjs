// `npm run dev` runs this first: dev secrets from .dev.vars.example when .dev.vars is missing, then
// the D1 migrations on the local database (idempotent; this seeds the `default` organization).
import { appendFileSync, copyFileSync, existsSync, readFileSync } from "node:fs";
import { spawnSync } from "node:child_process";
import { OFFLINE_WRANGLER_ENV } from "./wrangler-env.mjs";

if (!existsSync(".dev.vars")) {
  copyFileSync(".dev.vars.example", ".dev.vars");
  console.log("predev: created .dev.vars from .dev.vars.example (DEV-ONLY secrets, never use them in production)");
} else {
  // A checkout made before a new setting existed gets the example's value for it, nothing else changes.
  const keyOf = (line) => /^([A-Z0-9_]+)=/.exec(line)?.[1];
  const present = new Set(readFileSync(".dev.vars", "utf8").split("\n").map(keyOf).filter(Boolean));
  const missing = readFileSync(".dev.vars.example", "utf8").split("\n").filter((line) => keyOf(line) && !present.has(keyOf(line)));
  if (missing.length > 0) {
    appendFileSync(".dev.vars", `\n# Added by predev from .dev.vars.example (DEV-ONLY)\n${missing.join("\n")}\n`);
    console.log(`predev: added ${missing.map(keyOf).join(", ")} to .dev.vars from .dev.vars.example (DEV-ONLY)`);
  }
}

const result = spawnSync("wrangler", ["d1", "migrations", "apply", "DB", "--local"], {
  stdio: "inherit",
  env: {
    ...process.env,
    ...OFFLINE_WRANGLER_ENV,
    CI: "true", // no interactive confirmation prompt
  },
});
if (result.status !== 0) {
  console.error("predev: applying D1 migrations failed");
  process.exit(result.status ?? 1);
}
