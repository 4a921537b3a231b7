import * as shapes from "../shapes";
import { z } from "zod";
import { inboxOf } from "../../objects/stubs";
import { Errors } from "../../domain/errors";
import { date } from "../fields";
import { authedRequest } from "../request";
import { samaMessage } from "../validation";

const schema = z
  .strictObject({
    created_at: z.strictObject({ gt: date.optional(), lt: date.optional() }, samaMessage(Errors.LOG_TIMESTAMP_MISSED)),
  })
  .superRefine((p, ctx) => {
    if ((p.created_at.gt === undefined) === (p.created_at.lt === undefined)) ctx.addIssue({ code: "custom", message: Errors.LOG_TIMESTAMP_MISSED.message });
  });

const opLogListDoc = {
  summary:
    "SAMA's offline log: the caller's logged packets after `gt` (or before `lt`), at most 100, as a plain response.",
  reply: z.strictObject({ logs: z.array(shapes.logEntry) }),
  errors: [Errors.LOG_TIMESTAMP_MISSED],
};

export const opLogList = authedRequest("op_log_list", schema, opLogListDoc, async (ctx, params) => {
  const logs = await inboxOf(ctx.env, ctx.session.organizationId, ctx.session.userId).operationLog(ctx.session.userId, params.created_at);
  return { logs };
});
