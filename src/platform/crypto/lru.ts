/**
 * A small bounded, expiring map for unwrapped keys. Owns eviction order only; must never
 * persist or copy what it holds.
 */
export interface Lru<V> {
  get(key: string, nowMs: number): V | undefined;
  set(key: string, value: V, nowMs: number): void;
  delete(key: string): void;
  deleteWhere(test: (key: string) => boolean): void;
  readonly size: number;
}

interface Entry<V> {
  value: V;
  expiresAt: number;
  used: boolean;
}

/**
 * Second-chance ("clock") eviction: a hit only sets a flag, so the hot path never reorders the
 * map; on overflow, entries used since they were last passed over go to the back once more.
 */
export function createLru<V>(maxEntries: number, ttlMs: number): Lru<V> {
  const entries = new Map<string, Entry<V>>();

  function evictOne(): void {
    for (const [key, entry] of entries) {
      entries.delete(key);
      if (!entry.used) return;
      entry.used = false;
      entries.set(key, entry);
    }
  }

  return {
    get(key: string, nowMs: number): V | undefined {
      const entry = entries.get(key);
      if (entry === undefined) return undefined;
      if (entry.expiresAt <= nowMs) {
        entries.delete(key);
        return undefined;
      }
      entry.used = true;
      return entry.value;
    },
    set(key: string, value: V, nowMs: number): void {
      entries.delete(key);
      entries.set(key, { value, expiresAt: nowMs + ttlMs, used: false });
      while (entries.size > maxEntries) evictOne();
    },
    delete(key: string): void {
      entries.delete(key);
    },
    deleteWhere(test: (key: string) => boolean): void {
      for (const key of [...entries.keys()]) if (test(key)) entries.delete(key);
    },
    get size(): number {
      return entries.size;
    },
  };
}
