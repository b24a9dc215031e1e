/**
 * How chat content meets the crypto layer: every message is encrypted under its subject's key
 * (the visitor, or the conversation when there is none), so erasing the subject shreds it.
 */
import type { Cipher, Sealer } from '../../platform/crypto/envelope.ts';
import { subjectScope, type CipherAad } from '../../platform/crypto/types.ts';

export interface ContentCipher {
  /** The subject's current key as a synchronous encrypter, resolved before a transaction opens. */
  sealer(subject: { orgId: string; subjectId: string }): Promise<Sealer>;
  encrypt(plaintext: string, aad: CipherAad, subject: { orgId: string; subjectId: string }): Promise<string>;
  decrypt(ciphertext: string, aad: CipherAad): Promise<string>;
}

export function contentCipher(cipher: Pick<Cipher, 'sealer' | 'encrypt' | 'decrypt'>): ContentCipher {
  return {
    sealer: (subject) => cipher.sealer(subjectScope(subject.orgId, subject.subjectId)),
    encrypt: (plaintext, aad, subject) => cipher.encrypt(plaintext, aad, subjectScope(subject.orgId, subject.subjectId)),
    decrypt: (ciphertext, aad) => cipher.decrypt(ciphertext, aad),
  };
}
