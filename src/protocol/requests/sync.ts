import { z } from "zod";
import { inboxOf } from "../../objects/stubs";
import { authedRequest } from "../request";

const schema = z.strictObject({ since: z.number().int().min(0).optional() });

/**
 * Parley's catch-up: the caller's events after `since` (their last seen `event_seq`), or from the
 * oldest retained one. A changed `epoch` means the log was truncated: reload lists instead.
 */
export const sync = authedRequest("sync", schema, async (ctx, params) => {
  const page = await inboxOf(ctx.env, ctx.session.organizationId, ctx.session.userId).sync(params.since ?? null);
  const events = page.events.map((e) => ({ event_seq: e.event_seq, packet: JSON.parse(e.packet) as unknown }));
  return { events, event_seq: page.event_seq, has_more: page.has_more, epoch: page.epoch, truncated: page.truncated };
});
