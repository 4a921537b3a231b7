// Builds the web chat (web/ → dist/web), the static assets the Worker serves at "/" (wrangler.toml
// [assets]). The SDK is bundled in from its sources. About 0.1 s: dev, test and deploy run it first.
import { build } from "esbuild";
import { cpSync, mkdirSync, rmSync } from "node:fs";

rmSync("dist/web", { recursive: true, force: true });
mkdirSync("dist/web", { recursive: true });
await build({
  entryPoints: ["web/app.ts"],
  outfile: "dist/web/app.js",
  bundle: true,
  format: "esm",
  platform: "browser",
  target: "es2022",
  minify: true,
  sourcemap: true,
  alias: { "@parley/client": "./sdk/src/index.ts" },
  logLevel: "warning",
});
cpSync("web/static", "dist/web", { recursive: true });
