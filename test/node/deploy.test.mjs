// scripts/deploy.mjs against a stand-in wrangler: the commands, their order, and a failed migration
// stopping everything after it.
import assert from "node:assert/strict";
import { test } from "node:test";
import { runWithFakeWrangler } from "./fake-wrangler.mjs";

const deploy = (args, answers) => runWithFakeWrangler("scripts/deploy.mjs", args, answers);
const argsOf = (calls) => calls.map((c) => c.args.join(" "));

test("a fresh account: the database is created, migrated, then the Worker deployed", () => {
  const run = deploy([], [{ when: ["d1", "list"], stdout: "[]" }]);
  assert.equal(run.status, 0, run.stderr);
  assert.deepEqual(argsOf(run.calls), [
    "d1 list --json",
    "d1 create parley --update-config=false",
    "d1 migrations apply DB --remote --env=",
    "deploy --env=",
  ]);
});

test("an environment whose database exists: migrations, then deploy, both for that environment; extra flags go to wrangler deploy", () => {
  const listed = JSON.stringify([{ uuid: "u1", name: "parley-staging" }, { uuid: "u2", name: "parley-production" }]);
  const run = deploy(["--env", "production", "--keep-vars"], [{ when: ["d1", "list"], stdout: listed }]);
  assert.equal(run.status, 0, run.stderr);
  assert.deepEqual(argsOf(run.calls), ["d1 list --json", "d1 migrations apply DB --remote --env=production", "deploy --env=production --keep-vars"]);
});

test("a failed migration stops the deploy: the running version keeps serving", () => {
  const run = deploy(
    ["--env=staging"],
    [
      { when: ["d1", "list"], stdout: JSON.stringify([{ name: "parley-staging" }]) },
      { when: ["d1", "migrations", "apply"], status: 1, stderr: "Migration 0008_x.sql failed" },
    ],
  );
  assert.equal(run.status, 1);
  assert.deepEqual(argsOf(run.calls), ["d1 list --json", "d1 migrations apply DB --remote --env=staging"]);
  assert.match(run.stderr, /applying D1 migrations \(remote\) failed/);
});

test("a failed database creation stops before migrations", () => {
  const run = deploy([], [{ when: ["d1", "list"], stdout: "[]" }, { when: ["d1", "create"], status: 1 }]);
  assert.equal(run.status, 1);
  assert.deepEqual(argsOf(run.calls), ["d1 list --json", "d1 create parley --update-config=false"]);
});

test("not logged in: the first wrangler call fails and nothing else runs", () => {
  const run = deploy([], [{ when: ["d1", "list"], status: 1, stderr: "You are not authenticated." }]);
  assert.equal(run.status, 1);
  assert.deepEqual(argsOf(run.calls), ["d1 list --json"]);
});

test("wrangler's list with a line before it is read; no list at all stops before anything changes", () => {
  const withNotice = deploy([], [{ when: ["d1", "list"], stdout: `Some notice [beta]\n${JSON.stringify([{ name: "parley" }], null, 2)}\n` }]);
  assert.equal(withNotice.status, 0, withNotice.stderr);
  assert.deepEqual(argsOf(withNotice.calls), ["d1 list --json", "d1 migrations apply DB --remote --env=", "deploy --env="]);
  const garbled = deploy([], [{ when: ["d1", "list"], stdout: "not json" }]);
  assert.equal(garbled.status, 1);
  assert.deepEqual(argsOf(garbled.calls), ["d1 list --json"]);
});
