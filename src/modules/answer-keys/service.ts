/**
 * A project's own API key for its openai-compatible answer endpoint. Stored encrypted under the
 * organisation's data key, with associated data binding it to organisation, table, column and
 * project; once set it is never returned, only whether one is set. Every change is audited.
 *
 * Must never: keep the key in project settings, return it from a route, or log it.
 */
import type { Kysely } from 'kysely';
import type { Clock } from '../../platform/clock.ts';
import type { Cipher } from '../../platform/crypto/envelope.ts';
import type { DB } from '../../platform/db/tables.ts';
import { withTenant } from '../../platform/db/tenant.ts';
import type { Principal } from '../../platform/http/principal.ts';
import type { AuditService } from '../audit/service.ts';

export interface AnswerKeyStatus {
  configured: boolean;
  updatedAt: string | null;
}

interface Actor {
  principal: Principal;
  ip: string | null;
}

export function createAnswerKeyService(deps: {
  db: Kysely<DB>;
  cipher: Pick<Cipher, 'encrypt' | 'decrypt'>;
  audit: Pick<AuditService, 'record'>;
  clock: Clock;
}) {
  const { db, cipher } = deps;
  const aad = (orgId: string, projectId: string) => ({ orgId, table: 'project_answer_keys', column: 'api_key', rowId: projectId });

  async function set(orgId: string, projectId: string, apiKey: string, actor: Actor): Promise<void> {
    const ciphertext = await cipher.encrypt(apiKey, aad(orgId, projectId));
    const now = deps.clock.now();
    await withTenant(db, orgId, async (tx) => {
      await tx
        .insertInto('project_answer_keys')
        .values({ project_id: projectId, org_id: orgId, api_key: ciphertext, updated_at: now })
        .onConflict((oc) => oc.column('project_id').doUpdateSet({ api_key: ciphertext, updated_at: now }))
        .execute();
      await deps.audit.record(tx, { orgId, actor: actor.principal, action: 'project.answer_key_set', target: { type: 'project', id: projectId }, ip: actor.ip });
    });
  }

  /** Idempotent; audited only when a key was actually removed. */
  async function remove(orgId: string, projectId: string, actor: Actor): Promise<boolean> {
    return withTenant(db, orgId, async (tx) => {
      const deleted = await tx.deleteFrom('project_answer_keys').where('project_id', '=', projectId).returning('project_id').executeTakeFirst();
      if (!deleted) return false;
      await deps.audit.record(tx, { orgId, actor: actor.principal, action: 'project.answer_key_removed', target: { type: 'project', id: projectId }, ip: actor.ip });
      return true;
    });
  }

  async function status(orgId: string, projectId: string): Promise<AnswerKeyStatus> {
    const row = await withTenant(db, orgId, (tx) =>
      tx.selectFrom('project_answer_keys').select('updated_at').where('project_id', '=', projectId).executeTakeFirst(),
    );
    return { configured: row !== undefined, updatedAt: row ? new Date(row.updated_at).toISOString() : null };
  }

  /** The decrypted key, for the answer provider only. */
  async function keyFor(orgId: string, projectId: string): Promise<string | undefined> {
    const row = await withTenant(db, orgId, (tx) =>
      tx.selectFrom('project_answer_keys').select('api_key').where('project_id', '=', projectId).executeTakeFirst(),
    );
    return row ? cipher.decrypt(row.api_key, aad(orgId, projectId)) : undefined;
  }

  return { set, remove, status, keyFor };
}

export type AnswerKeyService = ReturnType<typeof createAnswerKeyService>;
