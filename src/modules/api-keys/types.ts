/** Public shapes of the api-keys module: what routes may return (never a hash, never a row). */
import type { ApiKeyRow } from './store.ts';

export interface ApiKeyView {
  id: string;
  orgId: string;
  name: string;
  /** Non-secret prefix of the current secret, e.g. `pal_live_4fX9kQ`, to recognise it in lists. */
  start: string;
  scopes: string[];
  projectIds: string[] | null;
  expiresAt: string | null;
  createdAt: string;
  /** Who made it: a user id, or the id of the API key that did. Keys belong to the organisation and outlive their maker's membership. */
  createdBy: string | null;
  rotatedAt: string | null;
  /** Until when the secret before the last rotation still works. */
  previousSecretExpiresAt: string | null;
  revokedAt: string | null;
  lastUsedAt: string | null;
  status: 'active' | 'expired' | 'revoked';
}

const iso = (d: Date | string | null): string | null => (d === null ? null : new Date(d).toISOString());

export function toPublic(row: ApiKeyRow, now: Date): ApiKeyView {
  const expired = row.expires_at !== null && new Date(row.expires_at) <= now;
  const graceLeft = row.previous_expires_at !== null && new Date(row.previous_expires_at) > now;
  return {
    id: row.id,
    orgId: row.org_id,
    name: row.name,
    start: row.start,
    scopes: row.scopes,
    projectIds: row.project_ids,
    expiresAt: iso(row.expires_at),
    createdAt: new Date(row.created_at).toISOString(),
    createdBy: row.created_by,
    rotatedAt: iso(row.rotated_at),
    previousSecretExpiresAt: graceLeft ? iso(row.previous_expires_at) : null,
    revokedAt: iso(row.revoked_at),
    lastUsedAt: iso(row.last_used_at),
    status: row.revoked_at ? 'revoked' : expired ? 'expired' : 'active',
  };
}

/** Why a presented secret was refused; only the log (never the reply) tells them apart. */
export type VerifyFailure = 'malformed' | 'bad_checksum' | 'unknown' | 'wrong_secret' | 'revoked' | 'expired';
