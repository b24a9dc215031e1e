/** The user directory other modules may consult (e.g. orgs adding a member by e-mail). */
import type { Kysely } from 'kysely';
import type { DB } from '../../platform/db/tables.ts';

export function normalizeEmail(email: string): string {
  return email.trim().toLowerCase();
}

export function createUserDirectory(deps: { db: Kysely<DB> }) {
  return {
    async findIdByEmail(email: string): Promise<string | undefined> {
      const row = await deps.db.selectFrom('users').select('id').where('email', '=', normalizeEmail(email)).executeTakeFirst();
      return row?.id;
    },
  };
}

export type UserDirectory = ReturnType<typeof createUserDirectory>;
