/**
 * A project's own API key for its openai-compatible answer endpoint. Stored encrypted under the
 * organisation's data key, with associated data binding it to organisation, table, column and
 * project; once set it is never returned, only whether one is set and for which endpoint. Every
 * change is audited.
 *
 * The key is bound to the endpoint the project named when it was stored (sealed with it in the
 * ciphertext): if anyone later points the project's baseUrl elsewhere, the key is not sent there
 * (an editor cannot redirect an admin's key to a server of theirs); storing it again re-binds it.
 *
 * Must never: keep the key in project settings, return it from a route, or log it.
 */
import type { Kysely } from 'kysely';
import type { Clock } from '../../platform/clock.ts';
import type { Cipher } from '../../platform/crypto/envelope.ts';
import { orgScope } from '../../platform/crypto/types.ts';
import type { DB } from '../../platform/db/tables.ts';
import { withTenant } from '../../platform/db/tenant.ts';
import { withTenantHolding } from '../../platform/http/credential-hold.ts';
import type { Principal } from '../../platform/http/principal.ts';
import { AppError } from '../../platform/http/errors.ts';
import type { AuditService } from '../audit/service.ts';
import { mayCarryKey, normaliseEndpoint } from './endpoint.ts';

export interface AnswerKeyStatus {
  configured: boolean;
  /** The endpoint the key is bound to (sent only there). */
  endpoint: string | null;
  updatedAt: string | null;
}

/** What the ciphertext holds: the key and the endpoint it may be sent to. */
interface BoundKey {
  endpoint: string;
  apiKey: string;
}

function parseBound(plaintext: string): BoundKey | undefined {
  try {
    const value: unknown = JSON.parse(plaintext);
    if (typeof value !== 'object' || value === null) return undefined;
    const { endpoint, apiKey } = value as Record<string, unknown>;
    return typeof endpoint === 'string' && typeof apiKey === 'string' ? { endpoint, apiKey } : undefined;
  } catch {
    return undefined; // a key stored before keys were bound: not sent anywhere until stored again
  }
}

/** The project's openai-compatible endpoint, if that is its provider. */
function endpointOf(settings: unknown): string | undefined {
  const answer = (settings as { answer?: { provider?: unknown; baseUrl?: unknown } } | null)?.answer;
  return answer?.provider === 'openai-compatible' && typeof answer.baseUrl === 'string' ? answer.baseUrl : undefined;
}

interface Actor {
  principal: Principal;
  ip: string | null;
}

export function createAnswerKeyService(deps: {
  db: Kysely<DB>;
  cipher: Pick<Cipher, 'sealer' | 'decrypt'>;
  audit: Pick<AuditService, 'record'>;
  clock: Clock;
}) {
  const { db, cipher } = deps;
  const aad = (orgId: string, projectId: string) => ({ orgId, table: 'project_answer_keys', column: 'api_key', rowId: projectId });

  /**
   * Binds the key to the project's current endpoint, which must be https (or this machine) and,
   * when the caller names the endpoint it means, that one: someone else may have pointed the
   * project elsewhere since the caller last looked.
   */
  async function set(orgId: string, projectId: string, apiKey: string, actor: Actor, meant?: string): Promise<void> {
    const now = deps.clock.now();
    // Resolved before the transaction, which must not wait on a key load (see Cipher.sealer).
    const seal = await cipher.sealer(orgScope(orgId));
    await withTenantHolding(db, orgId, actor.principal, async (tx) => {
      const project = await tx.selectFrom('projects').select('settings').where('id', '=', projectId).executeTakeFirst();
      const baseUrl = endpointOf(project?.settings);
      if (baseUrl === undefined) {
        throw new AppError('invalid_request', "Set the project's answer provider to openai-compatible with its baseUrl first: the key is bound to that endpoint.");
      }
      if (!mayCarryKey(baseUrl)) throw new AppError('invalid_request', "The project's baseUrl must use https for a key to be sent to it.");
      if (meant !== undefined && normaliseEndpoint(meant) !== normaliseEndpoint(baseUrl)) {
        throw new AppError('conflict', `The project's answer endpoint is ${normaliseEndpoint(baseUrl)}, not the one named: nothing was stored.`);
      }
      const bound: BoundKey = { endpoint: normaliseEndpoint(baseUrl), apiKey };
      const ciphertext = seal(JSON.stringify(bound), aad(orgId, projectId));
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

  async function stored(orgId: string, projectId: string): Promise<{ bound: BoundKey | undefined; updatedAt: Date } | undefined> {
    const row = await withTenant(db, orgId, (tx) =>
      tx.selectFrom('project_answer_keys').select(['api_key', 'updated_at']).where('project_id', '=', projectId).executeTakeFirst(),
    );
    if (!row) return undefined;
    return { bound: parseBound(await cipher.decrypt(row.api_key, aad(orgId, projectId))), updatedAt: new Date(row.updated_at) };
  }

  async function status(orgId: string, projectId: string): Promise<AnswerKeyStatus> {
    const found = await stored(orgId, projectId);
    return { configured: found !== undefined, endpoint: found?.bound?.endpoint ?? null, updatedAt: found ? found.updatedAt.toISOString() : null };
  }

  /** The decrypted key, for the answer provider only, and only for the endpoint it is bound to. */
  async function keyFor(orgId: string, projectId: string, baseUrl: string): Promise<string | undefined> {
    const bound = (await stored(orgId, projectId))?.bound;
    return bound !== undefined && bound.endpoint === normaliseEndpoint(baseUrl) ? bound.apiKey : undefined;
  }

  return { set, remove, status, keyFor };
}

export type AnswerKeyService = ReturnType<typeof createAnswerKeyService>;
