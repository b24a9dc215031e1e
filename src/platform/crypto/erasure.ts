/**
 * Telling erased content from a missing key. Both fail with `key_not_found`; only content whose
 * key an erasure destroyed (a tombstone in `key_erasures` covers its subject and version) is meant
 * to be gone. Anything else — a lost or not yet restored key store, a missing organisation key,
 * a returning subject's newer key — stays an error, so an operational failure never passes for
 * an erasure.
 */
import type { Kysely } from 'kysely';
import type { DB } from '../db/tables.ts';
import { parseCiphertext } from './envelope.ts';
import { isCryptoError } from './errors.ts';

export type ErasureCheck = (error: unknown, ciphertext: string, orgId: string) => Promise<boolean>;

interface Tombstone {
  last_version: number;
  unseen_keys_before: Date | null;
}

/** Tombstones are never removed, so those found are kept (a bounded number) for the messages that follow. */
const REMEMBERED = 10_000;

/** `db` reads key_erasures, a platform table: the owner connection, outside any tenant transaction. */
export function erasureCheck(db: Kysely<DB>): ErasureCheck {
  const found = new Map<string, Promise<Tombstone | undefined>>();
  function tombstone(scope: string): Promise<Tombstone | undefined> {
    let pending = found.get(scope);
    if (!pending) {
      if (found.size >= REMEMBERED) found.clear();
      pending = db.selectFrom('key_erasures').select(['last_version', 'unseen_keys_before']).where('scope', '=', scope).executeTakeFirst();
      found.set(scope, pending);
      // Only a tombstone is remembered: one may appear later where there was none.
      void pending.then((t) => t === undefined && found.get(scope) === pending && found.delete(scope), () => found.delete(scope));
    }
    return pending;
  }
  return async (error, ciphertext, orgId) => {
    if (!isCryptoError(error, 'key_not_found')) return false;
    const { scope, version } = parseCiphertext(ciphertext, orgId);
    if (!scope.startsWith('subject:')) return false;
    const t = await tombstone(scope);
    if (t === undefined) return false;
    // The versions it destroyed; where it could not see them (an erasure that found no key, an
    // older tombstone), every version of the subject counts.
    return version <= t.last_version || t.last_version === 0 || t.unseen_keys_before !== null;
  };
}
