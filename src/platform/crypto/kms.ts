/**
 * The key-encryption-key boundary. Owns the Kms interface and the local implementation
 * (AES-256-GCM key wrapping under a master key). A cloud KMS or Vault adapter implements the
 * same two calls. Must never return or log a master key, and never wrap without a context.
 */
import { createCipheriv, createDecipheriv, createHmac, createSecretKey, randomBytes, type KeyObject } from 'node:crypto';
import { CryptoError } from './errors.ts';

export interface Kms {
  /** Id of the key `wrap` uses now; stored next to every wrapped key (data_keys.kek_id). */
  readonly keyId: string;
  /** `context` is bound as associated data: unwrap must be given the same context. */
  wrap(key: Buffer, context: string): Promise<Buffer>;
  unwrap(wrapped: Buffer, context: string): Promise<Buffer>;
}

export interface LocalKek {
  readonly key: Buffer;
  readonly keyId?: string;
}

const FORMAT = 1;
const IV_BYTES = 12;
const TAG_BYTES = 16;
const MASTER_KEY_BYTES = 32;

/** A stable, non-secret fingerprint of a master key, so operators can tell keys apart. */
export function localKeyId(masterKey: Buffer): string {
  return 'local-' + createHmac('sha256', masterKey).update('palisade/kek-id').digest('hex').slice(0, 16);
}

function aadFor(keyId: string, context: string): Buffer {
  return Buffer.from(`palisade/kms/v1\0${keyId}\0${context}`, 'utf8');
}

/** Reads the key id a wrapped key names, without unwrapping it. */
export function wrappedKekId(wrapped: Buffer): string {
  const idLength = wrapped[1];
  if (wrapped[0] !== FORMAT || idLength === undefined || wrapped.length < 2 + idLength + IV_BYTES + TAG_BYTES) {
    throw new CryptoError('unwrap_failed', 'A wrapped key is malformed.');
  }
  return wrapped.subarray(2, 2 + idLength).toString('utf8');
}

/**
 * `masterKey` wraps; `previous` keys only unwrap, so `keys rotate-master` can read what the old
 * key wrapped while re-wrapping it under the new one.
 */
export function createLocalKms(masterKey: Buffer, keyId: string = localKeyId(masterKey), previous: readonly LocalKek[] = []): Kms {
  const keys = new Map<string, KeyObject>();
  for (const { key, keyId: id } of [{ key: masterKey, keyId }, ...previous]) {
    if (key.length !== MASTER_KEY_BYTES) throw new CryptoError('invalid_master_key', 'A master key must be 32 bytes.');
    const resolved = id ?? localKeyId(key);
    if (Buffer.byteLength(resolved) > 255) throw new CryptoError('invalid_master_key', 'A master key id is too long.');
    if (!keys.has(resolved)) keys.set(resolved, createSecretKey(key));
  }
  const current = keys.get(keyId);
  if (current === undefined) throw new CryptoError('invalid_master_key', 'The master key is missing.');
  const idBytes = Buffer.from(keyId, 'utf8');

  return {
    keyId,
    async wrap(key: Buffer, context: string): Promise<Buffer> {
      const iv = randomBytes(IV_BYTES);
      const cipher = createCipheriv('aes-256-gcm', current, iv);
      cipher.setAAD(aadFor(keyId, context));
      const sealed = Buffer.concat([cipher.update(key), cipher.final()]);
      return Buffer.concat([Buffer.from([FORMAT, idBytes.length]), idBytes, iv, sealed, cipher.getAuthTag()]);
    },
    async unwrap(wrapped: Buffer, context: string): Promise<Buffer> {
      const id = wrappedKekId(wrapped);
      const kek = keys.get(id);
      if (kek === undefined) {
        throw new CryptoError('unknown_kek', `Key-encryption key "${id}" is not configured.`);
      }
      const start = 2 + Buffer.byteLength(id);
      const iv = wrapped.subarray(start, start + IV_BYTES);
      const body = wrapped.subarray(start + IV_BYTES, wrapped.length - TAG_BYTES);
      try {
        const decipher = createDecipheriv('aes-256-gcm', kek, iv);
        decipher.setAAD(aadFor(id, context));
        decipher.setAuthTag(wrapped.subarray(wrapped.length - TAG_BYTES));
        return Buffer.concat([decipher.update(body), decipher.final()]);
      } catch {
        throw new CryptoError('unwrap_failed', 'A wrapped key failed authentication.');
      }
    },
  };
}
