import { z } from "zod";
import { documented } from "../documented";

export const health = documented({
  method: "get",
  path: "/health",
  tag: "Server",
  summary: "Liveness",
  responses: { 200: { description: "Up; `hostname` is the host of the request URL", json: z.object({ status: z.literal("ok"), hostname: z.string() }) } },
  handle: (c) => c.json({ status: "ok", hostname: new URL(c.req.url).hostname }),
});
