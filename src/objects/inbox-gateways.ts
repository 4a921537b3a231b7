// The Inbox's calls to the Gateways holding its user's sessions. One kept stub per Gateway: calls on
// one stub arrive in order, so packets keep their event_seq order. A push has a deadline; one that
// outlives it is "lagging" until it settles: later pushes to that Gateway wait for it (the stub's
// order no longer shows in their answers), and the Inbox leaves that Gateway's sessions out of what
// a receipt reports (a Conversation that sent to them straight could overtake the packets still on
// their way: a conversation's packets reach a socket in stream order).
import { logError } from "../log";
import { EXPIRED, SharedDeadline } from "./deadline";
import { StubCache, gatewayStub, type GatewayStub, type SocketBatch, type SocketTarget } from "./stubs";

/** A Gateway that has not answered within half to all of this is skipped for this delivery (the log still has the packet). */
const PUSH_TIMEOUT_MS = 5000;
/**
 * How long a lagging push is waited for, at most (half to all of it): then it counts as failed, and
 * later pushes go on without it. Waiting for ever would starve the Gateway's sessions of every later
 * packet; giving up early risks only that the push lands after all, behind newer ones. A Gateway
 * that holds a call for seconds is in trouble (a reset one fails its calls at once), so 10-20 s after
 * a push left, its sessions lose live packets rather than wait (sync has them).
 */
const LAGGING_LIMIT_MS = 3 * PUSH_TIMEOUT_MS;

export class InboxGateways {
  private readonly stubs: StubCache<GatewayStub>;
  private readonly deadline = new SharedDeadline(PUSH_TIMEOUT_MS);
  private readonly lagLimit = new SharedDeadline(LAGGING_LIMIT_MS);
  /** Pushes that outlived their deadline, by Gateway, until they settle (or LAGGING_LIMIT_MS). */
  private readonly lagging = new Map<string, Promise<unknown>>();

  constructor(
    env: Env,
    private readonly inboxId: DurableObjectId,
  ) {
    this.stubs = new StubCache((id) => gatewayStub(env, id));
  }

  /** The Gateway's kept stub, for calls other than pushes. */
  stub(gateway: string): GatewayStub {
    return this.stubs.get(gateway);
  }

  /** After a failed call: the next call gets a new stub (and learns from the fresh object whether the sockets are still there). */
  forget(gateway: string): null {
    this.stubs.forget(gateway);
    return null;
  }

  /** Whether a push to any Gateway is lagging (the usual answer, no: nothing to filter). */
  get anyLagging(): boolean {
    return this.lagging.size > 0;
  }

  isLagging(gateway: string): boolean {
    return this.lagging.has(gateway);
  }

  /**
   * Pushes `batch` after any push lagging there. Answers the targets the Gateway did not reach, or
   * null when the push failed or had no answer in time (it is lagging then). A failed call is not
   * proof the sockets are gone: the liveness alarm decides that; "missed" is.
   */
  async push(gateway: string, batch: SocketBatch): Promise<SocketTarget[] | null> {
    const push = () => this.stub(gateway).push([batch]);
    const before = this.lagging.get(gateway);
    const call = before === undefined ? push() : before.then(push);
    const answer = await this.deadline.race(call).catch((err: unknown) => {
      logError("push to gateway failed", { kind: "Inbox", id: this.inboxId.toString(), gateway }, err);
      return this.forget(gateway);
    });
    if (answer !== EXPIRED) return answer;
    this.lagBehind(gateway, call, before);
    return null;
  }

  /**
   * A push to `gateway` outlived its deadline: it is lagging until it settles or runs out of
   * LAGGING_LIMIT_MS, counted from when it was found lagging or, if it waited for one before it
   * (`before`), from when that one was done. Failing late or running out, it fails as a push that
   * fails in time does: the Gateway gets a new stub (a reset Gateway's old one fails every call), and
   * nothing is said of its sessions (the liveness alarm decides whether they are gone).
   */
  private lagBehind(gateway: string, call: Promise<unknown>, before: Promise<unknown> | undefined): void {
    const failed = (err: unknown) => {
      logError("push to gateway failed late", { kind: "Inbox", id: this.inboxId.toString(), gateway }, err);
      this.forget(gateway);
    };
    const settled: Promise<unknown> = (before ?? Promise.resolve())
      .then(() => this.lagLimit.race(call))
      .then((answer) => {
        if (answer === EXPIRED) failed(new Error(`no answer within ${LAGGING_LIMIT_MS} ms`));
      }, failed)
      .finally(() => {
        if (this.lagging.get(gateway) === settled) this.lagging.delete(gateway);
      });
    this.lagging.set(gateway, settled);
  }
}
