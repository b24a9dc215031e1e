/**
 * Telling erased content from a missing key. Both fail with `key_not_found`; only content whose
 * subject key an erasure destroyed (a tombstone in `key_erasures` names it) is meant to be gone.
 * Anything else — a lost or not yet restored key store, a missing organisation key — stays an
 * error, so an operational failure never passes for an erasure.
 */
import type { Kysely } from 'kysely';
import type { DB } from '../db/tables.ts';
import { parseCiphertext } from './envelope.ts';
import { isCryptoError } from './errors.ts';

export type ErasureCheck = (error: unknown, ciphertext: string, orgId: string) => Promise<boolean>;

/** `db` reads key_erasures, a platform table: the owner connection, outside any tenant transaction. */
export function erasureCheck(db: Kysely<DB>): ErasureCheck {
  return async (error, ciphertext, orgId) => {
    if (!isCryptoError(error, 'key_not_found')) return false;
    const { scope } = parseCiphertext(ciphertext, orgId);
    if (!scope.startsWith('subject:')) return false;
    return (await db.selectFrom('key_erasures').select('scope').where('scope', '=', scope).executeTakeFirst()) !== undefined;
  };
}
