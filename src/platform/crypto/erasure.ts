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

/** Answers kept for the messages that follow (bounded): see below. */
const REMEMBERED = 10_000;

/**
 * `db` reads key_erasures, a platform table: the owner connection, outside any tenant transaction.
 * A tombstone only ever grows (a later erasure raises its version, or marks every version), so a
 * version found covered stays covered and is remembered; anything else is asked again.
 */
export function erasureCheck(db: Kysely<DB>): ErasureCheck {
  const covered = new Set<string>();
  const asking = new Map<string, Promise<Tombstone | undefined>>();
  function tombstone(scope: string): Promise<Tombstone | undefined> {
    let pending = asking.get(scope);
    if (!pending) {
      pending = db.selectFrom('key_erasures').select(['last_version', 'unseen_keys_before']).where('scope', '=', scope).executeTakeFirst();
      asking.set(scope, pending);
      const done = (): void => void asking.delete(scope);
      pending.then(done, done);
    }
    return pending;
  }
  return async (error, ciphertext, orgId) => {
    if (!isCryptoError(error, 'key_not_found')) return false;
    const { scope, version } = parseCiphertext(ciphertext, orgId);
    if (!scope.startsWith('subject:')) return false;
    if (covered.has(`${scope}#*`) || covered.has(`${scope}#${version}`)) return true;
    const t = await tombstone(scope);
    if (t === undefined) return false;
    if (covered.size >= REMEMBERED) covered.clear();
    // Where the erasure could not see the versions it destroyed (it found no key; an older
    // tombstone), every version of the subject counts: a ciphertext carries no creation time.
    if (t.last_version === 0 || t.unseen_keys_before !== null) {
      covered.add(`${scope}#*`);
      return true;
    }
    if (version > t.last_version) return false;
    covered.add(`${scope}#${version}`);
    return true;
  };
}

/** The plaintext, or undefined when its subject was erased; any other failure is thrown. */
export async function unlessErased(erased: ErasureCheck, orgId: string, ciphertext: string, decrypt: (ciphertext: string) => Promise<string>): Promise<string | undefined> {
  try {
    return await decrypt(ciphertext);
  } catch (error) {
    if (await erased(error, ciphertext, orgId)) return undefined;
    throw error;
  }
}
