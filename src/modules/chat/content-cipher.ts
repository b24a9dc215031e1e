/**
 * How chat content meets the crypto layer: every message is encrypted under its subject's key
 * (the visitor, or the conversation when there is none), so erasing the subject shreds it.
 */
import type { Cipher } from '../../platform/crypto/envelope.ts';
import { subjectScope, type CipherAad } from '../../platform/crypto/types.ts';

export interface ContentCipher {
  encrypt(plaintext: string, aad: CipherAad, subject: { orgId: string; subjectId: string }): Promise<string>;
  decrypt(ciphertext: string, aad: CipherAad): Promise<string>;
}

export function contentCipher(cipher: Pick<Cipher, 'encrypt' | 'decrypt'>): ContentCipher {
  return {
    encrypt: (plaintext, aad, subject) => cipher.encrypt(plaintext, aad, subjectScope(subject.orgId, subject.subjectId)),
    decrypt: (ciphertext, aad) => cipher.decrypt(ciphertext, aad),
  };
}
