// The authorization matrix, derived from the request catalogue (test/helpers/catalogue.ts): every
// request that names a conversation, message, user, file, contact or push subscription is sent with
// the victim's own valid params by (a) a user of the same organization with no part in those objects,
// (b) a user of another organization, (c) a socket that never signed in. Each must end as SAMA says
// (the catalogue's `outsider`/`foreign` outcome, 401 without a session), never carry the victim's
// objects, and never change them: the victim's view is compared before and after.
import { beforeAll, describe, expect, it } from "vitest";
import { buildApp } from "../../src/http/app";
import { requestHandlers } from "../../src/protocol/registry";
import {
  expectDocumentedError,
  REQUEST_CASES,
  catalogueGaps,
  exchange,
  frameOf,
  idsOf,
  peerOf,
  provision,
  reconnect,
  snapshot,
  type Outcome,
  type Scope,
} from "../helpers/catalogue";
import { TestSocket, isRecord, type Frame } from "../helpers/socket";
import { ADMIN_KEY, createOrganization, http, unique } from "../helpers/users";

let victim: Scope;
let outsider: Scope;
let stranger: Scope;

beforeAll(async () => {
  const otherOrg = await createOrganization();
  victim = await provision(await peerOf("default"), "default");
  outsider = await provision(await peerOf("default"), "default");
  stranger = await provision(await peerOf(otherOrg), otherOrg);
}, 60_000);

/** The one answer to `text` on `socket`, with everything pushed to that socket meanwhile. */
async function answer(socket: TestSocket, text: string): Promise<{ answer: Frame | null; pushes: Frame[] }> {
  const { answers, pushes } = await exchange(socket, text);
  expect(answers.length, `answers to ${text}`).toBeLessThanOrEqual(1);
  return { answer: answers[0] ?? null, pushes };
}

function errorOf(frame: Frame | null): { status: number; message: string } | null {
  if (!frame) return null;
  const body = Object.values(frame)[0];
  return isRecord(body) && isRecord(body.error) ? (body.error as { status: number; message: string }) : null;
}

/**
 * Nothing the victim owns may show up: no marker (nor, for another organization, the profiles'),
 * and, unless the request may name the victim's objects (an "allowed" answer may echo the ids it was
 * given), no id (the request's own id is stripped).
 */
function expectNothingOf(owner: Scope, frames: Frame[], what: string, idsToo: boolean, otherOrganization: boolean): void {
  const text = JSON.stringify(frames.map((f) => Object.fromEntries(Object.entries(f).map(([k, v]) => [k, isRecord(v) ? { ...v, id: undefined } : v]))));
  const secrets = [...owner.markers, ...(otherOrganization ? owner.profileMarkers : []), ...(idsToo ? idsOf(owner) : [])];
  for (const secret of secrets) expect(text, `${what} carries ${secret}`).not.toContain(secret);
}

function expectOutcome(outcome: Outcome, got: Frame | null, what: string): void {
  const error = errorOf(got);
  if (typeof outcome === "number") {
    expect(error, `${what}: expected ${outcome}, got ${JSON.stringify(got)}`).not.toBeNull();
    expect(error!.status, `${what}: ${JSON.stringify(got)}`).toBe(outcome);
    expect(typeof error!.message).toBe("string");
  } else {
    expect(error, `${what}: expected no error, got ${JSON.stringify(got)}`).toBeNull();
  }
}

describe("authorization matrix", () => {
  it("covers every registered request (add a line to test/helpers/catalogue.ts for a new one)", () => {
    expect(catalogueGaps()).toEqual({ missing: [], stale: [] });
  });

  for (const name of requestHandlers.keys()) {
    const names = REQUEST_CASES[name]?.names ?? ["conversation"];
    if (names.length === 0) continue;
    it(`${name}: an outsider, another organization and no session get nowhere`, async () => {
      const testCase = REQUEST_CASES[name];
      expect(testCase, `no line for ${name} in test/helpers/catalogue.ts`).toBeDefined();
      if (!testCase) return;
      expect(testCase.outsider, `${name} names objects: give its outsider outcome`).toBeDefined();
      expect(testCase.foreign, `${name} names objects: give its foreign outcome`).toBeDefined();
      const owner = await reconnect(victim);
      const before = await snapshot(owner);
      const text = frameOf(name, testCase.params(victim), unique("attack"));

      for (const [role, attacker, outcome] of [
        ["outsider", outsider, testCase.outsider!],
        ["other organization", stranger, testCase.foreign!],
      ] as const) {
        const socket = (await reconnect(attacker)).socket;
        const { answer: got, pushes } = await answer(socket, text);
        const what = `${name} as ${role}`;
        if (name !== "typing" || typeof outcome === "number") expect(got, `${what}: no answer`).not.toBeNull();
        expectOutcome(outcome, got, what);
        const error = errorOf(got);
        if (error) expectDocumentedError(name, error, what);
        expectNothingOf(victim, got ? [got] : [], what, outcome !== "allowed", attacker === stranger);
        expectNothingOf(victim, pushes, `${what} (pushes)`, true, attacker === stranger);
      }

      const anonymous = await TestSocket.open();
      const { answer: got } = await answer(anonymous, text);
      expect(errorOf(got), `${name} without a session`).toEqual({ status: 401, message: "Unauthorized." });

      expect(await snapshot(owner), `${name} changed the victim's objects`).toEqual(before);
    });
  }

  it("every request that needs a session answers 401 on a fresh socket", async () => {
    const socket = await TestSocket.open();
    for (const [name, handler] of requestHandlers) {
      if (!handler.requiresAuth) continue;
      const params = REQUEST_CASES[name]?.params(victim) ?? {};
      const { answer: got } = await answer(socket, frameOf(name, params, unique("anon")));
      expect(errorOf(got), name).toEqual({ status: 401, message: "Unauthorized." });
    }
  });

  it("ids of another conversation's messages do nothing in the caller's own conversation", async () => {
    const owner = await reconnect(victim);
    const before = await snapshot(owner);
    const socket = (await reconnect(outsider)).socket;
    const theirs = [victim.message, victim.peerMessage];
    for (const [name, params] of [
      ["message_delete", { cid: outsider.group, ids: theirs, type: "all" }],
      ["message_delete", { cid: outsider.group, ids: theirs, type: "myself" }],
      ["message_read", { cid: outsider.group, ids: theirs }],
      ["message_list", { cid: outsider.group, ids: theirs }],
    ] as const) {
      const { answer: got, pushes } = await answer(socket, frameOf(name, params, unique("cross")));
      expect(errorOf(got), name).toBeNull();
      // The answers may only carry what the request itself named.
      const text = JSON.stringify([got, ...pushes]);
      for (const secret of victim.markers) expect(text, name).not.toContain(secret);
      if (name === "message_list") expect((got?.response as Frame).messages).toEqual([]);
    }
    const reply = await answer(socket, frameOf("message", { id: unique("m"), cid: outsider.group, body: "x", replied_message_id: victim.message }, ""));
    expect(errorOf(reply.answer)).toEqual({ status: 422, message: "Incorrect replied message ID." });
    expect(await snapshot(owner)).toEqual(before);
  });
});

/** HTTP routes that name an object, each with the requests that must be refused. */
interface HttpCase {
  what: string;
  method: string;
  path: string;
  headers?: Record<string, string>;
  status: number;
}

/** Every admin route: refused without the key and with a wrong one (the guard answers before anything is read). */
const adminCases = (methods: string[], path: string) => (): HttpCase[] =>
  methods.flatMap((method) => [
    { what: `${method}: no admin key`, method, path, status: 401 },
    { what: `${method}: a wrong admin key`, method, path, headers: { "admin-api-key": `${ADMIN_KEY}-wrong` }, status: 401 },
  ]);

const HTTP_CASES: Record<string, (file: { victim: string; url: URL }) => HttpCase[]> = {
  "/files/:object_id": ({ victim: victimFile, url }) => [
    { what: "no signature", method: "GET", path: `/files/${victimFile}`, status: 403 },
    { what: "another file's signature", method: "GET", path: `/files/${victimFile}${url.search}`, status: 403 },
    { what: "a download signature used to upload", method: "PUT", path: `${url.pathname}${url.search}`, headers: { "Content-Type": "image/png", "Content-Length": "1" }, status: 403 },
    { what: "a forged signature", method: "GET", path: `/files/${victimFile}?expires=9999999999&signature=${"0".repeat(64)}`, status: 403 },
  ],
  "/admin/organization": adminCases(["POST"], "/admin/organization"),
  "/admin/server-stats": adminCases(["GET"], "/admin/server-stats"),
  "/admin/metrics": adminCases(["GET"], "/admin/metrics"),
  "/admin/message": adminCases(["POST", "PUT", "DELETE"], "/admin/message"),
  "/admin/message/system": adminCases(["POST"], "/admin/message/system"),
  "/admin/message/read": adminCases(["PUT"], "/admin/message/read"),
  "/admin/message/reaction": adminCases(["PUT"], "/admin/message/reaction"),
  "/admin/activity/online": adminCases(["POST"], "/admin/activity/online"),
  "/admin/organizations/:organization_id/export/:collection": adminCases(["GET"], "/admin/organizations/default/export/users"),
  "/admin/import": adminCases(["POST"], "/admin/import"),
  // The victim's channel: no token, a token of the same organization that is no subscriber, another organization's.
  "/api/conversations/:cid/live": () => [
    { what: "no token", method: "GET", path: `/api/conversations/${victim.channel}/live`, headers: { Upgrade: "websocket" }, status: 401 },
    { what: "a non-subscriber", method: "GET", path: `/api/conversations/${victim.channel}/live?token=${outsider.login.accessToken}`, headers: { Upgrade: "websocket" }, status: 403 },
    { what: "another organization", method: "GET", path: `/api/conversations/${victim.channel}/live?token=${stranger.login.accessToken}`, headers: { Upgrade: "websocket" }, status: 404 },
  ],
};

describe("authorization matrix over HTTP", () => {
  it("covers every route that names an object or needs the admin key", () => {
    const named = [...new Set(buildApp().routes.map((r) => r.path).filter((p) => p.includes(":") || p.startsWith("/admin") || p.startsWith("/api")))];
    expect(named.filter((p) => p !== "/admin/*" && !(p in HTTP_CASES)), "add these routes to HTTP_CASES").toEqual([]);
  });

  for (const route of Object.keys(HTTP_CASES)) {
    it(`${route}: no signature, someone else's, or no key is refused`, async () => {
      const socket = (await reconnect(stranger)).socket;
      const urls = (await socket.request("get_file_urls", { file_ids: [stranger.file] })).file_urls as Record<string, string>;
      const cases = HTTP_CASES[route]!({ victim: victim.file, url: new URL(urls[stranger.file]!) });
      for (const c of cases) {
        const res = await http(c.method, c.path, { headers: c.headers, body: c.method === "POST" ? { name: unique("org") } : c.method === "PUT" ? "x" : undefined });
        expect(res.status, `${route}: ${c.what}`).toBe(c.status);
        for (const secret of victim.markers) expect(res.text).not.toContain(secret);
      }
    });
  }
});
