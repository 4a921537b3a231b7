import { z } from "zod";
import { complete, requireAi } from "../../ai/provider";
import { TONE_LIMITS, TONE_MAX_INPUT_CHARS, TONES, tonePrompt } from "../../ai/prompts";
import { authedRequest } from "../request";

export const messageToneSchema = z.strictObject({ body: z.string().min(1).max(TONE_MAX_INPUT_CHARS), tone: z.enum(TONES).optional() });

/** The text rewritten in the asked tone (default positive); nothing is stored or sent to anyone. */
export const messageTone = authedRequest("message_tone", messageToneSchema, async (ctx, params) => ({
  message: await complete(requireAi(ctx.env, (url, init) => fetch(url, init)), tonePrompt(params.body, params.tone ?? "positive"), TONE_LIMITS),
}));
