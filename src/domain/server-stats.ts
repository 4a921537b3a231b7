// Arithmetic of GET /admin/server-stats: the completed time windows it counts and the uptime text.

export interface Window {
  /** Unix seconds, inclusive. */
  from: number;
  /** Unix seconds, exclusive. */
  to: number;
}

/** The last completed window of `seconds` before `nowMs` (minutes, hours and days aligned to UTC). */
export function previousWindow(nowMs: number, seconds: number): Window {
  const to = Math.floor(nowMs / 1000 / seconds) * seconds;
  return { from: to - seconds, to };
}

/** The smallest object id made at `seconds` or later: ids start with their creation second (8 hex digits). */
export function objectIdAt(seconds: number): string {
  return seconds.toString(16).padStart(8, "0") + "0".repeat(16);
}

/** SAMA's human-readable uptime: "20m 34s", "3h 0m 5s", "2d 1h 0m 0s". */
export function formatUptime(totalSeconds: number): string {
  const s = Math.max(0, Math.floor(totalSeconds));
  const parts: Array<[number, string]> = [
    [Math.floor(s / 86400), "d"],
    [Math.floor((s % 86400) / 3600), "h"],
    [Math.floor((s % 3600) / 60), "m"],
  ];
  const first = parts.findIndex(([n]) => n > 0);
  const shown = first === -1 ? [] : parts.slice(first);
  return [...shown.map(([n, unit]) => `${n}${unit}`), `${s % 60}s`].join(" ");
}
