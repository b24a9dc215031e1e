/**
 * Builds the crypto layer for one process from its configuration: the master key (env, or the
 * key file on the embedded default only), the local KMS with any previous master keys, the SQL
 * key stores and the keyring and cipher over them. Owns this assembly only; must never log a
 * key, nor fall back to a key file when an external database is configured.
 */
import type { Kysely } from 'kysely';
import type { Clock } from '../clock.ts';
import { systemClock } from '../clock.ts';
import type { DB } from '../db/tables.ts';
import { createCipher, type Cipher } from './envelope.ts';
import { createKeyring, type Keyring } from './keyring.ts';
import { createLocalKms, localKeyId, type Kms } from './kms.ts';
import { loadMasterKey, parseMasterKey, type MasterKey } from './master-key.ts';
import { countKeysNotWrappedBy, createSqlKeyStores } from './sql-key-store.ts';
import type { CryptoLogger } from './types.ts';

export interface CryptoConfig {
  masterKey: string | undefined;
  masterKeyPrevious: readonly string[];
  dataDir: string;
  databaseUrl: string | undefined;
}

export interface Crypto {
  kms: Kms;
  keyring: Keyring;
  cipher: Cipher;
  /** Where the master key came from (never the key itself). */
  masterKey: Pick<MasterKey, 'keyId' | 'source' | 'created'>;
}

export interface CreateCryptoDeps {
  db: Kysely<DB>;
  config: CryptoConfig;
  log: CryptoLogger;
  clock?: Clock;
  /** Make a master key file in DATA_DIR when there is none (default true). */
  createKeyFile?: boolean;
}

/** The KMS alone (backup CLI, rotate-master): the current key wraps, previous keys unwrap. */
export async function createKmsFromConfig(
  config: CryptoConfig,
  log: CryptoLogger,
  options: { createKeyFile?: boolean } = {},
): Promise<{ kms: Kms; masterKey: MasterKey; previousKeyIds: string[] }> {
  const masterKey = await loadMasterKey({
    envValue: config.masterKey,
    dataDir: config.dataDir,
    // The key file is only for the embedded default: a real deployment must bring its own key.
    allowKeyFile: config.databaseUrl === undefined,
    ...(options.createKeyFile === false ? { createKeyFile: false } : {}),
    log,
  });
  const previous = config.masterKeyPrevious
    .map((value) => parseMasterKey(value, 'PALISADE_MASTER_KEY_PREVIOUS'))
    .filter((key) => !key.equals(masterKey.key))
    .map((key) => ({ key, keyId: localKeyId(key) }));
  return { kms: createLocalKms(masterKey.key, masterKey.keyId, previous), masterKey, previousKeyIds: previous.map((p) => p.keyId) };
}

/**
 * Says which data keys the current master key does not wrap: those under a previous key need
 * `keys rotate-master` (again: an instance still running with the old configuration keeps
 * wrapping new keys under it) before that key leaves PALISADE_MASTER_KEY_PREVIOUS; those under a
 * key that is not configured at all cannot be opened, and what they protect cannot be read.
 */
async function warnAboutUncoveredKeys(db: Kysely<DB>, kms: Pick<Kms, 'keyId'>, previousKeyIds: readonly string[], log: CryptoLogger): Promise<void> {
  for (const [kekId, count] of await countKeysNotWrappedBy(db, kms.keyId)) {
    if (previousKeyIds.includes(kekId)) {
      log.warn(`${count} data keys are still wrapped by the previous master key ${kekId}: run \`palisade keys rotate-master\` once every instance runs with the new key, and keep the old one in PALISADE_MASTER_KEY_PREVIOUS until then.`);
    } else {
      log.warn(`${count} data keys are wrapped by master key ${kekId}, which is neither PALISADE_MASTER_KEY nor in PALISADE_MASTER_KEY_PREVIOUS: what they protect cannot be decrypted until that key is configured again (as a previous key).`);
    }
  }
}

export async function createCrypto(deps: CreateCryptoDeps): Promise<Crypto> {
  const { kms, masterKey, previousKeyIds } = await createKmsFromConfig(deps.config, deps.log, deps.createKeyFile === false ? { createKeyFile: false } : {});
  await warnAboutUncoveredKeys(deps.db, kms, previousKeyIds, deps.log);
  const keyring = createKeyring({ kms, store: createSqlKeyStores(deps.db), clock: deps.clock ?? systemClock });
  return {
    kms,
    keyring,
    cipher: createCipher({ keyring }),
    masterKey: { keyId: masterKey.keyId, source: masterKey.source, created: masterKey.created },
  };
}
