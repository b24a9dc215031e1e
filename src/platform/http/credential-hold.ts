/**
 * A write that must not outlive its caller's credential: inside the write's transaction, before
 * it enters the tenant, the caller's session or API key row is locked and must still be
 * unrevoked (and a key's secret still the one the request came with: not rotated since). A
 * revocation (a lockdown, signing out everywhere, revoking or rotating the key) then either waits
 * for the write and ends what it made, or committed first and the write is refused. Without it, a
 * request authenticated a moment before a lockdown could leave a fresh API key, webhook,
 * invitation or SSO change behind it. The lock is FOR NO KEY UPDATE, which conflicts with itself:
 * requests of one credential queue behind a revocation waiting for the row, where shared locks
 * could keep overlapping and hold it off for as long as the caller kept requests in flight.
 */
import type { Kysely } from 'kysely';
import type { DB } from '../db/tables.ts';
import { enterTenant, type Tx } from '../db/tenant.ts';
import { AppError } from './errors.ts';
import type { Principal } from './principal.ts';

export async function holdCredential(tx: Kysely<DB>, principal: Principal): Promise<void> {
  if (principal.kind === 'api_key') {
    let q = tx.selectFrom('api_keys').select('id').where('id', '=', principal.keyId).where('revoked_at', 'is', null);
    // Still the secret the request came with: a rotation since took it away (or made it the
    // previous one, with fewer scopes than the request was authorised with).
    if (principal.secret) q = q.where(principal.secret.previous ? 'previous_hash' : 'secret_hash', '=', principal.secret.hash);
    const key = await q.forNoKeyUpdate().executeTakeFirst();
    if (!key) throw new AppError('invalid_api_key', 'The API key is missing, malformed, expired or revoked.');
    return;
  }
  // Operator commands act as a user without a session (sessionId ''): nothing to hold.
  if (principal.sessionId === '') return;
  const session = await tx.selectFrom('sessions').select('id').where('id', '=', principal.sessionId).where('revoked_at', 'is', null).forNoKeyUpdate().executeTakeFirst();
  if (!session) throw new AppError('unauthenticated', 'Your session has ended. Sign in again.');
}

/** withTenant, holding the caller's credential first (as the directory's owner: the tenant role cannot read sessions). */
export function withTenantHolding<T>(db: Kysely<DB>, orgId: string, principal: Principal, fn: (tx: Tx) => Promise<T>): Promise<T> {
  return db.transaction().execute(async (tx) => {
    await holdCredential(tx, principal);
    await enterTenant(tx, orgId);
    return fn(tx);
  });
}
