/**
 * An organisation's webhooks: where its events (audited ones, and pii.detected) are delivered, signed. The signing secret
 * is shown once (on creation and on rotation), stored only encrypted under the organisation's data
 * key, and never returned again. Every change is audited; the URL is not (a receiver's URL may
 * carry a token of its own), only its host.
 */
import type { Kysely } from 'kysely';
import type { Clock } from '../../platform/clock.ts';
import type { Cipher, Sealer } from '../../platform/crypto/envelope.ts';
import { orgScope } from '../../platform/crypto/types.ts';
import type { DB } from '../../platform/db/tables.ts';
import { withTenant, type Tx } from '../../platform/db/tenant.ts';
import { withTenantHolding } from '../../platform/http/credential-hold.ts';
import { AppError, notFound } from '../../platform/http/errors.ts';
import type { Principal } from '../../platform/http/principal.ts';
import { newId } from '../../platform/ids.ts';
import type { AuditService } from '../audit/service.ts';
import { newWebhookSecret } from './signing.ts';
import type { DeliveryRow, WebhookChanges, WebhookRow, WebhookStore } from './store.ts';
import type { UrlPolicy } from '../../platform/net/outbound-url.ts';

export interface WebhookView {
  id: string;
  orgId: string;
  url: string;
  description: string;
  eventTypes: string[];
  enabled: boolean;
  createdAt: string;
  updatedAt: string;
}

export interface DeliveryView {
  id: string;
  eventId: string;
  eventType: string;
  status: 'pending' | 'delivered' | 'failed';
  attempts: number;
  lastStatus: number | null;
  lastError: string | null;
  lastAttemptAt: string | null;
  nextAttemptAt: string | null;
  createdAt: string;
}

interface Actor {
  principal: Principal;
  ip: string | null;
}

const iso = (value: Date | string): string => new Date(value).toISOString();

function toView(row: WebhookRow): WebhookView {
  return {
    id: row.id,
    orgId: row.org_id,
    url: row.url,
    description: row.description,
    eventTypes: row.event_types,
    enabled: row.enabled,
    createdAt: iso(row.created_at),
    updatedAt: iso(row.updated_at),
  };
}

function toDeliveryView(row: DeliveryRow): DeliveryView {
  return {
    id: row.id,
    eventId: row.event_id,
    eventType: row.event_type,
    status: row.status,
    attempts: row.attempts,
    lastStatus: row.last_status,
    lastError: row.last_error,
    lastAttemptAt: row.last_attempt_at ? iso(row.last_attempt_at) : null,
    nextAttemptAt: row.status === 'pending' ? iso(row.next_attempt_at) : null,
    createdAt: iso(row.created_at),
  };
}

/** The AAD that binds a secret's ciphertext to its organisation and webhook (keys/registry.ts). */
export const secretAad = (orgId: string, webhookId: string) => ({ orgId, table: 'webhooks', column: 'secret', rowId: webhookId });

/** At most this many webhooks per organisation: each audited action writes one row per match. */
export const MAX_WEBHOOKS_PER_ORG = 20;

export function createWebhookService(deps: {
  db: Kysely<DB>;
  store: WebhookStore;
  cipher: Pick<Cipher, 'sealer'>;
  audit: Pick<AuditService, 'record'>;
  urls: Pick<UrlPolicy, 'check'>;
  clock: Clock;
}) {
  const { db, store } = deps;
  const hostOf = (url: string): string => new URL(url).host;

  async function orgOf(webhookId: string): Promise<string> {
    const orgId = await store.orgOf(db, webhookId);
    if (!orgId) throw notFound('webhook');
    return orgId;
  }

  async function create(orgId: string, input: { url: string; description: string; eventTypes: string[]; enabled: boolean }, actor: Actor): Promise<{ webhook: WebhookView; secret: string }> {
    deps.urls.check(input.url);
    const id = newId('whk');
    const secret = newWebhookSecret();
    // Resolved before the transaction, which must not wait on a key load (see Cipher.sealer).
    const seal = await deps.cipher.sealer(orgScope(orgId));
    // Held until it commits: a lockdown (or a revocation of this caller) either turns the new webhook off too, or refuses it.
    const row = await withTenantHolding(db, orgId, actor.principal, async (tx) => {
      await store.lockOrg(tx, orgId); // two creations at once cannot both pass the count
      if ((await store.ids(tx)).length >= MAX_WEBHOOKS_PER_ORG) {
        throw new AppError('conflict', `An organisation has at most ${MAX_WEBHOOKS_PER_ORG} webhooks; delete one first.`);
      }
      const inserted = await store.insert(tx, { id, orgId, url: input.url, description: input.description, eventTypes: input.eventTypes, enabled: input.enabled, secret: seal(secret, secretAad(orgId, id)) });
      await deps.audit.record(tx, {
        orgId,
        actor: actor.principal,
        action: 'webhook.created',
        target: { type: 'webhook', id },
        ip: actor.ip,
        metadata: { host: hostOf(input.url), eventTypes: input.eventTypes, enabled: input.enabled },
      });
      return inserted;
    });
    return { webhook: toView(row), secret };
  }

  async function list(orgId: string): Promise<WebhookView[]> {
    return (await withTenant(db, orgId, (tx) => store.list(tx))).map(toView);
  }

  async function get(orgId: string, webhookId: string): Promise<WebhookView> {
    const row = await withTenant(db, orgId, (tx) => store.get(tx, webhookId));
    if (!row) throw notFound('webhook');
    return toView(row);
  }

  async function update(orgId: string, webhookId: string, changes: WebhookChanges, actor: Actor): Promise<WebhookView> {
    if (changes.url !== undefined) deps.urls.check(changes.url);
    const row = await withTenantHolding(db, orgId, actor.principal, async (tx) => {
      const updated = await store.update(tx, webhookId, changes, deps.clock.now());
      if (!updated) throw notFound('webhook');
      await deps.audit.record(tx, {
        orgId,
        actor: actor.principal,
        action: 'webhook.updated',
        target: { type: 'webhook', id: webhookId },
        ip: actor.ip,
        metadata: { changed: Object.keys(changes).sort(), host: hostOf(updated.url), eventTypes: updated.event_types, enabled: updated.enabled },
      });
      return updated;
    });
    return toView(row);
  }

  async function remove(orgId: string, webhookId: string, actor: Actor): Promise<void> {
    await withTenant(db, orgId, async (tx) => {
      const url = await store.remove(tx, webhookId);
      if (url === undefined) throw notFound('webhook');
      await deps.audit.record(tx, { orgId, actor: actor.principal, action: 'webhook.deleted', target: { type: 'webhook', id: webhookId }, ip: actor.ip, metadata: { host: hostOf(url) } });
    });
  }

  /** A new secret, shown once; deliveries from now on (retries included) are signed with it. */
  async function rotateSecret(orgId: string, webhookId: string, actor: Actor): Promise<{ webhook: WebhookView; secret: string }> {
    const secret = newWebhookSecret();
    const seal = await deps.cipher.sealer(orgScope(orgId));
    const row = await withTenantHolding(db, orgId, actor.principal, async (tx) => {
      const found = await store.get(tx, webhookId);
      if (!found) throw notFound('webhook');
      const at = deps.clock.now();
      await store.setSecret(tx, webhookId, seal(secret, secretAad(orgId, webhookId)), at);
      await deps.audit.record(tx, { orgId, actor: actor.principal, action: 'webhook.secret_rotated', target: { type: 'webhook', id: webhookId }, ip: actor.ip });
      return { ...found, updated_at: at };
    });
    return { webhook: toView(row), secret };
  }

  /** A sealer for lockDownIn, resolved before its transaction. */
  const sealerFor = (orgId: string): Promise<Sealer> => deps.cipher.sealer(orgScope(orgId));

  /**
   * Lockdown: every webhook of the organisation is turned off (one an intruder added or pointed
   * elsewhere would otherwise go on receiving every event), what it had pending is marked failed,
   * and each gets a new secret nobody is shown (a stolen one no longer signs what is sent). An
   * owner or admin checks each webhook, rotates its secret for its receiver and turns it on again.
   * Runs in the caller's transaction, before its audit record (which then goes to no webhook).
   */
  async function lockDownIn(tx: Tx, orgId: string, seal: Sealer): Promise<{ disabled: number; rotated: number }> {
    const at = deps.clock.now();
    const disabled = await store.disableAll(tx, at);
    const ids = await store.ids(tx);
    for (const id of ids) await store.setSecret(tx, id, seal(newWebhookSecret(), secretAad(orgId, id)), at);
    return { disabled, rotated: ids.length };
  }

  async function deliveries(orgId: string, webhookId: string, filter: { status?: string | undefined; before?: string | undefined; limit: number }): Promise<{ deliveries: DeliveryView[]; nextBefore: string | null }> {
    const rows = await withTenant(db, orgId, async (tx) => {
      if (!(await store.get(tx, webhookId))) throw notFound('webhook');
      return store.deliveries(tx, webhookId, filter);
    });
    return { deliveries: rows.map(toDeliveryView), nextBefore: rows.length === filter.limit ? (rows.at(-1)?.id ?? null) : null };
  }

  /** Sends a delivered or failed delivery again, with a fresh set of attempts (after a receiver was fixed); audited. */
  async function redeliver(orgId: string, webhookId: string, deliveryId: string, actor: Actor): Promise<void> {
    await withTenant(db, orgId, async (tx) => {
      if (!(await store.requeue(tx, webhookId, deliveryId, deps.clock.now()))) {
        throw new AppError('not_found', 'This webhook has no finished delivery with this id (a pending one is sent anyway).');
      }
      await deps.audit.record(tx, { orgId, actor: actor.principal, action: 'webhook.redelivery_requested', target: { type: 'webhook', id: webhookId }, ip: actor.ip, metadata: { deliveryId } });
    });
  }

  return { orgOf, create, list, get, update, remove, rotateSecret, sealerFor, lockDownIn, deliveries, redeliver };
}

export type WebhookService = ReturnType<typeof createWebhookService>;
