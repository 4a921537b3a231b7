import { z } from "zod";
import { publicRequest } from "../request";

const pingDoc = {
  summary: "Answers `pong`; needs no sign-in and reads no params.",
  reply: z.strictObject({ pong: z.strictObject({}) }),
  errors: [],
};

// Answered as SAMA does, with no auth and no validation.
export const ping = publicRequest("ping", z.unknown(), pingDoc, async () => ({ pong: {} }));
