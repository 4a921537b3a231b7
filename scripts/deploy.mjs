#!/usr/bin/env node
// npm run deploy [-- --env staging|production] [wrangler deploy flags]: the whole deployment.
//   1. The environment's D1 database is created (by its name in wrangler.toml) if the account has none.
//   2. Its migrations are applied remotely (they seed the `default` organization); a failure stops here,
//      so the running version keeps serving the schema it knows.
//   3. `wrangler deploy` uploads the Worker and its Durable Object migrations and switches traffic
//      to it; it links DB by name and creates the R2 bucket on the first deploy (wrangler >= 4.45).
import { databaseName, envArgs, jsonArray, parseArgs, wrangler } from "./lib/wrangler.mjs";

const { env, rest } = parseArgs(process.argv.slice(2));
const name = databaseName(env);
const target = env ? `environment "${env}"` : "the top-level environment";

function step(label, args, options) {
  console.log(`deploy: ${label}`);
  const result = wrangler(args, options);
  if (result.status !== 0) {
    console.error(`deploy: ${label} failed (wrangler exited with ${result.status}); nothing after it ran.`);
    if (options?.capture) process.stderr.write(result.stderr);
    process.exit(result.status);
  }
  return result;
}

console.log(`deploy: ${target}, D1 database "${name}"`);
const listed = step("listing D1 databases", ["d1", "list", "--json"], { capture: true });
const databases = jsonArray(listed.stdout);
if (databases === null) {
  console.error("deploy: `wrangler d1 list --json` printed no list; nothing was changed.");
  process.exit(1);
}
if (!databases.some((db) => db.name === name)) {
  step(`creating D1 database "${name}"`, ["d1", "create", name, "--update-config=false"]);
}
step("applying D1 migrations (remote)", ["d1", "migrations", "apply", "DB", "--remote", ...envArgs(env)]);
step("deploying the Worker", ["deploy", ...envArgs(env), ...rest]);
console.log(`deploy: done. First time? Run \`npm run secrets${env ? ` -- --env ${env}` : ""}\` (README, Deployment).`);
