/** SQL for single sign-on: an organisation's provider, its identities, and sign-ins under way. */
import { sql, type Kysely, type RawBuilder, type Selectable } from 'kysely';
import type { DB, OrgSsoTable } from '../../platform/db/tables.ts';
import type { Tx } from '../../platform/db/tenant.ts';

export type SsoConfigRow = Selectable<OrgSsoTable>;

/** The organisation's members (`m`) joined to their accounts (`u`), counted where `condition` holds. */
async function countMembersWhere(x: Kysely<DB>, orgId: string, condition: RawBuilder<boolean>): Promise<number> {
  const row = await x
    .selectFrom('memberships as m')
    .innerJoin('users as u', 'u.id', 'm.user_id')
    .select((eb) => eb.fn.countAll().as('n'))
    .where('m.org_id', '=', orgId)
    .where(condition)
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

export function createSsoStore() {
  return {
    config: (tx: Tx): Promise<SsoConfigRow | undefined> => tx.selectFrom('org_sso').selectAll().executeTakeFirst(),


    saveConfig: async (tx: Tx, row: Omit<SsoConfigRow, 'updated_at'>, at: Date): Promise<void> => {
      const values = { ...row, email_domains: sql<string[]>`${sql.val(row.email_domains)}::text[]`, updated_at: at };
      await tx
        .insertInto('org_sso')
        .values(values)
        .onConflict((oc) => oc.column('org_id').doUpdateSet({ ...values, org_id: undefined } as never))
        .execute();
    },

    /**
     * Members other than owners whose account this organisation's SSO did not make: it can never
     * sign them in, so once it is required they are refused.
     */
    membersWithoutSso: (tx: Tx, orgId: string): Promise<number> =>
      countMembersWhere(tx, orgId, sql<boolean>`m.role <> 'owner' AND u.federated_org_id IS DISTINCT FROM ${orgId}`),

    /** Turns an enabled SSO off (a lockdown); true if it was on. */
    disable: async (tx: Tx, orgId: string): Promise<boolean> =>
      (await tx.updateTable('org_sso').set({ enabled: false }).where('org_id', '=', orgId).where('enabled', '=', true).returning('org_id').executeTakeFirst()) !== undefined,

    /**
     * The configuration, locked for share until the transaction ends: a sign-in about to commit, or
     * provisioning, acts under it, and a change waits for them (as the owner or in the tenant).
     */
    configForShare: (x: Kysely<DB>, orgId: string): Promise<SsoConfigRow | undefined> =>
      x.selectFrom('org_sso').selectAll().where('org_id', '=', orgId).forShare().executeTakeFirst(),

    /** Owners who can sign in with a password (read as the owner: the tenant role sees no password column). */
    ownersWithPassword: (x: Kysely<DB>, orgId: string): Promise<number> => countMembersWhere(x, orgId, sql<boolean>`m.role = 'owner' AND u.password_hash IS NOT NULL`),

    removeConfig: async (tx: Tx): Promise<boolean> => (await tx.deleteFrom('org_sso').returning('org_id').executeTakeFirst()) !== undefined,

    /** The organisation of an enabled SSO, by the organisation's slug (read before any tenant is known). */
    orgBySlug: async (db: Kysely<DB>, slug: string): Promise<string | undefined> =>
      (
        await db
          .selectFrom('orgs')
          .innerJoin('org_sso', 'org_sso.org_id', 'orgs.id')
          .select('orgs.id')
          .where('orgs.slug', '=', slug)
          .where('org_sso.enabled', '=', true)
          .executeTakeFirst()
      )?.id,

    startLogin: async (db: Kysely<DB>, row: { state_hash: string; browser_hash: string; org_id: string; nonce: string; code_verifier: string; expires_at: Date }): Promise<void> => {
      await db.insertInto('sso_logins').values(row).execute();
    },

    /** Takes a sign-in under way, once: the state's, started by this browser, not expired. */
    takeLogin: async (db: Kysely<DB>, stateHash: string, browserHash: string, now: Date) =>
      db
        .deleteFrom('sso_logins')
        .where('state_hash', '=', stateHash)
        .where('browser_hash', '=', browserHash)
        .where('expires_at', '>', now)
        .returning(['org_id', 'nonce', 'code_verifier'])
        .executeTakeFirst(),

    pruneLogins: async (db: Kysely<DB>, now: Date): Promise<void> => {
      await db.deleteFrom('sso_logins').where('expires_at', '<=', now).execute();
    },

    /** Read before the transaction becomes a tenant one (as the owner), hence the explicit organisation. */
    identity: (x: Kysely<DB>, orgId: string, issuer: string, subject: string) =>
      x.selectFrom('sso_identities').select('user_id').where('org_id', '=', orgId).where('issuer', '=', issuer).where('subject', '=', subject).executeTakeFirst(),

    /** Whether the account already has an identity here (then no other identity is linked to it by address). */
    hasIdentity: async (x: Kysely<DB>, orgId: string, userId: string): Promise<boolean> =>
      (await x.selectFrom('sso_identities').select('user_id').where('org_id', '=', orgId).where('user_id', '=', userId).executeTakeFirst()) !== undefined,

    link: async (tx: Kysely<DB>, row: { org_id: string; issuer: string; subject: string; user_id: string }): Promise<void> => {
      await tx.insertInto('sso_identities').values(row).execute();
    },
  };
}

export type SsoStore = ReturnType<typeof createSsoStore>;
