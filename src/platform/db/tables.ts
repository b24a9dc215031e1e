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
  /** Pending or enabled TOTP secret, only as a ciphertext (AAD org 'platform', users.totp_secret). */
  totp_secret: string | null;
  totp_enabled: Generated<boolean>;
  /** Last accepted TOTP time step (migration 0721): codes of this step or earlier are refused. */
  totp_last_step: number | null;
  created_at: Timestamp;
  /** Migration 0802: made by this organisation's single sign-on, and belonging to it alone. */
  federated_org_id: Generated<string | null>;
}

/** Migration 0723: SHA-256 hashes of a user's recovery codes; `used_at` set once a code is spent. */
export interface TotpRecoveryCodesTable {
  user_id: string;
  code_hash: Buffer;
  created_at: Timestamp;
  used_at: Date | null;
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
  /** Migration 0804: the organisation whose single sign-on started this session, and whether its provider reported more than one factor. */
  sso_org_id: Generated<string | null>;
  idp_mfa: Generated<boolean>;
}

export interface OrgsTable {
  id: string;
  name: string;
  slug: string;
  region: Generated<string>;
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
  /** Migration 0725: visitor tokens of an earlier epoch are refused. */
  visitor_sessions_epoch: Generated<number>;
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

export interface VisitorsTable {
  id: string;
  org_id: string;
  project_id: string;
  external_ref: string | null;
  verified: Generated<boolean>;
  created_at: Timestamp;
}

export interface ConversationsTable {
  id: string;
  org_id: string;
  project_id: string;
  visitor_id: string | null;
  api_key_id: string | null;
  origin: string | null;
  created_at: Timestamp;
  last_message_at: Timestamp;
}

export interface MessagesTable {
  id: string;
  org_id: string;
  conversation_id: string;
  role: 'user' | 'assistant';
  content: string;
  citations: Json<{ title: string; url: string | null }[]>;
  created_at: Timestamp;
}

export interface PiiVaultTable {
  id: string;
  org_id: string;
  conversation_id: string;
  token: string;
  type: string;
  value: string;
  value_hash: string;
  /** Written by the conversation's subject (migration 0806): only these are restored to the visitor and matched by what they write. */
  by_subject: Generated<boolean>;
  created_at: Timestamp;
}

export interface ProjectIdentitySecretsTable {
  project_id: string;
  org_id: string;
  secret: string;
  created_at: Timestamp;
}

export interface DB {
  users: UsersTable;
  sessions: SessionsTable;
  totp_recovery_codes: TotpRecoveryCodesTable;
  orgs: OrgsTable;
  memberships: MembershipsTable;
  invitations: InvitationsTable;
  projects: ProjectsTable;
  audit_log: AuditLogTable;
  visitors: VisitorsTable;
  conversations: ConversationsTable;
  messages: MessagesTable;
  pii_vault: PiiVaultTable;
  project_identity_secrets: ProjectIdentitySecretsTable;
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

// --- knowledge (migration 0300) ---

export interface DocumentsTable {
  id: string;
  org_id: string;
  project_id: string;
  title: string;
  url: string | null;
  content_type: string;
  chars: number;
  created_at: Timestamp;
}

export interface KnowledgeChunksTable {
  id: string;
  org_id: string;
  project_id: string;
  document_id: string;
  ord: number;
  heading: string | null;
  text: string;
  /** GENERATED ALWAYS from heading and text: never written. */
  tsv: ColumnType<string, never, never>;
}

export interface DB {
  documents: DocumentsTable;
  knowledge_chunks: KnowledgeChunksTable;
}

// --- crypto (migration 0100): platform-only key tables, no RLS policy for the tenant role ---

export interface DataKeysTable {
  scope: string;
  version: number;
  wrapped: Buffer;
  kek_id: string;
  created_at: Timestamp;
}

/** Migration 0728: key subjects owed a shred (see platform/crypto/pending-shreds.ts). */
export interface PendingShredsTable {
  org_id: string;
  subject_id: string;
  created_at: Generated<Timestamp>;
  claimed_at: Timestamp | null;
  generation: Generated<number>;
}

export interface KeyErasuresTable {
  scope: string;
  erased_at: Timestamp;
  /** Migration 0724: the last version the erasure destroyed (0 on older tombstones). */
  last_version: Generated<number>;
  /** Migration 0726: set when an erasure found no key here; keys created before it count as erased. */
  unseen_keys_before: Date | null;
}

export interface ReencryptionCheckpointsTable {
  job_id: string;
  last_id: string;
  updated_at: Timestamp;
}

export interface DB {
  data_keys: DataKeysTable;
  'keystore.subject_keys': DataKeysTable;
  key_erasures: KeyErasuresTable;
  pending_shreds: PendingShredsTable;
  reencryption_checkpoints: ReencryptionCheckpointsTable;
}

// --- answer-keys (migration 0720) ---

export interface ProjectAnswerKeysTable {
  project_id: string;
  org_id: string;
  /** Ciphertext (platform/crypto), AAD bound to org, table, column and project. */
  api_key: string;
  updated_at: Timestamp;
}

export interface DB {
  project_answer_keys: ProjectAnswerKeysTable;
}

// --- webhooks (migration 0800) ---

export interface WebhooksTable {
  id: string;
  org_id: string;
  url: string;
  description: Generated<string>;
  event_types: string[];
  enabled: Generated<boolean>;
  /** Ciphertext (platform/crypto), AAD bound to org, table, column and webhook. */
  secret: string;
  created_at: Timestamp;
  updated_at: Timestamp;
}

export interface WebhookDeliveriesTable {
  id: string;
  org_id: string;
  webhook_id: string;
  event_id: string;
  event_type: string;
  payload: Json<unknown>;
  status: Generated<'pending' | 'delivered' | 'failed'>;
  attempts: Generated<number>;
  next_attempt_at: Timestamp;
  claimed_until: Timestamp | null;
  last_attempt_at: Timestamp | null;
  last_status: number | null;
  last_error: string | null;
  created_at: Timestamp;
}

export interface DB {
  webhooks: WebhooksTable;
  webhook_deliveries: WebhookDeliveriesTable;
}

// --- API access log (migration 0801) ---

export interface ApiAccessLogTable {
  id: ColumnType<string, never, never>;
  org_id: string;
  key_id: string;
  ip: string;
  method: string;
  route: string;
  status: number;
  /** The longest of the requests the row stands for. */
  duration_ms: number;
  /** The first of them. */
  at: Timestamp;
  /** Migration 0805: how many requests (same key, address, method, route and status) in one write interval. */
  count: Generated<number>;
}

export interface DB {
  api_access_log: ApiAccessLogTable;
}

// --- single sign-on (migration 0802) ---

export interface OrgSsoTable {
  org_id: string;
  issuer: string;
  client_id: string;
  /** Ciphertext (platform/crypto), AAD bound to org, table, column and organisation. */
  client_secret: string;
  email_domains: string[];
  default_role: 'viewer' | 'editor';
  enabled: boolean;
  /** Migration 0804: members other than owners must sign in through this SSO. */
  required: boolean;
  updated_at: Timestamp;
}

export interface SsoIdentitiesTable {
  org_id: string;
  issuer: string;
  subject: string;
  user_id: string;
  created_at: Timestamp;
}

export interface SsoLoginsTable {
  state_hash: string;
  browser_hash: string;
  org_id: string;
  nonce: string;
  code_verifier: string;
  expires_at: Timestamp;
}

export interface DB {
  org_sso: OrgSsoTable;
  sso_identities: SsoIdentitiesTable;
  sso_logins: SsoLoginsTable;
}

export interface SsoDomainsTable {
  org_id: string;
  domain: string;
  token: string;
  verified_at: Timestamp | null;
  created_at: Generated<Timestamp>;
}

export interface DB {
  sso_domains: SsoDomainsTable;
}
