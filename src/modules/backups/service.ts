/**
 * Encrypted backup files: `create` streams a consistent snapshot → Brotli → AES-256-GCM chunks
 * (platform/crypto/backup-stream.ts) into a private temporary file that is linked into place
 * only when complete, and never over an existing file; `restore` decrypts and writes inside ONE transaction that commits only
 * after the final chunk has been authenticated, so a changed, truncated or reordered byte leaves
 * nothing behind. Owns the files and the transaction; must never write plaintext to disk.
 */
import { randomBytes } from 'node:crypto';
import { constants, createReadStream, createWriteStream } from 'node:fs';
import { copyFile, link, lstat, open, stat, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { decryptBackup, encryptBackup } from '../../platform/crypto/backup-stream.ts';
import type { Kms } from '../../platform/crypto/kms.ts';
import type { Scope } from './catalog.ts';
import { parseControl, type BackupManifest } from './format.ts';
import { restorePlaintext } from './restore-copy.ts';
import type { RestoreResult } from './restore.ts';
import { withBackupSession, type BackupConnection } from './session.ts';
import { snapshotStream } from './snapshot.ts';

// Big authenticated chunks: fewer frames, tags and writes; memory per chunk stays small.
const CHUNK_SIZE = 1024 * 1024;
const FILE_BUFFER = 1024 * 1024;

export type { BackupConnection } from './session.ts';

export interface BackupDeps {
  /** PGlite: its instance (COPY via /dev/blob) and the Kysely over it; PostgreSQL: a URL. */
  connection: BackupConnection;
  kms: Kms;
  /** Plaintext bytes per sealed chunk (default 1 MiB). */
  chunkSize?: number;
}

export interface CreateResult {
  scope: Scope;
  bytes: number;
  /** Uncompressed size of the snapshot: COPY text of every row plus a few control lines. */
  snapshotBytes: number;
}

/** A backup never replaces a file: writing the new one over yesterday's by mistake would lose it. */
const alreadyExists = (path: string): Error => new Error(`${path} already exists; a backup never replaces a file. Choose another name.`);

async function refuseExisting(path: string): Promise<void> {
  const found = await lstat(path).then(
    () => true,
    (error: NodeJS.ErrnoException) => (error.code === 'ENOENT' ? false : Promise.reject(error)),
  );
  if (found) throw alreadyExists(path);
}

/** Flushes a file (or a directory's entries) to the disk: a backup reported written must survive a power cut. */
async function syncToDisk(path: string): Promise<void> {
  const handle = await open(path, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Puts the finished file in place atomically, failing if the name was taken meanwhile. */
async function linkIntoPlace(temp: string, path: string): Promise<void> {
  try {
    await link(temp, path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') throw alreadyExists(path);
    if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'ENOSYS') throw error;
    // A file system without hard links (vfat, some network mounts): an exclusive copy, which also
    // fails rather than replace a file created meanwhile, then the temporary file goes.
    try {
      await copyFile(temp, path, constants.COPYFILE_EXCL);
    } catch (copyError) {
      if ((copyError as NodeJS.ErrnoException).code === 'EEXIST') throw alreadyExists(path);
      throw copyError;
    }
    await syncToDisk(path);
    await unlink(temp);
    return;
  }
  await unlink(temp);
}

export async function createBackupFile(deps: BackupDeps, path: string, scope: Scope = 'data'): Promise<CreateResult> {
  await refuseExisting(path);
  const temp = join(dirname(path), `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`);
  let snapshotBytes = 0;
  const snapshot = snapshotStream(deps.connection, { scope });
  const counted = async function* (source: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
    for await (const piece of source) {
      snapshotBytes += piece.length;
      yield piece;
    }
  };
  try {
    await pipeline(
      snapshot,
      counted,
      encryptBackup({ kms: deps.kms, chunkSize: deps.chunkSize ?? CHUNK_SIZE }),
      createWriteStream(temp, { flags: 'wx', mode: 0o600, highWaterMark: FILE_BUFFER }),
    );
    await syncToDisk(temp);
    await linkIntoPlace(temp, path);
    await syncToDisk(dirname(path));
  } catch (error) {
    await unlink(temp).catch(() => undefined);
    throw error;
  }
  return { scope, bytes: (await stat(path)).size, snapshotBytes };
}

/** Restores from any byte source (a file stream in the CLI); see the header for the guarantee. */
export async function restoreBackupStream(deps: Pick<BackupDeps, 'connection' | 'kms'>, source: AsyncIterable<Buffer>): Promise<RestoreResult> {
  // One transaction; it commits only after the pipeline resolved, i.e. after the final chunk was
  // authenticated and nothing followed it. Any error before that rolls everything back.
  return withBackupSession(deps.connection, 'restore', async (session) => {
    let result: RestoreResult | undefined;
    await pipeline(source, decryptBackup({ kms: deps.kms }), async (plain: AsyncIterable<Buffer>) => {
      result = await restorePlaintext(session, plain);
    });
    if (result === undefined) throw new Error('The restore did not finish.');
    return result;
  });
}

/**
 * Reads a whole backup and checks every chunk, as a restore would, without a database: how many
 * bytes of snapshot it holds and what its authenticated header says (which kind, made when, from
 * which database, at which schema), so an older file swapped in, or a key-store backup kept
 * instead of a data backup, is told apart before it is needed.
 */
export async function verifyBackupFile(kms: Kms, path: string): Promise<{ bytes: number; manifest: BackupManifest }> {
  let bytes = 0;
  let head = '';
  for await (const piece of decryptBackup({ kms })(createReadStream(path, { highWaterMark: FILE_BUFFER }))) {
    bytes += piece.length;
    // The header is the first line; it is short, so only the start is kept.
    if (!head.includes('\n') && head.length < 64 * 1024) head += piece.subarray(0, 64 * 1024).toString('utf8');
  }
  const first = head.slice(0, head.indexOf('\n'));
  const header = first.startsWith('#palisade-backup ') ? parseControl(first) : undefined;
  if (header?.kind !== 'header') throw new Error('The backup has no header.');
  return { bytes, manifest: header.manifest };
}

export async function restoreBackupFile(deps: Pick<BackupDeps, 'connection' | 'kms'>, path: string): Promise<RestoreResult> {
  return restoreBackupStream(deps, createReadStream(path, { highWaterMark: FILE_BUFFER }));
}
