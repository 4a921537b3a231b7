// Starting and stopping the dev servers the benchmark measures, reading their CPU time, and naming
// the machine they ran on.
// Each server is spawned detached, so it leads its own process group (npm → sh → wrangler → workerd);
// stopping signals the whole group, which is what reaches the workerd processes.
import { spawn, spawnSync } from "node:child_process";
import { createServer } from "node:net";
import { readdirSync, readFileSync } from "node:fs";
import { cpus, release } from "node:os";

// What `npm run dev` sets, so Parley and the baselines run alike: offline, and without wrangler's
// local observability (a trace of every invocation, object calls included, made a call ~6× dearer:
// docs/performance.md).
const DEV_ENV = {
  WRANGLER_SEND_METRICS: "false",
  CLOUDFLARE_CF_FETCH_ENABLED: "false",
  WRANGLER_HIDE_BANNER: "true",
  X_LOCAL_OBSERVABILITY: "false",
};
const LOG_TAIL_LINES = 60;
const READY_TIMEOUT_MS = 90_000;
const STOP_GRACE_MS = 5_000;

const running = new Set();

/** A port that was free a moment ago: the OS picks it for a listener on port 0. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Spawns `command args` (with DEV_ENV, then `env`) as a process-group leader and waits until `isReady(baseUrl)` answers true.
 * Returns { name, baseUrl, pid, cpuSeconds(), logTail() }.
 */
export async function startServer({ name, command, args, cwd, port, isReady, env = {} }) {
  const child = spawn(command, args, {
    cwd,
    detached: true,
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, ...DEV_ENV, ...env },
  });
  const server = {
    name,
    child,
    pid: child.pid,
    baseUrl: `http://127.0.0.1:${port}`,
    lines: [],
    exited: null,
    cpuSeconds: () => groupCpuSeconds(child.pid),
    resources: () => groupResources(child.pid),
    logTail: () => server.lines.join("\n"),
  };
  running.add(server);
  // Always drain both pipes: a full pipe would block wrangler. Only the tail is kept, for errors.
  for (const stream of [child.stdout, child.stderr]) {
    stream.setEncoding("utf8");
    stream.on("data", (chunk) => {
      server.lines.push(...chunk.split("\n").filter((line) => line.trim() !== ""));
      if (server.lines.length > LOG_TAIL_LINES) server.lines.splice(0, server.lines.length - LOG_TAIL_LINES);
    });
  }
  child.on("exit", (code, signal) => {
    server.exited = { code, signal };
  });
  await waitReady(server, isReady);
  return server;
}

async function waitReady(server, isReady) {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (server.exited) {
      throw new Error(`${server.name} exited (${JSON.stringify(server.exited)}) before it was ready:\n${server.logTail()}`);
    }
    try {
      if (await isReady(server.baseUrl)) return;
    } catch {
      // Not listening yet.
    }
    await sleep(250);
  }
  throw new Error(`${server.name} was not ready after ${READY_TIMEOUT_MS / 1000} s:\n${server.logTail()}`);
}

/** Pids of the live processes whose process group is `pgid` (from /proc, so Linux only). */
function groupMembers(pgid) {
  const members = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = readStat(entry);
    if (stat && stat.pgrp === pgid && stat.state !== "Z") members.push(stat);
  }
  return members;
}

/** Fields of /proc/<pid>/stat that we use; null when the process is gone. */
function readStat(pid) {
  let text;
  try {
    text = readFileSync(`/proc/${pid}/stat`, "utf8");
  } catch {
    return null;
  }
  // The command name is in parentheses and may contain spaces: split after the last ")".
  const close = text.lastIndexOf(")");
  const comm = text.slice(text.indexOf("(") + 1, close);
  const fields = text.slice(close + 2).split(" ");
  return {
    pid: Number(pid),
    comm,
    state: fields[0],
    pgrp: Number(fields[2]),
    ticks: Number(fields[11]) + Number(fields[12]), // utime + stime
    rssPages: Number(fields[21]),
  };
}

let clockTicks;
function ticksPerSecond() {
  if (clockTicks === undefined) {
    const out = spawnSync("getconf", ["CLK_TCK"], { encoding: "utf8" });
    clockTicks = Number(out.stdout?.trim()) || 100;
  }
  return clockTicks;
}

/** CPU seconds (user + system) used so far by the workerd processes of a server's process group. */
export function groupCpuSeconds(pgid) {
  const ticks = groupMembers(pgid)
    .filter((stat) => stat.comm === "workerd")
    .reduce((sum, stat) => sum + stat.ticks, 0);
  return ticks / ticksPerSecond();
}

function openFiles(pid) {
  try {
    return readdirSync(`/proc/${pid}/fd`).length;
  } catch {
    return 0; // gone, or not ours
  }
}

/** The soft "Max open files" limit of a process (ulimit -n), or null. */
function openFilesLimit(pid) {
  try {
    const line = readFileSync(`/proc/${pid}/limits`, "utf8").split("\n").find((l) => l.startsWith("Max open files"));
    const soft = line?.slice("Max open files".length).trim().split(/\s+/)[0];
    return soft === undefined || soft === "unlimited" ? null : Number(soft);
  } catch {
    return null;
  }
}

let pageBytes;
function pageSize() {
  if (pageBytes === undefined) {
    const out = spawnSync("getconf", ["PAGESIZE"], { encoding: "utf8" });
    pageBytes = Number(out.stdout?.trim()) || 4096;
  }
  return pageBytes;
}

/**
 * Open files and memory of a server's process group: per workerd process (the runtime that holds
 * the objects, their SQLite files and the sockets behind wrangler's proxy), for the other processes
 * (npm, wrangler's node proxy), and the resident memory of the whole group.
 */
export function groupResources(pgid) {
  const members = groupMembers(pgid);
  const workerd = members.filter((stat) => stat.comm === "workerd").map((stat) => ({ pid: stat.pid, fds: openFiles(stat.pid), limit: openFilesLimit(stat.pid) }));
  const others = members.filter((stat) => stat.comm !== "workerd").map((stat) => ({ pid: stat.pid, comm: stat.comm, fds: openFiles(stat.pid) }));
  return {
    workerd_fds: workerd.reduce((sum, p) => sum + p.fds, 0),
    workerd_max_fds: Math.max(0, ...workerd.map((p) => p.fds)),
    fd_limit: workerd[0]?.limit ?? null,
    proxy_fds: Math.max(0, ...others.map((p) => p.fds)),
    rss_mb: Math.round((members.reduce((sum, stat) => sum + stat.rssPages, 0) * pageSize()) / 1048576),
    processes: { workerd, others },
  };
}

function signalGroup(pid, signal) {
  try {
    process.kill(-pid, signal);
  } catch {
    // The group is already gone.
  }
}

/** SIGTERM to the whole group, then SIGKILL whatever is still there after a grace period. */
export async function stopServer(server) {
  if (!running.has(server)) return;
  signalGroup(server.pid, "SIGTERM");
  const deadline = Date.now() + STOP_GRACE_MS;
  while (groupMembers(server.pid).length > 0 && Date.now() < deadline) await sleep(100);
  if (groupMembers(server.pid).length > 0) signalGroup(server.pid, "SIGKILL");
  running.delete(server);
}

export async function stopAllServers() {
  await Promise.all([...running].map(stopServer));
}

/** Last resort on exit paths that cannot wait (process "exit" event). */
export function killAllServersNow() {
  for (const server of running) signalGroup(server.pid, "SIGKILL");
  running.clear();
}

/** The machine the servers ran on, as results files record it. */
export function machine() {
  const list = cpus();
  return { cpus: list.length, model: list[0]?.model ?? "unknown", node: process.version, platform: `${process.platform} ${release()} ${process.arch}` };
}
