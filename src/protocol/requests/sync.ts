import { z } from "zod";
import { inboxOf } from "../../objects/stubs";
import { authedRequest } from "../request";

const schema = z.strictObject({ since: z.number().int().min(0).optional() });

const syncDoc = {
  summary:
    "Parley's catch-up: the caller's events after `since` (their last seen `event_seq`), or from the oldest retained one. A changed `epoch` means the log was truncated: reload lists instead.",
  reply: z.strictObject({ events: z.array(z.strictObject({ event_seq: z.number().int(), packet: z.looseObject({}).meta({ description: "A server packet, as it was pushed" }) })), event_seq: z.number().int().meta({ description: "The cursor to keep" }), has_more: z.boolean(), epoch: z.string().meta({ description: "Changes when the log was reset: reload lists" }), truncated: z.boolean().meta({ description: "Events after `since` were lost: reload lists" }) }),
  errors: [],
};

export const sync = authedRequest("sync", schema, syncDoc, async (ctx, params) => {
  const page = await inboxOf(ctx.env, ctx.session.organizationId, ctx.session.userId).sync(params.since ?? null);
  const events = page.events.map((e) => ({ event_seq: e.event_seq, packet: JSON.parse(e.packet) as unknown }));
  return { events, event_seq: page.event_seq, has_more: page.has_more, epoch: page.epoch, truncated: page.truncated };
});
