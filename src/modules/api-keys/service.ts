/**
 * API keys: create (the secret is returned once), list, rotate with a grace period, revoke
 * (instantly, on every instance), usage, and the hot-path verification of a Bearer secret.
 *
 * Owns: key lifecycle and verification. Must never: store or log a secret (only its SHA-256),
 * let a key mint a key with more power than itself, or answer differently for another
 * organisation's key than for a missing one, or let an API key create, rotate, revoke or read the
 * usage of a key beyond its reach (reach.ts).
 */
import type { Kysely } from 'kysely';
import type { Clock } from '../../platform/clock.ts';
import type { DB } from '../../platform/db/tables.ts';
import { enterTenant, withTenant, type Tx } from '../../platform/db/tenant.ts';
import { holdCredential, withTenantHolding } from '../../platform/http/credential-hold.ts';
import { AppError } from '../../platform/http/errors.ts';
import type { Principal } from '../../platform/http/principal.ts';
import type { AuditService } from '../audit/service.ts';
import type { KeyCache, KeyMetadata } from './cache.ts';
import { assertWithinReach, reachFilter, withinReach, type KeyPower } from './reach.ts';
import type { Role } from '../orgs/permissions.ts';
import { apiKeyScopes, type ApiKeyScope } from './scopes.ts';
import type { ApiKeyRow, ApiKeyStore, UsageCell } from './store.ts';
import { digestOf, generateApiKeySecret, parseApiKeySecret } from './token.ts';
import { toPublic, type ApiKeyView } from './types.ts';
import type { UsageRecorder } from './usage.ts';
import { decideKey, type KeyDecision } from './verify.ts';
import { createUnknownIdGuard } from '../rate-limits/unknown-ids.ts';

interface Actor {
  principal: Principal;
  ip: string | null;
  /** A signed-in user's role in the organisation: the keys they reach (reach.ts). */
  role?: Role | null;
}

export interface CreateKeyInput {
  name: string;
  scopes: ApiKeyScope[];
  expiresAt?: string | undefined;
  projectIds?: string[] | undefined;
}

export interface KeyUsage {
  keyId: string;
  lastUsedAt: string | null;
  lastIp: string | null;
  lastUserAgent: string | null;
  days: { day: string; total: number; routes: { route: string; count: number }[] }[];
}

export const maxGraceSeconds = 7 * 24 * 3600;

export function toMetadata(row: ApiKeyRow): KeyMetadata {
  return {
    id: row.id,
    orgId: row.org_id,
    secretDigest: digestOf(row.secret_hash),
    previousDigest: row.previous_hash === null ? null : digestOf(row.previous_hash),
    previousExpiresAt: row.previous_expires_at ? new Date(row.previous_expires_at) : null,
    scopes: row.scopes,
    projectIds: row.project_ids,
    expiresAt: row.expires_at ? new Date(row.expires_at) : null,
    revoked: row.revoked_at !== null,
  };
}

/**
 * Working (unrevoked, unexpired) keys an organisation may hold: a key with keys:manage may make
 * keys that may make keys, so without a bound a leaked one could multiply itself without end.
 */
export const MAX_LIVE_KEYS_PER_ORG = 1_000;

/**
 * Keys an organisation may make in any 24 hours, whatever becomes of them: revoked and expired
 * keys are kept (their ids name actors in the audit log), so creating and revoking in a loop would
 * otherwise grow the table without bound.
 */
export const MAX_KEYS_CREATED_PER_DAY = 1_000;

export function createApiKeyService(deps: {
  db: Kysely<DB>;
  store: ApiKeyStore;
  audit: Pick<AuditService, 'record'>;
  clock: Clock;
  cache: KeyCache;
  usage: UsageRecorder;
  environment?: string;
}) {
  const { db, store, audit, clock, cache, usage } = deps;
  const unknownIds = createUnknownIdGuard('api_key_unknown_id');

  async function orgOfKey(keyId: string): Promise<string> {
    const orgId = await store.orgOf(db, keyId);
    if (!orgId) throw new AppError('not_found', 'This API key does not exist.');
    return orgId;
  }

  async function create(orgId: string, input: CreateKeyInput, actor: Actor): Promise<{ key: ApiKeyView; secret: string }> {
    assertWithinReach(actor.principal, input, actor.role);
    const now = clock.now();
    const expiresAt = input.expiresAt ? new Date(input.expiresAt) : null;
    if (expiresAt && expiresAt <= now) throw new AppError('invalid_request', 'expiresAt must be in the future.');
    const projectIds = input.projectIds ? [...new Set(input.projectIds)] : null;
    const generated = generateApiKeySecret(deps.environment ? { environment: deps.environment } : {});
    // Held until it commits: a lockdown (or a revocation of this caller) either ends the new key too, or refuses it.
    const row = await withTenantHolding(db, orgId, actor.principal, async (tx) => {
      if ((await store.lockOrgAndCountLive(tx, orgId, now)) >= MAX_LIVE_KEYS_PER_ORG) {
        throw new AppError('conflict', `An organisation has at most ${MAX_LIVE_KEYS_PER_ORG.toLocaleString('en')} working API keys; revoke some first.`);
      }
      if ((await store.countCreatedSince(tx, orgId, new Date(now.getTime() - 86_400_000))) >= MAX_KEYS_CREATED_PER_DAY) {
        throw new AppError('conflict', `An organisation makes at most ${MAX_KEYS_CREATED_PER_DAY.toLocaleString('en')} API keys in 24 hours; try again later.`);
      }
      if (projectIds) {
        // RLS hides other organisations' projects, so they count as missing here.
        const found = await tx.selectFrom('projects').select('id').where('id', 'in', projectIds).execute();
        if (found.length !== projectIds.length) throw new AppError('invalid_request', 'projectIds names a project that does not exist.');
      }
      await store.insert(tx, {
        id: generated.keyId,
        org_id: orgId,
        name: input.name,
        start: generated.start,
        secret_hash: generated.hash,
        scopes: input.scopes,
        project_ids: projectIds,
        expires_at: expiresAt,
        created_by: actor.principal.kind === 'user' ? actor.principal.userId : actor.principal.keyId,
      });
      await audit.record(tx, {
        orgId,
        actor: actor.principal,
        action: 'api_key.created',
        target: { type: 'api_key', id: generated.keyId },
        ip: actor.ip,
        metadata: { name: input.name, scopes: input.scopes, projectIds, expiresAt: expiresAt?.toISOString() ?? null },
      });
      return store.get(tx, generated.keyId);
    });
    if (!row) throw new AppError('internal', 'The API key vanished during creation.');
    return { key: toPublic(row, now), secret: generated.secret };
  }

  /**
   * A page of the organisation's keys, newest first; an API key, or a user, sees only those within
   * its reach (reach.ts). `nextBefore` continues it.
   */
  async function list(orgId: string, principal: Principal, role: Role | null | undefined, page: { limit: number; before?: string | undefined }): Promise<{ keys: ApiKeyView[]; nextBefore: string | null }> {
    const now = clock.now();
    // Out-of-reach keys are left out by the query (and each row checked again): the cursor is a
    // key the caller may see, never another's id, which would tell it which keys exist.
    const reach = reachFilter(principal, role, apiKeyScopes);
    if (!reach) return { keys: [], nextBefore: null };
    const rows = await withTenant(db, orgId, (tx) => store.list(tx, orgId, page, reach));
    const keys = rows.filter((r) => withinReach(principal, powerOf(r), role)).map((r) => toPublic(r, now));
    return { keys, nextBefore: rows.length === page.limit ? (keys.at(-1)?.id ?? null) : null };
  }

  async function rotate(orgId: string, keyId: string, graceSeconds: number, actor: Actor): Promise<{ key: ApiKeyView; secret: string }> {
    const now = clock.now();
    const generated = generateApiKeySecret({ keyId, ...(deps.environment ? { environment: deps.environment } : {}) });
    // The caller's credential is held, as for any write that hands out a credential: a request
    // authenticated before its key was revoked or rotated must not rotate another key (or take this
    // one back with its leaked secret). A key calling locks its own row and the target's in id
    // order, as revocations do, so the two never deadlock.
    const row = await db.transaction().execute(async (tx) => {
      if (actor.principal.kind === 'api_key') {
        await tx.selectFrom('api_keys').select('id').where('org_id', '=', orgId).where('id', 'in', [actor.principal.keyId, keyId]).orderBy('id').forUpdate().execute();
      }
      await holdCredential(tx, actor.principal);
      await enterTenant(tx, orgId);
      // Locked: two rotations at once would both keep the same previous secret, and one caller
      // would get a secret that never works; a racing revocation would be reported as a rotation.
      const existing = await store.getForUpdate(tx, keyId);
      if (!existing) throw new AppError('not_found', 'This API key does not exist.');
      // Before any write: throwing here rolls the transaction back with nothing changed.
      assertWithinReach(actor.principal, powerOf(existing), actor.role);
      if (existing.revoked_at) throw new AppError('conflict', 'A revoked key cannot be rotated.');
      await store.rotate(tx, keyId, {
        secretHash: generated.hash,
        start: generated.start,
        previousHash: existing.secret_hash,
        previousExpiresAt: new Date(now.getTime() + graceSeconds * 1000),
        at: now,
      });
      await audit.record(tx, { orgId, actor: actor.principal, action: 'api_key.rotated', target: { type: 'api_key', id: keyId }, ip: actor.ip, metadata: { graceSeconds } });
      return store.get(tx, keyId);
    });
    if (!row) throw new AppError('not_found', 'This API key does not exist.');
    await cache.invalidate(keyId);
    return { key: toPublic(row, now), secret: generated.secret };
  }

  async function revoke(orgId: string, keyId: string, actor: Actor): Promise<void> {
    const now = clock.now();
    await withTenant(db, orgId, async (tx) => {
      const existing = await store.getForUpdate(tx, keyId);
      if (!existing) throw new AppError('not_found', 'This API key does not exist.');
      assertWithinReach(actor.principal, powerOf(existing), actor.role);
      if (await store.revoke(tx, keyId, now)) {
        await audit.record(tx, { orgId, actor: actor.principal, action: 'api_key.revoked', target: { type: 'api_key', id: keyId }, ip: actor.ip });
      }
    });
    // After commit, before the reply: no instance answers from a cache that predates this.
    await cache.invalidate(keyId);
  }

  /** Incident response (organisation lockdown): revoke every key of the organisation. */
  async function revokeAll(orgId: string, actor: Actor | { principal: { kind: 'system' }; ip: string | null }): Promise<number> {
    const ids = await withTenant(db, orgId, async (tx) => {
      const revoked = await store.revokeAll(tx, orgId, clock.now());
      if (revoked.length > 0) {
        await audit.record(tx, { orgId, actor: actor.principal, action: 'api_key.revoked_all', ip: actor.ip, metadata: { count: revoked.length } });
      }
      return revoked;
    });
    await Promise.all(ids.map((id) => cache.invalidate(id)));
    return ids.length;
  }

  /**
   * The lockdown's last sweep, in its own transaction: keys a request made while the first
   * revocation ran (a `keys:manage` key's request held its key until then) are revoked too. Their
   * ids; evict them (evictAll) once that transaction commits.
   */
  async function revokeRemainingIn(tx: Tx, orgId: string): Promise<string[]> {
    return store.revokeAll(tx, orgId, clock.now());
  }

  async function evictAll(ids: readonly string[]): Promise<void> {
    await Promise.all(ids.map((id) => cache.invalidate(id)));
  }

  async function keyUsage(orgId: string, keyId: string, actor: Actor, days = 30): Promise<KeyUsage> {
    // Refuse before the flush below, so a refused request writes nothing at all.
    const target = await withTenant(db, orgId, (tx) => store.get(tx, keyId));
    if (!target) throw new AppError('not_found', 'This API key does not exist.');
    assertWithinReach(actor.principal, powerOf(target), actor.role);
    // Show this instance's not-yet-flushed counts too.
    await usage.flush();
    const since = new Date(clock.now().getTime() - (days - 1) * 86_400_000).toISOString().slice(0, 10);
    return withTenant(db, orgId, async (tx) => {
      const row = await store.get(tx, keyId);
      if (!row) throw new AppError('not_found', 'This API key does not exist.');
      return { keyId, lastUsedAt: row.last_used_at ? new Date(row.last_used_at).toISOString() : null, lastIp: row.last_ip, lastUserAgent: row.last_user_agent, days: groupByDay(await store.usage(tx, keyId, since)) };
    });
  }

  /**
   * Hot path: parse → cache (a directory read on a miss, within the client address's allowance
   * for ids that turn out unknown: a valid checksum is no secret) → constant-time compare → state.
   */
  async function verify(secret: string, ip: string): Promise<KeyDecision> {
    const parsed = parseApiKeySecret(secret);
    if (!parsed.ok) return { ok: false, reason: parsed.reason };
    const cached = cache.peek(parsed.keyId);
    const key = cached === undefined ? ((await unknownIds.lookUp(ip, () => cache.get(parsed.keyId))) ?? null) : cached;
    return decideKey(key, secret, clock.now());
  }

  return { create, list, rotate, revoke, revokeAll, revokeRemainingIn, evictAll, usage: keyUsage, verify, orgOfKey, recordUse: usage.record };
}

function powerOf(row: ApiKeyRow): KeyPower {
  return { scopes: row.scopes, projectIds: row.project_ids, expiresAt: row.expires_at };
}

function groupByDay(cells: UsageCell[]): KeyUsage['days'] {
  const days = new Map<string, KeyUsage['days'][number]>();
  for (const c of cells) {
    let d = days.get(c.day);
    if (!d) days.set(c.day, (d = { day: c.day, total: 0, routes: [] }));
    d.total += c.count;
    d.routes.push({ route: c.route, count: c.count });
  }
  return [...days.values()];
}

export type ApiKeyService = ReturnType<typeof createApiKeyService>;
