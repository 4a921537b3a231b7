import { Hono } from "hono";
import type { AppEnv } from "../types";

export const health = new Hono<AppEnv>().get("/health", (c) =>
  c.json({ status: "ok", hostname: new URL(c.req.url).hostname }),
);
