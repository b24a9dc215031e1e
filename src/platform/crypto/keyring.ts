/**
 * Per-scope data keys: creation, versions, rotation, destruction (crypto-shredding) and
 * re-wrapping under a new KEK. Owns the in-memory cache of unwrapped keys. Must never hand out
 * raw key bytes (keys leave as KeyObjects) nor write a data key that is not wrapped.
 */
import { createSecretKey, randomBytes, type KeyObject } from 'node:crypto';
import type { Clock } from '../clock.ts';
import { CryptoError, isCryptoError } from './errors.ts';
import type { Kms } from './kms.ts';
import { createTtlCache } from '../cache/ttl-cache.ts';
import { parseScope, type DataKeyRecord, type DataKeyStore, type KeyPosition, type Scope } from './types.ts';

export interface DataKey {
  readonly scope: Scope;
  readonly version: number;
  readonly key: KeyObject;
}

export interface KeyringOptions {
  kms: Kms;
  store: DataKeyStore;
  clock: Clock;
  /** Unwrapped keys kept in memory (default 10 000). */
  cacheSize?: number;
  /** How long an unwrapped key may outlive its row on another instance (default 5 min). */
  cacheTtlMs?: number;
  /** How long this instance may keep encrypting under a version another instance replaced (default 30 s). */
  currentTtlMs?: number;
}

export interface RewrapResult {
  rewrapped: number;
  skipped: number;
  /** Keys no configured master key can unwrap (or whose wrapping failed authentication): left as they are. */
  unreadable: KeyPosition[];
}

const wrapContext = (scope: Scope, version: number): string => `palisade/data-key/${scope}/v${version}`;
const cacheId = (scope: Scope, version: number): string => `${scope}#${version}`;

export interface Keyring {
  /** Id of the KEK that wraps new keys. */
  readonly kekId: string;
  /** Cached keys only, synchronously: the hot path's way to skip an await. */
  peek(scope: Scope, version: number): DataKey | undefined;
  peekCurrent(scope: Scope): DataKey | undefined;
  currentKey(scope: Scope): Promise<DataKey>;
  /** Like currentKey, but undefined instead of creating a first version. */
  latestKey(scope: Scope): Promise<DataKey | undefined>;
  keyFor(scope: Scope, version: number): Promise<DataKey>;
  rotate(scope: Scope): Promise<DataKey>;
  /** Like rotate, but undefined when the scope has no key (e.g. a subject shredded meanwhile). */
  rotateIfPresent(scope: Scope): Promise<DataKey | undefined>;
  destroy(scope: Scope): Promise<number>;
  evict(scope: Scope): void;
  rewrapAll(newKms: Kms, batchSize?: number): Promise<RewrapResult>;
}

export function createKeyring(options: KeyringOptions): Keyring {
  const { store, clock } = options;
  let kms = options.kms;
  const keys = createTtlCache<DataKey>(options.cacheSize ?? 10_000, options.cacheTtlMs ?? 300_000);
  const current = createTtlCache<number>(options.cacheSize ?? 10_000, options.currentTtlMs ?? 30_000);
  const loading = new Map<Scope, Promise<DataKey>>();
  const now = (): number => clock.now().getTime();
  // Set only while rewrapAll runs, so keys it already moved to the new KEK stay readable.
  let pendingKms: Kms | undefined;

  // A load that read a key row before the scope was evicted (destroyed here, or on another
  // instance) must not put a destroyed key back into the cache when its unwrap finishes after
  // the eviction: `epoch` counts evictions, and while loads run, `evictedAt` remembers when each
  // scope was last evicted (cleared whenever no load runs, so it stays small). Such a load asks
  // the store again whether its row still exists (a rotation evicts too, and destroys nothing).
  let epoch = 0;
  let loadsRunning = 0;
  const evictedAt = new Map<Scope, number>();

  async function tracked<T>(load: (started: number) => Promise<T>): Promise<T> {
    loadsRunning += 1;
    try {
      return await load(epoch);
    } finally {
      loadsRunning -= 1;
      if (loadsRunning === 0) evictedAt.clear();
    }
  }

  const evictedSince = (scope: Scope, started: number): boolean => (evictedAt.get(scope) ?? 0) > started;

  async function open(record: DataKeyRecord, started: number): Promise<DataKey> {
    let raw: Buffer;
    try {
      raw = await kms.unwrap(record.wrapped, wrapContext(record.scope, record.version));
    } catch (err) {
      // Mid rotate-master the caller's KMS may not know a key the new one already wrapped.
      if (!isCryptoError(err, 'unknown_kek') || pendingKms === undefined) throw err;
      raw = await pendingKms.unwrap(record.wrapped, wrapContext(record.scope, record.version));
    }
    // Evicted meanwhile: by a destroy (the row is gone) or by a rotation (it is still there).
    if (evictedSince(record.scope, started) && (await store.get(record.scope, record.version)) === undefined) {
      raw.fill(0);
      throw new CryptoError('key_not_found', 'The data key for this content no longer exists.');
    }
    const dataKey: DataKey = { scope: record.scope, version: record.version, key: createSecretKey(raw) };
    raw.fill(0);
    keys.set(cacheId(record.scope, record.version), dataKey, now());
    return dataKey;
  }

  async function create(scope: Scope, version: number): Promise<DataKey | undefined> {
    const raw = randomBytes(32);
    const wrapped = await kms.wrap(raw, wrapContext(scope, version));
    const inserted = await store.insert({ scope, version, wrapped, kekId: kms.keyId, createdAt: clock.now() });
    if (!inserted) {
      raw.fill(0);
      return undefined;
    }
    const dataKey: DataKey = { scope, version, key: createSecretKey(raw) };
    raw.fill(0);
    keys.set(cacheId(scope, version), dataKey, now());
    return dataKey;
  }

  async function loadCurrent(scope: Scope, started: number): Promise<DataKey> {
    for (let attempt = 0; attempt < 3; attempt += 1) {
      const [latest] = await store.listByScope(scope);
      const dataKey = latest === undefined
        ? await create(scope, await store.firstVersion(scope))
        : peek(scope, latest.version) ?? await open(latest, started);
      if (dataKey !== undefined) {
        current.set(scope, dataKey.version, now());
        return dataKey;
      }
    }
    throw new CryptoError('key_not_found', 'A data key could not be created.');
  }

  function peek(scope: Scope, version: number): DataKey | undefined {
    return keys.get(cacheId(scope, version), now());
  }

  function evict(scope: Scope): void {
    epoch += 1;
    if (loadsRunning > 0) evictedAt.set(scope, epoch);
    loading.delete(scope);
    current.delete(scope);
    keys.deleteWhere((id) => id.startsWith(`${scope}#`));
  }

  async function rotateScope(scope: Scope, onlyIfPresent: boolean): Promise<DataKey | undefined> {
    parseScope(scope);
    for (let attempt = 0; attempt < 3; attempt += 1) {
      const [latest] = await store.listByScope(scope);
      if (latest === undefined && onlyIfPresent) return undefined;
      const created = await create(scope, latest === undefined ? await store.firstVersion(scope) : latest.version + 1);
      if (created !== undefined) {
        current.set(scope, created.version, now());
        return created;
      }
    }
    throw new CryptoError('key_not_found', 'A new data key version could not be created.');
  }

  function peekCurrent(scope: Scope): DataKey | undefined {
    const nowMs = now();
    const version = current.get(scope, nowMs);
    return version === undefined ? undefined : keys.get(cacheId(scope, version), nowMs);
  }

  return {
    get kekId(): string {
      return kms.keyId;
    },
    peek,
    peekCurrent,

    /** The key new ciphertexts of this scope use; creates version 1 on first use. */
    async currentKey(scope: Scope): Promise<DataKey> {
      const cached = peekCurrent(scope);
      if (cached !== undefined) return cached;
      parseScope(scope);
      let pending = loading.get(scope);
      if (pending === undefined) {
        const started = tracked((epochAtStart) => loadCurrent(scope, epochAtStart));
        pending = started.finally(() => {
          if (loading.get(scope) === pending) loading.delete(scope);
        });
        loading.set(scope, pending);
      }
      return pending;
    },

    async latestKey(scope: Scope): Promise<DataKey | undefined> {
      const cached = peekCurrent(scope);
      if (cached !== undefined) return cached;
      parseScope(scope);
      return tracked(async (started) => {
        const [latest] = await store.listByScope(scope);
        if (latest === undefined) return undefined;
        const dataKey = peek(scope, latest.version) ?? await open(latest, started);
        current.set(scope, dataKey.version, now());
        return dataKey;
      });
    },

    async keyFor(scope: Scope, version: number): Promise<DataKey> {
      const cached = peek(scope, version);
      if (cached !== undefined) return cached;
      return tracked(async (started) => {
        const record = await store.get(scope, version);
        if (record === undefined) throw new CryptoError('key_not_found', 'The data key for this content no longer exists.');
        return open(record, started);
      });
    },

    /** Makes a new version the current one; older versions stay readable until re-encrypted. */
    async rotate(scope: Scope): Promise<DataKey> {
      const created = await rotateScope(scope, false);
      if (created === undefined) throw new CryptoError('key_not_found', 'A new data key version could not be created.');
      return created;
    },

    rotateIfPresent: (scope: Scope) => rotateScope(scope, true),

    /**
     * Crypto-shredding: deletes every version of the scope's key. Other instances forget it when
     * their cache expires (cacheTtlMs) or when told to `evict` it.
     */
    async destroy(scope: Scope): Promise<number> {
      parseScope(scope);
      const deleted = await store.deleteScope(scope);
      evict(scope);
      return deleted;
    },

    /** For a pub/sub "key destroyed" message from another instance. */
    evict,

    /**
     * `keys rotate-master`: re-wraps every data key under `newKms`, in batches. Safe to run again
     * after a crash: keys already wrapped by the new KEK are skipped. Afterwards this keyring
     * wraps new keys with `newKms`.
     */
    async rewrapAll(newKms: Kms, batchSize = 500): Promise<RewrapResult> {
      const result: RewrapResult = { rewrapped: 0, skipped: 0, unreadable: [] };
      pendingKms = newKms;
      try {
        // Paged by position, not only by what is left: a key that cannot be read stays behind,
        // and must not stop the keys after it from being re-wrapped.
        let after: KeyPosition | undefined;
        for (;;) {
          const batch = await store.listNotWrappedBy(newKms.keyId, batchSize, after);
          if (batch.length === 0) break;
          for (const record of batch) {
            after = { scope: record.scope, version: record.version };
            const context = wrapContext(record.scope, record.version);
            let raw: Buffer;
            try {
              raw = await kms.unwrap(record.wrapped, context);
            } catch (error) {
              if (!isCryptoError(error, 'unknown_kek') && !isCryptoError(error, 'unwrap_failed')) throw error;
              result.unreadable.push({ scope: record.scope, version: record.version });
              continue;
            }
            const wrapped = await newKms.wrap(raw, context);
            raw.fill(0);
            const updated = await store.updateWrapped(record.scope, record.version, wrapped, newKms.keyId, record.kekId);
            if (updated) result.rewrapped += 1;
            else result.skipped += 1;
          }
        }
        kms = newKms;
        return result;
      } finally {
        pendingKms = undefined;
      }
    },
  };
}
