// Starting and stopping the dev servers the benchmark measures, and reading their CPU time.
// Each server is spawned detached, so it leads its own process group (npm → sh → wrangler → workerd);
// stopping signals the whole group, which is what reaches the workerd processes.
import { spawn, spawnSync } from "node:child_process";
import { createServer } from "node:net";
import { readdirSync, readFileSync } from "node:fs";

const OFFLINE_ENV = {
  WRANGLER_SEND_METRICS: "false",
  CLOUDFLARE_CF_FETCH_ENABLED: "false",
  WRANGLER_HIDE_BANNER: "true",
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
 * Spawns `command args` as a process-group leader and waits until `isReady(baseUrl)` answers true.
 * Returns { name, baseUrl, pid, cpuSeconds(), logTail() }.
 */
export async function startServer({ name, command, args, cwd, port, isReady }) {
  const child = spawn(command, args, {
    cwd,
    detached: true,
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, ...OFFLINE_ENV },
  });
  const server = {
    name,
    child,
    pid: child.pid,
    baseUrl: `http://127.0.0.1:${port}`,
    lines: [],
    exited: null,
    cpuSeconds: () => groupCpuSeconds(child.pid),
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
