/**
 * SQL for a user's recovery codes (totp_recovery_codes): only SHA-256 hashes, never a code.
 * Spending a code is a compare-and-set, so two requests racing with one code cannot both use it.
 */
import type { Kysely } from 'kysely';
import type { DB } from '../../platform/db/tables.ts';

type Executor = Kysely<DB>;

export function createRecoveryCodeStore() {
  return {
    /** Replaces every code of the user (used or not) with these. */
    replace: async (x: Executor, userId: string, hashes: Buffer[]): Promise<void> => {
      await x.deleteFrom('totp_recovery_codes').where('user_id', '=', userId).execute();
      await x
        .insertInto('totp_recovery_codes')
        .values(hashes.map((code_hash) => ({ user_id: userId, code_hash })))
        .execute();
    },

    deleteAll: async (x: Executor, userId: string): Promise<void> => {
      await x.deleteFrom('totp_recovery_codes').where('user_id', '=', userId).execute();
    },

    /** Whether the code is the user's and unused: a check only, it spends nothing. */
    isUnused: async (x: Executor, userId: string, hash: Buffer): Promise<boolean> =>
      (await x
        .selectFrom('totp_recovery_codes')
        .select('user_id')
        .where('user_id', '=', userId)
        .where('code_hash', '=', hash)
        .where('used_at', 'is', null)
        .executeTakeFirst()) !== undefined,

    /** Marks the code used; false when it is not the user's or was already used. */
    spend: async (x: Executor, userId: string, hash: Buffer, now: Date): Promise<boolean> =>
      Number(
        (
          await x
            .updateTable('totp_recovery_codes')
            .set({ used_at: now })
            .where('user_id', '=', userId)
            .where('code_hash', '=', hash)
            .where('used_at', 'is', null)
            .executeTakeFirst()
        ).numUpdatedRows,
      ) === 1,
  };
}

export type RecoveryCodeStore = ReturnType<typeof createRecoveryCodeStore>;
