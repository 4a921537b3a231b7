// `npm run import:sama -- <dump-dir> [--url <parley-url>] [--files-dir <dir>] [--dry-run] [--admin-key K]`
// Moves a SAMA deployment into Parley through its admin API (README, "Moving from SAMA"): <dump-dir>
// holds one mongoexport file per collection (`users.json`, …; one document per line or a JSON array),
// --files-dir the S3 bucket's objects named by object_id. The admin key comes from --admin-key or
// ADMIN_API_KEY. Running it again imports nothing twice; --dry-run validates and writes nothing.
// Progress goes to stderr, the report to stdout; exit status 1 when the import could not finish.
import { closeSync, createReadStream, existsSync, openSync, readdirSync, readFileSync, readSync, statSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { documentsOf, formatReport, ImportError, runImport } from "./sama-import.ts";

const usage = "usage: npm run import:sama -- <dump-dir> [--url <parley-url>] [--files-dir <dir>] [--dry-run] [--admin-key K]";

let parsed;
try {
  parsed = parseArgs({
    allowPositionals: true,
    options: {
      url: { type: "string", default: "http://127.0.0.1:8787" },
      "files-dir": { type: "string" },
      "dry-run": { type: "boolean", default: false },
      "admin-key": { type: "string" },
      help: { type: "boolean", default: false },
    },
  });
} catch (err) {
  console.error(`${err.message}\n${usage}`);
  process.exit(2);
}
const { values, positionals } = parsed;
if (values.help || positionals.length !== 1) {
  console.error(usage);
  process.exit(values.help ? 0 : 2);
}
const [dumpDir] = positionals;
const adminKey = values["admin-key"] ?? process.env.ADMIN_API_KEY ?? "";
if (!existsSync(dumpDir) || !statSync(dumpDir).isDirectory()) {
  console.error(`${dumpDir} is not a directory`);
  process.exit(2);
}
if (adminKey === "") {
  console.error("no admin key: pass --admin-key or set ADMIN_API_KEY");
  process.exit(2);
}
const filesDir = values["files-dir"] ?? null;

/** Lines in a file (the progress bar's total), counted without holding the file. */
async function countLines(path) {
  let lines = 0;
  let last = "\n";
  for await (const chunk of createReadStream(path)) {
    for (const byte of chunk) if (byte === 10) lines++;
    last = chunk.length > 0 ? String.fromCharCode(chunk[chunk.length - 1]) : last;
  }
  return last === "\n" ? lines : lines + 1;
}

const source = {
  async collections() {
    return readdirSync(dumpDir)
      .filter((name) => name.endsWith(".json"))
      .map((name) => name.slice(0, -".json".length));
  },
  async open(collection) {
    const path = join(dumpDir, `${collection}.json`);
    if (!existsSync(path)) return null;
    const fd = openSync(path, "r");
    const start = Buffer.alloc(64);
    const read = readSync(fd, start, 0, 64, 0);
    closeSync(fd);
    const head = start.subarray(0, read).toString("utf8").trimStart();
    return { documents: documentsOf(createReadStream(path, { encoding: "utf8" })), total: head.startsWith("[") ? null : await countLines(path) };
  },
  async fileBytes(objectId) {
    if (filesDir === null || !/^[0-9a-f]{24}$/.test(objectId)) return null;
    const path = join(filesDir, objectId);
    return existsSync(path) ? new Uint8Array(readFileSync(path)) : null;
  },
};

/** One stderr line per collection, rewritten in place: a bar when the total is known. */
function progress(p) {
  const width = 24;
  const bar = p.total ? `[${"#".repeat(Math.round((width * Math.min(p.done, p.total)) / Math.max(p.total, 1))).padEnd(width, ".")}] ${p.done}/${p.total}` : `${p.done}`;
  const line = `${p.step.padEnd(27)} ${bar}  imported ${p.imported}, existing ${p.existing}, skipped ${p.skipped}`;
  process.stderr.write(process.stderr.isTTY ? `\r${line}\x1b[K${p.finished ? "\n" : ""}` : p.finished ? `${line}\n` : "");
}

try {
  const report = await runImport(source, { url: values.url, adminKey, dryRun: values["dry-run"], fetch: (request) => fetch(request), progress });
  console.log(formatReport(report));
} catch (err) {
  process.stderr.write("\n");
  console.error(err instanceof ImportError ? `import stopped: ${err.message} (run it again to resume)` : err);
  process.exit(1);
}
