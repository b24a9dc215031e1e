/**
 * TOTP (RFC 6238: SHA-1, 6 digits, 30-second steps, what authenticator apps expect) for
 * two-factor sign-in: new secrets, the otpauth:// URI, and the pure decision whether a code is
 * acceptable now. Owns no storage; must never log a secret or a code.
 */
import { generateSecret, generateURI, verify } from 'otplib';
import type { CipherAad } from '../../platform/crypto/types.ts';
import { PLATFORM_ORG_ID } from '../keys/registry.ts';

export const TOTP_ISSUER = 'Palisade';
const PERIOD_SECONDS = 30;
/** Clock drift allowed between the server and the authenticator app, in steps either way. */
const DRIFT_STEPS = 1;

/** Users belong to no single organisation: their secrets use the platform data key. */
export const totpAad = (userId: string): CipherAad => ({ orgId: PLATFORM_ORG_ID, table: 'users', column: 'totp_secret', rowId: userId });

/** A new base32 secret of 160 random bits (RFC 4226's recommended length). */
export function newTotpSecret(): string {
  return generateSecret({ length: 20 });
}

export function otpauthUri(email: string, secret: string): string {
  return generateURI({ issuer: TOTP_ISSUER, label: email, secret });
}

/**
 * The time step a code belongs to when it is valid at `now` (±DRIFT_STEPS) and newer than the
 * last accepted step; undefined otherwise. A code of the last step or earlier is a replay.
 */
export async function acceptedStep(input: { secret: string; code: string; now: Date; lastStep: number | null }): Promise<number | undefined> {
  const epoch = Math.floor(input.now.getTime() / 1000);
  const result = await verify({ secret: input.secret, token: input.code, epoch, epochTolerance: PERIOD_SECONDS * DRIFT_STEPS });
  if (!result.valid) return undefined;
  const step = Math.floor(epoch / PERIOD_SECONDS) + result.delta;
  return input.lastStep !== null && step <= input.lastStep ? undefined : step;
}
