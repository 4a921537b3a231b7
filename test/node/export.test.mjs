// scripts/export.mjs against a loopback stand-in for Parley's export route: every collection paged
// by the cursor header into <out>/<collection>.json byte for byte, the admin key and include sent,
// and a refused page stopping the run with status 1.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync } from "node:fs";
import { createServer } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";

/** A fake export route: `pages[collection]` is the list of page bodies; records every request. */
async function fakeParley(pages, status = 200) {
  const requests = [];
  const server = createServer((req, res) => {
    const url = new URL(req.url, "http://x");
    requests.push({ path: url.pathname, query: Object.fromEntries(url.searchParams), key: req.headers["admin-api-key"] });
    const collection = url.pathname.split("/").pop();
    const list = pages[collection] ?? [""];
    const index = Number(url.searchParams.get("cursor") ?? "0");
    const headers = { "Content-Type": "application/x-ndjson" };
    if (index + 1 < list.length) headers["x-next-cursor"] = String(index + 1);
    res.writeHead(status, headers);
    res.end(status === 200 ? list[index] : "Organization not found");
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { url: `http://127.0.0.1:${server.address().port}`, requests, close: () => server.close() };
}

function run(args, env = {}) {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ["scripts/export.mjs", ...args], { env: { ...process.env, ADMIN_API_KEY: "", ...env } });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    child.on("close", (status) => resolve({ status, stdout, stderr }));
  });
}

test("writes every collection, page after page, to <collection>.json", async () => {
  const m1 = '{"_id":{"$oid":"6b1326c42dc6803b8f2fa001"},"body":"héllo 👍"}\n';
  const m2 = '{"_id":{"$oid":"6b1326c42dc6803b8f2fa002"},"body":"two"}\n{"_id":{"$oid":"6b1326c42dc6803b8f2fa003"},"body":"three"}\n';
  const parley = await fakeParley({ messages: [m1, m2], users: ['{"_id":{"$oid":"6b1326c42dc6803b8f2fa0aa"},"login":"a"}\n'] });
  const out = mkdtempSync(join(tmpdir(), "export-"));
  try {
    const result = await run(["--org", "org 1", "--out", out, "--url", `${parley.url}/`, "--include", "password_hashes", "--limit", "2"], { ADMIN_API_KEY: "k-env" });
    assert.equal(result.status, 0, result.stderr);
    assert.deepEqual(readdirSync(out).sort(), [
      "blocked_users.json",
      "contacts.json",
      "conversation_handlers.json",
      "conversations.json",
      "conversations_participants.json",
      "files.json",
      "message_reactions.json",
      "message_statuses.json",
      "messages.json",
      "organizations.json",
      "users.json",
    ]);
    assert.equal(readFileSync(join(out, "messages.json"), "utf8"), m1 + m2);
    assert.equal(readFileSync(join(out, "contacts.json"), "utf8"), "");
    assert.match(result.stdout, /^messages\.json: 3 records$/m);
    const messages = parley.requests.filter((r) => r.path.endsWith("/messages"));
    assert.deepEqual(messages, [
      { path: "/admin/organizations/org%201/export/messages", query: { include: "password_hashes", limit: "2" }, key: "k-env" },
      { path: "/admin/organizations/org%201/export/messages", query: { include: "password_hashes", limit: "2", cursor: "1" }, key: "k-env" },
    ]);
    assert.equal(parley.requests.length, 12);
  } finally {
    parley.close();
  }
});

test("push subscriptions only when included; --admin-key wins over the environment", async () => {
  const parley = await fakeParley({ push_subscriptions: ['{"platform":"web"}\n'] });
  const out = mkdtempSync(join(tmpdir(), "export-"));
  try {
    const result = await run(["--org", "o", "--out", out, "--url", parley.url, "--admin-key", "k-flag", "--include", "push_subscriptions"], { ADMIN_API_KEY: "k-env" });
    assert.equal(result.status, 0, result.stderr);
    assert.equal(readFileSync(join(out, "push_subscriptions.json"), "utf8"), '{"platform":"web"}\n');
    assert.ok(parley.requests.every((r) => r.key === "k-flag" && r.query.include === "push_subscriptions"));
  } finally {
    parley.close();
  }
});

test("a refused page stops the export with status 1 and the server's message", async () => {
  const parley = await fakeParley({}, 404);
  const out = mkdtempSync(join(tmpdir(), "export-"));
  try {
    const result = await run(["--org", "nope", "--out", out, "--url", parley.url, "--admin-key", "k"]);
    assert.equal(result.status, 1);
    assert.match(result.stderr, /export failed: organizations: 404 Organization not found/);
    assert.equal(parley.requests.length, 1);
  } finally {
    parley.close();
  }
});

test("refuses to start without an organization, a directory or an admin key", async () => {
  assert.match((await run(["--out", "/tmp/x", "--admin-key", "k"])).stderr, /--org is required/);
  assert.match((await run(["--org", "o", "--admin-key", "k"])).stderr, /--out is required/);
  const noKey = await run(["--org", "o", "--out", "/tmp/x"]);
  assert.equal(noKey.status, 2);
  assert.match(noKey.stderr, /admin key is required/);
});
