/**
 * Runs the Postgres migrations in src/platform/db/migrations (one set for PGlite and
 * PostgreSQL). Idempotent: applied migrations are recorded and skipped. After migrating, the
 * application role that row-level-security policies bind gets its grants (not on the migration
 * bookkeeping, which it never needs).
 */
import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Migrator, sql, type Kysely, type Migration, type MigrationProvider } from 'kysely';
import { APP_ROLE } from './tenant.ts';

const migrationsDir = join(dirname(fileURLToPath(import.meta.url)), 'migrations');

const provider: MigrationProvider = {
  async getMigrations(): Promise<Record<string, Migration>> {
    const files = readdirSync(migrationsDir)
      .filter((f) => /^\d{4}_[a-z0-9_]+\.ts$/.test(f))
      .sort();
    const migrations: Record<string, Migration> = {};
    for (const file of files) {
      migrations[file.replace(/\.ts$/, '')] = (await import(pathToFileURL(join(migrationsDir, file)).href)) as Migration;
    }
    return migrations;
  },
};

/**
 * The accounts directory (users, sessions, TOTP recovery codes, SSO sign-ins under way) has no row-level security: it is
 * read outside any tenant, as the tables' owner. Inside a tenant transaction the application role
 * sees only the profile columns that member lists, the 2FA policy and the SSO configuration (which
 * organisation's SSO made an account) need — never password
 * hashes, TOTP secrets, recovery code hashes, session token hashes or other users' addresses and
 * user agents — so a query bug in tenant code cannot leak them across organisations.
 */
const directoryGrants = `
  REVOKE ALL ON users, sessions, totp_recovery_codes, sso_logins FROM ${APP_ROLE};
  GRANT SELECT (id, email, name, totp_enabled, federated_org_id, created_at) ON users TO ${APP_ROLE};`;

/**
 * Grants and role changes write shared catalogue rows: instances starting at once against one
 * PostgreSQL failed with "tuple concurrently updated". One at a time, under a transaction-scoped
 * advisory lock (the number is Palisade's own, arbitrary).
 */
async function oneAtATime(db: Kysely<any>, statements: string): Promise<void> {
  await db.transaction().execute(async (tx) => {
    await sql`SELECT pg_advisory_xact_lock(7204551873)`.execute(tx);
    await sql.raw(statements).execute(tx);
  });
}

export async function migrate(db: Kysely<any>): Promise<string[]> {
  await ensureAppRole(db);
  const migrator = new Migrator({ db, provider });
  const { error, results } = await migrator.migrateToLatest();
  if (error) throw error instanceof Error ? error : new Error(String(error));
  // The audit log is append-only for the application: a bug in tenant code must not be able to
  // rewrite or erase an organisation's trail (only the owner, e.g. a restore, writes otherwise).
  await oneAtATime(
    db,
    `GRANT USAGE ON SCHEMA public TO ${APP_ROLE};
     GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO ${APP_ROLE};
     GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO ${APP_ROLE};
     REVOKE ALL ON kysely_migration, kysely_migration_lock FROM ${APP_ROLE};
     REVOKE UPDATE, DELETE, TRUNCATE ON audit_log FROM ${APP_ROLE};
     ${directoryGrants}`,
  );
  return (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
}

/**
 * The application role is one for the whole PostgreSQL cluster, and every Palisade login is a
 * member. Where another login is a member too (another deployment's, in the same cluster) and
 * anyone may connect to this database (PostgreSQL's default), that login could connect here and
 * take the role: a warning naming the fix, which only the operator can weigh (other tools of
 * theirs may need to connect). Nothing to say on PGlite.
 */
export async function sharedRoleWarning(db: Kysely<any>): Promise<string | undefined> {
  const { rows } = await sql<{ others: number; open: boolean; database: string }>`
    SELECT (SELECT count(*)::int FROM pg_auth_members m JOIN pg_roles r ON r.oid = m.roleid
             WHERE r.rolname = ${APP_ROLE} AND m.member <> (SELECT oid FROM pg_roles WHERE rolname = current_user)) AS others,
           has_database_privilege('public', current_database(), 'CONNECT') AS open,
           current_database() AS database`.execute(db);
  const row = rows[0];
  if (!row || row.others === 0 || !row.open) return undefined;
  return `Another login is also a member of ${APP_ROLE} (another Palisade in this PostgreSQL cluster?), and anyone may connect to database "${row.database}": that login could connect here and read this deployment's data as ${APP_ROLE}. Run: REVOKE CONNECT, TEMPORARY ON DATABASE "${row.database}" FROM PUBLIC; GRANT CONNECT, TEMPORARY ON DATABASE "${row.database}" TO current_user; (and to any other role that must connect), or give each deployment its own cluster.`;
}

/**
 * Roles are cluster-wide in PostgreSQL, so several databases (tests run in parallel) may race
 * to create it: both "already exists" errors are fine. The connecting user must be able to
 * SET ROLE to it, hence the membership grant, asked for only when it is missing: where a DBA
 * created the role and granted it (docs/architecture.md), the connecting user needs no right to
 * create or grant roles.
 */
async function ensureAppRole(db: Kysely<any>): Promise<void> {
  await sql
    .raw(
      `DO $$ BEGIN
         IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '${APP_ROLE}') THEN
           CREATE ROLE ${APP_ROLE} NOLOGIN NOINHERIT;
         END IF;
       EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL;
       END $$;`,
    )
    .execute(db);
  const isMember = async (): Promise<boolean> =>
    (await sql<{ member: boolean }>`SELECT pg_has_role(current_user, ${APP_ROLE}, 'MEMBER') AS member`.execute(db)).rows[0]?.member === true;
  if (await isMember()) return;
  try {
    await oneAtATime(db, `GRANT ${APP_ROLE} TO current_user`);
  } catch (error) {
    // Role memberships are the whole cluster's, and the advisory lock only this database's: a
    // first start in another database may have granted it at the same moment.
    if (!(await isMember())) throw error;
  }
}
