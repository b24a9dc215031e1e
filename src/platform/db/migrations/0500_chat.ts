import { sql, type Kysely } from 'kysely';
import { tenantPolicySql } from '../tenant.ts';

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql
    .raw(
      `
    CREATE TABLE visitors (
      id text PRIMARY KEY,
      org_id text NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
      project_id text NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
      -- HMAC of the host site's user id (verified visitors only): stable, never the raw id.
      external_ref text,
      verified boolean NOT NULL DEFAULT false,
      created_at timestamptz NOT NULL DEFAULT now(),
      UNIQUE (project_id, external_ref)
    );
    CREATE TABLE conversations (
      id text PRIMARY KEY,
      org_id text NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
      project_id text NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
      visitor_id text REFERENCES visitors(id) ON DELETE CASCADE,
      api_key_id text,
      origin text,
      created_at timestamptz NOT NULL DEFAULT now(),
      last_message_at timestamptz NOT NULL DEFAULT now()
    );
    CREATE INDEX conversations_project ON conversations(project_id, created_at DESC);
    CREATE INDEX conversations_visitor ON conversations(visitor_id);
    CREATE TABLE messages (
      id text PRIMARY KEY,
      org_id text NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
      conversation_id text NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
      role text NOT NULL CHECK (role IN ('user', 'assistant')),
      -- AES-256-GCM ciphertext (platform/crypto envelope), bound to org, table, column and row.
      content text NOT NULL,
      citations jsonb NOT NULL DEFAULT '[]',
      created_at timestamptz NOT NULL DEFAULT clock_timestamp()
    );
    CREATE INDEX messages_conversation ON messages(conversation_id, created_at);
    ${tenantPolicySql('visitors')}
    ${tenantPolicySql('conversations')}
    ${tenantPolicySql('messages')}
    `,
    )
    .execute(db);
  await addVaultForeignKey(db);
}

export async function addVaultForeignKey(db: Kysely<unknown>): Promise<void> {
  await sql`ALTER TABLE pii_vault ADD CONSTRAINT pii_vault_conversation_fk FOREIGN KEY (conversation_id) REFERENCES conversations(id) ON DELETE CASCADE`.execute(db);
}
