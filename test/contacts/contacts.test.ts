// The address book: contact_add, contact_batch_add, contact_update, contact_delete, contact_list,
// and matched_user_id kept in step with the organization's users.
import { describe, expect, it } from "vitest";
import { TestSocket, type Frame } from "../helpers/socket";
import { connectedSocket, createOrganization, signUp, unique, type TestUser } from "../helpers/users";

const OBJECT_ID = /^[0-9a-f]{24}$/;
const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;

async function signedIn(options: Parameters<typeof signUp>[0] = {}) {
  const user = await signUp(options);
  const { socket } = await connectedSocket(user);
  return { user, socket };
}

/** A user registered with a phone (signUp registers email only). */
async function signUpWithPhone(phone: string, organizationId = "default"): Promise<TestUser> {
  const login = unique("ph");
  const password = "pass-" + login;
  const email = `${login}@example.test`;
  const socket = await TestSocket.open();
  const response = await socket.request("user_create", { organization_id: organizationId, login, password, email, phone });
  socket.close();
  const user = response.user as Frame | undefined;
  if (!user) throw new Error(`user_create failed: ${JSON.stringify(response)}`);
  return { id: user._id as string, login, password, email, organizationId, user };
}

/** Digits only, unique per call: phones are 3..15 characters. */
function uniquePhone(): string {
  return String(Date.now() % 1e9) + String(Math.floor(Math.random() * 1e5)).padStart(5, "0");
}

const pause = (ms = 5) => new Promise((resolve) => setTimeout(resolve, ms));

async function addContact(socket: TestSocket, params: Record<string, unknown>): Promise<Frame> {
  const response = await socket.request("contact_add", params);
  const contact = response.contact as Frame | undefined;
  if (!contact) throw new Error(`contact_add failed: ${JSON.stringify(response)}`);
  return contact;
}

async function list(socket: TestSocket, params: Record<string, unknown> = {}): Promise<Frame[]> {
  const response = await socket.request("contact_list", params);
  return response.contacts as Frame[];
}

async function findContact(socket: TestSocket, id: unknown): Promise<Frame | undefined> {
  return (await list(socket)).find((c) => c._id === id);
}

const unauthorized = { status: 401, message: "Unauthorized." };

describe("contact_add", () => {
  it("stores a contact and answers its visible fields, matching an organization user's email case-insensitively", async () => {
    const friend = await signUp();
    const { socket } = await signedIn();
    const contact = await addContact(socket, {
      first_name: "Name",
      last_name: "Surname",
      company: "Co",
      email: [
        { type: "work", value: friend.email.toUpperCase() },
        { type: "home", value: "nobody@example.test" },
      ],
      phone: [{ type: "home", value: "543" }],
    });
    expect(contact).toEqual({
      _id: expect.stringMatching(OBJECT_ID),
      organization_id: "default",
      first_name: "Name",
      last_name: "Surname",
      company: "Co",
      email: [
        { type: "work", value: friend.email.toUpperCase(), matched_user_id: friend.id },
        { type: "home", value: "nobody@example.test" },
      ],
      phone: [{ type: "home", value: "543" }],
      created_at: expect.stringMatching(ISO),
      updated_at: expect.stringMatching(ISO),
    });
    expect(contact.user_id).toBeUndefined();
  });

  it("matches a phone entry, needs only one name, and omits what was not given", async () => {
    const phone = uniquePhone();
    const friend = await signUpWithPhone(phone);
    const { socket } = await signedIn();
    const contact = await addContact(socket, { last_name: "Solo", phone: [{ value: phone }] });
    expect(contact).toEqual({
      _id: expect.stringMatching(OBJECT_ID),
      organization_id: "default",
      last_name: "Solo",
      phone: [{ value: phone, matched_user_id: friend.id }],
      created_at: contact.created_at,
      updated_at: contact.created_at,
    });
  });

  it("ignores a matched_user_id sent by the client", async () => {
    const { socket } = await signedIn();
    const contact = await addContact(socket, { first_name: "Al", email: [{ value: "x@example.test", matched_user_id: "ffffffffffffffffffffffff" }] });
    expect(contact.email).toEqual([{ value: "x@example.test" }]);
  });

  it.each<[string, unknown, string]>([
    ["no email and no phone", { first_name: "Name" }, "Email or phone is missed."],
    ["nothing at all", {}, "Email or phone is missed."],
    ["empty email and phone lists", { first_name: "Name", email: [], phone: [] }, "Email or phone is missed."],
    ["no name", { company: "Co", email: [{ value: "a@b.test" }] }, "'first_name' or 'last_name' is missed."],
    ["a one-letter first name", { first_name: "N", email: [{ value: "a@b.test" }] }, '"first_name" length must be at least 2 characters long'],
    ["a long last name", { last_name: "x".repeat(256), email: [{ value: "a@b.test" }] }, '"last_name" length must be less than or equal to 255 characters long'],
    ["a one-letter company", { first_name: "Name", company: "C", email: [{ value: "a@b.test" }] }, '"company" length must be at least 2 characters long'],
    ["a numeric name", { first_name: 5, email: [{ value: "a@b.test" }] }, '"first_name" must be a string'],
    ["an unknown key", { first_name: "Name", email: [{ value: "a@b.test" }], foo: 1 }, '"foo" is not allowed'],
    ["an unknown entry key", { first_name: "Name", email: [{ value: "a@b.test", foo: 1 }] }, '"email[0].foo" is not allowed'],
    ["an entry without value", { first_name: "Name", phone: [{ type: "home" }] }, '"phone[0].value" is required'],
    ["an empty entry value", { first_name: "Name", phone: [{ value: "" }] }, '"phone[0].value" is not allowed to be empty'],
    ["an email that is not a list", { first_name: "Name", email: "a@b.test" }, '"email" must be an array'],
    ["an entry that is not an object", { first_name: "Name", email: ["a@b.test"] }, '"email[0]" must be of type object'],
    [
      "21 emails",
      { first_name: "Name", email: Array.from({ length: 21 }, (_, i) => ({ value: `${i}@b.test` })) },
      '"email" must contain less than or equal to 20 items',
    ],
    ["params that are not an object", "x", '"value" must be of type object'],
  ])("refuses %s with 422", async (_name, params, message) => {
    const { socket } = await signedIn();
    expect(await socket.requestError("contact_add", params)).toEqual({ status: 422, message });
  });

  it("needs a signed-in socket", async () => {
    const socket = await TestSocket.open();
    for (const name of ["contact_add", "contact_batch_add", "contact_update", "contact_delete", "contact_list"]) {
      expect(await socket.requestError(name, {})).toEqual(unauthorized);
    }
  });
});

describe("contact_batch_add", () => {
  it("adds the storable contacts in order, skips the rest, and answers stored documents", async () => {
    const friend = await signUp();
    const { user, socket } = await signedIn();
    const response = await socket.request("contact_batch_add", {
      contacts: [
        { first_name: "First", email: [{ value: friend.email }] },
        { first_name: "No Reach" }, // neither email nor phone: skipped
        { company: "Nameless Co", phone: [{ value: "12345" }] }, // no name: skipped
        { last_name: "Second", phone: [{ type: "cell", value: "12345" }], email: [] },
      ],
    });
    const contacts = response.contacts as Frame[];
    expect(contacts).toHaveLength(2);
    expect(contacts[0]).toEqual({
      _id: expect.stringMatching(OBJECT_ID),
      organization_id: "default",
      user_id: user.id,
      first_name: "First",
      email: [{ value: friend.email, matched_user_id: friend.id }],
      created_at: expect.stringMatching(ISO),
      updated_at: expect.stringMatching(ISO),
    });
    expect(contacts[1]).toMatchObject({ user_id: user.id, last_name: "Second", phone: [{ type: "cell", value: "12345" }], email: [] });
    expect((contacts[0]!._id as string) < (contacts[1]!._id as string)).toBe(true);
    expect((await list(socket)).map((c) => c._id)).toEqual([contacts[1]!._id, contacts[0]!._id]);
  });

  it("takes 100 contacts at once, each matched", async () => {
    const friend = await signUp();
    const { socket } = await signedIn();
    const contacts = Array.from({ length: 100 }, (_, i) => ({
      first_name: `Person ${i}`,
      email: [{ value: `p${i}@example.test` }, { value: friend.email }],
      phone: [{ value: `555${i}` }],
    }));
    const response = await socket.request("contact_batch_add", { contacts });
    const stored = response.contacts as Frame[];
    expect(stored.map((c) => c.first_name)).toEqual(contacts.map((c) => c.first_name));
    for (const contact of stored) {
      expect((contact.email as Frame[])[1]).toEqual({ value: friend.email, matched_user_id: friend.id });
    }
    expect(await list(socket, { limit: 100 })).toHaveLength(100);
  });

  it("answers an empty list for an empty batch", async () => {
    const { socket } = await signedIn();
    expect((await socket.request("contact_batch_add", { contacts: [] })).contacts).toEqual([]);
  });

  it.each<[string, unknown, string]>([
    ["no contacts", {}, '"contacts" is required'],
    ["contacts that are not a list", { contacts: {} }, '"contacts" must be an array'],
    ["101 contacts", { contacts: Array.from({ length: 101 }, () => ({ first_name: "Name", phone: [{ value: "123" }] })) }, '"contacts" must contain less than or equal to 100 items'],
    ["an invalid contact", { contacts: [{ first_name: "Name", phone: [{ value: "123" }] }, { first_name: "N" }] }, '"contacts[1].first_name" length must be at least 2 characters long'],
    ["an unknown key in a contact", { contacts: [{ first_name: "Name", phone: [{ value: "123" }], x: 1 }] }, '"contacts[0].x" is not allowed'],
    ["an unknown key", { contacts: [], x: 1 }, '"x" is not allowed'],
  ])("refuses %s with 422", async (_name, params, message) => {
    const { socket } = await signedIn();
    expect(await socket.requestError("contact_batch_add", params)).toEqual({ status: 422, message });
    expect(await list(socket)).toEqual([]);
  });
});

describe("contact_update", () => {
  it("changes the given fields, replaces lists and re-matches them", async () => {
    const old = await signUp();
    const next = await signUp();
    const { user, socket } = await signedIn();
    const added = await addContact(socket, { first_name: "Name", company: "Co", email: [{ value: old.email }], phone: [{ value: "777" }] });
    await pause();
    const response = await socket.request("contact_update", { id: added._id, last_name: "Surname", email: [{ type: "work", value: next.email }] });
    const contact = response.contact as Frame;
    expect(contact).toEqual({
      _id: added._id,
      organization_id: "default",
      user_id: user.id,
      first_name: "Name",
      last_name: "Surname",
      company: "Co",
      email: [{ type: "work", value: next.email, matched_user_id: next.id }],
      phone: [{ value: "777" }],
      created_at: added.created_at,
      updated_at: expect.stringMatching(ISO),
    });
    expect(Date.parse(contact.updated_at as string)).toBeGreaterThan(Date.parse(added.updated_at as string));
    expect(await findContact(socket, added._id)).toEqual(contact);
  });

  it("accepts entries sent back with their matched_user_id, recomputing it", async () => {
    const friend = await signUp();
    const { socket } = await signedIn();
    const added = await addContact(socket, { first_name: "Name", email: [{ value: friend.email }] });
    const email = [...(added.email as Frame[]), { value: "other@example.test", matched_user_id: friend.id }];
    const contact = (await socket.request("contact_update", { id: added._id, email })).contact as Frame;
    expect(contact.email).toEqual([{ value: friend.email, matched_user_id: friend.id }, { value: "other@example.test" }]);
  });

  it("refuses another user's contact, an unknown id and a missing id", async () => {
    const { socket: owner } = await signedIn();
    const added = await addContact(owner, { first_name: "Name", phone: [{ value: "123" }] });
    const { socket } = await signedIn();
    const notFound = { status: 422, message: "Contact not found." };
    expect(await socket.requestError("contact_update", { id: added._id, first_name: "Stolen" })).toEqual(notFound);
    expect(await socket.requestError("contact_update", { id: "ffffffffffffffffffffffff" })).toEqual(notFound);
    const missed = { status: 422, message: "Contact id is missed." };
    expect(await socket.requestError("contact_update", { first_name: "Name" })).toEqual(missed);
    expect(await socket.requestError("contact_update", { id: 5 })).toEqual(missed);
    expect(await socket.requestError("contact_update", { id: "" })).toEqual(missed);
    expect((await findContact(owner, added._id))?.first_name).toBe("Name");
  });

  it.each<[string, Record<string, unknown>, string]>([
    ["a one-letter name", { last_name: "S" }, '"last_name" length must be at least 2 characters long'],
    ["an unknown key", { user_id: "ffffffffffffffffffffffff" }, '"user_id" is not allowed'],
    ["emptying its only reach", { phone: [] }, "Email or phone is missed."],
    ["a bad entry", { email: [{ value: 5 }] }, '"email[0].value" must be a string'],
  ])("refuses %s with 422", async (_name, changes, message) => {
    const { socket } = await signedIn();
    const added = await addContact(socket, { first_name: "Name", phone: [{ value: "123" }] });
    expect(await socket.requestError("contact_update", { id: added._id, ...changes })).toEqual({ status: 422, message });
    expect(await findContact(socket, added._id)).toMatchObject({ first_name: "Name", phone: [{ value: "123" }] });
  });
});

describe("contact_delete", () => {
  it("deletes the caller's contact; an unknown or foreign id succeeds and changes nothing", async () => {
    const { socket } = await signedIn();
    const kept = await addContact(socket, { first_name: "Kept", phone: [{ value: "111" }] });
    const gone = await addContact(socket, { first_name: "Gone", phone: [{ value: "222" }] });
    expect(await socket.request("contact_delete", { id: gone._id })).toMatchObject({ success: true });
    expect((await list(socket)).map((c) => c._id)).toEqual([kept._id]);
    expect(await socket.request("contact_delete", { id: gone._id })).toMatchObject({ success: true });

    const { socket: other } = await signedIn();
    expect(await other.request("contact_delete", { id: kept._id })).toMatchObject({ success: true });
    expect((await list(socket)).map((c) => c._id)).toEqual([kept._id]);
  });

  it.each<[string, unknown, { status: number; message: string }]>([
    ["a missing id", {}, { status: 422, message: "Contact id is missed." }],
    ["a numeric id", { id: 5 }, { status: 422, message: "Contact id is missed." }],
    ["an unknown key", { id: "x", cid: "y" }, { status: 422, message: '"cid" is not allowed' }],
  ])("refuses %s", async (_name, params, error) => {
    const { socket } = await signedIn();
    expect(await socket.requestError("contact_delete", params)).toEqual(error);
  });
});

describe("contact_list", () => {
  it("lists only the caller's contacts, newest first, with limit and updated_at", async () => {
    const { user, socket } = await signedIn();
    const a = await addContact(socket, { first_name: "Alpha", phone: [{ value: "111" }] });
    const b = await addContact(socket, { first_name: "Bravo", phone: [{ value: "222" }] });
    await pause();
    const c = await addContact(socket, { first_name: "Charlie", phone: [{ value: "333" }] });
    const { socket: other } = await signedIn();
    await addContact(other, { first_name: "Other", phone: [{ value: "111" }] });

    const all = await list(socket);
    expect(all.map((x) => x._id)).toEqual([c._id, b._id, a._id]);
    expect(all[0]).toMatchObject({ user_id: user.id, organization_id: "default", first_name: "Charlie" });
    expect((await list(socket, { limit: 2 })).map((x) => x._id)).toEqual([c._id, b._id]);
    expect((await list(socket, { limit: 500 })).map((x) => x._id)).toEqual([c._id, b._id, a._id]);
    expect((await list(socket, { updated_at: b.updated_at })).map((x) => x._id)).toEqual([c._id]);
    expect((await list(socket, { updated_at: Date.parse(b.updated_at as string) })).map((x) => x._id)).toEqual([c._id]);
    expect(await list(socket, { updated_at: c.updated_at })).toEqual([]);
  });

  it.each<[string, unknown, string]>([
    ["a string limit", { limit: "x" }, '"limit" must be a number'],
    ["a zero limit", { limit: 0 }, '"limit" must be greater than or equal to 1'],
    ["a fractional limit", { limit: 1.5 }, '"limit" must be an integer'],
    ["a bad date", { updated_at: "not a date" }, '"updated_at" must be a valid date'],
    ["ids", { ids: ["x"] }, '"ids" is not allowed'],
  ])("refuses %s with 422", async (_name, params, message) => {
    const { socket } = await signedIn();
    expect(await socket.requestError("contact_list", params)).toEqual({ status: 422, message });
  });
});

describe("matched_user_id follows the organization's users", () => {
  it("is set when a user registers with a listed email or phone, follows user_edit, cleared on user_delete", async () => {
    const tag = unique("m");
    const email = `${tag}@example.test`;
    const newEmail = `${tag}-new@example.test`;
    const phone = uniquePhone();
    const { socket } = await signedIn();
    const first = await addContact(socket, { first_name: "Future", email: [{ value: email.toUpperCase() }], phone: [{ value: phone }] });
    const second = await addContact(socket, { first_name: "Later", email: [{ type: "work", value: newEmail }] });
    expect(first.email).toEqual([{ value: email.toUpperCase() }]);

    // A new user with a listed email: matched, and updated_at moves so incremental sync sees it.
    await pause();
    const friend = await signUp({ login: tag });
    expect(friend.email).toBe(email);
    const matched = await findContact(socket, first._id);
    expect(matched?.email).toEqual([{ value: email.toUpperCase(), matched_user_id: friend.id }]);
    expect(matched?.phone).toEqual([{ value: phone }]);
    expect((await list(socket, { updated_at: second.updated_at })).map((c) => c._id)).toEqual([first._id]);

    // The user changes email: the matched entry follows it (SAMA), the contact listing the new one gains the match.
    const { socket: friendSocket } = await connectedSocket(friend);
    await pause();
    await friendSocket.request("user_edit", { email: newEmail });
    expect((await findContact(socket, first._id))?.email).toEqual([{ value: newEmail, matched_user_id: friend.id }]);
    expect((await findContact(socket, second._id))?.email).toEqual([{ type: "work", value: newEmail, matched_user_id: friend.id }]);

    // A user registering with the listed phone.
    const phoneFriend = await signUpWithPhone(phone);
    expect((await findContact(socket, first._id))?.phone).toEqual([{ value: phone, matched_user_id: phoneFriend.id }]);

    // A user who sets the phone later with user_edit takes over after the first one is deleted.
    const { socket: phoneSocket } = await connectedSocket(phoneFriend);
    expect(await phoneSocket.request("user_delete", {})).toMatchObject({ success: true });
    expect((await findContact(socket, first._id))?.phone).toEqual([{ value: phone }]);
    const late = await signUp();
    const { socket: lateSocket } = await connectedSocket(late);
    await lateSocket.request("user_edit", { phone });
    expect((await findContact(socket, first._id))?.phone).toEqual([{ value: phone, matched_user_id: late.id }]);

    // Deleting the email user clears that match too.
    expect(await friendSocket.request("user_delete", {})).toMatchObject({ success: true });
    expect((await findContact(socket, first._id))?.email).toEqual([{ value: newEmail }]);
    expect((await findContact(socket, second._id))?.email).toEqual([{ type: "work", value: newEmail }]);
  });

  it("follows the matched user's new email and phone in every address book, keeping the match, the type and the other entries", async () => {
    const friendPhone = uniquePhone();
    const friend = await signUpWithPhone(friendPhone);
    const stranger = await signUp();
    const { socket: mine } = await signedIn();
    const { socket: theirs } = await signedIn();
    const a = await addContact(mine, {
      first_name: "Friend",
      email: [{ type: "home", value: friend.email.toUpperCase() }, { value: stranger.email }, { value: "nobody@example.test" }],
      phone: [{ type: "cell", value: friendPhone }],
    });
    const b = await addContact(theirs, { first_name: "Same", email: [{ value: friend.email }] });
    const idle = await addContact(theirs, { first_name: "Idle", phone: [{ value: "555000" }] });
    const { socket: friendSocket } = await connectedSocket(friend);
    await pause();

    const newEmail = `${unique("moved")}@example.test`;
    const newPhone = uniquePhone();
    await friendSocket.request("user_edit", { email: newEmail, phone: newPhone });

    expect((await findContact(mine, a._id))?.email).toEqual([
      { type: "home", value: newEmail, matched_user_id: friend.id },
      { value: stranger.email, matched_user_id: stranger.id },
      { value: "nobody@example.test" },
    ]);
    expect((await findContact(mine, a._id))?.phone).toEqual([{ type: "cell", value: newPhone, matched_user_id: friend.id }]);
    expect((await findContact(theirs, b._id))?.email).toEqual([{ value: newEmail, matched_user_id: friend.id }]);
    // Clients syncing with updated_at see the changed contacts, and only those.
    expect((await list(theirs, { updated_at: idle.updated_at })).map((c) => c._id)).toEqual([b._id]);

    // The followed entries are matched by their new value: the next change moves them again, and a
    // user taking the old email matches nothing that followed.
    const newer = `${unique("again")}@example.test`;
    await friendSocket.request("user_edit", { email: newer });
    expect((await findContact(theirs, b._id))?.email).toEqual([{ value: newer, matched_user_id: friend.id }]);
    const { socket: takerSocket } = await signedIn();
    await takerSocket.request("user_edit", { email: newEmail });
    expect((await findContact(theirs, b._id))?.email).toEqual([{ value: newer, matched_user_id: friend.id }]);
  });

  it("leaves contacts alone when a user edits other fields", async () => {
    const friend = await signUp();
    const { socket } = await signedIn();
    const added = await addContact(socket, { first_name: "Name", email: [{ value: friend.email }] });
    const { socket: friendSocket } = await connectedSocket(friend);
    await pause();
    await friendSocket.request("user_edit", { first_name: "Renamed" });
    expect(await findContact(socket, added._id)).toMatchObject({ updated_at: added.updated_at, email: added.email });
  });
});

describe("organizations and owners are isolated", () => {
  it("matches only users of the contact's organization and lists only the caller's contacts", async () => {
    const orgId = await createOrganization();
    const phone = uniquePhone();
    const outsider = await signUpWithPhone(phone, orgId);
    const insider = await signUpWithPhone(phone);

    const { socket: mine } = await signedIn();
    const contact = await addContact(mine, { first_name: "Name", email: [{ value: outsider.email }], phone: [{ value: phone }] });
    expect(contact.email).toEqual([{ value: outsider.email }]);
    expect(contact.phone).toEqual([{ value: phone, matched_user_id: insider.id }]);

    const { socket: theirs } = await signedIn({ organizationId: orgId });
    const theirContact = await addContact(theirs, { first_name: "Name", email: [{ value: outsider.email }], phone: [{ value: phone }] });
    expect(theirContact).toMatchObject({
      organization_id: orgId,
      email: [{ value: outsider.email, matched_user_id: outsider.id }],
      phone: [{ value: phone, matched_user_id: outsider.id }],
    });
    expect((await list(theirs)).map((c) => c._id)).toEqual([theirContact._id]);
    expect((await list(mine)).map((c) => c._id)).toEqual([contact._id]);
    expect(await theirs.requestError("contact_update", { id: contact._id, first_name: "Stolen" })).toEqual({ status: 422, message: "Contact not found." });

    // A user of the other organization changing email changes nothing here; there, their contact follows it.
    const { socket: outsiderSocket } = await connectedSocket(outsider);
    await outsiderSocket.request("user_edit", { email: "moved@example.test" });
    expect((await findContact(mine, contact._id))?.updated_at).toBe(contact.updated_at);
    expect((await findContact(theirs, theirContact._id))?.email).toEqual([{ value: "moved@example.test", matched_user_id: outsider.id }]);
  });
});
