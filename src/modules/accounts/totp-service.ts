/**
 * Two-factor sign-in with TOTP: set up a pending secret (shown once) after confirming the
 * password, enable it with a code, disable it with password and code, and check a code at login.
 * Enabling and disabling end the user's other sessions: a stolen session cannot keep itself
 * signed in across the change. The secret is stored only as a
 * ciphertext under the platform data key, bound to the user's row; every accepted code's time
 * step is remembered, so a code works once. Enabling and disabling are audited in each
 * organisation the user belongs to.
 *
 * Must never: log or return the secret (except setup's reply) or a code, nor accept a code of
 * an already used time step.
 */
import type { Kysely } from 'kysely';
import type { Clock } from '../../platform/clock.ts';
import type { Cipher } from '../../platform/crypto/envelope.ts';
import type { DB } from '../../platform/db/tables.ts';
import { enterTenant } from '../../platform/db/tenant.ts';
import { AppError } from '../../platform/http/errors.ts';
import type { Principal } from '../../platform/http/principal.ts';
import type { AuditService } from '../audit/service.ts';
import { takeAttempt, type LoginThrottle } from './login-throttle.ts';
import { verifyPassword } from './passwords.ts';
import { acceptedStep, newTotpSecret, otpauthUri, totpAad } from './totp.ts';
import type { TotpStore } from './totp-store.ts';

type UserPrincipal = Principal & { kind: 'user' };

interface Actor {
  principal: UserPrincipal;
  ip: string;
}

/** Ends every session of the principal's user except the principal's own, on every instance. */
export type OtherSessionsRevoker = (principal: UserPrincipal) => Promise<unknown>;

const alreadyOn = (): AppError => new AppError('conflict', 'Two-factor sign-in is already on. Turn it off first to use another authenticator.');
const wrongCode = (): AppError => new AppError('invalid_credentials', 'The code is wrong or was already used.');

export function createTotpService(deps: {
  db: Kysely<DB>;
  store: TotpStore;
  cipher: Pick<Cipher, 'encrypt' | 'decrypt'>;
  audit: Pick<AuditService, 'record'>;
  throttle: LoginThrottle;
  clock: Clock;
  /** The user's cached profile (GET /v1/me shows totpEnabled) must be dropped everywhere. */
  profileChanged: (userId: string) => Promise<void>;
  /** Ends the user's other sessions (the account service's), after 2FA is turned on or off. */
  revokeOtherSessions: OtherSessionsRevoker;
}) {
  const { db, store, cipher, clock } = deps;

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

  /** The change and its audit entries commit together, or neither does. */
  async function commitAudited(actor: Actor, action: string, change: (tx: Kysely<DB>) => Promise<boolean>): Promise<boolean> {
    const userId = actor.principal.userId;
    const done = await db.transaction().execute(async (tx) => {
      if (!(await change(tx))) return false;
      for (const orgId of await store.orgIdsOf(tx, userId)) {
        await enterTenant(tx, orgId);
        await deps.audit.record(tx, { orgId, actor: actor.principal, action, target: { type: 'user', id: userId }, ip: actor.ip });
      }
      return true;
    });
    if (done) await deps.profileChanged(userId);
    return done;
  }

  /** Counts in the login throttle like a sign-in: a wrong password keeps its points. */
  async function passwordMatches(state: { email: string; password_hash: string | null }, ip: string, password: string): Promise<boolean> {
    await takeAttempt(deps.throttle, state.email, ip);
    return state.password_hash ? verifyPassword(state.password_hash, password) : false;
  }

  /** After the password: a new pending secret (replacing any earlier pending one), returned this once. */
  async function setup(actor: Actor, password: string): Promise<{ secret: string; otpauthUri: string }> {
    const userId = actor.principal.userId;
    const state = await stateOf(userId);
    if (state.totp_enabled) throw alreadyOn();
    if (!(await passwordMatches(state, actor.ip, password))) throw new AppError('invalid_credentials', 'The password is wrong.');
    // With 2FA off (checked above) the password is every factor there is.
    await deps.throttle.succeeded(state.email, actor.ip);
    const secret = newTotpSecret();
    const ciphertext = await cipher.encrypt(secret, totpAad(userId));
    if (!(await store.setPending(db, userId, ciphertext))) throw alreadyOn();
    return { secret, otpauthUri: otpauthUri(state.email, secret) };
  }

  async function enable(actor: Actor, code: string): Promise<void> {
    const userId = actor.principal.userId;
    const state = await stateOf(userId);
    if (state.totp_enabled) throw alreadyOn();
    if (state.totp_secret === null) throw new AppError('conflict', 'Start with POST /v1/auth/totp/setup.');
    const pending = state.totp_secret;
    const step = await stepOf(userId, pending, code, null);
    if (step === undefined) throw wrongCode();
    const enabled = await commitAudited(actor, 'user.totp_enabled', (tx) => store.enable(tx, userId, pending, step));
    if (!enabled) throw new AppError('conflict', 'Two-factor setup changed meanwhile. Start again.');
    await deps.revokeOtherSessions(actor.principal);
  }

  /** Needs the password and a current code; failures count in the login throttle. */
  async function disable(actor: Actor, password: string, code: string): Promise<void> {
    const userId = actor.principal.userId;
    const state = await stateOf(userId);
    if (!state.totp_enabled || state.totp_secret === null) throw new AppError('conflict', 'Two-factor sign-in is not on.');
    // Both checks always run, so the reply's timing does not say which one failed.
    const [passwordOk, step] = await Promise.all([
      passwordMatches(state, actor.ip, password),
      stepOf(userId, state.totp_secret, code, state.totp_last_step),
    ]);
    if (!passwordOk || step === undefined || !(await commitAudited(actor, 'user.totp_disabled', (tx) => store.disable(tx, userId, step)))) {
      throw new AppError('invalid_credentials', 'The password or code is wrong, or the code was already used.');
    }
    await deps.throttle.succeeded(state.email, actor.ip);
    await deps.revokeOtherSessions(actor.principal);
  }

  /** At login, after the password: accepts a code once, for a user with 2FA on. */
  async function acceptLoginCode(user: { id: string; totp_secret: string | null; totp_last_step: number | null }, code: string): Promise<boolean> {
    if (user.totp_secret === null) return false;
    const step = await stepOf(user.id, user.totp_secret, code, user.totp_last_step);
    return step !== undefined && (await store.acceptStep(db, user.id, step));
  }

  return {
    setup,
    enable,
    disable,
    acceptLoginCode,
  };
}

export type TotpService = ReturnType<typeof createTotpService>;
