/**
 * The SCIM 2.0 shapes (RFC 7643 resources, RFC 7644 messages) Palisade speaks, and the parsing
 * of what identity providers send: the one filter they use to find a user (`userName eq "…"`)
 * and PATCH operations as Okta and Microsoft Entra ID write them.
 */
import { AppError } from '../../platform/http/errors.ts';

export const SCIM_MEDIA_TYPE = 'application/scim+json; charset=utf-8';
export const USER_SCHEMA = 'urn:ietf:params:scim:schemas:core:2.0:User';
export const LIST_SCHEMA = 'urn:ietf:params:scim:api:messages:2.0:ListResponse';
export const ERROR_SCHEMA = 'urn:ietf:params:scim:api:messages:2.0:Error';
export const PATCH_SCHEMA = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';

/** An account the organisation federates, as SCIM sees it: active while it is a member. */
export interface ScimAccount {
  id: string;
  email: string;
  name: string | null;
  active: boolean;
  createdAt: Date;
}

export function toScimUser(account: ScimAccount, base: string): Record<string, unknown> {
  return {
    schemas: [USER_SCHEMA],
    id: account.id,
    userName: account.email,
    ...(account.name ? { displayName: account.name, name: { formatted: account.name } } : {}),
    emails: [{ value: account.email, type: 'work', primary: true }],
    active: account.active,
    meta: { resourceType: 'User', created: account.createdAt.toISOString(), location: `${base}/Users/${account.id}` },
  };
}

/** A refusal with SCIM's `scimType` (routes.ts renders it as a SCIM error). */
export function scimRefusal(code: 'invalid_request' | 'conflict' | 'not_found', scimType: string | undefined, detail: string): AppError {
  return new AppError(code, detail, scimType ? { details: { scimType } } : {});
}

/** `userName eq "pat@corp.example"` (the attribute name in any case, as RFC 7644 says); externalId is accepted and matches nothing we keep. */
export function parseFilter(filter: string): { attribute: 'userName' | 'externalId'; value: string } {
  const m = /^\s*(userName|externalId)\s+eq\s+"((?:[^"\\]|\\.){0,320})"\s*$/i.exec(filter);
  if (!m?.[1] || m[2] === undefined) throw scimRefusal('invalid_request', 'invalidFilter', 'Only the filters userName eq "…" and externalId eq "…" are supported.');
  const value = m[2].replace(/\\(.)/g, '$1');
  return { attribute: m[1].toLowerCase() === 'username' ? 'userName' : 'externalId', value };
}

/** What a PUT or PATCH changes; attributes Palisade does not keep (emails, title, enterprise extension…) are accepted and not stored. */
export interface UserChanges {
  active?: boolean;
  name?: string | null;
  userName?: string;
}

/** The name Palisade keeps (one string) from a SCIM user's displayName or name. */
export function nameOf(user: { displayName?: unknown; name?: unknown }): string | null | undefined {
  if (typeof user.displayName === 'string') return user.displayName.trim().slice(0, 200) || null;
  const name = user.name;
  if (name && typeof name === 'object') {
    const { formatted, givenName, familyName } = name as Record<string, unknown>;
    if (typeof formatted === 'string') return formatted.trim().slice(0, 200) || null;
    const parts = [givenName, familyName].filter((p): p is string => typeof p === 'string' && p.trim() !== '');
    if (parts.length > 0) return parts.join(' ').slice(0, 200);
  }
  return undefined;
}

/** SCIM booleans, also as Entra ID sends them in PATCH ("True", "False"). */
function booleanOf(value: unknown): boolean {
  if (typeof value === 'boolean') return value;
  if (typeof value === 'string' && /^(true|false)$/i.test(value)) return value.toLowerCase() === 'true';
  throw scimRefusal('invalid_request', 'invalidValue', '"active" must be true or false.');
}

export interface PatchOperation {
  op: string;
  path?: string | undefined;
  value?: unknown;
}

export function changesFromPatch(operations: readonly PatchOperation[]): UserChanges {
  const changes: UserChanges = {};
  const apply = (path: string, value: unknown): void => {
    const p = path.toLowerCase();
    if (p === 'active') changes.active = booleanOf(value);
    else if (p === 'username') {
      if (typeof value !== 'string') throw scimRefusal('invalid_request', 'invalidValue', '"userName" must be a string.');
      changes.userName = value;
    } else if (p === 'displayname' || p === 'name.formatted') changes.name = typeof value === 'string' ? value.trim().slice(0, 200) || null : null;
    else if (p === 'name') {
      const name = nameOf({ name: value });
      if (name !== undefined) changes.name = name;
    }
    // Anything else (emails, title, the enterprise extension…) is not kept.
  };
  for (const operation of operations) {
    const op = operation.op.toLowerCase();
    if (op !== 'add' && op !== 'replace' && op !== 'remove') throw scimRefusal('invalid_request', 'invalidSyntax', `Unknown PATCH operation "${operation.op}".`);
    if (op === 'remove') {
      if (!operation.path) throw scimRefusal('invalid_request', 'noTarget', 'A remove operation needs a path.');
      const p = operation.path.toLowerCase();
      if (p === 'active' || p === 'username') throw scimRefusal('invalid_request', 'mutability', `"${operation.path}" cannot be removed.`);
      if (p === 'displayname' || p === 'name' || p === 'name.formatted') changes.name = null;
      continue;
    }
    if (operation.path) apply(operation.path, operation.value);
    else if (operation.value && typeof operation.value === 'object' && !Array.isArray(operation.value)) {
      const value = operation.value as Record<string, unknown>;
      for (const [key, v] of Object.entries(value)) if (key !== 'name' && key !== 'displayName') apply(key, v);
      const name = nameOf(value);
      if (name !== undefined) changes.name = name;
    } else throw scimRefusal('invalid_request', 'invalidValue', 'A PATCH operation without a path needs an object value.');
  }
  return changes;
}
