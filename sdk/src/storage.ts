// Where the client keeps what must outlive a page or a process: the session, the sync cursor and
// the outbox. Any key-value store fits (localStorage, a file, IndexedDB behind a cache).

export interface KeyValueStorage {
  get(key: string): string | null | Promise<string | null>;
  set(key: string, value: string): void | Promise<void>;
  remove(key: string): void | Promise<void>;
}

/** Kept in memory only: a process that restarts starts over (first sync, empty outbox). */
export function memoryStorage(): KeyValueStorage {
  const map = new Map<string, string>();
  return {
    get: (key) => map.get(key) ?? null,
    set: (key, value) => void map.set(key, value),
    remove: (key) => void map.delete(key),
  };
}

/** The part of the Web Storage API the client uses (window.localStorage, sessionStorage). */
export interface WebStorage {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
  removeItem(key: string): void;
}

/** A browser's localStorage (or any Web Storage object), shared by the tabs of one origin. */
export function webStorage(store: WebStorage): KeyValueStorage {
  return {
    get: (key) => store.getItem(key),
    set: (key, value) => store.setItem(key, value),
    remove: (key) => store.removeItem(key),
  };
}
