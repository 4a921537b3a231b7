// The importer behind `npm run import:sama` (scripts/import-sama.mjs reads the files and prints):
// reads each SAMA collection of a mongoexport dump, sends it in batches to POST /admin/import
// in the order the server expects, PUTs file bytes where Parley lacks them, and gathers the report.
// Plain data in, plain data out, so a test drives it against the Worker with an in-memory dump.
import { IMPORTED_COLLECTIONS, NOT_MOVED, type BatchOutcome, type FileUpload, type ImportStep, type Skipped } from "../src/domain/sama-import.ts";

/** The steps in the order the server takes them: each refers only to earlier ones. */
export const STEPS = IMPORTED_COLLECTIONS;
export type Step = ImportStep;

/** The request body stays well under the admin API's 1 MiB limit. */
const BATCH_BYTES = 512 * 1024;
const BATCH_RECORDS = 500;
/** Conversations per history call: each stores and announces a whole history. */
const HISTORY_BATCH = 10;
const RETRIES = 5;

export type ParsedDocument = { ok: true; doc: unknown; where: string } | { ok: false; where: string; reason: string };

export interface CollectionInput {
  documents: AsyncIterable<ParsedDocument>;
  /** For the progress bar, when known. */
  total: number | null;
}

export interface DumpSource {
  /** A collection's documents, or null when the dump has no file for it. */
  open(collection: string): Promise<CollectionInput | null>;
  /** The collection names the dump has files for. */
  collections(): Promise<string[]>;
  /** A file's bytes (from --files-dir), or null when there are none. */
  fileBytes(objectId: string): Promise<Uint8Array | null>;
}

export interface Progress {
  step: Step;
  done: number;
  total: number | null;
  imported: number;
  existing: number;
  skipped: number;
  finished: boolean;
}

export interface ImportOptions {
  url: string;
  adminKey: string;
  dryRun: boolean;
  fetch: (request: Request) => Promise<Response>;
  progress?: (p: Progress) => void;
  /** Test-only: fewer records per batch, so batching is exercised by a small dump. */
  batchRecords?: number;
}

export interface StepReport {
  imported: number;
  existing: number;
  skipped: Skipped[];
}

export interface ImportReport {
  dryRun: boolean;
  steps: Record<Step, StepReport>;
  /** Collections with no file in the dump. */
  missingFiles: string[];
  /** Collections in the dump that do not move. */
  notMoved: string[];
  files: { uploaded: number; present: number; missing: string[]; failed: Skipped[] };
}

export class ImportError extends Error {}

/** Documents of a mongoexport file: one per line, or (`--jsonArray`) one JSON array. */
export async function* documentsOf(chunks: AsyncIterable<string>): AsyncGenerator<ParsedDocument> {
  let buffered = "";
  let lineNo = 0;
  let array: boolean | null = null;
  const parseLine = (line: string): ParsedDocument | null => {
    lineNo++;
    if (line.trim() === "") return null;
    try {
      return { ok: true, doc: JSON.parse(line) as unknown, where: `line ${lineNo}` };
    } catch (err) {
      return { ok: false, where: `line ${lineNo}`, reason: `not JSON: ${err instanceof Error ? err.message : String(err)}` };
    }
  };
  for await (const chunk of chunks) {
    buffered += chunk;
    array ??= buffered.trimStart() === "" ? null : buffered.trimStart().startsWith("[");
    if (array !== false) continue;
    let cut: number;
    while ((cut = buffered.indexOf("\n")) >= 0) {
      const parsed = parseLine(buffered.slice(0, cut));
      buffered = buffered.slice(cut + 1);
      if (parsed) yield parsed;
    }
  }
  if (array === true) {
    let docs: unknown;
    try {
      docs = JSON.parse(buffered) as unknown;
    } catch (err) {
      yield { ok: false, where: "file", reason: `not a JSON array: ${err instanceof Error ? err.message : String(err)}` };
      return;
    }
    if (!Array.isArray(docs)) return;
    for (const [i, doc] of docs.entries()) yield { ok: true, doc, where: `item ${i + 1}` };
    return;
  }
  const last = parseLine(buffered);
  if (last) yield last;
}

/** A document's id for the report: `_id`, `{"$oid": …}`, or null. */
export function idOf(doc: unknown): string | null {
  const id = typeof doc === "object" && doc !== null ? (doc as { _id?: unknown })._id : undefined;
  if (typeof id === "string") return id;
  if (typeof id === "object" && id !== null && typeof (id as { $oid?: unknown }).$oid === "string") return (id as { $oid: string }).$oid;
  return null;
}

/** Every string inside a document (the ids it may refer to). */
function stringsOf(value: unknown, into: Set<string>): void {
  if (typeof value === "string") into.add(value);
  else if (Array.isArray(value)) for (const v of value) stringsOf(v, into);
  else if (typeof value === "object" && value !== null) for (const v of Object.values(value)) stringsOf(v, into);
}

const utf8 = new TextEncoder();

const emptyStep = (): StepReport => ({ imported: 0, existing: 0, skipped: [] });

export async function runImport(source: DumpSource, options: ImportOptions): Promise<ImportReport> {
  const report: ImportReport = {
    dryRun: options.dryRun,
    steps: Object.fromEntries(STEPS.map((s) => [s, emptyStep()])) as Record<Step, StepReport>,
    missingFiles: [],
    notMoved: [],
    files: { uploaded: 0, present: 0, missing: [], failed: [] },
  };
  const present = new Set(await source.collections());
  report.notMoved = Object.keys(NOT_MOVED).filter((name) => present.has(name));
  /** Ids accepted so far: what later steps may refer to in a dry run, and the conversations for the history step. */
  const known = new Set<string>();
  const conversations: string[] = [];
  const api = new Api(options);

  for (const step of STEPS) {
    const stepReport = report.steps[step];
    const progress = (done: number, total: number | null, finished = false) =>
      options.progress?.({ step, done, total, imported: stepReport.imported, existing: stepReport.existing, skipped: stepReport.skipped.length, finished });
    const record = (outcome: BatchOutcome) => {
      stepReport.imported += outcome.imported;
      stepReport.existing += outcome.existing;
      stepReport.skipped.push(...outcome.skipped);
      for (const id of outcome.accepted) known.add(id);
    };
    if (step === "history") {
      for (let i = 0; i < conversations.length; i += HISTORY_BATCH) {
        const cids = conversations.slice(i, i + HISTORY_BATCH);
        record(await api.send(step, cids, options.dryRun ? cids : null));
        progress(Math.min(i + HISTORY_BATCH, conversations.length), conversations.length);
      }
      progress(conversations.length, conversations.length, true);
      continue;
    }
    const input = await source.open(step);
    if (input === null) {
      report.missingFiles.push(step);
      continue;
    }
    let done = 0;
    let batch: Array<{ doc: unknown; size: number }> = [];
    let bytes = 0;
    const flush = async () => {
      if (batch.length === 0) return;
      const docs = batch.map((b) => b.doc);
      let knownHere: string[] | null = null;
      if (options.dryRun) {
        const referenced = new Set<string>();
        stringsOf(docs, referenced);
        knownHere = [...referenced].filter((s) => known.has(s));
      }
      const outcome = await api.send(step, docs, knownHere);
      record(outcome);
      if (step === "conversations") conversations.push(...outcome.accepted);
      if (step === "files") await transferFiles(source, options, docs, outcome, report);
      done += batch.length;
      batch = [];
      bytes = 0;
      progress(done, input.total);
    };
    for await (const parsed of input.documents) {
      if (!parsed.ok) {
        stepReport.skipped.push({ id: parsed.where, reason: parsed.reason });
        done++;
        continue;
      }
      const size = utf8.encode(JSON.stringify(parsed.doc)).byteLength; // the body limit counts bytes
      if (size > BATCH_BYTES) {
        stepReport.skipped.push({ id: idOf(parsed.doc) ?? parsed.where, reason: `the document is larger than a batch (${size} bytes)` });
        done++;
        continue;
      }
      if (bytes + size > BATCH_BYTES || batch.length >= (options.batchRecords ?? BATCH_RECORDS)) await flush();
      batch.push({ doc: parsed.doc, size });
      bytes += size;
    }
    await flush();
    progress(done, input.total, true);
  }
  return report;
}

/** After a files batch: PUTs the bytes Parley lacks from the files directory (a dry run only checks they are there). */
async function transferFiles(source: DumpSource, options: ImportOptions, docs: unknown[], outcome: BatchOutcome, report: ImportReport): Promise<void> {
  const objectIdOf = new Map<string, string>();
  for (const doc of docs) {
    const id = idOf(doc);
    const objectId = (doc as { object_id?: unknown }).object_id;
    if (id !== null && typeof objectId === "string") objectIdOf.set(id, objectId);
  }
  if (options.dryRun) {
    for (const id of outcome.accepted) {
      const objectId = objectIdOf.get(id);
      if (objectId !== undefined && (await source.fileBytes(objectId)) === null) report.files.missing.push(objectId);
    }
    return;
  }
  const uploads: FileUpload[] = outcome.uploads ?? [];
  report.files.present += outcome.accepted.length - uploads.length;
  for (const upload of uploads) {
    const bytes = await source.fileBytes(upload.object_id);
    if (bytes === null) {
      report.files.missing.push(upload.object_id);
      continue;
    }
    const res = await options.fetch(
      new Request(upload.url, { method: "PUT", headers: { "Content-Type": upload.content_type, "Content-Length": String(bytes.byteLength) }, body: bytes }),
    );
    if (res.ok || res.status === 409) report.files.uploaded++;
    else report.files.failed.push({ id: upload.object_id, reason: `upload answered ${res.status}: ${(await res.text()).slice(0, 200)}` });
  }
}

/** The admin API, with retries for what a retry can fix (the network, a 5xx). */
class Api {
  private readonly options: ImportOptions;

  constructor(options: ImportOptions) {
    this.options = options;
  }

  async send(step: Step, records: unknown[], known: string[] | null): Promise<BatchOutcome> {
    const body = JSON.stringify({ collection: step, records, dry_run: this.options.dryRun, ...(known && known.length > 0 ? { known } : {}) });
    for (let attempt = 1; ; attempt++) {
      let res: Response | null = null;
      let failure: string;
      try {
        res = await this.options.fetch(
          new Request(`${this.options.url.replace(/\/+$/, "")}/admin/import`, {
            method: "POST",
            headers: { "Content-Type": "application/json", "admin-api-key": this.options.adminKey },
            body,
          }),
        );
        if (res.ok) return (await res.json()) as BatchOutcome;
        failure = `${res.status} ${(await res.text()).slice(0, 300)}`;
      } catch (err) {
        failure = err instanceof Error ? err.message : String(err);
      }
      if (res !== null && res.status === 401) throw new ImportError(`the admin key was refused (${failure}): pass --admin-key or set ADMIN_API_KEY`);
      if ((res !== null && res.status < 500) || attempt >= RETRIES) throw new ImportError(`${step}: the server answered ${failure}`);
      await new Promise((resolve) => setTimeout(resolve, 500 * 2 ** attempt));
    }
  }
}

/** The closing report: counts per step, then every record skipped with its id and reason. */
export function formatReport(report: ImportReport): string {
  const lines: string[] = [report.dryRun ? "Dry run: nothing was written. Counts say what an import would do." : "Import finished."];
  lines.push("", `${"collection".padEnd(28)}${"imported".padStart(10)}${"existing".padStart(10)}${"skipped".padStart(10)}`);
  for (const step of STEPS) {
    const s = report.steps[step];
    const name = step === "history" ? "history (conversations)" : step;
    lines.push(`${name.padEnd(28)}${String(s.imported).padStart(10)}${String(s.existing).padStart(10)}${String(s.skipped.length).padStart(10)}`);
  }
  const f = report.files;
  lines.push("", `file bytes: ${f.uploaded} uploaded, ${f.present} already there, ${f.missing.length} missing, ${f.failed.length} failed`);
  if (report.missingFiles.length > 0) lines.push(`no file in the dump (skipped): ${report.missingFiles.map((c) => `${c}.json`).join(", ")}`);
  for (const name of report.notMoved) lines.push(`not moved: ${name}.json: ${NOT_MOVED[name] ?? ""}`);
  for (const objectId of f.missing) lines.push(`missing bytes: ${objectId}`);
  for (const { id, reason } of f.failed) lines.push(`failed upload: ${id}: ${reason}`);
  const skipped = STEPS.flatMap((step) => report.steps[step].skipped.map((s) => `${step} ${s.id}: ${s.reason}`));
  if (skipped.length > 0) lines.push("", `Skipped (${skipped.length}):`, ...skipped.map((s) => `  ${s}`));
  return lines.join("\n");
}
