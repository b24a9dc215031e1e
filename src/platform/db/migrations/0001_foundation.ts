import { sql, type Kysely } from 'kysely';
import { APP_ROLE, TENANT_SETTING, tenantPolicySql } from '../tenant.ts';

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql
    .raw(
      `
    CREATE TABLE users (
      id text PRIMARY KEY,
      email text NOT NULL UNIQUE,
      password_hash text,
      name text,
      totp_secret text,
      totp_enabled boolean NOT NULL DEFAULT false,
      created_at timestamptz NOT NULL DEFAULT now()
    );
    CREATE TABLE sessions (
      id text PRIMARY KEY,
      user_id text NOT NULL REFERENCES users(id) ON DELETE CASCADE,
      token_hash text NOT NULL UNIQUE,
      created_at timestamptz NOT NULL DEFAULT now(),
      last_seen_at timestamptz NOT NULL DEFAULT now(),
      expires_at timestamptz NOT NULL,
      ip text,
      user_agent text,
      revoked_at timestamptz
    );
    CREATE INDEX sessions_user ON sessions(user_id);
    CREATE TABLE orgs (
      id text PRIMARY KEY,
      name text NOT NULL,
      slug text NOT NULL UNIQUE,
      region text NOT NULL DEFAULT 'eu',
      require_2fa boolean NOT NULL DEFAULT false,
      improvement_consent boolean NOT NULL DEFAULT false,
      created_at timestamptz NOT NULL DEFAULT now()
    );
    CREATE TABLE memberships (
      org_id text NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
      user_id text NOT NULL REFERENCES users(id) ON DELETE CASCADE,
      role text NOT NULL CHECK (role IN ('owner','admin','editor','viewer')),
      created_at timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (org_id, user_id)
    );
    CREATE INDEX memberships_user ON memberships(user_id);
    CREATE TABLE invitations (
      id text PRIMARY KEY,
      org_id text NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
      email text NOT NULL,
      role text NOT NULL CHECK (role IN ('owner','admin','editor','viewer')),
      token_hash text NOT NULL UNIQUE,
      created_by text NOT NULL,
      created_at timestamptz NOT NULL DEFAULT now(),
      expires_at timestamptz NOT NULL,
      accepted_at timestamptz
    );
    CREATE TABLE projects (
      id text PRIMARY KEY,
      org_id text NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
      name text NOT NULL,
      settings jsonb NOT NULL DEFAULT '{}',
      created_at timestamptz NOT NULL DEFAULT now(),
      updated_at timestamptz NOT NULL DEFAULT now()
    );
    CREATE INDEX projects_org ON projects(org_id);
    CREATE TABLE audit_log (
      id text PRIMARY KEY,
      org_id text NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
      actor_type text NOT NULL,
      actor_id text,
      action text NOT NULL,
      target_type text,
      target_id text,
      ip text,
      metadata jsonb NOT NULL DEFAULT '{}',
      created_at timestamptz NOT NULL DEFAULT now()
    );
    CREATE INDEX audit_log_org_time ON audit_log(org_id, created_at DESC);
    ALTER TABLE orgs ENABLE ROW LEVEL SECURITY;
    CREATE POLICY tenant_isolation ON orgs TO ${APP_ROLE}
      USING (id = current_setting('${TENANT_SETTING}', true))
      WITH CHECK (id = current_setting('${TENANT_SETTING}', true));
    ${tenantPolicySql('memberships')}
    ${tenantPolicySql('invitations')}
    ${tenantPolicySql('projects')}
    ${tenantPolicySql('audit_log')}
    `,
    )
    .execute(db);
}
