#!/usr/bin/env node
// npm run secrets [-- --env staging|production] [--rotate NAME]...: every secret Parley needs,
// generated here and uploaded in one `wrangler secret bulk` (read from stdin: nothing on disk).
// A secret the Worker already has is kept unless `--rotate NAME` names it (VAPID_PUBLIC_KEY and
// VAPID_PRIVATE_KEY are one pair: naming either, or VAPID, replaces both). Nothing secret is
// printed except a new ADMIN_API_KEY, once. What each rotation invalidates: README, Deployment.
import { randomKey, vapidKeyPair } from "./lib/keys.mjs";
import { envArgs, jsonArray, parseArgs, wrangler } from "./lib/wrangler.mjs";

const KEYS = ["JWT_ACCESS_SECRET", "JWT_REFRESH_SECRET", "COOKIE_SECRET", "FILES_SIGNING_SECRET", "ADMIN_API_KEY"];
const VAPID = ["VAPID_PUBLIC_KEY", "VAPID_PRIVATE_KEY"];
const ALL = [...KEYS, ...VAPID];

function fail(message, status = 1) {
  console.error(`secrets: ${message}`);
  process.exit(status);
}

const { env, rest } = parseArgs(process.argv.slice(2));
const rotate = new Set();
for (let i = 0; i < rest.length; i++) {
  const name = rest[i] === "--rotate" ? rest[++i] : rest[i].startsWith("--rotate=") ? rest[i].slice("--rotate=".length) : undefined;
  if (name === undefined) fail(`unknown argument ${rest[i]} (usage: npm run secrets -- [--env NAME] [--rotate NAME]...)`, 2);
  if (name === "VAPID" || VAPID.includes(name)) VAPID.forEach((n) => rotate.add(n));
  else if (KEYS.includes(name)) rotate.add(name);
  else fail(`--rotate takes one of ${[...KEYS, "VAPID"].join(", ")}; got ${name ?? "nothing"}`, 2);
}

// The names the Worker has (values are never readable). A Worker not deployed yet has none:
// `secret bulk` then creates it as a draft that the next deploy replaces.
const listed = wrangler(["secret", "list", "--format", "json", ...envArgs(env)], { capture: true });
let existing = [];
if (listed.status === 0) {
  const secrets = jsonArray(listed.stdout);
  if (secrets === null) fail("`wrangler secret list` printed no list; nothing was changed");
  existing = secrets.map((s) => s.name);
} else if (!/not found/i.test(listed.stdout + listed.stderr)) {
  process.stderr.write(listed.stderr);
  fail("could not list the Worker's secrets (is `npx wrangler login` done?); nothing was changed");
}

const wanted = ALL.filter((name) => rotate.has(name) || !existing.includes(name));
// Half a pair is as good as none: a new pair replaces both halves.
if (wanted.some((name) => VAPID.includes(name))) VAPID.forEach((n) => wanted.includes(n) || wanted.push(n));
if (wanted.length === 0) {
  console.log(`secrets: all ${ALL.length} are set; nothing changed (--rotate NAME replaces one)`);
  process.exit(0);
}

const values = Object.fromEntries(KEYS.filter((n) => wanted.includes(n)).map((n) => [n, randomKey()]));
if (wanted.includes("VAPID_PUBLIC_KEY")) {
  const pair = await vapidKeyPair();
  values.VAPID_PUBLIC_KEY = pair.publicKey;
  values.VAPID_PRIVATE_KEY = pair.privateKey;
}

console.log(`secrets: uploading ${Object.keys(values).join(", ")}${env ? ` (environment "${env}")` : ""}`);
const uploaded = wrangler(["secret", "bulk", ...envArgs(env)], { input: JSON.stringify(values) });
if (uploaded.status !== 0) fail(`wrangler secret bulk failed (exit ${uploaded.status}); the Worker's secrets are as they were`);

console.log(`secrets: ${Object.keys(values).length} set, ${ALL.length - Object.keys(values).length} kept`);
if (values.ADMIN_API_KEY) {
  console.log("\nADMIN_API_KEY (the admin-api-key header of /admin/*). Store it now: it is shown only this once.");
  console.log(values.ADMIN_API_KEY);
}
