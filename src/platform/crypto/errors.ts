/**
 * Typed failures of the crypto layer. Owns the closed list of reasons; must never put key
 * material, plaintext or ciphertext into a message. Every reason maps to the HTTP `internal`
 * code: a client never learns why decryption failed, operators read `reason` in the logs.
 */
import { AppError } from '../http/errors.ts';

export type CryptoErrorReason =
  | 'invalid_master_key'
  | 'missing_master_key'
  | 'insecure_key_file'
  | 'unknown_kek'
  | 'unwrap_failed'
  | 'invalid_scope'
  | 'key_not_found'
  | 'malformed_ciphertext'
  | 'decrypt_failed'
  | 'backup_corrupt'
  | 'backup_truncated';

export class CryptoError extends AppError {
  readonly reason: CryptoErrorReason;

  constructor(reason: CryptoErrorReason, message: string) {
    super('internal', message);
    this.name = 'CryptoError';
    this.reason = reason;
  }
}

export function isCryptoError(err: unknown, reason?: CryptoErrorReason): err is CryptoError {
  return err instanceof CryptoError && (reason === undefined || err.reason === reason);
}
