/**
 * A Cipher that does the real encryption and adds up the CPU time it spends doing it: the direct
 * measure of what encryption costs the message path (the A/B comparison of encryption-cost.ts
 * cannot resolve a few per cent on a shared machine). Only the synchronous part of each call is
 * timed; with the data key cached — the steady state of a running server — that part is all of
 * the AES-GCM, base64 and AAD work. A call that has to load a key first is timed up to the load
 * (the load itself is database work the pass-through cipher does too, through the same keyring).
 * CPU time, not wall time: the share is taken of the process's CPU time, and a wall clock would
 * also count the moments the process waited for a core. It is the whole process's (all threads),
 * so work of other threads during a call is counted too: the figure errs high, never low.
 */
import type { Cipher, Sealer } from '../../src/platform/crypto/envelope.ts';

export interface CipherTiming {
  cipher: Cipher;
  /** CPU microseconds spent inside the cipher so far, and how many calls. */
  totals(): { micros: number; calls: number };
}

export function timedCipher(real: Cipher): CipherTiming {
  let micros = 0;
  let calls = 0;
  const timed = <T>(work: () => T): T => {
    const started = process.cpuUsage();
    try {
      return work();
    } finally {
      const used = process.cpuUsage(started);
      micros += used.user + used.system;
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
  return { cipher, totals: () => ({ micros, calls }) };
}
