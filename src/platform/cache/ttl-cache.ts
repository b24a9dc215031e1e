/**
 * A bounded, expiring in-process map. Used for hot-path look-ups whose source of truth is the
 * database (sessions, API keys): entries expire after `ttlMs` as a safety net, and are evicted
 * at once by invalidation messages. Insertion order doubles as age order for eviction.
 */
export interface TtlCache<V> {
  get(key: string, nowMs: number): V | undefined;
  set(key: string, value: V, nowMs: number): void;
  delete(key: string): void;
  deleteWhere(test: (key: string, value: V) => boolean): number;
  clear(): void;
  readonly size: number;
}

export function createTtlCache<V>(maxEntries: number, ttlMs: number): TtlCache<V> {
  const entries = new Map<string, { value: V; expiresAt: number }>();
  return {
    get(key, nowMs) {
      const entry = entries.get(key);
      if (!entry) return undefined;
      if (entry.expiresAt <= nowMs) {
        entries.delete(key);
        return undefined;
      }
      return entry.value;
    },
    set(key, value, nowMs) {
      entries.delete(key);
      if (entries.size >= maxEntries) {
        const oldest = entries.keys().next();
        if (!oldest.done) entries.delete(oldest.value);
      }
      entries.set(key, { value, expiresAt: nowMs + ttlMs });
    },
    delete(key) {
      entries.delete(key);
    },
    deleteWhere(test) {
      let n = 0;
      for (const [key, entry] of entries) if (test(key, entry.value)) (entries.delete(key), n++);
      return n;
    },
    clear() {
      entries.clear();
    },
    get size() {
      return entries.size;
    },
  };
}
