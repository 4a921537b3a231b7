// The wire contract as types, derived from the server's own definitions: request params from each
// request's zod schema, replies from what its handler returns, server packets from domain/packets.ts,
// which the packet builders are checked against (`satisfies` at each site). The client SDK (sdk/) imports
// these types only, so a change here is a type error there, never a silent drift.
import type { z } from "zod";
import type { ErrorBody } from "../domain/errors";
import type { RequestDefinition } from "./registry";

export type * from "../domain/packets";

type ReplyOf<D> = D extends { readonly "~reply"?: infer R } ? Exclude<R, undefined> : never;

/** Every request by name: what it takes (before validation, as a client writes it) and what it answers. */
export type Requests = {
  [D in RequestDefinition as D["name"]]: { params: z.input<D["params"]>; reply: ReplyOf<D> };
};
export type RequestName = keyof Requests;

/** The sequence number an Inbox adds to every packet it logs. */
export interface Logged {
  event_seq?: number;
}

/** SAMA's error shape, in every failed reply. */
export type WireError = ErrorBody;
