// POST /admin/import: one batch of a SAMA collection, as mongoexport wrote it (Extended
// JSON, canonical or relaxed), validated record by record; `npm run import:sama` sends every
// collection through here in IMPORTED_COLLECTIONS' order. A record that breaks a rule is answered
// in `skipped` with its id and the reason, never stops the rest; `dry_run` validates and writes nothing.
import { z } from "zod";
import { Errors } from "../../../domain/errors";
import { fromExtendedJson } from "../../../domain/extended-json";
import { IMPORTED_COLLECTIONS, type BatchOutcome, type ImportStep, type Skipped } from "../../../domain/sama-import";
import { parseParams, validate } from "../../../protocol/validation";
import type { ImportContext } from "../../../services/sama-import/context";
import * as directory from "../../../services/sama-import/directory";
import * as history from "../../../services/sama-import/history";
import { readJsonBody } from "../../body";
import { documented } from "../../documented";
import { withErrors } from "../../responses";
import { serviceDeps } from "../../types";
import * as records from "./import-records";

/** Records per batch: the admin body limit (1 MiB) is what usually ends a batch first. */
export const MAX_BATCH_RECORDS = 1000;

const bodySchema = z.strictObject({
  collection: z.string().pipe(z.enum(IMPORTED_COLLECTIONS)).meta({ description: "The SAMA collection (or the `history` step)" }),
  records: z.array(z.unknown()).max(MAX_BATCH_RECORDS).meta({ description: "Documents of the collection (for `history`: conversation ids)" }),
  dry_run: z.boolean().default(false).meta({ description: "Validate only: nothing is written" }),
  known: z
    .array(z.string())
    .max(10 * MAX_BATCH_RECORDS)
    .default([])
    .meta({ description: "Dry run: ids the same run accepted in earlier batches, which count as present (nothing was written)" }),
});

const outcomeResponse = z.object({
  imported: z.number().int().meta({ description: "Records written (in a dry run: that would be)" }),
  existing: z.number().int().meta({ description: "Records already there (an import run twice writes nothing twice)" }),
  skipped: z.array(z.object({ id: z.string(), reason: z.string() })),
  accepted: z.array(z.string()).meta({ description: "Ids of the records imported or already there" }),
  uploads: z
    .array(z.object({ object_id: z.string(), url: z.string(), size: z.number().int(), content_type: z.string() }))
    .optional()
    .meta({ description: "files: where to PUT the bytes Parley does not have yet" }),
});

/** A collection's step: its record schema and the service that writes the valid records. */
function step<S extends z.ZodType>(schema: S, run: (ctx: ImportContext, valid: Array<z.output<S>>) => Promise<BatchOutcome>) {
  return async (ctx: ImportContext, raw: unknown[]): Promise<BatchOutcome> => {
    const valid: Array<z.output<S>> = [];
    const skipped: Skipped[] = [];
    raw.forEach((doc, index) => {
      const plain = fromExtendedJson(doc);
      const result = validate(schema, plain);
      if (result.ok) valid.push(result.data);
      else skipped.push({ id: idOf(plain) ?? `#${index}`, reason: result.message });
    });
    const outcome = await run(ctx, valid);
    outcome.skipped.unshift(...skipped);
    return outcome;
  };
}

/** A document's _id for the report (a history record is the id itself). */
function idOf(doc: unknown): string | null {
  if (typeof doc === "string") return doc;
  const id = typeof doc === "object" && doc !== null ? (doc as { _id?: unknown })._id : undefined;
  return typeof id === "string" ? id : id === undefined ? null : JSON.stringify(id);
}

const STEPS: Record<ImportStep, (ctx: ImportContext, raw: unknown[]) => Promise<BatchOutcome>> = {
  organizations: step(records.organizationSchema, directory.importOrganizations),
  users: step(records.userSchema, directory.importUsers),
  files: step(records.fileSchema, directory.importFiles),
  conversations: step(records.conversationSchema, directory.importConversations),
  conversations_participants: step(records.participantSchema, directory.importParticipants),
  conversation_handlers: step(records.handlerSchema, directory.importHandlers),
  contacts: step(records.contactSchema, directory.importContacts),
  blocked_users: step(records.blockSchema, directory.importBlocks),
  push_subscriptions: step(records.pushSubscriptionSchema, directory.importPushSubscriptions),
  messages: step(records.messageSchema, history.importMessages),
  message_statuses: step(records.statusSchema, history.importStatuses),
  history: step(records.historySchema, history.importHistory),
  message_reactions: step(records.reactionSchema, history.importReactions),
};

export const adminImport = documented({
  method: "post",
  path: "/admin/import",
  tag: "Admin",
  admin: true,
  summary: "Import a batch of a SAMA collection",
  description:
    "What `npm run import:sama` sends: documents of one SAMA collection as `mongoexport` writes them (Extended JSON), " +
    "keeping SAMA's ids. Collections go in this order: " +
    IMPORTED_COLLECTIONS.join(", ") +
    " (`history` names conversations: their staged messages and statuses become their history, and participants' conversation lists follow). " +
    "Records already there are counted as `existing`; a record that breaks a rule is listed in `skipped` with the reason and the rest go on.",
  body: bodySchema,
  example: { collection: "organizations", records: [{ _id: { $oid: "6827091e2d046404b8ff24ae" }, name: "Acme", created_at: { $date: "2025-05-16T09:45:02.995Z" } }], dry_run: true },
  responses: withErrors({ 200: { description: "The batch's outcome", json: outcomeResponse } }, [Errors.UNAUTHORIZED]),
  handle: async (c) => {
    const body = parseParams(bodySchema, await readJsonBody(c));
    const ctx: ImportContext = {
      deps: serviceDeps(c),
      env: c.env,
      dryRun: body.dry_run,
      known: new Set(body.dry_run ? body.known : []),
      origin: new URL(c.req.url).origin,
    };
    return c.json(await STEPS[body.collection](ctx, body.records));
  },
});
