// Turns the measurements into comparable rows {scenario, metric, unit, parley, baseline,
// baseline_name, ratio, note?} and prints them as a table.
import { round } from "./stats.mjs";

// Round trip and group fan-out compare Parley with each of these (bench/baselines/index.ts).
const BASELINES = ["BareRoom", "DurableRoom", "RelayRoom", "LogRelayRoom", "InboxRelayRoom", "DirectRoom", "GatewayRoom"];
const INVERTED_NOTE = "lower is better: ratio = baseline/parley, so higher is still better";

function ratioOf(parley, baseline, better) {
  if (!Number.isFinite(parley) || !Number.isFinite(baseline)) return null;
  const [num, den] = better === "higher" ? [parley, baseline] : [baseline, parley];
  return den > 0 ? round(num / den, 3) : null;
}

/**
 * One row comparing Parley with one baseline (the newer scenarios have one baseline each).
 * `notes` are joined with "; " (the table lists each once), so a note must not contain "; ".
 */
export function compareRow({ scenario, metric, unit, better, parley, baseline, baselineName, notes = [] }) {
  const all = [...(better === "lower" ? [INVERTED_NOTE] : []), ...notes.filter(Boolean)];
  const row = {
    scenario, metric, unit, parley: parley ?? null, baseline: baseline ?? null, baseline_name: baselineName,
    ratio: ratioOf(parley ?? null, baseline ?? null, better),
  };
  if (all.length) row.note = all.join("; ");
  return row;
}

/**
 * One row per baseline for a metric. `pick(result)` reads the value from a target's result;
 * a result with `error` (Parley not able to run it) gives null.
 */
function metricRows({ scenario, metric, unit, better, results, pick, noteFor = () => null }) {
  const value = (name) => {
    const result = results[name];
    return result && result.error === undefined ? (pick(result) ?? null) : null;
  };
  const parley = value("Parley");
  return BASELINES.map((baselineName) => {
    const baseline = value(baselineName);
    const notes = [];
    if (better === "lower") notes.push(INVERTED_NOTE);
    if (results.Parley?.error !== undefined) notes.push(`Parley not measured: ${results.Parley.error}`);
    for (const name of ["Parley", baselineName]) {
      const note = results[name] && results[name].error === undefined ? noteFor(results[name], name) : null;
      if (note) notes.push(note);
    }
    const row = { scenario, metric, unit, parley, baseline, baseline_name: baselineName, ratio: ratioOf(parley, baseline, better) };
    if (notes.length) row.note = notes.join("; ");
    return row;
  });
}

/** Round-trip messages that never arrived or were refused, if any. */
function roundTripNote(result, name) {
  const problems = [];
  if (result.lost) problems.push(`${result.lost} of ${result.messages} messages not received within 5 s`);
  if (result.rejected) problems.push(`${result.rejected} refused`);
  return problems.length ? `${name}: ${problems.join(", ")} (left out of the percentiles)` : null;
}

/** What went missing in the fixed-load phase, if anything. */
function fixedNote(result, name) {
  const { fixed } = result;
  const problems = [];
  if (!fixed.complete) problems.push(`${fixed.delivered}/${fixed.expected} delivered within the drain timeout`);
  if (fixed.rejected) problems.push(`${fixed.rejected} sends refused ${JSON.stringify(fixed.statuses)}`);
  if (fixed.duplicates) problems.push(`${fixed.duplicates} duplicate deliveries`);
  return problems.length ? `${name} at ${fixed.rate} msg/s: ${problems.join(", ")}` : null;
}

/** Why a saturation search stopped, in words. */
function saturationNote(result, name) {
  const { steps, best, stoppedAt } = result.saturation;
  if (!stoppedAt) return `${name} never saturated: every step up to ${steps[steps.length - 1].rate} msg/s passed (a lower bound)`;
  const why = [];
  if (!stoppedAt.complete) why.push(`${stoppedAt.delivered}/${stoppedAt.expected} delivered within the drain timeout`);
  if (stoppedAt.rejected) why.push(`${stoppedAt.rejected} sends refused ${JSON.stringify(stoppedAt.statuses)}`);
  if (stoppedAt.duplicates) why.push(`${stoppedAt.duplicates} duplicate deliveries`);
  if (stoppedAt.p99 !== null && stoppedAt.p99 >= 100) why.push(`p99 ${stoppedAt.p99} ms`);
  // steps[0] is the fixed-load phase; a best below it came from the lower steps.
  const fallback = !best ? " — no rate passed, not even the lower steps" : best.rate < steps[0].rate ? ` — passed at the lower rate ${best.rate} msg/s` : "";
  return `${name} failed at ${stoppedAt.rate} msg/s${why.length ? ` (${why.join(", ")})` : ""}${fallback}`;
}

export function buildRows({ roundTrip, fanout, settings }) {
  const rt = "1:1 round trip, idle server, one message in flight";
  const group = `group fan-out: ${settings.groupSize} members, ${settings.groupSenders} senders`;
  const fixed = `${group}, fixed 10 msg/s for ${settings.fixedSeconds} s`;
  const sat = `${group}, saturation (all delivered, p99 < 100 ms)`;
  const fixedOf = (r) => r.fixed;
  const roundTripRows = roundTrip ? [
    ...metricRows({ scenario: rt, metric: "p50 send→receive", unit: "ms", better: "lower", results: roundTrip, pick: (r) => r.p50, noteFor: roundTripNote }),
    ...metricRows({ scenario: rt, metric: "p99 send→receive", unit: "ms", better: "lower", results: roundTrip, pick: (r) => r.p99, noteFor: roundTripNote }),
  ] : [];
  if (!fanout) return roundTripRows;
  return [
    ...roundTripRows,
    ...metricRows({ scenario: fixed, metric: "delivered", unit: "deliveries/s", better: "higher", results: fanout, pick: (r) => fixedOf(r).deliveries_per_s, noteFor: fixedNote }),
    ...metricRows({ scenario: fixed, metric: "p50 send→receive", unit: "ms", better: "lower", results: fanout, pick: (r) => fixedOf(r).p50 }),
    ...metricRows({ scenario: fixed, metric: "p99 send→receive", unit: "ms", better: "lower", results: fanout, pick: (r) => fixedOf(r).p99 }),
    ...metricRows({ scenario: fixed, metric: "server CPU (workerd)", unit: "% of one core", better: "lower", results: fanout, pick: (r) => fixedOf(r).server_cpu_pct }),
    ...metricRows({
      scenario: sat, metric: "highest offered rate", unit: "msg/s", better: "higher", results: fanout,
      pick: (r) => r.saturation.best?.rate ?? 0, noteFor: saturationNote,
    }),
    ...metricRows({
      scenario: sat, metric: "deliveries at that rate", unit: "deliveries/s", better: "higher", results: fanout,
      pick: (r) => r.saturation.best?.deliveries_per_s ?? 0,
    }),
  ];
}

function cell(value) {
  if (value === null || value === undefined) return "—";
  return typeof value === "number" ? String(value) : value;
}

/** A plain-text table of the rows, notes listed underneath. */
export function formatTable(rows) {
  const header = ["scenario", "metric", "unit", "Parley", "baseline", "value", "ratio"];
  const body = rows.map((r) => [r.scenario, r.metric, r.unit, cell(r.parley), r.baseline_name, cell(r.baseline), cell(r.ratio)]);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((line) => String(line[i]).length)));
  const line = (cells) => cells.map((c, i) => (i >= 3 && i !== 4 ? String(c).padStart(widths[i]) : String(c).padEnd(widths[i]))).join("  ");
  const notes = [...new Set(rows.map((r) => r.note).filter(Boolean).flatMap((n) => n.split("; ")))];
  return [
    line(header),
    widths.map((w) => "-".repeat(w)).join("  "),
    ...body.map(line),
    "",
    ...notes.map((n) => `note: ${n}`),
  ].join("\n");
}
