// message_summary's input, read where the messages are: only what the caller may read here (a
// participant of a group or private chat; not deleted for them; not an encrypted chat, whose bodies
// are ciphertext and must not reach a third party), in the filter's window, with the authors' names.
import { fail, ok, type Actor, type Result, type SummaryFilter, type SummaryLine } from "../domain/conversation-calls";
import { Errors } from "../domain/errors";
import type { ConversationStore } from "./conversation-store";

/** The most messages one summary reads (the newest of the window). */
export const SUMMARY_MAX_MESSAGES = 200;

const DAY_MS = 24 * 3600 * 1000;

export function summaryMessages(store: ConversationStore, actor: Actor, filter: SummaryFilter, now: number): Result<SummaryLine[]> {
  const refused = store.memberError(actor);
  if (refused) return fail(refused);
  const meta = store.readMeta()!;
  // SAMA refuses channels; an encrypted chat's bodies are ciphertext the server must not hand on.
  if (meta.type === "c" || meta.isEncrypted) return fail(Errors.FORBIDDEN);
  const me = store.participantRow(actor.userId)!;
  const rows =
    filter === "unreads"
      ? store.readableMessages(actor.userId, 0, me.read_seq, true, SUMMARY_MAX_MESSAGES)
      : store.readableMessages(actor.userId, now - (filter === "last-day" ? 1 : 7) * DAY_MS, 0, false, SUMMARY_MAX_MESSAGES);
  // Authors who left keep a neutral name: their profile is not the summary's business.
  const names = new Map(store.participants().map((p) => [p.user_id, p.name]));
  return ok(rows.map((r) => ({ name: names.get(r.from_id) ?? "A former member", body: r.body!, t: r.t })));
}
