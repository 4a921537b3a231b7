import { z } from "zod";
import { publicRequest } from "../request";

// Answered as SAMA does, with no auth and no validation.
export const ping = publicRequest("ping", z.unknown(), async () => ({ pong: {} }));
