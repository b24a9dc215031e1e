/**
 * `palisade keys rotate-master`: re-wraps every data key (organisation and subject keys) under
 * the master key in PALISADE_MASTER_KEY, reading what the old key wrapped through
 * PALISADE_MASTER_KEY_PREVIOUS. Data is never re-encrypted. Resumable: keys already under the new
 * key are skipped. Owns this job; must never write a key wrapped by anything but the new KEK.
 */
import type { Kms } from '../../platform/crypto/kms.ts';
import type { Keyring, RewrapResult } from '../../platform/crypto/keyring.ts';

export async function rotateMaster(deps: { keyring: Keyring; kms: Kms }, batchSize = 500): Promise<RewrapResult & { kekId: string }> {
  // The same KMS wraps with the new key and unwraps with the new or any previous one.
  const result = await deps.keyring.rewrapAll(deps.kms, batchSize);
  return { ...result, kekId: deps.kms.keyId };
}
