// The collections that live in Conversation objects (messages, read statuses, reactions) and the
// history step that turns each conversation's staged messages into its record (conversation-import.ts).
import { eq } from "drizzle-orm";
import { conversationParticipants, messages, users } from "../../db/schema";
import { displayName } from "../../domain/conversation";
import { emptyOutcome, type BatchOutcome, type StageOutcome } from "../../domain/sama-import";
import { conversationStub } from "../../objects/stubs";
import { isBlockedPair } from "../blocks";
import { botUserId, findHandler } from "../conversation-handlers";
import { findConversationMeta } from "../conversations";
import { inList, type ImportContext } from "./context";
import { channelCountStatement, presentConversations } from "./directory";
import type { MessageRecord, ReactionRecord, StatusRecord } from "./records";

/** Adds a Conversation object's answer to the batch's. */
function merge(outcome: BatchOutcome, part: StageOutcome): void {
  outcome.imported += part.imported.length;
  outcome.existing += part.existing.length;
  outcome.skipped.push(...part.skipped);
  outcome.accepted.push(...part.imported, ...part.existing);
}

function byConversation<R extends { cid: string }>(records: R[]): Map<string, R[]> {
  const groups = new Map<string, R[]>();
  for (const r of records) groups.set(r.cid, [...(groups.get(r.cid) ?? []), r]);
  return groups;
}

/**
 * Splits records by conversation: those of conversations that were not imported (or, for records
 * that say so, of another organization) are skipped; `stored` tells which conversations Parley has
 * (the others were only accepted earlier in this dry run).
 */
async function routed<R extends { id: string; cid: string; organizationId?: string | null }>(
  ctx: ImportContext,
  records: R[],
  outcome: BatchOutcome,
): Promise<Array<{ cid: string; stored: boolean; records: R[] }>> {
  const convs = await presentConversations(ctx, records.map((r) => r.cid));
  const groups: Array<{ cid: string; stored: boolean; records: R[] }> = [];
  for (const [cid, group] of byConversation(records)) {
    const conv = convs.get(cid);
    const fits = group.filter((r) => {
      const reason = !conv
        ? `"cid" names a conversation that was not imported (${cid})`
        : r.organizationId && conv.organizationId !== null && r.organizationId !== conv.organizationId
          ? `"organization_id" differs from the conversation's (${conv.organizationId})`
          : null;
      if (reason) outcome.skipped.push({ id: r.id, reason });
      return reason === null;
    });
    if (conv && fits.length > 0) groups.push({ cid, stored: conv.organizationId !== null, records: fits });
  }
  return groups;
}

export async function importMessages(ctx: ImportContext, records: MessageRecord[]): Promise<BatchOutcome> {
  const outcome = emptyOutcome();
  for (const { cid, stored, records: group } of await routed(ctx, records, outcome)) {
    if (!stored) merge(outcome, { imported: group.map((m) => m.id), existing: [], skipped: [] });
    else merge(outcome, await conversationStub(ctx.env, cid).importMessages(group.map(({ organizationId: _, ...m }) => m), ctx.dryRun));
  }
  return outcome;
}

export async function importStatuses(ctx: ImportContext, records: StatusRecord[]): Promise<BatchOutcome> {
  const outcome = emptyOutcome();
  for (const { cid, stored, records: group } of await routed(ctx, records, outcome)) {
    const knownMids = group.map((s) => s.mid).filter((mid) => ctx.known.has(mid));
    if (!stored) {
      for (const s of group) if (!knownMids.includes(s.mid)) outcome.skipped.push({ id: s.id, reason: `"mid" names a message that was not imported (${s.mid})` });
      merge(outcome, { imported: group.filter((s) => knownMids.includes(s.mid)).map((s) => s.id), existing: [], skipped: [] });
    } else {
      merge(outcome, await conversationStub(ctx.env, cid).importStatuses(group.map(({ cid: _, ...s }) => s), ctx.dryRun, knownMids));
    }
  }
  return outcome;
}

/** The history step for each named conversation: its participants, blocks and handler from D1, then the object stores its staged history. */
export async function importHistory(ctx: ImportContext, cids: string[]): Promise<BatchOutcome> {
  const outcome = emptyOutcome();
  const { db } = ctx.deps;
  for (const cid of [...new Set(cids)]) {
    const orgRow = (await presentConversations(ctx, [cid])).get(cid);
    if (!orgRow) {
      outcome.skipped.push({ id: cid, reason: "the conversation was not imported" });
      continue;
    }
    if (ctx.dryRun || orgRow.organizationId === null) {
      outcome.imported++;
      outcome.accepted.push(cid);
      continue;
    }
    const meta = (await findConversationMeta(ctx.deps, orgRow.organizationId, cid))!;
    const rows = await db
      .select({
        userId: conversationParticipants.userId,
        role: conversationParticipants.role,
        addedAt: conversationParticipants.createdAt,
        login: users.login,
        firstName: users.firstName,
        lastName: users.lastName,
      })
      .from(conversationParticipants)
      .innerJoin(users, eq(users.id, conversationParticipants.userId))
      .where(eq(conversationParticipants.conversationId, cid))
      .orderBy(conversationParticipants.createdAt, conversationParticipants.userId)
      .all();
    // The longest-standing participant first: ownership passes to them if the owner leaves.
    const participants = rows.map((r) => ({ userId: r.userId, role: r.role, name: displayName(r), addedAt: r.addedAt }));
    const blocked = meta.type === "u" && meta.opponentId !== null && (await isBlockedPair(ctx.deps, meta.ownerId, meta.opponentId));
    const handler = await findHandler(ctx.deps, cid);
    const config = handler === null ? null : { content: handler.content, botId: await botUserId(ctx.deps, meta.organizationId), version: handler.updatedAt };
    let changed = false;
    for (let more = true; more; ) {
      const result = await conversationStub(ctx.env, cid).importHistory({ meta, participants, blocked }, config);
      changed ||= result.messages + result.statuses > 0;
      more = result.more;
    }
    if (meta.type === "c") await db.batch([channelCountStatement(ctx, cid, participants.length)]);
    if (changed) outcome.imported++;
    else outcome.existing++;
    outcome.accepted.push(cid);
  }
  return outcome;
}

/** Reactions name a message only: its conversation comes from the record, else from the D1 copy the history step wrote. */
export async function importReactions(ctx: ImportContext, records: ReactionRecord[]): Promise<BatchOutcome> {
  const outcome = emptyOutcome();
  const unplaced = records.filter((r) => r.cid === null).map((r) => r.mid);
  const rows = unplaced.length === 0 ? [] : await ctx.deps.db.select({ id: messages.id, cid: messages.cid }).from(messages).where(inList(messages.id, unplaced)).all();
  const cidOf = new Map(rows.map((r) => [r.id, r.cid]));
  const placed: Array<ReactionRecord & { cid: string }> = [];
  for (const r of records) {
    const cid = r.cid ?? cidOf.get(r.mid) ?? null;
    if (cid !== null) placed.push({ ...r, cid });
    else if (ctx.dryRun && ctx.known.has(r.mid)) merge(outcome, { imported: [r.id], existing: [], skipped: [] });
    else outcome.skipped.push({ id: r.id, reason: `"mid" names a message that was not imported (${r.mid})` });
  }
  for (const { cid, stored, records: group } of await routed(ctx, placed, outcome)) {
    if (!stored) merge(outcome, { imported: group.map((r) => r.id), existing: [], skipped: [] });
    else merge(outcome, await conversationStub(ctx.env, cid).importReactions(group.map(({ cid: _, ...r }) => r), ctx.dryRun));
  }
  return outcome;
}

