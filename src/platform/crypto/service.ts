/**
 * What the rest of the platform uses of encryption at rest: the cipher, the keyring, and
 * `shred` (crypto-shredding of one subject, for privacy/erasure). Owns the erasure tombstone
 * and the cross-instance eviction message; must never keep a destroyed key anywhere it can
 * reach, nor shred an organisation key through this path.
 */
import type { Kysely } from 'kysely';
import type { InvalidationBus } from '../cache/invalidation.ts';
import type { Clock } from '../clock.ts';
import type { DB } from '../db/tables.ts';
import type { Cipher } from './envelope.ts';
import type { Keyring } from './keyring.ts';
import { isScope, subjectScope } from './types.ts';

/** Invalidation topic: ids are key scopes every instance must drop from its key cache. */
export const KEY_EVICTION_TOPIC = 'crypto-key';

export interface CryptoService {
  cipher: Cipher;
  keyring: Keyring;
  /**
   * Destroys every version of the subject's key (visitor or conversation id), records a tombstone
   * so a key-store backup restored later cannot bring it back, and tells every instance to drop
   * it at once. Returns how many key versions went. Idempotent.
   */
  shred(orgId: string, subjectId: string): Promise<number>;
}

export function createCryptoService(deps: {
  db: Kysely<DB>;
  cipher: Cipher;
  keyring: Keyring;
  invalidation: Pick<InvalidationBus, 'publish' | 'on'>;
  clock: Clock;
}): CryptoService {
  const { db, keyring, invalidation, clock } = deps;
  invalidation.on(KEY_EVICTION_TOPIC, (ids) => {
    for (const id of ids) if (isScope(id)) keyring.evict(id);
  });
  // A reconnect may have missed evictions: the keyring's TTL bounds that; nothing else to do.

  return {
    cipher: deps.cipher,
    keyring,
    async shred(orgId, subjectId) {
      const scope = subjectScope(orgId, subjectId);
      const now = clock.now();
      // Tombstone first: if we crash between the two, the key is gone on the next attempt anyway.
      await db
        .insertInto('key_erasures')
        .values({ scope, erased_at: now })
        .onConflict((oc) => oc.column('scope').doUpdateSet({ erased_at: now }))
        .execute();
      const deleted = await keyring.destroy(scope);
      // No key here to learn the last version from (the key store lost, or not yet restored): a
      // key-store backup may hold versions above the tombstone's, so restores also go by time.
      if (deleted === 0) await db.updateTable('key_erasures').set({ unseen_keys_before: now }).where('scope', '=', scope).execute();
      await invalidation.publish(KEY_EVICTION_TOPIC, [scope]);
      return deleted;
    },
  };
}
