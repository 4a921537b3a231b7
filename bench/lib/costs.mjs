// What one message costs in what Durable Objects bill, from Parley's own counters (GET /admin/metrics:
// commits, rows written and read from the SQL cursors, calls between objects by class; objects/metrics.ts).
// A phase reads the counters, runs its traffic, waits until the Inboxes have written their window and
// the Conversations have their confirmations (so the write-behind is counted), reads them again, and
// divides by the messages sent.
import { readFileSync } from "node:fs";
import { round, sleep } from "./stats.mjs";

/** The admin key of the dev server: ADMIN_API_KEY in the environment, else from .dev.vars. */
function adminKey() {
  if (process.env.ADMIN_API_KEY) return process.env.ADMIN_API_KEY;
  try {
    const line = readFileSync(".dev.vars", "utf8").split("\n").find((l) => l.startsWith("ADMIN_API_KEY="));
    return line?.slice("ADMIN_API_KEY=".length).trim() ?? null;
  } catch {
    return null;
  }
}

/** The Inbox's write window (wrangler.toml, or .dev.vars) and the Conversation's margin before a resend. */
function settleMs() {
  const read = (file) => {
    try {
      return readFileSync(file, "utf8").match(/INBOX_WRITE_WINDOW_SECONDS\s*=\s*"?([\d.]+)/)?.[1];
    } catch {
      return undefined;
    }
  };
  const seconds = Number(read(".dev.vars") ?? read("wrangler.toml") ?? 10);
  return seconds * 1000 + 3_000;
}

export async function readMetrics(baseUrl) {
  const res = await fetch(`${baseUrl}/admin/metrics`, { headers: { "admin-api-key": adminKey() ?? "" } });
  if (!res.ok) throw new Error(`GET /admin/metrics answered ${res.status}`);
  return (await res.json()).objects;
}

/** Per message: commits, rows written, rows read, calls between objects (and calls by class). */
export function perMessage(before, after, messages) {
  const classes = Object.keys(after);
  const total = (field) => classes.reduce((n, c) => n + after[c][field] - before[c][field], 0);
  const per = (v) => (messages > 0 ? round(v / messages, 2) : null);
  return {
    messages,
    commits: per(total("commits")),
    rows_written: per(total("rowsWritten")),
    rows_read: per(total("rowsRead")),
    calls: per(total("calls")),
    calls_by_class: Object.fromEntries(classes.map((c) => [c, per(after[c].calls - before[c].calls)])),
    commits_by_class: Object.fromEntries(classes.map((c) => [c, per(after[c].commits - before[c].commits)])),
    // Not per message: instances constructed during the phase (a start after an eviction reloads the object).
    starts_by_class: Object.fromEntries(classes.map((c) => [c, (after[c].starts ?? 0) - (before[c].starts ?? 0)])),
  };
}

/**
 * Runs `traffic()` (which returns the messages it sent) between two readings, the write-behind
 * included. Quick mode does not wait for the window: its Inbox commits are not all counted.
 */
export async function measureCosts(baseUrl, traffic, { quick = false } = {}, { settleFirst = false } = {}) {
  // A phase right after others (a warm-up, connects) waits until their write-behind has landed.
  if (settleFirst && !quick) await sleep(settleMs());
  const before = await readMetrics(baseUrl);
  const messages = await traffic();
  if (!quick) await sleep(settleMs());
  return { ...perMessage(before, await readMetrics(baseUrl), messages), settled: !quick };
}

export function describeCosts(label, costs) {
  return (
    `  ${label}: ${costs.commits} commits, ${costs.rows_written} rows written, ${costs.rows_read} rows read, ` +
    `${costs.calls} calls between objects per message (${Object.entries(costs.calls_by_class).map(([c, n]) => `${c} ${n}`).join(", ")}; ` +
    `commits ${Object.entries(costs.commits_by_class).map(([c, n]) => `${c} ${n}`).join(", ")}) over ${costs.messages} messages; ` +
    `objects started ${Object.entries(costs.starts_by_class).map(([c, n]) => `${c} ${n}`).join(", ")}`
  );
}

/**
 * Rows for one measured phase: commits, rows written, rows read and calls between objects per
 * message, each against DESIGN.md's budget for that shape where it sets one; `why` leads the note.
 */
/** The note of an at-rest phase, which is held to no budget (see bench/README.md "What a message costs"). */
export const AT_REST = "every recipient's Inbox writes once per window (INBOX_WRITE_WINDOW_SECONDS), shared by the messages in it; ";

export function costRows(scenario, costs, budget = {}, why = "") {
  if (!costs || costs.error) return [];
  const note = `${why}${costs.messages} messages; calls by class ${JSON.stringify(costs.calls_by_class)}; commits by class ${JSON.stringify(costs.commits_by_class)}`;
  const row = (metric, unit, value, limit) => ({
    scenario,
    metric,
    unit,
    parley: value,
    baseline: limit ?? null,
    baseline_name: limit === undefined ? "—" : "budget (DESIGN.md)",
    ratio: limit === undefined || !value ? null : round(limit / value, 3),
    note: `${limit === undefined ? "" : "ratio = budget/parley: ≥ 1 is within budget; "}${note}`,
  });
  return [
    row("commits per message", "commits", costs.commits, budget.commits),
    row("rows written per message", "rows", costs.rows_written, budget.rowsWritten),
    row("rows read per message", "rows", costs.rows_read),
    row("calls between objects per message", "calls", costs.calls),
  ];
}
