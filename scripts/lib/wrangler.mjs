// What scripts/deploy.mjs and scripts/secrets.mjs share: their command line (`--env NAME`, the
// rest kept in order), one way to run wrangler, and the environment's D1 database name from
// wrangler.toml.
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";

/** `--env NAME` / `--env=NAME` / `-e NAME`, and every other argument in order. */
export function parseArgs(argv) {
  const rest = [];
  let env = null;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === "--env" || arg === "-e") env = argv[++i] ?? null;
    else if (arg.startsWith("--env=")) env = arg.slice("--env=".length);
    else rest.push(arg);
  }
  if (env === "") env = null;
  return { env, rest };
}

/** `--env=NAME` for wrangler; `--env=` names the top level (without it wrangler warns that the file has environments). */
export function envArgs(env) {
  return [`--env=${env ?? ""}`];
}

/**
 * Runs `wrangler` (the project's, first on PATH under `npm run`) without a terminal on stdin, so it
 * never stops at a prompt and never writes provisioned ids back into wrangler.toml. Its output
 * goes to ours unless `capture` is set; `input` is written to its stdin.
 */
export function wrangler(args, { input, capture = false } = {}) {
  const result = spawnSync("wrangler", args, {
    input: input ?? "",
    stdio: ["pipe", capture ? "pipe" : "inherit", capture ? "pipe" : "inherit"],
    encoding: "utf8",
    env: { ...process.env, WRANGLER_HIDE_BANNER: "true" },
  });
  if (result.error) throw result.error;
  return { status: result.status ?? 1, stdout: result.stdout ?? "", stderr: result.stderr ?? "" };
}

/** The JSON array a `--json` / `--format json` command printed (a line starting with "["), or null. */
export function jsonArray(stdout) {
  const at = stdout.search(/^\[/m);
  if (at === -1) return null;
  try {
    const value = JSON.parse(stdout.slice(at));
    return Array.isArray(value) ? value : null;
  } catch {
    return null;
  }
}

/**
 * The database_name of the DB binding of `env` (null: the top level) in wrangler.toml. A table-aware
 * line scan: the file is ours and keeps each key on its own line.
 */
export function databaseName(env, path = "wrangler.toml") {
  const header = env ? `[[env.${env}.d1_databases]]` : "[[d1_databases]]";
  let inTable = false;
  for (const raw of readFileSync(path, "utf8").split("\n")) {
    const line = raw.trim();
    if (line.startsWith("[")) inTable = line === header;
    else if (inTable) {
      const m = /^database_name\s*=\s*"([^"]+)"/.exec(line);
      if (m) return m[1];
    }
  }
  throw new Error(`wrangler.toml has no ${header} with a database_name`);
}
