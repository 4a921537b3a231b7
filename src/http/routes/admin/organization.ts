import { z } from "zod";
import { timestamps } from "../../../domain/timestamps";
import { Errors } from "../../../domain/errors";
import { parseParams } from "../../../protocol/validation";
import { createOrganization } from "../../../services/organizations";
import { readJsonBody } from "../../body";
import { documented } from "../../documented";
import { isoDate, withErrors } from "../../responses";
import { serviceDeps } from "../../types";

const schema = z.strictObject({ name: z.string().min(1).max(255) });

const organizationResponse = z.object({
  organization: z.object({ _id: z.string(), name: z.string(), created_at: isoDate, updated_at: isoDate }),
});

/** POST /admin/organization: a new tenant, with its bot user. */
export const adminOrganization = documented({
  method: "post",
  path: "/admin/organization",
  tag: "Admin",
  admin: true,
  summary: "Create an organization",
  description: "A new tenant, with its bot user `server-chat-bot` (which cannot log in). Names are unique.",
  body: schema,
  example: { name: "Acme" },
  responses: withErrors({ 200: { description: "Created", json: organizationResponse } }, [Errors.UNAUTHORIZED, Errors.ORG_NAME_TAKEN]),
  handle: async (c) => {
    const { name } = parseParams(schema, await readJsonBody(c));
    const org = await createOrganization(serviceDeps(c), name);
    return c.json({ organization: { _id: org.id, name: org.name, ...timestamps(org) } });
  },
});
