/**
 * Changing one's own password: the current password, and a code when two-factor sign-in is on,
 * are checked and counted like a sign-in; the new one meets the sign-up policy. The change is
 * audited (`user.password_changed`) in every organisation of the user and ends the user's other
 * sessions on every instance: whoever learnt the old password is signed out with it.
 */
import { AppError } from '../../platform/http/errors.ts';
import type { Principal } from '../../platform/http/principal.ts';
import { hashPassword, passwordProblem } from './passwords.ts';
import type { AccountStore } from './store.ts';
import type { OtherSessionsRevoker, TotpService } from './totp-service.ts';

export interface PasswordChange {
  currentPassword: string;
  newPassword: string;
  /** A TOTP code or an unused recovery code, when two-factor sign-in is on. */
  code?: string | undefined;
}

const weak = (message: string): AppError =>
  new AppError('weak_password', message, { details: { errors: [{ field: 'body.newPassword', message }] } });

export function createPasswordChanger(deps: {
  totp: Pick<TotpService, 'checkReauthentication' | 'commitReauthenticated'>;
  store: Pick<AccountStore, 'replacePasswordHash'>;
  revokeOtherSessions: OtherSessionsRevoker;
}) {
  return async function changePassword(actor: { principal: Principal & { kind: 'user' }; ip: string }, input: PasswordChange): Promise<void> {
    // Policy first: a new password that would be refused costs no attempt.
    const problem = passwordProblem(input.newPassword, actor.principal.email);
    if (problem) throw weak(problem);
    if (input.newPassword === input.currentPassword) throw weak('Choose a new password, not the current one.');
    const checked = await deps.totp.checkReauthentication(actor, { password: input.currentPassword, code: input.code });
    // Hashed after the check (the throttle bounds how often an attacker makes us hash) and outside the transaction.
    const newHash = await hashPassword(input.newPassword);
    await deps.totp.commitReauthenticated(actor, checked, 'user.password_changed', (tx) =>
      deps.store.replacePasswordHash(tx, actor.principal.userId, checked.passwordHash, newHash),
    );
    await deps.revokeOtherSessions(actor.principal, actor.ip);
  };
}

export type PasswordChanger = ReturnType<typeof createPasswordChanger>;
