import { z } from "zod";
import { Errors } from "../../../domain/errors";
import { metrics, OBJECT_CLASSES } from "../../../objects/metrics";
import { documented } from "../../documented";
import { withErrors } from "../../responses";

const meter = z.object({
  commits: z.number().int().meta({ description: "Turns that wrote storage (each one implicit transaction)" }),
  rowsWritten: z.number().int().meta({ description: "Rows written, as the SQL cursors counted them" }),
  rowsRead: z.number().int().meta({ description: "Rows read, as the SQL cursors counted them" }),
  calls: z.number().int().meta({ description: "Calls received from the Worker or other objects" }),
  starts: z.number().int().meta({ description: "Instances constructed (a start after an eviction reloads the object's memory)" }),
});

const metricsResponse = z.object({
  objects: z.object(Object.fromEntries(OBJECT_CLASSES.map((c) => [c, meter])) as Record<(typeof OBJECT_CLASSES)[number], typeof meter>),
});

/** GET /admin/metrics: what Durable Objects bill, counted in this isolate (the benchmark's per-message costs). */
export const adminMetrics = documented({
  method: "get",
  path: "/admin/metrics",
  tag: "Admin",
  admin: true,
  summary: "Commits, rows written and read, and calls, per Durable Object class",
  description:
    "Counters since this isolate started. `wrangler dev` runs the Worker and every object in one isolate, so locally these " +
    "are the whole server's totals (the benchmark divides their growth by the messages sent); on Cloudflare each isolate " +
    "counts only the objects it ran.",
  responses: withErrors({ 200: { description: "The counters", json: metricsResponse } }, [Errors.UNAUTHORIZED]),
  handle: async (c) => c.json({ objects: metrics() }),
});
