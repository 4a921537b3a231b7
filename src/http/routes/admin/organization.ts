import { Hono } from "hono";
import { z } from "zod";
import { parseParams } from "../../../protocol/validation";
import { createOrganization } from "../../../services/organizations";
import { readJsonBody } from "../../body";
import { serviceDeps, type AppEnv } from "../../types";
import { timestamps } from "../../../domain/timestamps";

const schema = z.strictObject({ name: z.string().min(1).max(255) });

/** POST /admin/organization: a new tenant, with its bot user. */
export const adminOrganization = new Hono<AppEnv>().post("/admin/organization", async (c) => {
  const { name } = parseParams(schema, await readJsonBody(c));
  const org = await createOrganization(serviceDeps(c), name);
  return c.json({
    organization: {
      _id: org.id,
      name: org.name,
      ...timestamps(org),
    },
  });
});
