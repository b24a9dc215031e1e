/**
 * SQL for a user's TOTP state (columns of users) and the organisations to audit it in. Every
 * write is a compare-and-set, so concurrent requests cannot both use one code or enable a
 * secret that setup replaced meanwhile. Never sees a secret in the clear.
 */
import type { Kysely } from 'kysely';
import type { DB } from '../../platform/db/tables.ts';
import { memberOrgIds } from './store.ts';

type Executor = Kysely<DB>;

const changed = (r: { numUpdatedRows: bigint }): boolean => Number(r.numUpdatedRows) === 1;

export function createTotpStore() {
  return {
    state: (x: Executor, userId: string) =>
      x
        .selectFrom('users')
        .select(['id', 'email', 'password_hash', 'totp_secret', 'totp_enabled', 'totp_last_step'])
        .where('id', '=', userId)
        .executeTakeFirst(),

    /** Stores (or replaces) a pending secret; refused once 2FA is on. */
    setPending: async (x: Executor, userId: string, ciphertext: string): Promise<boolean> =>
      changed(
        await x
          .updateTable('users')
          .set({ totp_secret: ciphertext, totp_last_step: null })
          .where('id', '=', userId)
          .where('totp_enabled', '=', false)
          .executeTakeFirst(),
      ),

    /** Enables exactly the pending secret that was verified. */
    enable: async (x: Executor, userId: string, ciphertext: string, step: number): Promise<boolean> =>
      changed(
        await x
          .updateTable('users')
          .set({ totp_enabled: true, totp_last_step: step })
          .where('id', '=', userId)
          .where('totp_enabled', '=', false)
          .where('totp_secret', '=', ciphertext)
          .executeTakeFirst(),
      ),

    /** Records an accepted step; false when this step or a later one was already used. */
    acceptStep: async (x: Executor, userId: string, step: number): Promise<boolean> =>
      changed(
        await x
          .updateTable('users')
          .set({ totp_last_step: step })
          .where('id', '=', userId)
          .where('totp_enabled', '=', true)
          .where((eb) => eb.or([eb('totp_last_step', 'is', null), eb('totp_last_step', '<', step)]))
          .executeTakeFirst(),
      ),

    /**
     * Turns 2FA off and forgets the secret, if the TOTP code's step is still unused. Without a
     * step a recovery code stood in, spent in the same transaction.
     */
    disable: async (x: Executor, userId: string, step: number | undefined): Promise<boolean> => {
      let query = x
        .updateTable('users')
        .set({ totp_enabled: false, totp_secret: null, totp_last_step: null })
        .where('id', '=', userId)
        .where('totp_enabled', '=', true);
      if (step !== undefined) query = query.where((eb) => eb.or([eb('totp_last_step', 'is', null), eb('totp_last_step', '<', step)]));
      return changed(await query.executeTakeFirst());
    },

    /** Holds the user's row until the transaction ends, if 2FA is on: a concurrent disable waits, or has won. */
    lockEnabled: async (x: Executor, userId: string): Promise<boolean> =>
      (await x.selectFrom('users').select('id').where('id', '=', userId).where('totp_enabled', '=', true).forUpdate().executeTakeFirst()) !== undefined,

    /** The user's own memberships (the account directory may read these outside a tenant). */
    orgIdsOf: memberOrgIds,
  };
}

export type TotpStore = ReturnType<typeof createTotpStore>;
