/**
 * Kysely table types: one place that mirrors the migrations. Each module reads and writes
 * only its own tables through its store.ts.
 */
import type { ColumnType, Generated } from 'kysely';

type Timestamp = ColumnType<Date, Date | string | undefined, Date | string>;
type Json<T> = ColumnType<T, string, string>;

export interface UsersTable {
  id: string;
  email: string;
  password_hash: string | null;
  name: string | null;
  totp_secret: string | null;
  totp_enabled: Generated<boolean>;
  created_at: Timestamp;
}

export interface SessionsTable {
  id: string;
  user_id: string;
  token_hash: string;
  created_at: Timestamp;
  last_seen_at: Timestamp;
  expires_at: Timestamp;
  ip: string | null;
  user_agent: string | null;
  revoked_at: Date | null;
}

export interface OrgsTable {
  id: string;
  name: string;
  slug: string;
  region: string;
  require_2fa: Generated<boolean>;
  improvement_consent: Generated<boolean>;
  created_at: Timestamp;
}

export interface MembershipsTable {
  org_id: string;
  user_id: string;
  role: string;
  created_at: Timestamp;
}

export interface InvitationsTable {
  id: string;
  org_id: string;
  email: string;
  role: string;
  token_hash: string;
  created_by: string;
  created_at: Timestamp;
  expires_at: Timestamp;
  accepted_at: Date | null;
}

export interface ProjectsTable {
  id: string;
  org_id: string;
  name: string;
  settings: Json<Record<string, unknown>>;
  created_at: Timestamp;
  updated_at: Timestamp;
}

export interface AuditLogTable {
  id: string;
  org_id: string;
  actor_type: string;
  actor_id: string | null;
  action: string;
  target_type: string | null;
  target_id: string | null;
  ip: string | null;
  metadata: Json<Record<string, unknown>>;
  created_at: Timestamp;
}

export interface DB {
  users: UsersTable;
  sessions: SessionsTable;
  orgs: OrgsTable;
  memberships: MembershipsTable;
  invitations: InvitationsTable;
  projects: ProjectsTable;
  audit_log: AuditLogTable;
}

// --- api-keys (migration 0400) ---

export interface ApiKeysTable {
  id: string;
  org_id: string;
  name: string;
  start: string;
  secret_hash: string;
  previous_hash: string | null;
  previous_expires_at: Date | null;
  scopes: Json<string[]>;
  project_ids: ColumnType<string[] | null, string | null, string | null>;
  expires_at: Date | null;
  created_by: string | null;
  created_at: Timestamp;
  rotated_at: Date | null;
  revoked_at: Date | null;
  last_used_at: Date | null;
  last_ip: string | null;
  last_user_agent: string | null;
}

export interface ApiKeyUsageTable {
  org_id: string;
  key_id: string;
  day: ColumnType<string, string, string>;
  route: string;
  count: ColumnType<number, number, number>;
}

export interface DB {
  api_keys: ApiKeysTable;
  api_key_usage: ApiKeyUsageTable;
}
