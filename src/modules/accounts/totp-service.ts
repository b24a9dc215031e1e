/**
 * Two-factor sign-in with TOTP: set up a pending secret (shown once) after confirming the
 * password, enable it with a code (which returns ten recovery codes, shown once), disable it or
 * replace the recovery codes with password and code, and check a code at login. Wherever a TOTP
 * code is asked for, an unused recovery code may stand in. Enabling and disabling end the user's
 * other sessions: a stolen session cannot keep itself signed in across the change. The secret is
 * stored only as a ciphertext under the platform data key, bound to the user's row, and recovery
 * codes only as hashes; every accepted code's time step is remembered and every recovery code is
 * marked used, so a code works once. Every change, and every recovery code used, is audited in
 * each organisation the user belongs to.
 *
 * Must never: log or return the secret (except setup's reply) or a code (except the replies that
 * make recovery codes), nor accept a code of an already used time step or a used recovery code.
 */
import type { Kysely } from 'kysely';
import type { Clock } from '../../platform/clock.ts';
import type { Cipher } from '../../platform/crypto/envelope.ts';
import type { DB } from '../../platform/db/tables.ts';
import { enterTenant, type Tx } from '../../platform/db/tenant.ts';
import { AppError } from '../../platform/http/errors.ts';
import type { Principal } from '../../platform/http/principal.ts';
import type { AuditService } from '../audit/service.ts';
import { takeAttempt, takeSecondFactor, type LoginThrottle } from './login-throttle.ts';
import { verifyPassword } from './passwords.ts';
import type { RecoveryCodeStore } from './recovery-code-store.ts';
import { isTotpCode, newRecoveryCodes, normalizeRecoveryCode, recoveryCodeHash } from './recovery-codes.ts';
import { acceptedStep, newTotpSecret, otpauthUri, totpAad } from './totp.ts';
import type { TotpStore } from './totp-store.ts';

type UserPrincipal = Principal & { kind: 'user' };

interface Actor {
  principal: UserPrincipal;
  ip: string;
}

/** Ends every session of the principal's user except the principal's own, on every instance. */
export type OtherSessionsRevoker = (principal: UserPrincipal, ip: string | null) => Promise<unknown>;

/** A second factor that was checked but not yet spent. */
type Factor = { kind: 'totp'; step: number } | { kind: 'recovery'; hash: Buffer };

/** The current password (whose hash is kept), and the second factor when 2FA is on, checked. */
export interface Reauthentication {
  email: string;
  passwordHash: string;
  factor: Factor | undefined;
}

const RECOVERY_CODE_USED = 'user.totp_recovery_code_used';

/** Thrown inside a transaction to roll it back: a compare-and-set found the state changed. */
class Refused extends Error {}

const alreadyOn = (): AppError => new AppError('conflict', 'Two-factor sign-in is already on. Turn it off first to use another authenticator.');
const wrongCode = (): AppError => new AppError('invalid_credentials', 'The code is wrong or was already used.');
const notOn = (): AppError => new AppError('conflict', 'Two-factor sign-in is not on.');
const wrongPasswordOrCode = (): AppError => new AppError('invalid_credentials', 'The password or code is wrong, or the code was already used.');

export function createTotpService(deps: {
  db: Kysely<DB>;
  store: TotpStore;
  recoveryCodes: RecoveryCodeStore;
  cipher: Pick<Cipher, 'encrypt' | 'decrypt'>;
  audit: Pick<AuditService, 'record'>;
  throttle: LoginThrottle;
  clock: Clock;
  /** The user's cached profile (GET /v1/me shows totpEnabled, recoveryCodesLeft) must be dropped everywhere. */
  profileChanged: (userId: string) => Promise<void>;
  /** Ends the user's other sessions (the account service's), after 2FA is turned on or off. */
  revokeOtherSessions: OtherSessionsRevoker;
}) {
  const { db, store, recoveryCodes, cipher, clock } = deps;

  async function stateOf(userId: string) {
    const state = await store.state(db, userId);
    if (!state) throw new AppError('unauthenticated', 'Your session has ended. Sign in again.');
    return state;
  }

  /** The step of `code` against a stored ciphertext, or undefined (wrong, too old, or replayed). */
  async function stepOf(userId: string, ciphertext: string, code: string, lastStep: number | null): Promise<number | undefined> {
    const secret = await cipher.decrypt(ciphertext, totpAad(userId));
    return acceptedStep({ secret, code, now: clock.now(), lastStep });
  }

  /** A TOTP code of an unused step, or an unused recovery code of this user; spends nothing. */
  async function checkFactor(userId: string, state: { totp_secret: string; totp_last_step: number | null }, code: string): Promise<Factor | undefined> {
    if (isTotpCode(code)) {
      const step = await stepOf(userId, state.totp_secret, code, state.totp_last_step);
      return step === undefined ? undefined : { kind: 'totp', step };
    }
    const normalized = normalizeRecoveryCode(code);
    if (normalized === undefined) return undefined;
    const hash = recoveryCodeHash(normalized);
    return (await recoveryCodes.isUnused(db, userId, hash)) ? { kind: 'recovery', hash } : undefined;
  }

  /** Uses the factor up, with a compare-and-set: false when a concurrent request used it first. */
  const spend = (tx: Kysely<DB>, userId: string, factor: Factor): Promise<boolean> =>
    factor.kind === 'totp' ? store.acceptStep(tx, userId, factor.step) : recoveryCodes.spend(tx, userId, factor.hash, clock.now());

  const actionsFor = (factor: Factor, action: string): string[] => (factor.kind === 'recovery' ? [RECOVERY_CODE_USED, action] : [action]);

  /** Audit entries about the user, in the log of every organisation they belong to (after any directory writes). */
  async function recordInEveryOrg(tx: Tx, actor: Actor, actions: string[], metadata?: Record<string, unknown>): Promise<void> {
    const userId = actor.principal.userId;
    for (const orgId of await store.orgIdsOf(tx, userId)) {
      await enterTenant(tx, orgId);
      for (const action of actions) {
        await deps.audit.record(tx, { orgId, actor: actor.principal, action, target: { type: 'user', id: userId }, ip: actor.ip, ...(metadata ? { metadata } : {}) });
      }
    }
  }

  /**
   * The change and its audit entries commit together, or neither does: a change that returns
   * false is rolled back. Changes lock the users row before recovery codes, so none deadlock.
   */
  async function commitAudited(actor: Actor, actions: string[], change: (tx: Kysely<DB>) => Promise<boolean>): Promise<boolean> {
    const userId = actor.principal.userId;
    try {
      await db.transaction().execute(async (tx) => {
        if (!(await change(tx))) throw new Refused();
        await recordInEveryOrg(tx, actor, actions);
      });
    } catch (error) {
      if (error instanceof Refused) return false;
      throw error;
    }
    await deps.profileChanged(userId);
    return true;
  }

  /**
   * A wrong password or code sent to a route that asks for them again, in the audit log of every
   * organisation of the user (as a refused sign-in is): someone guessing with a stolen session
   * leaves a trace.
   */
  async function auditRefusedProof(actor: Actor, reason: 'password' | 'second_factor'): Promise<void> {
    await db.transaction().execute((tx) => recordInEveryOrg(tx, actor, ['user.reauthentication_failed'], { reason }));
  }

  /** Counts in the login throttle like a sign-in: a wrong password keeps its points, and is audited. */
  async function passwordMatches(state: { email: string; password_hash: string | null }, actor: Actor, password: string): Promise<boolean> {
    await takeAttempt(deps.throttle, state.email, actor.ip);
    const matches = state.password_hash ? await verifyPassword(state.password_hash, password) : false;
    if (!matches) await auditRefusedProof(actor, 'password');
    return matches;
  }

  /** After the password: a new pending secret (replacing any earlier pending one), returned this once. */
  async function setup(actor: Actor, password: string): Promise<{ secret: string; otpauthUri: string }> {
    const userId = actor.principal.userId;
    const state = await stateOf(userId);
    if (state.totp_enabled) throw alreadyOn();
    if (!(await passwordMatches(state, actor, password))) throw new AppError('invalid_credentials', 'The password is wrong.');
    // With 2FA off (checked above) the password is every factor there is.
    await deps.throttle.succeeded(state.email, actor.ip);
    const secret = newTotpSecret();
    const ciphertext = await cipher.encrypt(secret, totpAad(userId));
    if (!(await store.setPending(db, userId, ciphertext))) throw alreadyOn();
    return { secret, otpauthUri: otpauthUri(state.email, secret) };
  }

  /** Turns the pending secret on and returns a new set of recovery codes, shown this once. */
  async function enable(actor: Actor, code: string): Promise<string[]> {
    const userId = actor.principal.userId;
    const state = await stateOf(userId);
    if (state.totp_enabled) throw alreadyOn();
    if (state.totp_secret === null) throw new AppError('conflict', 'Start with POST /v1/auth/totp/setup.');
    const pending = state.totp_secret;
    // Counted before the code is checked, like every code: unthrottled, a stolen session could
    // guess a code of a pending secret its owner never confirmed and lock them out with it.
    await takeSecondFactor(deps.throttle, state.email);
    const step = await stepOf(userId, pending, code, null);
    if (step === undefined) throw wrongCode();
    const { codes, hashes } = newRecoveryCodes();
    const enabled = await commitAudited(actor, ['user.totp_enabled'], async (tx) => {
      if (!(await store.enable(tx, userId, pending, step))) return false;
      await recoveryCodes.replace(tx, userId, hashes);
      return true;
    });
    if (!enabled) throw new AppError('conflict', 'Two-factor setup changed meanwhile. Start again.');
    // Only the code count: this took no sign-in attempt from the address, so it gives none back.
    await deps.throttle.secondFactorSucceeded(state.email);
    await deps.revokeOtherSessions(actor.principal, actor.ip);
    return codes;
  }

  /** The password, then the second factor, checked (a wrong one counts in the login throttle). */
  async function reauthenticate(actor: Actor, password: string, code: string) {
    const state = await stateOf(actor.principal.userId);
    if (!state.totp_enabled || state.totp_secret === null) throw notOn();
    if (!(await passwordMatches(state, actor, password))) return { email: state.email, passwordHash: state.password_hash, factor: undefined };
    // As at sign-in, and only after the right password: the account's code allowance is shared
    // with sign-in, so a stolen session spending it without the password would lock its owner out.
    // Codes are counted per account from everywhere, before they are checked.
    await takeSecondFactor(deps.throttle, state.email);
    const factor = await checkFactor(actor.principal.userId, { totp_secret: state.totp_secret, totp_last_step: state.totp_last_step }, code);
    if (factor === undefined) await auditRefusedProof(actor, 'second_factor');
    return { email: state.email, passwordHash: state.password_hash, factor };
  }

  /** Needs the password and a current code or an unused recovery code; forgets the recovery codes too. */
  async function disable(actor: Actor, password: string, code: string): Promise<void> {
    const userId = actor.principal.userId;
    const { email, factor } = await reauthenticate(actor, password, code);
    const done =
      factor !== undefined &&
      (await commitAudited(actor, actionsFor(factor, 'user.totp_disabled'), async (tx) => {
        if (!(await store.disable(tx, userId, factor.kind === 'totp' ? factor.step : undefined))) return false;
        if (factor.kind === 'recovery' && !(await spend(tx, userId, factor))) return false;
        await recoveryCodes.deleteAll(tx, userId);
        return true;
      }));
    if (!done) throw wrongPasswordOrCode();
    await deps.throttle.succeeded(email, actor.ip);
    await deps.revokeOtherSessions(actor.principal, actor.ip);
  }

  /** Needs the password and a current code or an unused recovery code; every earlier code stops working. */
  async function regenerateRecoveryCodes(actor: Actor, password: string, code: string): Promise<string[]> {
    const userId = actor.principal.userId;
    const { email, factor } = await reauthenticate(actor, password, code);
    const { codes, hashes } = newRecoveryCodes();
    const done =
      factor !== undefined &&
      (await commitAudited(actor, actionsFor(factor, 'user.totp_recovery_codes_regenerated'), async (tx) => {
        // A disable that commits first leaves nothing to lock; one that comes later deletes these codes.
        if (!(await store.lockEnabled(tx, userId)) || !(await spend(tx, userId, factor))) return false;
        await recoveryCodes.replace(tx, userId, hashes);
        return true;
      }));
    if (!done) throw wrongPasswordOrCode();
    await deps.throttle.succeeded(email, actor.ip);
    return codes;
  }

  /**
   * For a change to the account that needs the current password, and the second factor when 2FA
   * is on (a stolen session cookie alone must not make it): both checked and counted like a
   * sign-in. Throws when either is wrong; spends nothing (commitReauthenticated does).
   */
  async function checkReauthentication(actor: Actor, proof: { password: string; code?: string | undefined }): Promise<Reauthentication> {
    const state = await stateOf(actor.principal.userId);
    if (state.totp_enabled) {
      if (proof.code === undefined) throw new AppError('totp_required', 'Enter the 6-digit code from your authenticator app, or a recovery code.');
      const { factor, passwordHash } = await reauthenticate(actor, proof.password, proof.code);
      if (factor === undefined || passwordHash === null) throw wrongPasswordOrCode();
      return { email: state.email, passwordHash, factor };
    }
    if (state.password_hash === null || !(await passwordMatches(state, actor, proof.password))) {
      throw new AppError('invalid_credentials', 'The password is wrong.');
    }
    return { email: state.email, passwordHash: state.password_hash, factor: undefined };
  }

  /**
   * Commits a change after checkReauthentication: the second factor is spent, and the change and
   * its audit records commit together or not at all. `change` should compare-and-set on the
   * password hash that was checked, so a concurrent change of it wins alone.
   */
  async function commitReauthenticated(actor: Actor, checked: Reauthentication, action: string, change: (tx: Kysely<DB>) => Promise<boolean>): Promise<void> {
    const { factor } = checked;
    const done = factor
      ? await commitAudited(actor, actionsFor(factor, action), async (tx) => (await change(tx)) && (await spend(tx, actor.principal.userId, factor)))
      : await commitAudited(actor, [action], change);
    if (!done) throw new AppError('conflict', 'Your account changed meanwhile. Try again.');
    await deps.throttle.succeeded(checked.email, actor.ip);
  }

  /** At login, after the password: accepts a TOTP code or a recovery code once, for a user with 2FA on. */
  async function acceptLoginCode(
    user: { id: string; email: string; totp_secret: string | null; totp_last_step: number | null },
    code: string,
    ip: string,
  ): Promise<boolean> {
    if (user.totp_secret === null) return false;
    const factor = await checkFactor(user.id, { totp_secret: user.totp_secret, totp_last_step: user.totp_last_step }, code);
    if (factor === undefined) return false;
    if (factor.kind === 'totp') return store.acceptStep(db, user.id, factor.step);
    // Not signed in yet: the actor is the user, without a session.
    const actor = { principal: { kind: 'user' as const, userId: user.id, sessionId: '', email: user.email }, ip };
    if (!(await commitAudited(actor, [RECOVERY_CODE_USED], (tx) => spend(tx, user.id, factor)))) return false;
    // A recovery code stands for a lost authenticator: every session signed in before it ends
    // (audited as user.sessions_revoked), in case whoever holds them is why it was lost.
    await deps.revokeOtherSessions(actor.principal, ip);
    return true;
  }

  return {
    setup,
    enable,
    disable,
    regenerateRecoveryCodes,
    checkReauthentication,
    commitReauthenticated,
    acceptLoginCode,
  };
}

export type TotpService = ReturnType<typeof createTotpService>;
