// scripts/secrets.mjs against a stand-in wrangler: one `secret bulk` with exactly the secrets that
// are missing or rotated, existing ones kept, and no secret in the output but a new admin key, once.
import assert from "node:assert/strict";
import { test } from "node:test";
import { runWithFakeWrangler } from "./fake-wrangler.mjs";

const ALL = ["JWT_ACCESS_SECRET", "JWT_REFRESH_SECRET", "COOKIE_SECRET", "FILES_SIGNING_SECRET", "ADMIN_API_KEY", "VAPID_PUBLIC_KEY", "VAPID_PRIVATE_KEY"];
const NOT_DEPLOYED = { when: ["secret", "list"], status: 1, stderr: 'Worker "parley" not found.' };
const having = (names) => ({ when: ["secret", "list"], stdout: JSON.stringify(names.map((name) => ({ name, type: "secret_text" }))) });

const secrets = (args, answers) => runWithFakeWrangler("scripts/secrets.mjs", args, answers);
const argsOf = (calls) => calls.map((c) => c.args.join(" "));

/** What the one `secret bulk` call received on stdin. */
function uploaded(run) {
  const bulk = run.calls.filter((c) => c.args[0] === "secret" && c.args[1] === "bulk");
  assert.equal(bulk.length, 1, "exactly one secret bulk call");
  return JSON.parse(bulk[0].stdin);
}

/** Every value the run uploaded, other than the admin key, is absent from what it printed; the admin key appears at most once. */
function assertNothingSecretPrinted(run, values) {
  const printed = run.stdout + run.stderr;
  for (const [name, value] of Object.entries(values)) {
    const times = printed.split(value).length - 1;
    assert.equal(times, name === "ADMIN_API_KEY" ? 1 : 0, `${name} printed ${times} time(s)`);
  }
}

test("a Worker with no secrets: all seven generated, uploaded in one bulk call, only the admin key printed, once", () => {
  const run = secrets([], [NOT_DEPLOYED]);
  assert.equal(run.status, 0, run.stderr);
  assert.deepEqual(argsOf(run.calls), ["secret list --format json --env=", "secret bulk --env="]);
  const values = uploaded(run);
  assert.deepEqual(Object.keys(values).sort(), [...ALL].sort());
  assert.equal(new Set(Object.values(values)).size, ALL.length, "every value differs");
  for (const name of ALL.slice(0, 5)) assert.equal(Buffer.from(values[name], "base64url").length, 32, name);
  const point = Buffer.from(values.VAPID_PUBLIC_KEY, "base64url");
  assert.equal(point.length, 65);
  assert.equal(point[0], 4, "an uncompressed P-256 point");
  assert.equal(Buffer.from(values.VAPID_PRIVATE_KEY, "base64url").length, 32);
  assertNothingSecretPrinted(run, values);
});

test("every secret already set: nothing uploaded, nothing secret printed", () => {
  const run = secrets([], [having(ALL)]);
  assert.equal(run.status, 0, run.stderr);
  assert.deepEqual(argsOf(run.calls), ["secret list --format json --env="]);
  assert.match(run.stdout, /nothing changed/);
  assert.doesNotMatch(run.stdout, /ADMIN_API_KEY \(/);
});

test("some set: only the missing ones, half a VAPID pair replaced whole, the existing admin key neither replaced nor printed", () => {
  const run = secrets([], [having(ALL.filter((n) => n !== "COOKIE_SECRET" && n !== "VAPID_PRIVATE_KEY"))]);
  assert.equal(run.status, 0, run.stderr);
  const values = uploaded(run);
  assert.deepEqual(Object.keys(values).sort(), ["COOKIE_SECRET", "VAPID_PRIVATE_KEY", "VAPID_PUBLIC_KEY"]);
  assertNothingSecretPrinted(run, values);
  assert.doesNotMatch(run.stdout, /ADMIN_API_KEY \(/);
});

test("--rotate replaces only what it names, in the environment given", () => {
  const run = secrets(["--env", "production", "--rotate", "JWT_ACCESS_SECRET", "--rotate=VAPID"], [having(ALL)]);
  assert.equal(run.status, 0, run.stderr);
  assert.deepEqual(argsOf(run.calls), ["secret list --format json --env=production", "secret bulk --env=production"]);
  const values = uploaded(run);
  assert.deepEqual(Object.keys(values).sort(), ["JWT_ACCESS_SECRET", "VAPID_PRIVATE_KEY", "VAPID_PUBLIC_KEY"]);
  assertNothingSecretPrinted(run, values);
});

test("--rotate ADMIN_API_KEY prints the new key once", () => {
  const run = secrets(["--rotate", "ADMIN_API_KEY"], [having(ALL)]);
  assert.equal(run.status, 0, run.stderr);
  const values = uploaded(run);
  assert.deepEqual(Object.keys(values), ["ADMIN_API_KEY"]);
  assertNothingSecretPrinted(run, values);
});

test("an unknown --rotate name changes nothing and calls no wrangler", () => {
  const run = secrets(["--rotate", "DATABASE_PASSWORD"], [having(ALL)]);
  assert.equal(run.status, 2);
  assert.deepEqual(run.calls, []);
});

test("a failed upload: exit status 1, and the admin key that was not stored is not printed", () => {
  const run = secrets([], [NOT_DEPLOYED, { when: ["secret", "bulk"], status: 1, stderr: "Secrets failed to upload" }]);
  assert.equal(run.status, 1);
  const values = uploaded(run);
  const printed = run.stdout + run.stderr;
  for (const value of Object.values(values)) assert.ok(!printed.includes(value));
});

test("a list that fails for another reason (not signed in): nothing uploaded", () => {
  const run = secrets([], [{ when: ["secret", "list"], status: 1, stderr: "You are not authenticated." }]);
  assert.equal(run.status, 1);
  assert.deepEqual(argsOf(run.calls), ["secret list --format json --env="]);
});
