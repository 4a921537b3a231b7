// The Conversation object's side of conversation handlers: its copy of the handler (kept in the
// object's `meta` table by conversation_handler_create/delete, so a send reads no D1), the queue
// that keeps sends in arrival order while a handler awaits, the sender cards handlers see as
// `env.USER`, and the failure streak that switches a broken handler off.
import { and, eq } from "drizzle-orm";
import { getDb, type Db } from "../db/client";
import { conversationHandlers } from "../db/schema";
import { nextFailureStreak, verdictOf, type HandlerInput, type RunOutcome, type Verdict } from "../domain/handler-outcome";
import { handlerEngine, type HandlerFetch } from "../handlers";
import { HANDLER_BUDGETS } from "../handlers/budgets";
import type { OutboundBinding } from "../handlers/worker-loader";
import type { UserCard } from "../domain/conversation-calls";
import { logError, logWarning } from "../log";
import { count } from "../operator-counters";

/** What conversation_handler_create gives the object. `version` is the handler's updated_at (Unix ms). */
export interface HandlerConfig {
  content: string;
  botId: string | null;
  version: number;
}

interface HandlerState extends HandlerConfig {
  /** Failures in a row (thrown, stopped, invalid result). */
  streak: number;
  disabledAt: number | null;
}

export interface HandlerRun {
  verdict: Verdict;
  /** Set when this run switched the handler off. */
  disabled: { reason: string } | null;
}

/** How long a sender's card (env.USER) is reused before the caller is asked for a fresh one. */
const CARD_TTL_MS = 60_000;
const MAX_CARDS = 500;

const defaultFetch: HandlerFetch = (url, init) => fetch(url, { ...init, redirect: "follow" });

export class ConversationHandlerHost {
  private state: HandlerState | null | undefined = undefined;
  private queue: Promise<unknown> = Promise.resolve();
  private readonly cards = new Map<string, { card: UserCard; at: number }>();
  private fetchFn: HandlerFetch = defaultFetch;

  constructor(
    private readonly sql: SqlStorage,
    private readonly env: Env,
    private readonly outbound: OutboundBinding,
  ) {}

  /** The handler to run, or null when there is none or it was switched off. */
  active(): HandlerConfig | null {
    if (this.state === undefined) {
      const row = this.sql.exec<{ v: string }>("SELECT v FROM meta WHERE k = 'handler'").toArray()[0];
      this.state = row ? (JSON.parse(row.v) as HandlerState) : null;
    }
    return this.state && this.state.disabledAt === null ? this.state : null;
  }

  configure(config: HandlerConfig | null): void {
    this.state = config === null ? null : { ...config, streak: 0, disabledAt: null };
    if (this.state === null) this.sql.exec("DELETE FROM meta WHERE k = 'handler'");
    else this.save(this.state);
  }

  /** The sender's card: from `cards` when the caller sent it (then remembered), else a recent one. */
  senderCard(userId: string, cards: UserCard[] | null): UserCard | null {
    const given = cards?.find((c) => c.userId === userId);
    if (given) {
      this.cards.delete(userId);
      this.cards.set(userId, { card: given, at: Date.now() });
      if (this.cards.size > MAX_CARDS) this.cards.delete(this.cards.keys().next().value!);
      return given;
    }
    const known = this.cards.get(userId);
    return known && Date.now() - known.at < CARD_TTL_MS ? known.card : null;
  }

  /** Runs `task` after every earlier one: sends through a handler are stored in the order they arrived, whatever the handler awaits. */
  serial<T>(task: () => Promise<T>): Promise<T> {
    const run = this.queue.then(task);
    this.queue = run.catch(() => undefined);
    return run;
  }

  /** Runs the handler on one message and keeps its failure streak; never throws. */
  async run(handler: HandlerConfig, cid: string, input: HandlerInput): Promise<HandlerRun> {
    let outcome: RunOutcome;
    try {
      outcome = await handlerEngine(this.env, this.fetchFn, this.outbound).run(handler.content, input, HANDLER_BUDGETS);
    } catch (err) {
      outcome = { kind: "failed", failure: "engine", detail: String(err) };
    }
    const verdict = verdictOf(outcome);
    if (verdict.failure !== null) {
      logWarning("conversation handler failed", { kind: "Conversation", id: cid, failure: verdict.failure });
      count("handlerFailures");
    }
    const state = this.state;
    // Configured again while it ran: the streak belongs to the new handler.
    if (!state || state.version !== handler.version) return { verdict, disabled: null };
    const next = nextFailureStreak(state.streak, verdict.failure !== null);
    if (next.streak === state.streak && !next.disable) return { verdict, disabled: null };
    state.streak = next.streak;
    if (next.disable) {
      state.disabledAt = Date.now();
      void markHandlerDisabled(getDb(this.env), cid, state.version, state.disabledAt).catch((err: unknown) =>
        logError("recording a disabled handler in D1 failed", { kind: "Conversation", id: cid }, err),
      );
    }
    this.save(state);
    return { verdict, disabled: next.disable ? { reason: verdict.failure ?? "" } : null };
  }

  /** Test-only (TEST_HOOKS=1): FETCH goes to `fetchFn` instead of the network. */
  useFetch(fetchFn: HandlerFetch | null): void {
    this.fetchFn = fetchFn ?? defaultFetch;
  }

  private save(state: HandlerState): void {
    this.sql.exec("INSERT OR REPLACE INTO meta (k, v) VALUES ('handler', ?)", JSON.stringify(state));
  }
}

/** Records that the Conversation object switched the handler off (only the version it ran). */
async function markHandlerDisabled(db: Db, cid: string, version: number, at: number): Promise<void> {
  await db
    .update(conversationHandlers)
    .set({ disabledAt: at })
    .where(and(eq(conversationHandlers.conversationId, cid), eq(conversationHandlers.updatedAt, version)));
}
