/**
 * Recovery codes for two-factor sign-in: ten single-use codes that stand in for the
 * authenticator app when it is lost. Makes new codes, reads what a person typed, and hashes
 * a code for storage. Owns no storage; must never log a code.
 */
import { createHash, randomInt } from 'node:crypto';

export const RECOVERY_CODE_COUNT = 10;
/** 32 symbols, 5 bits each, without the look-alikes 0/o and 1/l. */
const ALPHABET = 'abcdefghijkmnpqrstuvwxyz23456789';
/** 16 symbols: 80 bits. */
const LENGTH = 16;
const NORMALIZED = new RegExp(`^[${ALPHABET}]{${LENGTH}}$`);
const TOTP_CODE = /^\d{6}$/;

/** A new set of distinct codes, as shown (`abcd-efgh-jkmn-pqrs`) and as stored. */
export function newRecoveryCodes(): { codes: string[]; hashes: Buffer[] } {
  const normalized = new Set<string>(); // the primary key would refuse a repeat
  while (normalized.size < RECOVERY_CODE_COUNT) normalized.add(randomCode());
  const list = [...normalized];
  return { codes: list.map((code) => code.match(/.{4}/g)?.join('-') ?? code), hashes: list.map(recoveryCodeHash) };
}

function randomCode(): string {
  let code = '';
  for (let i = 0; i < LENGTH; i += 1) code += ALPHABET[randomInt(ALPHABET.length)];
  return code;
}

/** What was typed, without case, spaces or hyphens; undefined when it cannot be a recovery code. */
export function normalizeRecoveryCode(input: string): string | undefined {
  const normalized = input.toLowerCase().replace(/[\s-]/g, '');
  return NORMALIZED.test(normalized) ? normalized : undefined;
}

export const isTotpCode = (input: string): boolean => TOTP_CODE.test(input);

/** A 6-digit TOTP code or something shaped like a recovery code. */
export const isSecondFactorCode = (input: string): boolean => isTotpCode(input) || normalizeRecoveryCode(input) !== undefined;

/**
 * Stored instead of the code. A fast hash suffices: 80 random bits cannot be guessed offline
 * from it, unlike a password, so a slow (Argon2) hash would only cost every sign-in time.
 */
export function recoveryCodeHash(normalized: string): Buffer {
  return createHash('sha256').update(normalized).digest();
}
