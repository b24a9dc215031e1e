/**
 * The no-escalation rule, in one place: which keys an API key may create, rotate, revoke, read the
 * usage of, or see in the list. A key reaches a key whose scopes are a subset of its own; if it is
 * restricted to projects, which is restricted too, to a subset of its projects; and if it expires,
 * which expires too, no later than itself (else a short-lived key, leaked or handed out for a
 * task, could mint or rotate itself a permanent credential). A signed-in user reaches the keys
 * whose every scope their organisation role holds: an admin cannot mint, rotate (and so read) or
 * revoke a key with an owner-only scope such as scim:provision.
 */
import { AppError } from '../../platform/http/errors.ts';
import type { Principal } from '../../platform/http/principal.ts';
import { roleAllows, type Permission, type Role } from '../orgs/permissions.ts';

/** What the rule looks at in a key, existing (a row) or about to be created (the request). */
export interface KeyPower {
  scopes: readonly string[];
  projectIds?: readonly string[] | null | undefined;
  /** When the key stops working (a Date, or the request's ISO string); null or absent: never. */
  expiresAt?: Date | string | null | undefined;
}

export type ReachDecision = { ok: true } | { ok: false; message: string };

/** `role`: a signed-in user's role in the key's organisation (from the authorisation). */
export function decideReach(principal: Principal, target: KeyPower, role?: Role | null): ReachDecision {
  if (principal.kind !== 'api_key') {
    // Fails closed: a caller that did not say the user's role reaches nothing.
    if (!role) return { ok: false, message: 'Your role in this organisation is not known.' };
    const beyond = target.scopes.filter((s) => !roleAllows(role, s as Permission));
    return beyond.length > 0 ? { ok: false, message: `Your role (${role}) cannot act on a key with scopes it lacks: ${beyond.join(', ')}.` } : { ok: true };
  }
  const extra = target.scopes.filter((s) => !principal.scopes.includes(s));
  if (extra.length > 0) return { ok: false, message: `An API key cannot act on a key with scopes it lacks: ${extra.join(', ')}.` };
  const allowed = principal.projectIds;
  if (allowed && (!target.projectIds || target.projectIds.some((p) => !allowed.includes(p)))) {
    return { ok: false, message: 'An API key restricted to projects can only act on keys restricted to those projects.' };
  }
  const until = principal.expiresAt;
  if (until !== null && (target.expiresAt == null || new Date(target.expiresAt).getTime() > until.getTime())) {
    return { ok: false, message: `An API key that expires can only act on keys that expire no later than it does (${until.toISOString()}).` };
  }
  return { ok: true };
}

export function withinReach(principal: Principal, target: KeyPower, role?: Role | null): boolean {
  return decideReach(principal, target, role).ok;
}

/** Throws 403 insufficient_scope, the same refusal for create, rotate, revoke and usage. */
export function assertWithinReach(principal: Principal, target: KeyPower, role?: Role | null): void {
  const decision = decideReach(principal, target, role);
  if (!decision.ok) throw new AppError('insufficient_scope', decision.message);
}

/** decideReach as conditions on a key's row, for the list (each row is still checked with withinReach). */
export interface ReachFilter {
  /** The key's scopes are among these. */
  scopesWithin: readonly string[];
  /** The key is restricted to projects among these. */
  projectsWithin?: readonly string[];
  /** The key expires no later than this. */
  expiringBy?: Date;
}

export function reachFilter(principal: Principal, role: Role | null | undefined, allScopes: readonly string[]): ReachFilter | undefined {
  if (principal.kind !== 'api_key') return role ? { scopesWithin: allScopes.filter((s) => roleAllows(role, s as Permission)) } : undefined;
  return {
    scopesWithin: principal.scopes,
    ...(principal.projectIds ? { projectsWithin: principal.projectIds } : {}),
    ...(principal.expiresAt !== null ? { expiringBy: principal.expiresAt } : {}),
  };
}

