// Property-based fuzzing of one socket: well-formed, boundary and malformed frames for every request
// of SAMA's catalogue. Every frame must get exactly one structured answer, no answer may carry a
// secret or a user of another organization, and the socket must keep serving.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { requestHandlers } from "../../src/protocol/registry";
import { TestSocket, isRecord, type Frame } from "../helpers/socket";
import { createOrganization, loginHttp, signUp, type TestUser } from "../helpers/users";

// SAMA-PROTOCOL.md §1.5: every route, implemented or not.
const CATALOGUE = [
  "activity_status", "block_list_enable", "block_user", "connect", "contact_add", "contact_batch_add", "contact_delete",
  "contact_list", "contact_update", "conversation_create", "conversation_delete", "conversation_handler_create",
  "conversation_handler_delete", "conversation_list", "conversation_search", "conversation_subscribe",
  "conversation_unsubscribe", "conversation_update", "create_files", "device_delete", "device_list", "device_register",
  "get_admins_by_cids", "get_conversation_handler", "get_file_urls", "get_participants_by_cids", "get_users_by_ids",
  "list_blocked_users", "message", "message_decryption_failed", "message_delete", "message_edit", "message_list",
  "message_reactions_list", "message_reactions_update", "message_read", "message_summary", "message_tone", "online_list",
  "op_log_list", "ping", "push_event_create", "push_subscription_create", "push_subscription_delete",
  "push_subscription_list", "request_keys", "system_message", "typing", "unblock_user", "user_create", "user_delete",
  "user_edit", "user_last_activity", "user_last_activity_subscribe", "user_last_activity_unsubscribe", "user_login",
  "user_logout", "user_reset_password", "user_search", "user_send_otp",
];

const KEYS = [
  "organization_id", "login", "password", "email", "phone", "device_id", "token", "keyword", "limit", "ignore_ids", "ids",
  "updated_at", "gt", "lt", "first_name", "last_name", "current_password", "new_password", "avatar_object", "file_id",
  "cid", "body", "id", "type", "participants", "name", "x", "attachments",
];

const SECRET = /password_hash|encrypted_password|password_salt|pbkdf2-sha256\$|sama\$/;

interface World {
  foreign: TestUser;
  foreignOrg: string;
}

function frames(world: World, me: () => TestUser): fc.Arbitrary<string> {
  const leaf = fc.oneof(
    fc.string({ maxLength: 40 }),
    fc.integer(),
    fc.double({ noNaN: false }),
    fc.boolean(),
    fc.constant(null),
    fc.constantFrom(world.foreign.id, world.foreign.login, world.foreignOrg, "default", "ffffffffffffffffffffffff"),
    fc.constant(me().id),
    fc.constant(me().login),
    fc.string({ minLength: 300, maxLength: 2000 }),
    fc.constant("y".repeat(70_000)),
  );
  const value = fc.letrec((tie) => ({
    node: fc.oneof({ depthSize: "small", withCrossShrink: true }, leaf, tie("array"), tie("object")),
    array: fc.array(tie("node"), { maxLength: 5 }),
    object: fc.dictionary(fc.oneof(fc.constantFrom(...KEYS), fc.string({ maxLength: 8 })), tie("node"), { maxKeys: 6 }),
  })).node;
  const params = fc.oneof(
    fc.dictionary(fc.constantFrom(...KEYS), value, { maxKeys: 6 }),
    value,
    fc.constant({}),
  );
  const action = fc.oneof(
    { weight: 5, arbitrary: fc.constantFrom(...requestHandlers.keys()) },
    { weight: 3, arbitrary: fc.constantFrom(...CATALOGUE) },
    { weight: 1, arbitrary: fc.string({ maxLength: 20 }) },
  );
  const id = fc.oneof(fc.string({ maxLength: 12 }), fc.integer());
  const requestForm = fc.record({ action, params, id }).map(({ action, params, id }) => JSON.stringify({ request: { [action]: params, id } }));
  const topLevelForm = fc.record({ action, params }).map(({ action, params }) => JSON.stringify({ [action]: params }));
  const deepNesting = fc.integer({ min: 10, max: 20_000 }).map((n) => `{"request":{"user_search":${"[".repeat(n)}${"]".repeat(n)},"id":"deep"}}`);
  const truncated = requestForm.chain((text) => fc.integer({ min: 1, max: Math.max(1, text.length - 1) }).map((cut) => text.slice(0, cut)));
  const junk = fc.string({ minLength: 1, maxLength: 200 });
  return fc
    .oneof(
      { weight: 8, arbitrary: requestForm },
      { weight: 3, arbitrary: topLevelForm },
      { weight: 1, arbitrary: deepNesting },
      { weight: 2, arbitrary: truncated },
      { weight: 2, arbitrary: junk },
    )
    .filter((text) => text.trim() !== "" && text !== "ping");
}

/** One structured answer: a single key whose value is an object, and errors as {status, message}. */
function checkAnswer(answer: Frame): void {
  const keys = Object.keys(answer);
  expect(keys).toHaveLength(1);
  const body = answer[keys[0]!];
  expect(isRecord(body)).toBe(true);
  if (isRecord(body) && "error" in body) {
    const error = body.error;
    expect(isRecord(error)).toBe(true);
    if (!isRecord(error)) return;
    expect(Number.isInteger(error.status)).toBe(true);
    expect(typeof error.message).toBe("string");
    expect(error.status).not.toBe(500);
  }
}

describe("protocol fuzzing", () => {
  it("answers 1,000+ random frames on one socket, leaks nothing, and keeps serving", { timeout: 300_000 }, async () => {
    const foreignOrg = await createOrganization();
    const world: World = { foreign: await signUp({ organizationId: foreignOrg }), foreignOrg };
    let me = await signUp();
    const socket = await TestSocket.open();
    const signIn = async () => {
      const login = await loginHttp(me);
      const response = await socket.request("connect", { token: login.accessToken, device_id: login.deviceId });
      expect(response.success).toBe(true);
    };
    await signIn();

    let runs = 0;
    let answered = socket.frames.length;
    await fc.assert(
      fc.asyncProperty(frames(world, () => me), async (text) => {
        runs++;
        // Exactly one answer per frame: nothing arrived beyond the previous frame's answer.
        expect(socket.frames.length).toBe(answered);
        socket.send(text);
        const answer = await socket.next((f) => socket.frames.indexOf(f) >= answered, 10_000);
        answered += 1;
        checkAnswer(answer);
        // The echoed request id is the client's own input; everything else must be clean.
        const raw = JSON.stringify(Object.values(answer).map((body) => ({ ...(body as Frame), id: undefined })));
        expect(raw).not.toMatch(SECRET);
        expect(raw).not.toContain(world.foreign.id);
        // A request that ended the session (logout, delete, sign-in as someone new) gets a fresh account.
        if (/"success":true|"token":"|"user":\{/.test(raw)) {
          me = await signUp();
          await signIn();
          answered = socket.frames.length;
        }
      }),
      { numRuns: 1000, seed: Number(process.env.FUZZ_SEED ?? Date.now() % 2 ** 31) },
    );
    expect(runs).toBeGreaterThanOrEqual(1000);
    expect(await socket.request("ping", {}, "alive")).toEqual({ id: "alive", pong: {} });
    socket.close();
  });
});
