import type { ServiceDeps } from "../services/context";

/** Who a socket is signed in as. Kept in the WebSocket attachment, so it survives hibernation. */
export interface SessionIdentity {
  userId: string;
  organizationId: string;
  deviceId: string;
}

/** Everything a request handler may use; the Session object builds one per frame. */
export interface RequestContext extends ServiceDeps {
  env: Env;
  /** This socket's Session object id: deliveries caused by this socket skip it (it gets the reply). */
  sessionId: string;
  /** Origin of the socket's upgrade request (file URLs are built on it); null for sockets opened before it was kept. */
  origin: string | null;
  session: SessionIdentity | null;
  /**
   * Signs the socket in; `stillValid` checks its credential again, asked only when a revocation of
   * the device reached its Inbox lately (it may have come between the check and the registration).
   */
  signIn(identity: SessionIdentity, stillValid: () => Promise<boolean>): Promise<void>;
  signOut(): Promise<void>;
  /** Test-only hold point (TEST_HOOKS=1, Gateway.testHold): resolves at once otherwise. */
  credentialChecked(): Promise<void>;
  /**
   * The conversations of messages this socket sent or received lately (message id → cid), so an
   * edit or reaction right after the `ask` does not wait for the fan-out to index it.
   */
  recentMessages: Map<string, string>;
}

export interface AuthedContext extends RequestContext {
  session: SessionIdentity;
}

/** The payload of a `{"response":{"id":…, …payload}}` frame. */
export type ResponsePayload = Record<string, unknown>;

/** What a request answers: a response payload, a whole frame (`ask`), or nothing (typing). */
export type Reply = { response: ResponsePayload } | { frame: Record<string, unknown> } | { none: true };
