/**
 * The `palisade keys …` commands: rotate-master and rotate-org. Owns argument parsing and
 * progress output; must never print key material.
 */
import { systemAudit } from './system-audit.ts';
import { InvalidArgumentError, type Command } from 'commander';
import type { Config } from '../../config.ts';
import { createSqlCheckpointStore } from '../../platform/crypto/sql-key-store.ts';
import { withCliContext, type OpenStorage } from './cli-context.ts';
import { PLATFORM_ORG_ID, encryptedColumns } from './registry.ts';
import { rotateMaster } from './rotate-master.ts';
import { rotateOrg } from './rotate-org.ts';
import { createKeysStore } from './store.ts';

/** Digits only: Number('') is 0, and a batch of 0 ends a scan at once, reporting nothing to do. */
const int = (value: string): number => {
  if (!/^\d{1,9}$/.test(value)) throw new InvalidArgumentError(`Not a whole number: "${value}".`);
  return Number(value);
};
const positive = (value: string): number => {
  const n = int(value);
  if (n < 1) throw new InvalidArgumentError(`Must be at least 1: "${value}".`);
  return n;
};

export function registerKeyCommands(program: Command, deps: { config: () => Config; openStorage: OpenStorage }): void {
  const keys = program.command('keys').description('encryption keys: rotation');

  keys
    .command('rotate-master')
    .description('re-wrap every data key under PALISADE_MASTER_KEY (old key in PALISADE_MASTER_KEY_PREVIOUS)')
    .option('--batch-size <n>', 'keys per batch', positive, 500)
    .action(async (options: { batchSize: number }) => {
      await withCliContext(deps.config(), deps.openStorage, async (ctx) => {
        const result = await rotateMaster(ctx.crypto, options.batchSize);
        console.log(`Re-wrapped ${result.rewrapped} data keys under ${result.kekId} (${result.skipped} changed meanwhile).`);
        if (result.unreadable.length > 0) {
          // Names only (scope and version), never key material. The rest were re-wrapped all the same.
          console.error(`${result.unreadable.length} data keys could not be unwrapped by any configured master key and were left as they are:`);
          for (const k of result.unreadable) console.error(`  ${k.scope} v${k.version}`);
          process.exitCode = 1;
        }
        console.log('Instances still running with the old key wrap new keys under it: restart them all with this configuration, then run this again until it re-wraps 0.');
        console.log('Keep the old key in PALISADE_MASTER_KEY_PREVIOUS while backups made under it are kept; then remove it, and delete DATA_DIR/master.key if you moved off the key file.');
      });
    });

  keys
    .command('rotate-org')
    .description('new data-key version for an organisation, then re-encrypt older rows (resumable)')
    .argument('<orgId>', `organisation id, or ${PLATFORM_ORG_ID} for platform secrets (users' TOTP secrets)`)
    .option('--batch-size <n>', 'rows per batch', positive, 200)
    .option('--pause-ms <ms>', 'pause between batches', int, 0)
    .option('--settle-ms <ms>', 'then wait and run a second pass (other instances cache the current version for 30 s)', int, 35_000)
    .option('--include-subjects', 'also rotate every subject key of the organisation')
    .option('--force-new', 'start a new version even if a rotation is unfinished')
    .action(async (orgId: string, options: { batchSize: number; pauseMs: number; settleMs: number; includeSubjects?: boolean; forceNew?: boolean }) => {
      await withCliContext(deps.config(), deps.openStorage, async (ctx) => {
        const db = ctx.database.db;
        const result = await rotateOrg(
          {
            db,
            keyring: ctx.crypto.keyring,
            cipher: ctx.crypto.cipher,
            checkpoints: createSqlCheckpointStore(db),
            store: createKeysStore(db),
            columns: encryptedColumns,
            announce: ctx.announce,
            audit: systemAudit(db),
          },
          orgId,
          {
            batchSize: options.batchSize,
            pauseMs: options.pauseMs,
            settleMs: ctx.database.kind === 'pglite' ? 0 : options.settleMs,
            includeSubjects: options.includeSubjects === true,
            forceNew: options.forceNew === true,
            onProgress: (column, p) =>
              console.log(`progress ${column.table}.${column.column} scanned=${p.scanned} reencrypted=${p.reencrypted} last=${p.lastId ?? ''}`),
          },
        );
        console.log(`${result.resumed ? 'Resumed' : 'Rotated'} organisation key to version ${result.version}.`);
        for (const c of result.columns) {
          console.log(`done ${c.table}.${c.column} scanned=${c.scanned} reencrypted=${c.reencrypted} conflicts=${c.conflicts} unreadable=${c.unreadable}`);
        }
      });
    });
}
