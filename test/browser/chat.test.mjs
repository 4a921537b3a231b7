// The web chat in a real browser: Debian's Chromium driven by playwright-core against `wrangler dev`
// (a port of its own, a fresh local state). Two people sign up, start a private chat, talk live with
// read ticks, share an image, one of them goes offline while the other writes; then typing, an edit,
// a reaction, a delete and a group.
// The same server also checks the SDK's bundle in Node (its global WebSocket and fetch).
// Screenshots of every step go to $SCREENSHOTS_DIR (default .wrangler/browser-screenshots).
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { crc32, deflateSync } from "node:zlib";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { chromium } from "playwright-core";
import { OFFLINE_WRANGLER_ENV } from "../../scripts/wrangler-env.mjs";

const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
const SHOTS = process.env.SCREENSHOTS_DIR ?? ".wrangler/browser-screenshots";
const WAIT = 15_000;

/** A free loopback port (never 8787, which `npm run dev` and benchmarks use). */
function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
    server.on("error", reject);
  });
}

let server;
let browser;
let origin;
let state;
const wranglerEnv = { ...process.env, ...OFFLINE_WRANGLER_ENV, X_LOCAL_OBSERVABILITY: "false" };

before(async () => {
  assert.ok(existsSync(CHROMIUM), `no Chromium at ${CHROMIUM} (CI installs Debian's chromium)`);
  mkdirSync(SHOTS, { recursive: true });
  assert.equal(spawnSync("node", ["scripts/build-web.mjs"], { stdio: "inherit" }).status, 0, "build:web failed");
  assert.equal(spawnSync("node", ["scripts/build-sdk.mjs"], { stdio: "inherit" }).status, 0, "build:sdk failed");
  state = mkdtempSync(join(tmpdir(), "parley-browser-"));
  const migrate = spawnSync("wrangler", ["d1", "migrations", "apply", "DB", "--local", "--persist-to", state], { env: wranglerEnv, encoding: "utf8" });
  assert.equal(migrate.status, 0, migrate.stderr);
  const port = await freePort();
  origin = `http://127.0.0.1:${port}`;
  server = spawn(
    "wrangler",
    ["dev", "--port", String(port), "--inspector-port", String(await freePort()), "--persist-to", state, "--env-file", ".dev.vars.example", "--var", `PUBLIC_URL:${origin}`, "--show-interactive-dev-session=false"],
    { env: wranglerEnv, stdio: ["ignore", "pipe", "pipe"], detached: true },
  );
  // Killed mid-run (a timeout, Ctrl-C), the test still stops the server it started.
  process.on("exit", () => {
    if (server.exitCode === null) process.kill(-server.pid, "SIGTERM");
  });
  let log = "";
  server.stdout.on("data", (d) => (log += d));
  server.stderr.on("data", (d) => (log += d));
  const deadline = Date.now() + 60_000;
  for (;;) {
    const ok = await fetch(`${origin}/health`).then((r) => r.ok, () => false);
    if (ok) break;
    assert.ok(Date.now() < deadline && server.exitCode === null, `wrangler dev did not start:\n${log}`);
    await new Promise((r) => setTimeout(r, 250));
  }
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
});

after(async () => {
  await browser?.close();
  if (server && server.exitCode === null) {
    // wrangler dev and its workerd children are one process group.
    process.kill(-server.pid, "SIGTERM");
    await new Promise((r) => server.once("exit", r));
  }
  if (state) rmSync(state, { recursive: true, force: true });
});

/** A width×height PNG: a sky fading into a sun-coloured horizon (RGB, unfiltered rows, one IDAT). */
function sunsetPng(width, height) {
  const rows = [];
  for (let y = 0; y < height; y++) {
    const row = Buffer.alloc(1 + width * 3);
    for (let x = 0; x < width; x++) {
      const t = y / height;
      const sun = Math.hypot(x - width / 2, y - height * 0.8) < height / 5;
      row.set(sun ? [255, 214, 102] : [Math.round(40 + 215 * t), Math.round(60 + 80 * t), Math.round(160 - 90 * t)], 1 + x * 3);
    }
    rows.push(row);
  }
  const chunk = (type, data) => {
    const length = Buffer.alloc(4);
    length.writeUInt32BE(data.length);
    const body = Buffer.concat([Buffer.from(type), data]);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(body));
    return Buffer.concat([length, body, crc]);
  };
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header.set([8, 2, 0, 0, 0], 8);
  return Buffer.concat([Buffer.from([137, 80, 78, 71, 13, 10, 26, 10]), chunk("IHDR", header), chunk("IDAT", deflateSync(Buffer.concat(rows))), chunk("IEND", Buffer.alloc(0))]);
}

/** Uncaught errors of the pages: none are expected. */
const pageErrors = [];

let shot = 0;
async function snap(page, name) {
  shot += 1;
  await page.screenshot({ path: join(SHOTS, `${String(shot).padStart(2, "0")}-${name}.png`) });
}

async function person(login, viewport = { width: 900, height: 640 }) {
  const context = await browser.newContext({ viewport });
  const page = await context.newPage();
  page.setDefaultTimeout(WAIT);
  page.on("pageerror", (err) => pageErrors.push(`${login}: ${err.message}`));
  await page.goto(origin);
  await page.getByLabel("Login").fill(login);
  await page.getByLabel("Password").fill(`pw-${login}`);
  await page.getByRole("button", { name: "Sign up" }).click();
  await page.getByRole("button", { name: "New chat" }).waitFor();
  return { context, page };
}

const messagesOf = (page) => page.getByRole("list", { name: "Messages" });
const conversationsOf = (page) => page.getByRole("list", { name: "Conversations" });

test("two people chat live, share an image, and catch up after going offline", { timeout: 180_000 }, async () => {
  const suffix = Math.random().toString(36).slice(2, 6);
  const aliceLogin = `alice${suffix}`;
  const bobLogin = `bob${suffix}`;
  const alice = await person(aliceLogin);
  // Bob is on a phone.
  const bob = await person(bobLogin, { width: 390, height: 740 });
  await snap(alice.page, "alice-signed-up");

  // Alice finds Bob and opens a private chat.
  await alice.page.getByRole("button", { name: "New chat" }).click();
  await alice.page.getByLabel("Search users").fill(bobLogin);
  await alice.page.getByRole("button", { name: bobLogin }).click();
  await conversationsOf(alice.page).getByRole("listitem").filter({ hasText: bobLogin }).waitFor();
  await alice.page.getByLabel("Message", { exact: true }).fill("Hi Bob! Are you there?");
  await alice.page.getByRole("button", { name: "Send" }).click();
  await snap(alice.page, "alice-sent-first-message");

  // Bob sees the chat appear with Alice's login, opens it, reads, answers.
  const bobItem = conversationsOf(bob.page).getByRole("listitem").filter({ hasText: aliceLogin });
  await bobItem.waitFor();
  await snap(bob.page, "bob-conversation-list");
  await bobItem.getByRole("button").click();
  await messagesOf(bob.page).getByRole("listitem").filter({ hasText: "Hi Bob! Are you there?" }).waitFor();
  await bob.page.getByLabel("Message", { exact: true }).fill("Hey Alice, right here.");
  await bob.page.getByRole("button", { name: "Send" }).click();
  await snap(bob.page, "bob-replied");

  // Alice gets the answer live, and her message shows as read.
  await messagesOf(alice.page).getByRole("listitem").filter({ hasText: "Hey Alice, right here." }).waitFor();
  await messagesOf(alice.page).getByRole("listitem").filter({ hasText: "Hi Bob! Are you there?" }).getByLabel("Read").waitFor();
  await snap(alice.page, "alice-sees-reply-and-read-tick");

  // Bob reads Alice's next message while it is open: her tick turns to read live.
  await alice.page.getByLabel("Message", { exact: true }).fill("Lunch at noon?");
  await alice.page.getByRole("button", { name: "Send" }).click();
  await messagesOf(bob.page).getByRole("listitem").filter({ hasText: "Lunch at noon?" }).waitFor();
  await messagesOf(alice.page).getByRole("listitem").filter({ hasText: "Lunch at noon?" }).getByLabel("Read").waitFor();

  // Alice sends an image; Bob sees its preview.
  const png = sunsetPng(240, 150);
  await alice.page.getByLabel("Attach file").setInputFiles({ name: "sunset.png", mimeType: "image/png", buffer: png });
  await messagesOf(alice.page).getByRole("img", { name: "sunset.png" }).waitFor();
  const bobImage = messagesOf(bob.page).getByRole("img", { name: "sunset.png" });
  await bobImage.waitFor();
  assert.ok(await bobImage.evaluate((img) => img.complete && img.naturalWidth === 240), "Bob's preview shows the uploaded image");
  await snap(bob.page, "bob-sees-image");

  // Bob goes offline; Alice writes three messages; Bob comes back and has them all, in order.
  await bob.context.setOffline(true);
  await bob.page.getByRole("status").filter({ hasText: "offline" }).waitFor();
  await snap(bob.page, "bob-offline-banner");
  const missed = ["Are you still there?", "The table is booked.", "See you at noon!"];
  for (const text of missed) {
    await alice.page.getByLabel("Message", { exact: true }).fill(text);
    await alice.page.getByRole("button", { name: "Send" }).click();
    await messagesOf(alice.page).getByRole("listitem").filter({ hasText: text }).getByLabel("Sent").or(
      messagesOf(alice.page).getByRole("listitem").filter({ hasText: text }).getByLabel("Delivered"),
    ).waitFor();
  }
  await snap(alice.page, "alice-wrote-while-bob-offline");
  await bob.context.setOffline(false);
  for (const text of missed) await messagesOf(bob.page).getByRole("listitem").filter({ hasText: text }).waitFor();
  const texts = await messagesOf(bob.page).getByRole("listitem").allInnerTexts();
  const order = missed.map((text) => texts.findIndex((t) => t.includes(text)));
  assert.deepEqual([...order].sort((a, b) => a - b), order, "missed messages in order");
  for (const text of missed) assert.equal(texts.filter((t) => t.includes(text)).length, 1, `"${text}" once`);
  assert.equal(await bob.page.getByRole("status").filter({ hasText: "offline" }).count(), 0);
  await snap(bob.page, "bob-back-online-caught-up");
  await messagesOf(alice.page).getByRole("listitem").filter({ hasText: "See you at noon!" }).getByLabel("Read").waitFor();
  await snap(alice.page, "alice-all-read");

  // Both screens side by side, for the README.
  const [left, right] = await Promise.all([alice.page.screenshot(), bob.page.screenshot()]);
  const board = await (await browser.newContext({ viewport: { width: 1330, height: 680 } })).newPage();
  const img = (png) => `<img src="data:image/png;base64,${png.toString("base64")}" style="border:1px solid #d0d5dd;border-radius:10px">`;
  await board.setContent(`<body style="margin:0;padding:20px;display:flex;gap:20px;align-items:flex-start;background:#e9ecf1">${img(left)}${img(right)}</body>`);
  await board.screenshot({ path: join(SHOTS, "two-people-chatting.png"), fullPage: true });

  // Typing, an edit, a reaction and a delete reach the other side live.
  await bob.page.getByLabel("Message", { exact: true }).pressSequentially("Sounds", { delay: 20 });
  await alice.page.getByText(`${bobLogin} is typing…`).waitFor();
  await snap(alice.page, "alice-sees-bob-typing");
  const noon = (page) => messagesOf(page).getByRole("listitem").filter({ hasText: "See you at noon!" });
  await noon(alice.page).getByRole("button", { name: "Edit message" }).click();
  await alice.page.getByLabel("Message", { exact: true }).fill("See you at one!");
  await alice.page.getByRole("button", { name: "Save" }).click();
  const one = (page) => messagesOf(page).getByRole("listitem").filter({ hasText: "See you at one!" });
  await one(bob.page).filter({ hasText: "edited" }).waitFor();
  await one(bob.page).getByRole("button", { name: "React ♥" }).click();
  await one(alice.page).getByText("♥ 1").waitFor();
  await messagesOf(alice.page).getByRole("listitem").filter({ hasText: "The table is booked." }).getByRole("button", { name: "Delete message" }).click();
  await messagesOf(bob.page).getByRole("listitem").filter({ hasText: "The table is booked." }).waitFor({ state: "detached" });
  await snap(bob.page, "bob-sees-edit-and-delete");

  // A group: Alice names it and adds Bob; it appears in Bob's list under its name, and talks.
  await alice.page.getByRole("button", { name: "New group" }).click();
  await alice.page.getByLabel("Group name").fill("Lunch club");
  await alice.page.getByLabel("Add members").fill(bobLogin);
  await alice.page.getByRole("dialog").getByRole("button", { name: bobLogin }).click();
  await alice.page.getByRole("button", { name: "Create group" }).click();
  await alice.page.getByRole("heading", { name: "Lunch club" }).waitFor();
  await alice.page.getByLabel("Message", { exact: true }).fill("Welcome to the club");
  await alice.page.getByRole("button", { name: "Send" }).click();
  await bob.page.getByRole("button", { name: "Back" }).click();
  const club = conversationsOf(bob.page).getByRole("listitem").filter({ hasText: "Lunch club" });
  await club.filter({ hasText: "Welcome to the club" }).waitFor();
  await snap(bob.page, "bob-list-with-group");
  assert.deepEqual(pageErrors, [], "no uncaught errors in the pages");
});

test("the SDK's bundle in Node: sign up, send, and receive with the global WebSocket and fetch", { timeout: 60_000 }, async () => {
  const { ParleyClient } = await import("../../sdk/dist/index.js");
  const suffix = Math.random().toString(36).slice(2, 6);
  const carol = new ParleyClient({ url: origin });
  const dave = new ParleyClient({ url: origin });
  try {
    await carol.signUp({ login: `carol${suffix}`, password: "pw-carol" });
    const daveUser = await dave.signUp({ login: `dave${suffix}`, password: "pw-dave" });
    const received = new Promise((resolve) => dave.on("message", resolve));
    const { conversation } = await carol.request("conversation_create", { type: "u", participants: [daveUser._id] });
    const ask = await carol.send({ cid: conversation._id, body: "from Node" }).ack;
    const message = await received;
    assert.equal(message._id, ask.server_mid);
    assert.equal(message.body, "from Node");
  } finally {
    carol.stop();
    dave.stop();
  }
});
