// The address book: each user's contacts, with email and phone entries. An entry carries
// `matched_user_id` while its value equals the email (case-insensitively) or the phone of a user of
// the contact's organization.
//
// Matches are computed in SQL, in the same D1 batch (one transaction) as every write that can change
// them: a contact's add or update, and a user's create, edit or delete (users.ts adds
// `rematchContacts` to its batch). Whichever write commits last therefore leaves the truth, with no
// window in which a racing write could store a stale match. `contact_points` holds one row per entry
// with its value lower-cased the way users.email_key/phone_key are, so a user's change finds the
// contacts it affects through an index instead of reading every contact of the organization.
import { and, count, desc, eq, gt, sql, type SQL } from "drizzle-orm";
import type { BatchItem } from "drizzle-orm/batch";
import type { Db } from "../db/client";
import { contactPoints, contacts, type ContactPoint, type UserRow } from "../db/schema";
import { newObjectId } from "../domain/object-id";
import { Errors, SamaError, type ErrorBody } from "../domain/errors";
import type { ServiceDeps } from "./context";

export type ContactRow = typeof contacts.$inferSelect;

/** Whose address book: the signed-in user (a SessionIdentity fits). */
export interface ContactOwner {
  organizationId: string;
  userId: string;
}

/** An entry as a client sends it; a `matched_user_id` it sends back is never trusted. */
export interface ContactPointInput {
  type?: string | undefined;
  value: string;
}

export interface ContactFields {
  firstName?: string | undefined;
  lastName?: string | undefined;
  company?: string | undefined;
  email?: readonly ContactPointInput[] | undefined;
  phone?: readonly ContactPointInput[] | undefined;
}

type Kind = "email" | "phone";
// Raw statements are wrapped in query builders (insert().select(sql), update().from(sql)): drizzle
// 0.45's D1 session cannot batch a raw db.run(sql) that has parameters.
export type Batch = BatchItem<"sqlite">;

/** The same folding as users.email_key / users.phone_key. */
const keyOf = (value: string): string => value.toLowerCase();

/**
 * Why a contact cannot be stored, or null: it needs an email or a phone entry, and a first or last
 * name (SAMA's two checks, in SAMA's order). An empty list counts as missing.
 */
export function missingFieldError(fields: ContactFields): ErrorBody | null {
  if (!fields.email?.length && !fields.phone?.length) return Errors.EMAIL_OR_PHONE_IS_MISSED;
  if (fields.firstName === undefined && fields.lastName === undefined) return Errors.FULLNAME_IS_MISSED;
  return null;
}

function stored(entries: readonly ContactPointInput[] | undefined): ContactPoint[] | null {
  if (entries === undefined) return null;
  return entries.map(({ type, value }) => (type === undefined ? { value } : { type, value }));
}

/** The contact_points rows of a contact, as [contact_id, kind, idx, key] tuples. */
function pointsOf(contactId: string, email: readonly ContactPoint[] | null, phone: readonly ContactPoint[] | null): Array<[string, Kind, number, string]> {
  const rows: Array<[string, Kind, number, string]> = [];
  (email ?? []).forEach((entry, idx) => rows.push([contactId, "email", idx, keyOf(entry.value)]));
  (phone ?? []).forEach((entry, idx) => rows.push([contactId, "phone", idx, keyOf(entry.value)]));
  return rows;
}

/** One statement for any number of points: they travel as a single JSON parameter (D1 binds at most 100). */
function insertPoints(db: Db, organizationId: string, points: ReadonlyArray<[string, Kind, number, string]>): Batch | null {
  if (points.length === 0) return null;
  // Columns in table order: contact_id, organization_id, kind, idx, key.
  return db.insert(contactPoints).select(sql`
    SELECT json_extract(p.value, '$[0]'), ${organizationId}, json_extract(p.value, '$[1]'),
           json_extract(p.value, '$[2]'), json_extract(p.value, '$[3]')
    FROM json_each(${JSON.stringify(points)}) AS p`);
}

/**
 * The entries of `c.<kind>` with `matched_user_id` set to the organization's user whose key equals the
 * entry's point, and removed where there is none. NULL stays NULL.
 */
function matchedEntries(kind: Kind): SQL {
  const entries = sql.raw(`c.${kind}`);
  const userKey = sql.raw(kind === "email" ? "u.email_key" : "u.phone_key");
  return sql`CASE WHEN ${entries} IS NULL THEN NULL ELSE (
      SELECT json_group_array(
               CASE WHEN u.id IS NULL THEN json_remove(e.value, '$.matched_user_id')
                    ELSE json_set(e.value, '$.matched_user_id', u.id) END
               ORDER BY e.key)
      FROM json_each(${entries}) AS e
      LEFT JOIN contact_points AS p ON p.contact_id = c.id AND p.kind = ${kind} AND p.idx = e.key
      LEFT JOIN users AS u ON u.organization_id = c.organization_id AND ${userKey} = p.key
    ) END`;
}

/**
 * Recomputes the matches of the contacts `c` selected by `which`; only contacts whose entries change
 * are written (and get `updated_at`, so clients syncing with contact_list see the new match).
 */
function refreshMatches(db: Db, now: number, which: SQL): Batch {
  return db
    .update(contacts)
    .set({ email: sql`m.email`, phone: sql`m.phone`, updatedAt: now })
    .from(
      sql`(SELECT c.id AS id, ${matchedEntries("email")} AS email, ${matchedEntries("phone")} AS phone
           FROM contacts AS c WHERE ${which}) AS m`,
    )
    .where(sql`${contacts.id} = m.id AND (${contacts.email} IS NOT m.email OR ${contacts.phone} IS NOT m.phone)`);
}

/**
 * For users.ts: the batch item that re-matches the organization's contacts listing any email or phone
 * of `identities` (pass a user before and after an edit; a deleted user's row must be gone when it
 * runs). Runs in the user's own write batch.
 */
export function rematchContacts(
  { db, now }: Pick<ServiceDeps, "db" | "now">,
  organizationId: string,
  ...identities: ReadonlyArray<Pick<UserRow, "emailKey" | "phoneKey">>
): Batch {
  const lookups: SQL[] = [];
  for (const kind of ["email", "phone"] as const) {
    const keys = [...new Set(identities.map((u) => (kind === "email" ? u.emailKey : u.phoneKey)).filter((k) => k !== null))];
    if (keys.length === 0) continue;
    lookups.push(
      sql`SELECT contact_id FROM contact_points WHERE organization_id = ${organizationId} AND kind = ${kind} AND key IN (${sql.join(
        keys.map((k) => sql`${k}`),
        sql`, `,
      )})`,
    );
  }
  const affected = lookups.length === 0 ? sql`0` : sql`c.id IN (${sql.join(lookups, sql` UNION `)})`;
  return refreshMatches(db, now, sql`c.organization_id = ${organizationId} AND ${affected}`);
}

/**
 * For users.ts, before `rematchContacts` in a user's edit batch: entries matched to the user by the
 * old email or phone take the new value (SAMA's rule: a contact follows its user), and their points
 * the new key, so the re-match that follows keeps them matched.
 */
export function followUserContacts(
  { db, now }: Pick<ServiceDeps, "db" | "now">,
  organizationId: string,
  before: Pick<UserRow, "email" | "emailKey" | "phone" | "phoneKey">,
  after: Pick<UserRow, "email" | "emailKey" | "phone" | "phoneKey">,
): Batch[] {
  const items: Batch[] = [];
  for (const kind of ["email", "phone"] as const) {
    const oldKey = kind === "email" ? before.emailKey : before.phoneKey;
    const [oldValue, newValue, newKey] = kind === "email" ? [before.email, after.email, after.emailKey] : [before.phone, after.phone, after.phoneKey];
    if (oldKey === null || newValue === null || newKey === null || newValue === oldValue) continue;
    const points = and(eq(contactPoints.organizationId, organizationId), eq(contactPoints.kind, kind), eq(contactPoints.key, oldKey));
    const column = kind === "email" ? contacts.email : contacts.phone;
    items.push(
      db
        .update(contacts)
        .set({
          [kind]: sql`(
            SELECT json_group_array(
                     CASE WHEN p.key = ${oldKey} THEN json_set(e.value, '$.value', ${newValue}) ELSE json(e.value) END
                     ORDER BY e.key)
            FROM json_each(${column}) AS e
            LEFT JOIN contact_points AS p ON p.contact_id = ${contacts.id} AND p.kind = ${kind} AND p.idx = e.key)`,
          updatedAt: now,
        })
        .where(sql`${contacts.id} IN (SELECT ${contactPoints.contactId} FROM ${contactPoints} WHERE ${points})`),
      db.update(contactPoints).set({ key: newKey }).where(points),
    );
  }
  return items;
}

async function runBatch(db: Db, items: ReadonlyArray<Batch | null>): Promise<void> {
  const [first, ...rest] = items.filter((item) => item !== null);
  if (first) await db.batch([first, ...rest]);
}

const CONTACT_COLUMNS = 10;
const ROWS_PER_INSERT = Math.floor(90 / CONTACT_COLUMNS); // D1 binds at most 100 parameters per statement

/** Rows of `owner` among `ids`, in id order (which is creation order). */
async function ownContacts(db: Db, owner: ContactOwner, ids: readonly string[]): Promise<ContactRow[]> {
  if (ids.length === 0) return [];
  return db
    .select()
    .from(contacts)
    .where(
      and(
        eq(contacts.organizationId, owner.organizationId),
        eq(contacts.userId, owner.userId),
        sql`${contacts.id} IN (SELECT value FROM json_each(${JSON.stringify(ids)}))`,
      ),
    )
    .orderBy(contacts.id)
    .all();
}

/**
 * Adds contacts to the owner's address book in one transaction, matched against the organization's
 * users; answers the stored rows in input order. Callers check missingFieldError first.
 */
export async function addContacts(deps: ServiceDeps, owner: ContactOwner, inputs: readonly ContactFields[]): Promise<ContactRow[]> {
  const { db, now } = deps;
  const rows: ContactRow[] = inputs.map((input) => ({
    id: newObjectId(now),
    organizationId: owner.organizationId,
    userId: owner.userId,
    firstName: input.firstName ?? null,
    lastName: input.lastName ?? null,
    company: input.company ?? null,
    email: stored(input.email),
    phone: stored(input.phone),
    createdAt: now,
    updatedAt: now,
  }));
  if (rows.length === 0) return [];
  const existing = await db.select({ n: count() }).from(contacts).where(eq(contacts.userId, owner.userId)).get();
  // All or nothing: a batch that would pass the cap is refused whole.
  if ((existing?.n ?? 0) + rows.length > deps.config.contactsMax) throw new SamaError(Errors.CONTACTS_LIMIT);
  const items: Batch[] = [];
  for (let i = 0; i < rows.length; i += ROWS_PER_INSERT) items.push(db.insert(contacts).values(rows.slice(i, i + ROWS_PER_INSERT)));
  const ids = rows.map((r) => r.id);
  await runBatch(db, [
    ...items,
    insertPoints(db, owner.organizationId, rows.flatMap((r) => pointsOf(r.id, r.email, r.phone))),
    refreshMatches(db, now, sql`c.id IN (SELECT value FROM json_each(${JSON.stringify(ids)}))`),
  ]);
  return ownContacts(db, owner, ids);
}

/**
 * Statements that store contacts moved from SAMA as they were (ids, times, matches), with their
 * contact_points; the caller leaves out contacts already stored.
 */
export function importedContacts(db: Db, rows: readonly ContactRow[]): Batch[] {
  return rows.flatMap((row) => {
    const points = insertPoints(db, row.organizationId, pointsOf(row.id, row.email, row.phone));
    return [db.insert(contacts).values(row).onConflictDoNothing(), ...(points ? [points] : [])];
  });
}

/** Changes the given fields of one of the owner's contacts; email/phone lists are replaced whole. */
export async function updateContact(deps: ServiceDeps, owner: ContactOwner, id: string, changes: ContactFields): Promise<ContactRow> {
  const { db, now } = deps;
  const [current] = await ownContacts(db, owner, [id]);
  if (!current) throw new SamaError(Errors.CONTACT_NOT_FOUND);
  const email = changes.email !== undefined ? stored(changes.email) : current.email;
  const phone = changes.phone !== undefined ? stored(changes.phone) : current.phone;
  const firstName = changes.firstName ?? current.firstName;
  const lastName = changes.lastName ?? current.lastName;
  // The result must still be a storable contact (e.g. not emptied of every email and phone).
  const missing = missingFieldError({ email: email ?? undefined, phone: phone ?? undefined, firstName: firstName ?? undefined, lastName: lastName ?? undefined });
  if (missing) throw new SamaError(missing);
  const pointsChanged = changes.email !== undefined || changes.phone !== undefined;
  await runBatch(db, [
    db
      .update(contacts)
      .set({ firstName, lastName, company: changes.company ?? current.company, email, phone, updatedAt: now })
      .where(and(eq(contacts.id, id), eq(contacts.userId, owner.userId), eq(contacts.organizationId, owner.organizationId))),
    pointsChanged ? db.delete(contactPoints).where(eq(contactPoints.contactId, id)) : null,
    pointsChanged ? insertPoints(db, owner.organizationId, pointsOf(id, email, phone)) : null,
    refreshMatches(db, now, sql`c.id = ${id}`),
  ]);
  const [updated] = await ownContacts(db, owner, [id]);
  // Deleted by a racing contact_delete between the two reads.
  if (!updated) throw new SamaError(Errors.CONTACT_NOT_FOUND);
  return updated;
}

/** Deletes one of the owner's contacts; an unknown or foreign id changes nothing (SAMA answers success). */
export async function deleteContact({ db }: ServiceDeps, owner: ContactOwner, id: string): Promise<void> {
  const own = and(eq(contacts.id, id), eq(contacts.userId, owner.userId), eq(contacts.organizationId, owner.organizationId));
  await db.batch([
    db.delete(contactPoints).where(sql`${contactPoints.contactId} IN (SELECT ${contacts.id} FROM ${contacts} WHERE ${own})`),
    db.delete(contacts).where(own),
  ]);
}

export interface ContactQuery {
  /** Only contacts changed after this time (Unix ms). */
  updatedAfter?: number | undefined;
  limit: number;
}

/** The owner's contacts, newest first (SAMA sorts by `_id` descending). */
export async function listContacts({ db }: ServiceDeps, owner: ContactOwner, query: ContactQuery): Promise<ContactRow[]> {
  const conditions: SQL[] = [eq(contacts.organizationId, owner.organizationId), eq(contacts.userId, owner.userId)];
  if (query.updatedAfter !== undefined) conditions.push(gt(contacts.updatedAt, query.updatedAfter));
  return db
    .select()
    .from(contacts)
    .where(and(...conditions))
    .orderBy(desc(contacts.id))
    .limit(query.limit)
    .all();
}

/**
 * `rows` as `viewer` may see them: email and phone stay on the viewer's own record and where the
 * viewer's address book already holds that very value (a matched contact), and are cleared
 * otherwise. The directory never hands a stranger contact details they did not already know.
 * One D1 query at most (contact_points' index).
 */
export async function asSeenBy({ db }: Pick<ServiceDeps, "db">, viewer: ContactOwner, rows: readonly UserRow[]): Promise<UserRow[]> {
  const others = rows.filter((u) => u.id !== viewer.userId);
  const keys = [...new Set(others.flatMap((u) => [u.emailKey, u.phoneKey]).filter((k) => k !== null))];
  const known =
    keys.length === 0
      ? []
      : await db.all<{ kind: Kind; key: string }>(sql`
          SELECT DISTINCT p.kind, p.key FROM contact_points p JOIN contacts c ON c.id = p.contact_id
          WHERE p.organization_id = ${viewer.organizationId} AND c.user_id = ${viewer.userId}
            AND p.key IN (SELECT value FROM json_each(${JSON.stringify(keys)}))`);
  const has = new Set(known.map((k) => `${k.kind}:${k.key}`));
  return rows.map((u) =>
    u.id === viewer.userId
      ? u
      : {
          ...u,
          email: u.emailKey !== null && has.has(`email:${u.emailKey}`) ? u.email : null,
          phone: u.phoneKey !== null && has.has(`phone:${u.phoneKey}`) ? u.phone : null,
        },
  );
}
