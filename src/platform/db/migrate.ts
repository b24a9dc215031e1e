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

export async function migrate(db: Kysely<any>): Promise<string[]> {
  await ensureAppRole(db);
  const migrator = new Migrator({ db, provider });
  const { error, results } = await migrator.migrateToLatest();
  if (error) throw error instanceof Error ? error : new Error(String(error));
  // The audit log is append-only for the application: a bug in tenant code must not be able to
  // rewrite or erase an organisation's trail (only the owner, e.g. a restore, writes otherwise).
  await sql
    .raw(
      `GRANT USAGE ON SCHEMA public TO ${APP_ROLE};
       GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO ${APP_ROLE};
       GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO ${APP_ROLE};
       REVOKE ALL ON kysely_migration, kysely_migration_lock FROM ${APP_ROLE};
       REVOKE UPDATE, DELETE, TRUNCATE ON audit_log FROM ${APP_ROLE};
       ${directoryGrants}`,
    )
    .execute(db);
  return (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
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
  const { rows } = await sql<{ member: boolean }>`SELECT pg_has_role(current_user, ${APP_ROLE}, 'MEMBER') AS member`.execute(db);
  if (!rows[0]?.member) {
    await sql.raw(`GRANT ${APP_ROLE} TO current_user`).execute(db);
  }
}
