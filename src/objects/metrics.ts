// What Durable Objects bill, counted from the runtime's own numbers: per object class, commits
// (a turn that wrote: its writes are one implicit transaction, one fsync locally), rows written and
// read (the SQL cursor's counters), and calls between objects (counted at the stub, by the class
// called). The counters live in this isolate: `wrangler dev` runs the Worker and every object in one,
// so the benchmark reads whole-server totals from /admin/metrics; on Cloudflare each isolate counts its own.
export const OBJECT_CLASSES = ["Conversation", "Inbox", "Gateway"] as const;
export type ObjectClass = (typeof OBJECT_CLASSES)[number];

export interface Meter {
  commits: number;
  rowsWritten: number;
  rowsRead: number;
  /** Calls this class received from other objects or the Worker (RPC methods and fetch). */
  calls: number;
  /** Instances constructed: each start after an eviction reloads what the object keeps in memory. */
  starts: number;
}

const meters = Object.fromEntries(OBJECT_CLASSES.map((c) => [c, { commits: 0, rowsWritten: 0, rowsRead: 0, calls: 0, starts: 0 }])) as Record<ObjectClass, Meter>;

/** An object of this class was constructed (called from its constructor). */
export function started(kind: ObjectClass): void {
  meters[kind].starts++;
}

/** A copy of the counters since the isolate started. */
export function metrics(): Record<ObjectClass, Meter> {
  return Object.fromEntries(OBJECT_CLASSES.map((c) => [c, { ...meters[c] }])) as Record<ObjectClass, Meter>;
}

/**
 * The object's storage with every write counted: its SQL (the cursor's counters are read once the
 * caller has consumed it, a microtask later: callers read results synchronously) and its alarm.
 * Writes made in one synchronous stretch are one implicit transaction: one commit. (Timers cannot
 * mark the end of a turn: the runtime drops those of a request that has answered.)
 */
export function meteredStorage(storage: DurableObjectStorage, kind: ObjectClass): { sql: SqlStorage; setAlarm(at: number): Promise<void> } {
  const meter = meters[kind];
  let open = false;
  let wrote = false;
  // The stretch closes two microtasks later, after every cursor of the stretch was read.
  const stretch = () => {
    if (open) return;
    open = true;
    queueMicrotask(() =>
      queueMicrotask(() => {
        if (wrote) meter.commits++;
        open = false;
        wrote = false;
      }),
    );
  };
  const sql = storage.sql;
  const exec = <T extends Record<string, SqlStorageValue>>(query: string, ...bindings: unknown[]): SqlStorageCursor<T> => {
    stretch();
    const cursor = sql.exec<T>(query, ...bindings);
    queueMicrotask(() => {
      meter.rowsRead += cursor.rowsRead;
      meter.rowsWritten += cursor.rowsWritten;
      if (cursor.rowsWritten > 0) wrote = true;
    });
    return cursor;
  };
  return {
    sql: new Proxy(sql, {
      get(target, prop) {
        if (prop === "exec") return exec;
        const value: unknown = Reflect.get(target, prop);
        return typeof value === "function" ? Function.prototype.bind.call(value, target) : value;
      },
    }),
    setAlarm(at) {
      stretch();
      wrote = true;
      return storage.setAlarm(at);
    },
  };
}

/** The stub with every call counted against the class it reaches. */
export function meteredStub<T extends object>(stub: T, kind: ObjectClass): T {
  const meter = meters[kind];
  return new Proxy(stub, {
    get(target, prop) {
      const value: unknown = Reflect.get(target, prop);
      if (typeof value !== "function" || prop === "then") return value;
      return (...args: unknown[]) => {
        meter.calls++;
        // Reflect.apply: an RPC method is a proxy that would take `.apply` for a remote method name.
        return Reflect.apply(value as (...a: unknown[]) => unknown, target, args);
      };
    },
  });
}
