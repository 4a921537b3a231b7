import { eq } from "drizzle-orm";
import { isUniqueViolation } from "../db/client";
import { organizations, users, type OrganizationRow } from "../db/schema";
import { newObjectId } from "../domain/object-id";
import { searchTextOf } from "../domain/user-view";
import { Errors, SamaError } from "../domain/errors";
import type { ServiceDeps } from "./context";

/** Login of the user that authors conversation-handler replies in every organization. */
export const BOT_LOGIN = "server-chat-bot";

export async function findOrganization({ db }: ServiceDeps, id: string): Promise<OrganizationRow | null> {
  return (await db.select().from(organizations).where(eq(organizations.id, id)).get()) ?? null;
}

export async function requireOrganization(deps: ServiceDeps, id: string): Promise<OrganizationRow> {
  const org = await findOrganization(deps, id);
  if (!org) throw new SamaError(Errors.ORG_NOT_FOUND);
  return org;
}

/** Creates an organization and its bot user in one batch. */
export async function createOrganization({ db, now }: ServiceDeps, name: string): Promise<OrganizationRow> {
  const org: OrganizationRow = { id: newObjectId(now), name, createdAt: now, updatedAt: now };
  try {
    await db.batch([
      db.insert(organizations).values(org),
      db.insert(users).values({
        id: newObjectId(now),
        organizationId: org.id,
        login: BOT_LOGIN,
        loginKey: BOT_LOGIN,
        passwordHash: null,
        recentActivity: Math.floor(now / 1000),
        isBot: true,
        searchText: searchTextOf({ login: BOT_LOGIN, firstName: null, lastName: null }),
        createdAt: now,
        updatedAt: now,
      }),
    ]);
  } catch (err) {
    if (isUniqueViolation(err)) throw new SamaError(Errors.ORG_NAME_TAKEN);
    throw err;
  }
  return org;
}
