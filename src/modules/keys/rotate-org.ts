/**
 * `palisade keys rotate-org <orgId>`: a new organisation key version (optionally new versions of
 * every subject key of the organisation too), then re-encryption of every registered encrypted
 * column in batches with a checkpoint per batch. An unfinished rotation is resumed, not started
 * again. Reads keep working throughout: old versions stay until nothing uses them. Owns this
 * job; must never delete a key version, nor give a shredded subject a new key.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Kysely } from 'kysely';
import type { Cipher } from '../../platform/crypto/envelope.ts';
import type { Keyring } from '../../platform/crypto/keyring.ts';
import { runReencryption, type CheckpointStore, type ReencryptResult } from '../../platform/crypto/reencrypt.ts';
import { orgScope, type Scope } from '../../platform/crypto/types.ts';
import type { DB } from '../../platform/db/tables.ts';
import { PLATFORM_ORG_ID, columnHoldsOrg, type EncryptedColumn } from './registry.ts';
import { createColumnRowSource } from './row-source.ts';
import type { KeysStore } from './store.ts';

export interface RotateOrgDeps {
  db: Kysely<DB>;
  keyring: Keyring;
  cipher: Cipher;
  checkpoints: CheckpointStore;
  store: KeysStore;
  columns: readonly EncryptedColumn[];
  /** Tells running instances to drop cached keys of these scopes (no-op without Redis). */
  announce: (scopes: Scope[]) => Promise<void>;
  /** Writes an entry in the organisation's audit log, as the system (the operator's command). */
  audit: (orgId: string, action: string, metadata: Record<string, unknown>) => Promise<void>;
}

export interface RotateOrgOptions {
  batchSize?: number;
  pauseMs?: number;
  includeSubjects?: boolean;
  /** Wait this long, then run a second pass for writes of instances that missed the news. */
  settleMs?: number;
  /** Start a new version even if an unfinished rotation exists. */
  forceNew?: boolean;
  onProgress?: (column: EncryptedColumn, progress: ReencryptResult) => void;
}

export interface RotateOrgResult {
  version: number;
  resumed: boolean;
  columns: Array<{ table: string; column: string } & ReencryptResult>;
}

export async function rotateOrg(deps: RotateOrgDeps, orgId: string, options: RotateOrgOptions = {}): Promise<RotateOrgResult> {
  const scope = orgScope(orgId);
  if (orgId !== PLATFORM_ORG_ID && !(await deps.store.orgExists(orgId))) throw new Error(`No organisation ${orgId}.`);
  const pending = options.forceNew === true ? undefined : await deps.store.pendingRotation(orgId);
  if (pending !== undefined && options.includeSubjects === true && !pending.subjects) {
    // Resuming would leave every subject key as it was while saying the rotation went through.
    throw new Error(`An unfinished rotation of ${orgId} (version ${pending.version}) did not rotate the subject keys: finish it by running this without --include-subjects, then run it again with it, or start over with --force-new --include-subjects.`);
  }
  let version: number;
  if (pending === undefined) {
    const rotated = [scope];
    version = (await deps.keyring.rotate(scope)).version;
    if (options.includeSubjects === true) {
      for (const subject of await deps.store.subjectScopes(orgId)) {
        // A subject shredded since it was listed gets no new key.
        if ((await deps.keyring.rotateIfPresent(subject)) !== undefined) rotated.push(subject);
      }
    }
    // Marked only now: a run that dies before this starts over (new versions again, nothing
    // lost), where one marked earlier would resume without rotating the remaining subjects.
    await deps.store.markPending(orgId, version, options.includeSubjects === true);
    await deps.announce(rotated);
    if (orgId !== PLATFORM_ORG_ID) await deps.audit(orgId, 'org.key_rotated', { version, includeSubjects: options.includeSubjects === true, subjectKeys: rotated.length - 1 });
  } else {
    version = pending.version;
  }

  const jobPrefix = `rotate-org:${orgId}:v${version}:`;
  const columns: RotateOrgResult['columns'] = [];
  const passes = options.settleMs !== undefined && options.settleMs > 0 ? ['pass1', 'pass2'] : ['pass1'];
  for (const [index, pass] of passes.entries()) {
    if (index > 0) await sleep(options.settleMs ?? 0);
    for (const column of deps.columns.filter((c) => columnHoldsOrg(c, orgId))) {
      const result = await runReencryption({
        jobId: `${jobPrefix}${column.table}.${column.column}:${pass}`,
        source: createColumnRowSource(deps.db, column, orgId),
        checkpoints: deps.checkpoints,
        cipher: deps.cipher,
        batchSize: options.batchSize ?? 200,
        ...(options.pauseMs !== undefined ? { pauseMs: options.pauseMs } : {}),
        onBatch: (progress) => options.onProgress?.(column, progress),
      });
      if (index === passes.length - 1) columns.push({ table: column.table, column: column.column, ...result });
    }
  }
  await deps.store.finish(orgId, jobPrefix);
  if (orgId !== PLATFORM_ORG_ID) {
    const reencrypted = columns.reduce((n, c) => n + c.reencrypted, 0);
    await deps.audit(orgId, 'org.key_rotation_finished', { version, resumed: pending !== undefined, rowsReencrypted: reencrypted });
  }
  return { version, resumed: pending !== undefined, columns };
}
