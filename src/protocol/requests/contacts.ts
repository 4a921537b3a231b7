// The address book (SAMA-PROTOCOL.md §1.5.8): contact_add, contact_batch_add, contact_update,
// contact_delete, contact_list. Only the caller's own contacts are ever read or written.
//
// Where SAMA crashes (a too-short name, an unknown key) these answer Joi-style 422s. Differences from
// SAMA, on purpose: an entry needs a non-empty `value` and an empty email/phone list counts as missing;
// contact_batch_add skips a contact lacking both email and phone (SAMA's check skips one lacking
// either, a bug) or lacking a name, and takes at most 100 contacts; email and phone lists hold at
// most 20 entries; contact_update refuses to leave a contact without email and phone or without a
// name; contact_list's `limit` above 100 is read as 100.
import * as shapes from "../shapes";
import { z } from "zod";
import type { ContactPoint } from "../../db/schema";
import { addContacts, deleteContact, listContacts, missingFieldError, updateContact, type ContactFields, type ContactRow } from "../../services/contacts";
import { Errors, SamaError } from "../../domain/errors";
import { date } from "../fields";
import { authedRequest } from "../request";
import { samaMessage } from "../validation";
import { timestamps } from "../../domain/timestamps";

export const BATCH_MAX_CONTACTS = 100;
export const MAX_ENTRIES = 20;
const LIST_LIMIT = 100;

const entry = z
  .strictObject({
    type: z.string().min(1).max(255).optional(),
    value: z.string().min(1).max(255),
    // Clients that edit what contact_list gave them send it back; it is recomputed, never trusted.
    matched_user_id: z.string().optional(),
  })
  .transform(({ type, value }) => ({ type, value }));

const name = z.string().min(2).max(255);

const contactShape = {
  first_name: name.optional(),
  last_name: name.optional(),
  company: name.optional(),
  email: z.array(entry).max(MAX_ENTRIES).optional(),
  phone: z.array(entry).max(MAX_ENTRIES).optional(),
};
const contact = z.strictObject(contactShape);

type ContactParams = z.output<typeof contact>;

function fieldsOf(params: ContactParams): ContactFields {
  return { firstName: params.first_name, lastName: params.last_name, company: params.company, email: params.email, phone: params.phone };
}

const contactId = z.string(samaMessage(Errors.CONTACT_ID_MISSED)).min(1, samaMessage(Errors.CONTACT_ID_MISSED));

/** What contact_add answers (SAMA's visible fields), present only when set. */
export interface ContactView {
  _id: string;
  organization_id: string;
  first_name?: string;
  last_name?: string;
  company?: string;
  email?: ContactPoint[];
  phone?: ContactPoint[];
  created_at: string;
  updated_at: string;
}

function contactView(row: ContactRow): ContactView {
  return {
    _id: row.id,
    organization_id: row.organizationId,
    ...(row.firstName !== null ? { first_name: row.firstName } : {}),
    ...(row.lastName !== null ? { last_name: row.lastName } : {}),
    ...(row.company !== null ? { company: row.company } : {}),
    ...(row.email !== null ? { email: row.email } : {}),
    ...(row.phone !== null ? { phone: row.phone } : {}),
    ...timestamps(row),
  };
}

/** What batch add, update and list answer: SAMA returns the stored document, owner included. */
function contactDocument(row: ContactRow): ContactView & { user_id: string } {
  return { ...contactView(row), user_id: row.userId };
}

const contactAddDoc = {
  summary:
    "Adds one contact; its entries get `matched_user_id` where they belong to a user of the organization.",
  reply: z.strictObject({ contact: shapes.contact }),
  errors: [Errors.EMAIL_OR_PHONE_IS_MISSED, Errors.FULLNAME_IS_MISSED, Errors.CONTACTS_LIMIT],
};

export const contactAdd = authedRequest("contact_add", contact, contactAddDoc, async (ctx, params) => {
  const fields = fieldsOf(params);
  const missing = missingFieldError(fields);
  if (missing) throw new SamaError(missing);
  const [row] = await addContacts(ctx, ctx.session, [fields]);
  if (!row) throw new Error("contact_add stored nothing");
  return { contact: contactView(row) };
});

const contactBatchAddDoc = {
  summary: "Adds up to 100 contacts at once, silently skipping those contact_add would refuse.",
  reply: z.strictObject({ contacts: z.array(shapes.contact) }),
  errors: [Errors.CONTACTS_LIMIT],
};

export const contactBatchAdd = authedRequest(
  "contact_batch_add",
  z.strictObject({ contacts: z.array(contact).max(BATCH_MAX_CONTACTS) }), contactBatchAddDoc,
  async (ctx, params) => {
    const storable = params.contacts.map(fieldsOf).filter((fields) => missingFieldError(fields) === null);
    const rows = await addContacts(ctx, ctx.session, storable);
    return { contacts: rows.map(contactDocument) };
  },
);

const contactUpdateDoc = {
  summary: "Changes one of the caller's contacts; email/phone lists given replace the stored ones.",
  reply: z.strictObject({ contact: shapes.contact }),
  errors: [
    Errors.CONTACT_ID_MISSED,
    Errors.CONTACT_NOT_FOUND,
    Errors.EMAIL_OR_PHONE_IS_MISSED,
    Errors.FULLNAME_IS_MISSED,
  ],
};

export const contactUpdate = authedRequest("contact_update", z.strictObject({ id: contactId, ...contactShape }), contactUpdateDoc, async (ctx, params) => {
  const { id, ...changes } = params;
  const row = await updateContact(ctx, ctx.session, id, fieldsOf(changes));
  return { contact: contactDocument(row) };
});

const contactDeleteDoc = {
  summary: "Deletes one of the caller's contacts; an unknown id succeeds, as in SAMA.",
  reply: shapes.success,
  errors: [Errors.CONTACT_ID_MISSED],
};

export const contactDelete = authedRequest("contact_delete", z.strictObject({ id: contactId }), contactDeleteDoc, async (ctx, params) => {
  await deleteContact(ctx, ctx.session, params.id);
  return { success: true };
});

const contactListDoc = {
  summary: "The caller's contacts changed after `updated_at` (all without it), newest first.",
  reply: z.strictObject({ contacts: z.array(shapes.contact) }),
  errors: [],
};

export const contactList = authedRequest(
  "contact_list",
  z.strictObject({ updated_at: date.optional(), limit: z.number().int().min(1).optional() }), contactListDoc,
  async (ctx, params) => {
    const rows = await listContacts(ctx, ctx.session, { updatedAfter: params.updated_at, limit: Math.min(params.limit ?? LIST_LIMIT, LIST_LIMIT) });
    return { contacts: rows.map(contactDocument) };
  },
);
