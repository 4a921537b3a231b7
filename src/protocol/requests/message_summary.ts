import { z } from "zod";
import { complete, requireAi } from "../../ai/provider";
import { SUMMARY_LIMITS, summaryPrompt } from "../../ai/prompts";
import { SUMMARY_FILTERS } from "../../domain/conversation-calls";
import { conversationStub } from "../../objects/stubs";
import { actorOf, unwrap } from "../../services/conversations";
import { Errors } from "../../domain/errors";
import { authedRequest } from "../request";

export const messageSummarySchema = z.strictObject({ cid: z.string().min(1), filter: z.enum(SUMMARY_FILTERS).optional() });

/** SAMA's answer when the window holds nothing to summarize (the model is not asked). */
export const NO_MESSAGES = "There are no messages to process in this chat.";

const messageSummaryDoc = {
  summary:
    "A summary, by the configured AI provider, of the messages the caller may read in the filter's window (default: the last 7 days; `unreads`: the caller's unread ones).",
  reply: z.strictObject({ message: z.string() }),
  errors: [Errors.CONVERSATION_NOT_FOUND, Errors.FORBIDDEN, Errors.AI_NOT_CONFIGURED, Errors.AI_TIMEOUT, Errors.AI_AGENT_ERROR],
};

export const messageSummary = authedRequest("message_summary", messageSummarySchema, messageSummaryDoc, async (ctx, params) => {
  // Who may ask comes first (SAMA's 404/403 whatever the configuration), then whether anyone can answer.
  const lines = unwrap(await conversationStub(ctx.env, params.cid).summaryMessages(actorOf(ctx), params.filter ?? "last-7-days", ctx.now));
  const settings = requireAi(ctx.env, (url, init) => fetch(url, init));
  if (lines.length === 0) return { message: NO_MESSAGES };
  return { message: await complete(settings, summaryPrompt(lines), SUMMARY_LIMITS) };
});
