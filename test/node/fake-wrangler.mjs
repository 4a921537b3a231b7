// A stand-in `wrangler` for testing scripts/deploy.mjs and scripts/secrets.mjs without a network:
// `installFakeWrangler` puts an executable named wrangler in a fresh directory that records every
// call (arguments and stdin) and answers each as the test scripted it.
import { spawnSync } from "node:child_process";
import { chmodSync, existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const FAKE = `#!/usr/bin/env node
const fs = require("node:fs");
const args = process.argv.slice(2);
const stdin = fs.readFileSync(0, "utf8");
fs.appendFileSync(process.env.FAKE_WRANGLER_LOG, JSON.stringify({ args, stdin }) + "\\n");
// The first scripted answer whose "when" is a prefix of the arguments; otherwise success, no output.
const answers = JSON.parse(process.env.FAKE_WRANGLER_ANSWERS || "[]");
const answer = answers.find((a) => a.when.every((w, i) => args[i] === w)) || {};
if (answer.stdout) process.stdout.write(answer.stdout);
if (answer.stderr) process.stderr.write(answer.stderr);
process.exit(answer.status || 0);
`;

/**
 * Runs `script` (a path under the repository) with the stand-in first on PATH. `answers`: a list of
 * { when: [leading arguments], status?, stdout?, stderr? }.
 */
export function runWithFakeWrangler(script, args, answers = []) {
  const dir = mkdtempSync(join(tmpdir(), "fake-wrangler-"));
  const bin = join(dir, "wrangler");
  writeFileSync(bin, FAKE);
  chmodSync(bin, 0o755);
  const log = join(dir, "calls.jsonl");
  const result = spawnSync(process.execPath, [script, ...args], {
    encoding: "utf8",
    env: { ...process.env, PATH: `${dir}:${process.env.PATH}`, FAKE_WRANGLER_LOG: log, FAKE_WRANGLER_ANSWERS: JSON.stringify(answers) },
  });
  const calls = existsSync(log)
    ? readFileSync(log, "utf8")
        .split("\n")
        .filter(Boolean)
        .map((line) => JSON.parse(line))
    : [];
  return { status: result.status, stdout: result.stdout, stderr: result.stderr, calls };
}
