/**
 * Password hashing (argon2id, OWASP parameters) and the password policy: long enough, not a
 * well-known password, not the e-mail address.
 */
import { hash, verify } from '@node-rs/argon2';
import { commonPasswords } from './common-passwords.ts';

// algorithm 2 is Argon2id (the package's const enum cannot be imported under verbatimModuleSyntax).
const ARGON2 = { algorithm: 2 as const, memoryCost: 19_456, timeCost: 2, parallelism: 1 } as const;

export const PASSWORD_MIN = 12;
export const PASSWORD_MAX = 256;

export function hashPassword(password: string): Promise<string> {
  return hash(password, ARGON2);
}

export async function verifyPassword(passwordHash: string, password: string): Promise<boolean> {
  try {
    return await verify(passwordHash, password);
  } catch {
    return false;
  }
}

// Verifying against this keeps "unknown e-mail" as slow as "wrong password".
let dummyHash: Promise<string> | undefined;
export async function burnVerifyTime(password: string): Promise<void> {
  dummyHash ??= hashPassword('palisade-timing-equaliser');
  await verifyPassword(await dummyHash, password);
}

/** Why this password is refused, or null when it is acceptable. */
export function passwordProblem(password: string, email: string): string | null {
  if (password.length < PASSWORD_MIN) return `Use at least ${PASSWORD_MIN} characters.`;
  if (password.length > PASSWORD_MAX) return `Use at most ${PASSWORD_MAX} characters.`;
  const lower = password.toLowerCase();
  if (commonPasswords.has(lower) || commonPasswords.has(lower.replace(/[\d!?.@#$%^&*_-]+$/, ''))) {
    return 'This password is too common. Choose a passphrase of several unrelated words.';
  }
  if (new Set(lower).size < 4) return 'This password repeats too few characters.';
  const local = email.split('@')[0]?.toLowerCase() ?? '';
  if (local.length >= 4 && lower.includes(local)) return 'Do not use your e-mail address in your password.';
  return null;
}
