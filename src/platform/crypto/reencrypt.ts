/**
 * The background half of `keys rotate-org`: walks a table's encrypted column in id order and
 * re-encrypts every value older than its scope's current key version, in batches, saving a
 * checkpoint after each batch so a crashed or stopped job resumes where it left off. Owns the
 * loop only; must never write a value without compare-and-set on the old ciphertext, nor stop
 * the whole job because one subject's key was shredded.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Cipher } from './envelope.ts';
import { isCryptoError } from './errors.ts';
import type { CipherAad } from './types.ts';

export interface EncryptedRow {
  readonly id: string;
  readonly ciphertext: string;
  readonly aad: CipherAad;
}

export interface RowSource {
  /** Rows with id > afterId (all when undefined), ascending by id, at most `limit`. */
  nextBatch(afterId: string | undefined, limit: number): Promise<EncryptedRow[]>;
  /** Writes only if the stored value is still `expectedOld`; false means someone wrote first. */
  update(id: string, newCiphertext: string, expectedOld: string): Promise<boolean>;
}

export interface CheckpointStore {
  get(jobId: string): Promise<string | undefined>;
  set(jobId: string, lastId: string): Promise<void>;
}

export interface ReencryptOptions {
  /** Stable per (org, table, column, target version), e.g. `rotate:org_1:messages.content:v3`. */
  jobId: string;
  source: RowSource;
  checkpoints: CheckpointStore;
  cipher: Cipher;
  batchSize?: number;
  /** Breathing room between batches so live traffic keeps the database. */
  pauseMs?: number;
  signal?: AbortSignal;
  onBatch?: (progress: ReencryptResult) => void;
}

export interface ReencryptResult {
  scanned: number;
  reencrypted: number;
  conflicts: number;
  /** Values whose key is gone (shredded subject) or that fail authentication; left untouched. */
  unreadable: number;
  unreadableIds: string[];
  lastId: string | undefined;
  completed: boolean;
}

const MAX_REPORTED_IDS = 100;

export async function runReencryption(options: ReencryptOptions): Promise<ReencryptResult> {
  const { jobId, source, checkpoints, cipher, signal, onBatch } = options;
  const batchSize = options.batchSize ?? 200;
  const result: ReencryptResult = {
    scanned: 0, reencrypted: 0, conflicts: 0, unreadable: 0, unreadableIds: [],
    lastId: await checkpoints.get(jobId), completed: false,
  };

  while (signal?.aborted !== true) {
    const batch = await source.nextBatch(result.lastId, batchSize);
    if (batch.length === 0) {
      result.completed = true;
      break;
    }
    for (const row of batch) {
      result.scanned += 1;
      await reencryptRow(row, source, cipher, result);
    }
    const last = batch[batch.length - 1];
    if (last !== undefined) {
      result.lastId = last.id;
      await checkpoints.set(jobId, last.id);
    }
    onBatch?.({ ...result, unreadableIds: [...result.unreadableIds] });
    if (options.pauseMs !== undefined && options.pauseMs > 0) await sleep(options.pauseMs);
  }
  return result;
}

async function reencryptRow(row: EncryptedRow, source: RowSource, cipher: Cipher, result: ReencryptResult): Promise<void> {
  let next: string | undefined;
  try {
    next = await cipher.reencrypt(row.ciphertext, row.aad);
  } catch (err) {
    if (!isCryptoError(err)) throw err;
    if (['key_not_found', 'decrypt_failed', 'malformed_ciphertext'].includes(err.reason)) {
      result.unreadable += 1;
      if (result.unreadableIds.length < MAX_REPORTED_IDS) result.unreadableIds.push(row.id);
      return;
    }
    throw err;
  }
  if (next === undefined) return;
  if (await source.update(row.id, next, row.ciphertext)) result.reencrypted += 1;
  else result.conflicts += 1;
}
