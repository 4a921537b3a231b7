// `npm run export -- --org <id> --out <dir> [--url <parley-url>] [--admin-key <key>] [--include password_hashes,push_subscriptions]`
// Writes one organization of a running Parley to <dir>/<collection>.json, one file per SAMA
// collection, one document per line (relaxed MongoDB Extended JSON: what `mongoimport` and
// `npm run import:sama` read). Pages through GET /admin/organizations/:id/export/:collection, writing
// each page to disk as it arrives, so neither side ever holds more than a page.
// The admin key comes from --admin-key or ADMIN_API_KEY; --url defaults to PARLEY_URL or the dev server.
import { createWriteStream, mkdirSync } from "node:fs";
import { once } from "node:events";
import { join } from "node:path";
import { parseArgs } from "node:util";

const COLLECTIONS = [
  "organizations",
  "users",
  "conversations",
  "conversations_participants",
  "messages",
  "message_statuses",
  "message_reactions",
  "files",
  "contacts",
  "blocked_users",
  "conversation_handlers",
];
const INCLUDES = ["password_hashes", "push_subscriptions"];

function usage(message) {
  process.stderr.write(`${message}\nusage: npm run export -- --org <id> --out <dir> [--url <parley-url>] [--admin-key <key>] [--include ${INCLUDES.join(",")}] [--limit <n>]\n`);
  process.exit(2);
}

let args;
try {
  args = parseArgs({
    options: {
      org: { type: "string" },
      out: { type: "string" },
      url: { type: "string" },
      "admin-key": { type: "string" },
      include: { type: "string" },
      limit: { type: "string" },
    },
  }).values;
} catch (err) {
  usage(err.message);
}
if (!args.org) usage("--org is required");
if (!args.out) usage("--out is required");
const adminKey = args["admin-key"] ?? process.env.ADMIN_API_KEY;
if (!adminKey) usage("the admin key is required: --admin-key or ADMIN_API_KEY");
const include = args.include ? args.include.split(",").filter(Boolean) : [];
for (const name of include) if (!INCLUDES.includes(name)) usage(`--include: unknown ${JSON.stringify(name)} (one of ${INCLUDES.join(", ")})`);
const base = (args.url ?? process.env.PARLEY_URL ?? "http://127.0.0.1:8787").replace(/\/+$/, "");
const collections = include.includes("push_subscriptions") ? [...COLLECTIONS, "push_subscriptions"] : COLLECTIONS;

/** Every page of one collection into <out>/<collection>.json; returns the number of records. */
async function exportCollection(collection) {
  const file = createWriteStream(join(args.out, `${collection}.json`));
  let records = 0;
  let cursor = null;
  try {
    do {
      const query = new URLSearchParams();
      if (include.length > 0) query.set("include", include.join(","));
      if (args.limit) query.set("limit", args.limit);
      if (cursor !== null) query.set("cursor", cursor);
      const url = `${base}/admin/organizations/${encodeURIComponent(args.org)}/export/${collection}${query.size > 0 ? `?${query}` : ""}`;
      const res = await fetch(url, { headers: { "admin-api-key": adminKey } });
      if (res.status !== 200) throw new Error(`${collection}: ${res.status} ${(await res.text()).slice(0, 500)}`);
      for await (const chunk of res.body) {
        for (const byte of chunk) if (byte === 10) records += 1;
        if (!file.write(chunk)) await once(file, "drain");
      }
      cursor = res.headers.get("x-next-cursor");
    } while (cursor !== null);
  } finally {
    file.end();
    await once(file, "close");
  }
  return records;
}

mkdirSync(args.out, { recursive: true });
try {
  for (const collection of collections) {
    const count = await exportCollection(collection);
    process.stdout.write(`${collection}.json: ${count} records\n`);
  }
} catch (err) {
  process.stderr.write(`export failed: ${err.message}\n`);
  process.exit(1);
}
process.stdout.write(`exported organization ${args.org} to ${args.out}\n`);
