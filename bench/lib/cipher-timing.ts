/**
 * A Cipher that does the real encryption and adds up the time it spends doing it: the direct
 * measure of what encryption costs the message path (the A/B comparison of encryption-cost.ts
 * cannot resolve a few per cent on a shared machine). Only the synchronous part of each call is
 * timed; with the data key cached — the steady state of a running server — that part is all of
 * the AES-GCM, base64 and AAD work. A call that has to load a key first is timed up to the load
 * (the load itself is database work the pass-through cipher does too, through the same keyring).
 */
import type { Cipher, Sealer } from '../../src/platform/crypto/envelope.ts';

export interface CipherTiming {
  cipher: Cipher;
  /** Nanoseconds spent inside the cipher so far, and how many calls. */
  totals(): { nanoseconds: number; calls: number };
}

export function timedCipher(real: Cipher): CipherTiming {
  let nanoseconds = 0n;
  let calls = 0;
  const timed = <T>(work: () => T): T => {
    const started = process.hrtime.bigint();
    try {
      return work();
    } finally {
      nanoseconds += process.hrtime.bigint() - started;
      calls += 1;
    }
  };
  const cipher: Cipher = {
    async sealer(scope) {
      const seal: Sealer = await timed(() => real.sealer(scope));
      return (plaintext, aad) => timed(() => seal(plaintext, aad));
    },
    encrypt: (plaintext, aad, scope) => timed(() => real.encrypt(plaintext, aad, scope)),
    tryEncryptSync: (plaintext, aad, scope) => timed(() => real.tryEncryptSync(plaintext, aad, scope)),
    decrypt: (ciphertext, aad) => timed(() => real.decrypt(ciphertext, aad)),
    tryDecryptSync: (ciphertext, aad) => timed(() => real.tryDecryptSync(ciphertext, aad)),
    decryptBytes: (ciphertext, aad) => timed(() => real.decryptBytes(ciphertext, aad)),
    reencrypt: (ciphertext, aad) => timed(() => real.reencrypt(ciphertext, aad)),
  };
  return { cipher, totals: () => ({ nanoseconds: Number(nanoseconds), calls }) };
}
