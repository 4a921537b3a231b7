// The admin API acts for a user named in the body (SAMA §1.6: `organizationId` and `senderId`), as
// if through a socket of theirs that nobody listens on: every live device of every participant,
// the user's own included, gets the resulting packets.
import { z } from "zod";
import { Errors, SamaError } from "../../../domain/errors";
import { parseParams } from "../../../protocol/validation";
import type { ServiceDeps } from "../../../services/context";
import type { ActorContext } from "../../../services/context";
import { requireOrganization } from "../../../services/organizations";
import { findUser } from "../../../services/users";
import { readJsonBody } from "../../body";
import { serviceDeps, type AppContext } from "../../types";

export const organizationId = z.string().min(1).meta({ description: "The organization the user belongs to", examples: ["default"] });
export const senderId = z.string().min(1).meta({ description: "The user the request acts as" });

/** The organization must exist and, when a user is named, the user must belong to it. */
export async function requireMember(deps: ServiceDeps, organization: string, userId: string | undefined): Promise<void> {
  await requireOrganization(deps, organization);
  if (userId !== undefined && !(await findUser(deps, organization, userId))) throw new SamaError(Errors.INCORRECT_USER);
}

/** A context acting as `userId` of `organization`, with no socket of its own. */
export async function actingAs(c: AppContext, organization: string, userId: string): Promise<ActorContext> {
  const deps = serviceDeps(c);
  await requireMember(deps, organization, userId);
  return { ...deps, env: c.env, session: { userId, organizationId: organization }, sessionId: null };
}

/** An admin message route's body, validated, and the sender it acts as. */
export async function readActing<S extends z.ZodType<{ organizationId: string; senderId: string }>>(
  c: AppContext,
  schema: S,
): Promise<{ body: z.output<S>; actor: ActorContext }> {
  const body = parseParams(schema, await readJsonBody(c));
  return { body, actor: await actingAs(c, body.organizationId, body.senderId) };
}
