// Splits the runtime's own CPU samples by the kind of event the thread was in: what the profiler
// (JavaScript only) cannot show. Record workerd during a benchmark step, then split per message:
//   perf record -F 999 -g -p <workerd pid> -o /tmp/w.data -- sleep 8
//   perf script -i /tmp/w.data > /tmp/w.txt
//   node bench/perf-events.mjs /tmp/w.txt <messages in those 8 s>
// At 999 Hz a sample is about 1 ms of CPU (docs/performance.md, session 11).
import { readFileSync } from "node:fs";

const [file, messagesArg] = process.argv.slice(2);
if (!file || !messagesArg) throw new Error("usage: node bench/perf-events.mjs <perf script output> <messages>");
const messages = Number(messagesArg);

/** The first that a sample's stack holds names its event (workerd's own function names). */
const KINDS = [
  ["incoming calls between objects", "JsRpcTargetBase"],
  ["answers to calls (the caller after its await)", "resumeAfterIo"],
  ["timers", "TimeoutManager"],
  ["socket messages", "HibernatableWebSocket"],
  ["alarms", "runAlarm"],
  ["commits", "startImplicitTxnImpl"],
  ["other JavaScript entries", "runInContextScope"],
];
/** Across events: what the samples' stacks spend on (the first match counts). */
const PARTS = [
  ["commit (WAL write, fsync)", ["startImplicitTxnImpl", "commitImpl", "do_fsync", "vdbeCommit"]],
  ["garbage collection", ["Heap::CollectGarbage", "Scavenge", "cppgc::", "MarkCompact", "ConcurrentMarking", "Sweeper"]],
  ["SQL statements", ["SqlStorage::exec", "sqlite3"]],
  ["call arguments (de)serialized", ["ValueSerializer", "ValueDeserializer"]],
  ["WebSocket frames", ["api::WebSocket::"]],
];

const samples = readFileSync(file, "utf8").split("\n\n").filter((s) => s.trim().split("\n").length > 1);
const byKind = new Map();
const byPart = new Map();
const add = (map, key) => map.set(key, (map.get(key) ?? 0) + 1);
for (const stack of samples) {
  add(byKind, KINDS.find(([, key]) => stack.includes(key))?.[0] ?? "outside any event (event loop, kernel, other threads)");
  add(byPart, PARTS.find(([, keys]) => keys.some((k) => stack.includes(k)))?.[0] ?? "the rest (runtime, JavaScript)");
}
const print = (title, map) => {
  console.log(title);
  for (const [name, n] of [...map].sort((a, b) => b[1] - a[1])) {
    console.log(`  ${(n / messages).toFixed(3)} ms/message  ${((100 * n) / samples.length).toFixed(1).padStart(5)}%  ${name}`);
  }
};
print("by event", byKind);
print("by part", byPart);
console.log(`  ${(samples.length / messages).toFixed(3)} ms/message in all (${samples.length} samples)`);
