// Builds the client SDK: sdk/dist/index.js (one ESM file for browsers and Node ≥ 22; no runtime
// dependencies) and, with --types, its declarations (sdk/dist/types), whose wire types come from the
// server's own sources (a full type-check of them, ~20 s).
import { build } from "esbuild";
import { spawnSync } from "node:child_process";

await build({
  entryPoints: ["sdk/src/index.ts"],
  outfile: "sdk/dist/index.js",
  bundle: true,
  format: "esm",
  platform: "neutral",
  target: "es2022",
  sourcemap: true,
  logLevel: "warning",
});

if (process.argv.includes("--types")) {
  const tsc = spawnSync("tsc", ["-p", "sdk/tsconfig.json"], { stdio: "inherit" });
  if (tsc.status !== 0) process.exit(tsc.status ?? 1);
}
