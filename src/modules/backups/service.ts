/**
 * Encrypted backup files: `create` streams a consistent snapshot → gzip → AES-256-GCM chunks
 * (platform/crypto/backup-stream.ts) into a private temporary file that is renamed into place
 * only when complete; `restore` decrypts and writes inside ONE transaction that commits only
 * after the final chunk has been authenticated, so a changed, truncated or reordered byte leaves
 * nothing behind. Owns the files and the transaction; must never write plaintext to disk.
 */
import { randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { rename, stat, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { Kysely } from 'kysely';
import { decryptBackup, encryptBackup } from '../../platform/crypto/backup-stream.ts';
import type { Kms } from '../../platform/crypto/kms.ts';
import type { DB } from '../../platform/db/tables.ts';
import type { Scope } from './catalog.ts';
import { restoreLines, type RestoreResult } from './restore.ts';
import { snapshotStream } from './snapshot.ts';

// Level 1: most of the size win at about twice level 4's speed (bench/backup.ts, 50 MB/s target).
const GZIP_LEVEL = 1;

export interface BackupDeps {
  db: Kysely<DB>;
  kind: 'pglite' | 'postgres';
  kms: Kms;
  /** Plaintext bytes per sealed chunk (default 64 KiB). */
  chunkSize?: number;
}

export interface CreateResult {
  scope: Scope;
  bytes: number;
  /** Uncompressed size of the snapshot (JSON lines). */
  snapshotBytes: number;
}

export async function createBackupFile(deps: BackupDeps, path: string, scope: Scope = 'data'): Promise<CreateResult> {
  const temp = join(dirname(path), `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`);
  let snapshotBytes = 0;
  const snapshot = snapshotStream(deps.db, { scope, source: deps.kind });
  snapshot.on('data', (chunk: Buffer) => { snapshotBytes += chunk.length; });
  try {
    await pipeline(snapshot, encryptBackup({ kms: deps.kms, gzipLevel: GZIP_LEVEL, ...(deps.chunkSize !== undefined ? { chunkSize: deps.chunkSize } : {}) }), createWriteStream(temp, { flags: 'wx', mode: 0o600 }));
    await rename(temp, path);
  } catch (error) {
    await unlink(temp).catch(() => undefined);
    throw error;
  }
  return { scope, bytes: (await stat(path)).size, snapshotBytes };
}

/** Restores from any byte source (a file stream in the CLI); see the header for the guarantee. */
export async function restoreBackupStream(deps: Pick<BackupDeps, 'db' | 'kms'>, source: AsyncIterable<Buffer>): Promise<RestoreResult> {
  return deps.db.transaction().execute(async (tx) => {
    let result: RestoreResult | undefined;
    await pipeline(source, decryptBackup({ kms: deps.kms }), async (plain: AsyncIterable<Buffer>) => {
      result = await restoreLines(tx, plain);
    });
    if (result === undefined) throw new Error('The restore did not finish.');
    return result;
  });
}

export async function restoreBackupFile(deps: Pick<BackupDeps, 'db' | 'kms'>, path: string): Promise<RestoreResult> {
  return restoreBackupStream(deps, createReadStream(path));
}
