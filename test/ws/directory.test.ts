// Directory privacy: what one user sees of another through user_search, get_users_by_ids,
// online_list, get_participants_by_cids and the user cards of conversation events. Public fields
// for everyone; email and phone only for the user themself and for a user whose address book
// already holds that very value (a matched contact).
import { describe, expect, it } from "vitest";
import type { Frame, TestSocket } from "../helpers/socket";
import { connectedSocket, createOrganization, signUp } from "../helpers/users";

const phoneOf = () => String(Date.now() % 1e9) + String(Math.floor(Math.random() * 1e5)).padStart(5, "0");

function only(users: unknown, id: string): Frame {
  const found = (users as Frame[]).filter((u) => u._id === id);
  expect(found, `exactly one user ${id}`).toHaveLength(1);
  return found[0]!;
}

/** What `socket` is told about `id` by each of the three directory requests. */
async function seenThrough(socket: TestSocket, id: string, login: string): Promise<Frame[]> {
  return [
    only((await socket.request("user_search", { keyword: login })).users, id),
    only((await socket.request("get_users_by_ids", { ids: [id] })).users, id),
    only((await socket.request("online_list", {})).users, id),
  ];
}

describe("directory privacy", () => {
  it("gives strangers public fields only, and email or phone to whoever already has that value", async () => {
    const org = await createOrganization();
    const alice = await signUp({ organizationId: org, firstName: "Alice", lastName: "Liddell" });
    const phone = phoneOf();
    const { socket: a } = await connectedSocket(alice);
    expect(await a.request("user_edit", { phone })).toMatchObject({ user: { phone } });
    const stranger = await signUp({ organizationId: org });
    const knowsEmail = await signUp({ organizationId: org });
    const knowsPhone = await signUp({ organizationId: org });
    const { socket: s } = await connectedSocket(stranger);
    const { socket: e } = await connectedSocket(knowsEmail);
    const { socket: p } = await connectedSocket(knowsPhone);
    // Contact values match case-insensitively, as contact matching does.
    expect(await e.request("contact_add", { first_name: "Al", email: [{ type: "work", value: alice.email.toUpperCase() }] })).toHaveProperty("contact");
    expect(await p.request("contact_add", { first_name: "Al", phone: [{ type: "cell", value: phone }] })).toHaveProperty("contact");

    for (const view of await seenThrough(s, alice.id, alice.login)) {
      expect(view).toMatchObject({ _id: alice.id, login: alice.login, first_name: "Alice", last_name: "Liddell" });
      expect(typeof view.recent_activity).toBe("number");
      expect(view).not.toHaveProperty("email");
      expect(view).not.toHaveProperty("phone");
    }
    for (const view of await seenThrough(e, alice.id, alice.login)) {
      expect(view.email).toBe(alice.email);
      expect(view).not.toHaveProperty("phone");
    }
    for (const view of await seenThrough(p, alice.id, alice.login)) {
      expect(view).not.toHaveProperty("email");
      expect(view.phone).toBe(phone);
    }
    // The user themself sees everything.
    expect(only((await a.request("get_users_by_ids", { ids: [alice.id] })).users, alice.id)).toMatchObject({ email: alice.email, phone });
    expect(only((await a.request("online_list", {})).users, alice.id)).toMatchObject({ email: alice.email, phone });
  });

  it("shares no contact details through a conversation: participants' lists and event cards", async () => {
    const org = await createOrganization();
    const alice = await signUp({ organizationId: org });
    const stranger = await signUp({ organizationId: org });
    const { socket: s } = await connectedSocket(stranger);
    const { socket: a } = await connectedSocket(alice);
    // A stranger may put anyone in a group: that must not hand them the member's email.
    const created = await s.request("conversation_create", { type: "g", name: "g", participants: [alice.id] });
    const cid = (created.conversation as Frame)._id as string;
    const participants = await s.request("get_participants_by_cids", { cids: [cid] });
    expect(only(participants.users, alice.id)).not.toHaveProperty("email");
    const late = await signUp({ organizationId: org });
    // The actor's own socket is not sent its event: the member's is.
    const added = a.next((f) => {
      const m = f.message as Frame | undefined;
      return m?.cid === cid && (m.x as Frame | undefined)?.type === "added_participant";
    });
    await s.request("conversation_update", { id: cid, participants: { add: [late.id] } });
    const card = ((await added).message as Frame).x as Frame;
    expect(card.user).toMatchObject({ _id: late.id, login: late.login });
    expect(card.user).not.toHaveProperty("email");
  });
});
