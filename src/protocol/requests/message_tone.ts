import { z } from "zod";
import { complete, requireAi } from "../../ai/provider";
import { TONE_LIMITS, TONE_MAX_INPUT_CHARS, TONES, tonePrompt } from "../../ai/prompts";
import { Errors } from "../../domain/errors";
import { authedRequest } from "../request";

export const messageToneSchema = z.strictObject({ body: z.string().min(1).max(TONE_MAX_INPUT_CHARS), tone: z.enum(TONES).optional() });

const messageToneDoc = {
  summary: "The text rewritten in the asked tone (default positive) by the configured AI provider; nothing is stored or sent to anyone.",
  reply: z.strictObject({ message: z.string() }),
  errors: [Errors.AI_NOT_CONFIGURED, Errors.AI_TIMEOUT, Errors.AI_AGENT_ERROR],
};

export const messageTone = authedRequest("message_tone", messageToneSchema, messageToneDoc, async (ctx, params) => ({
  message: await complete(requireAi(ctx.env, (url, init) => fetch(url, init)), tonePrompt(params.body, params.tone ?? "positive"), TONE_LIMITS),
}));
