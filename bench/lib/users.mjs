// Parley users for the benchmark, kept between runs. Creating one costs PBKDF2 twice (user_create,
// then POST /login), so the users (login, password, device id, _id, access token) are written to
// .wrangler/bench-users.json, next to the dev server's own state (.wrangler/state, gitignored), and
// reused while that state holds them. Only the missing ones are created, concurrently.
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { connectUser, createUsers, login, userSpecs } from "./rooms.mjs";
import { mapLimit, now, round } from "./stats.mjs";

const FILE_VERSION = 1;
// Access tokens live ACCESS_TOKEN_TTL_SECONDS (3 h by default): older ones are renewed by logging in.
const TOKEN_MAX_AGE_MS = 2 * 60 * 60 * 1000;
const SAMPLE = 3;
const BATCH = 200;

/** A pool of users reused across runs; `take(n)` returns the first n, creating what is missing. */
export class UserPool {
  constructor({ baseUrl, file, log }) {
    this.baseUrl = baseUrl;
    this.file = file;
    this.log = log;
    this.state = { version: FILE_VERSION, tag: newTag(), users: [] };
    this.checked = false;
  }

  /** The first `count` users, each with a token that connects. */
  async take(count) {
    if (!this.checked) await this.load();
    if (this.state.users.length < count) await this.create(count);
    return this.state.users.slice(0, count);
  }

  /** Reads the file and checks a few tokens (first, last, middle); a reset dev state starts a new pool. */
  async load() {
    this.checked = true;
    if (!existsSync(this.file)) return;
    let saved;
    try {
      saved = JSON.parse(readFileSync(this.file, "utf8"));
    } catch {
      return;
    }
    if (saved?.version !== FILE_VERSION || !Array.isArray(saved.users) || saved.users.length === 0) return;
    const started = now();
    const users = saved.users;
    // Old tokens are renewed by logging in again (one PBKDF2 each, not two).
    const stale = users.filter((u) => !(Date.now() - u.token_at < TOKEN_MAX_AGE_MS));
    if (stale.length > 0) {
      const renewed = await mapLimit(stale, 8, (u) => login(this.baseUrl, u).then((token) => ({ token }), (err) => ({ err })));
      if (renewed.some((r) => r.err)) return this.discard(`logging in again failed: ${renewed.find((r) => r.err).err.message}`);
      stale.forEach((u, k) => Object.assign(u, { token: renewed[k].token, token_at: Date.now() }));
    }
    const sample = [...new Set([0, users.length - 1, Math.floor(users.length / 2)])].slice(0, SAMPLE);
    try {
      await Promise.all(sample.map(async (i) => (await connectUser(this.baseUrl, users[i])).close()));
    } catch (err) {
      return this.discard(`a saved token no longer connects (${err.message})`);
    }
    this.state = saved;
    this.save();
    this.log(`Parley: reusing ${users.length} benchmark users from ${this.file}${stale.length ? ` (${stale.length} logged in again)` : ""} in ${round((now() - started) / 1000, 1)} s`);
  }

  discard(reason) {
    this.log(`Parley: not reusing ${this.file}: ${reason}; creating new users`);
  }

  async create(count) {
    const started = now();
    const have = this.state.users.length;
    // Saved a batch at a time, so an interrupted run keeps most of what it paid for.
    for (let from = have; from < count; from += BATCH) {
      const specs = userSpecs(this.state.tag, from, Math.min(BATCH, count - from));
      const created = await createUsers(this.baseUrl, specs, 8);
      this.state.users.push(...created.map((u) => ({ ...u, token_at: Date.now() })));
      this.save();
    }
    this.log(`Parley: created and logged in ${count - have} users in ${round((now() - started) / 1000, 1)} s (saved in ${this.file})`);
  }

  save() {
    writeFileSync(this.file, JSON.stringify(this.state));
  }
}

function newTag() {
  return `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 5)}`;
}
