// Fails when the Worker bundle outgrows its budget. Reads the output of `npm run deploy:check`
// (`wrangler deploy --dry-run`) from the file named as the first argument, or from stdin, and
// checks the gzip size wrangler prints ("Total Upload: 1287.60 KiB / gzip: 238.26 KiB"), which is
// the size Cloudflare's limits apply to (3 MiB on Workers Free, 10 MiB on Paid).
//
// Budget: 1,536 KiB gzipped (BUNDLE_GZIP_BUDGET_KIB overrides). Parley is ~240 KiB today; the
// QuickJS sandbox for conversation handlers adds ~250 KiB gzipped (~600 KiB raw), which leaves
// about 1 MiB of headroom for growth before this check asks someone to look.
import { readFileSync } from "node:fs";

const budgetKiB = Number(process.env.BUNDLE_GZIP_BUDGET_KIB ?? 1536);
const text = readFileSync(process.argv[2] ?? 0, "utf8");
const match = /Total Upload:\s*([\d.]+)\s*KiB\s*\/\s*gzip:\s*([\d.]+)\s*KiB/.exec(text);
if (!match) {
  console.error("bundle-budget: no \"Total Upload: … / gzip: …\" line in the wrangler output (did the dry run fail?)");
  process.exit(1);
}
const [, rawKiB, gzipKiB] = match.map(Number);
const verdict = gzipKiB <= budgetKiB ? "within" : "OVER";
console.log(`bundle: ${rawKiB} KiB raw, ${gzipKiB} KiB gzip — ${verdict} the budget of ${budgetKiB} KiB gzip`);
process.exit(gzipKiB <= budgetKiB ? 0 : 1);
