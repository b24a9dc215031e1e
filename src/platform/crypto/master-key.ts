/**
 * Where the key-encryption key comes from: PALISADE_MASTER_KEY, or (embedded default only) a
 * key file in the data directory created on first start. Owns parsing and the key file's
 * permissions; must never log, echo or return the key anywhere but to its caller.
 */
import { constants } from 'node:fs';
import { link, lstat, mkdir, open, unlink } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { CryptoError } from './errors.ts';
import { localKeyId } from './kms.ts';
import type { CryptoLogger } from './types.ts';

export interface MasterKey {
  readonly key: Buffer;
  readonly keyId: string;
  readonly source: 'env' | 'key-file';
  readonly created: boolean;
}

export interface LoadMasterKeyOptions {
  envValue?: string | undefined;
  dataDir: string;
  /** True only for the embedded default database; a real deployment must set the env variable. */
  allowKeyFile: boolean;
  /** Whether a missing key file is created (default); a command that only reads refuses instead. */
  createKeyFile?: boolean;
  log: CryptoLogger;
}

export const KEY_FILE_NAME = 'master.key';
const BASE64_32 = /^[A-Za-z0-9+/_-]{43}=?$/;

export function parseMasterKey(value: string, origin: string): Buffer {
  const text = value.trim();
  const key = BASE64_32.test(text) ? Buffer.from(text, 'base64') : undefined;
  if (key === undefined || key.length !== 32) {
    throw new CryptoError('invalid_master_key',
      `${origin} must be 32 random bytes in base64 (generate one with \`openssl rand -base64 32\`).`);
  }
  return key;
}

export async function loadMasterKey(options: LoadMasterKeyOptions): Promise<MasterKey> {
  const { envValue, dataDir, allowKeyFile, log } = options;
  if (envValue !== undefined && envValue.trim() !== '') {
    const key = parseMasterKey(envValue, 'PALISADE_MASTER_KEY');
    await warnOfKeyFileLeft(join(dataDir, KEY_FILE_NAME), key, log);
    return { key, keyId: localKeyId(key), source: 'env', created: false };
  }
  if (!allowKeyFile) {
    throw new CryptoError('missing_master_key',
      'PALISADE_MASTER_KEY is required with an external database (base64 of 32 random bytes).');
  }
  const path = join(dataDir, KEY_FILE_NAME);
  const existing = await readKeyFile(path);
  if (existing === undefined && options.createKeyFile === false) {
    throw new CryptoError('missing_master_key', `No master key: set PALISADE_MASTER_KEY, or use the DATA_DIR whose ${KEY_FILE_NAME} made the backup.`);
  }
  const { key, created } = existing === undefined ? await createKeyFile(dataDir, path) : { key: existing, created: false };
  log.warn([
    '!!! PALISADE IS USING A MASTER KEY FILE, NOT PALISADE_MASTER_KEY !!!',
    `  ${created ? 'Created' : 'Using'} ${path} (mode 0600).`,
    '  Anyone who can read this file and the database can decrypt everything.',
    '  Keep it out of backups of the data directory, store a copy somewhere safe,',
    '  and set PALISADE_MASTER_KEY for any deployment beyond a single machine.',
  ].join('\n'));
  return { key, keyId: localKeyId(key), source: 'key-file', created };
}

/**
 * A key file beside the data while PALISADE_MASTER_KEY is set is not used, but whoever copies the
 * data directory gets it too: with it, what was wrapped under it (old key versions, shredded
 * subjects' keys still in dead rows) stays readable. Moving off the file leaves it behind unless
 * the operator deletes it, so every start says so.
 */
async function warnOfKeyFileLeft(path: string, key: Buffer, log: CryptoLogger): Promise<void> {
  try {
    await lstat(path);
  } catch {
    return; // none (or no data directory)
  }
  let same: boolean | undefined;
  try {
    same = (await readKeyFile(path))?.equals(key);
  } catch {
    // There, but not safely readable: it may still hold a key.
  }
  log.warn([
    `!!! A MASTER KEY FILE LIES IN THE DATA DIRECTORY: ${path} !!!`,
    same === true
      ? '  It holds PALISADE_MASTER_KEY itself: anyone with a copy of the data directory can decrypt everything. Delete it.'
      : '  PALISADE_MASTER_KEY is set, so it is not used. Once `palisade keys rotate-master` re-wraps 0 keys and no backup you keep\n' +
        '  needs it, delete it (keep a copy in your secret store if you must): with a copy of the data directory and this file,\n' +
        '  what it wrapped stays readable, shredded people\'s data included.',
  ].join('\n'));
}

async function readKeyFile(path: string): Promise<Buffer | undefined> {
  let handle;
  try {
    // O_NOFOLLOW: a symlink planted in the data directory must not redirect us to another file.
    handle = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new CryptoError('insecure_key_file', `The key file ${path} cannot be opened safely.`);
  }
  try {
    const stat = await handle.stat();
    if (!stat.isFile()) throw new CryptoError('insecure_key_file', `The key file ${path} is not a regular file.`);
    if (process.platform !== 'win32' && (stat.mode & 0o077) !== 0) {
      throw new CryptoError('insecure_key_file',
        `The key file ${path} is readable by other users (mode ${(stat.mode & 0o777).toString(8)}); run \`chmod 600 ${path}\`.`);
    }
    const uid = process.getuid?.();
    if (uid !== undefined && uid !== 0 && stat.uid !== uid) {
      throw new CryptoError('insecure_key_file', `The key file ${path} belongs to another user.`);
    }
    return parseMasterKey((await handle.readFile()).toString('utf8'), `The key file ${path}`);
  } finally {
    await handle.close();
  }
}

async function createKeyFile(dataDir: string, path: string): Promise<{ key: Buffer; created: boolean }> {
  await mkdir(dataDir, { recursive: true, mode: 0o700 });
  const key = randomBytes(32);
  // Write a private temporary file in full, then link it into place: link() is exclusive, so two
  // instances starting together never both win, and nobody ever reads a half-written key.
  const temp = join(dataDir, `.${KEY_FILE_NAME}.${randomBytes(8).toString('hex')}.tmp`);
  const handle = await open(temp, 'wx', 0o600);
  try {
    await handle.writeFile(key.toString('base64') + '\n');
    await handle.sync();
  } finally {
    await handle.close();
  }
  try {
    await link(temp, path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    const existing = await readKeyFile(path);
    if (existing === undefined) throw err;
    return { key: existing, created: false };
  } finally {
    await unlink(temp);
  }
  return { key, created: true };
}
