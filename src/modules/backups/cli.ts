/**
 * The `palisade backup …` commands: create (data), keystore (the subject key store's own
 * backup), restore (either kind, detected from the file), verify. Owns argument parsing and
 * output; must never print key material or row contents.
 */
import type { Command } from 'commander';
import type { Config } from '../../config.ts';
import { createKmsFromConfig } from '../../platform/crypto/setup.ts';
import { cliLog, withCliContext, type CliContext, type OpenStorage } from '../keys/cli-context.ts';
import type { BackupManifest } from './format.ts';
import { createBackupFile, restoreBackupFile, verifyBackupFile, type BackupConnection } from './service.ts';

/** Backups run COPY: on PostgreSQL over a connection of their own, on PGlite through the engine. */
function backupConnection(ctx: CliContext): BackupConnection {
  if (ctx.config.databaseUrl) return { kind: 'postgres', connectionString: ctx.config.databaseUrl };
  const { pglite } = ctx.database;
  if (pglite === undefined) throw new Error('The embedded database is not open.');
  return { kind: 'pglite', db: ctx.database.db, pglite };
}

/** What a backup's authenticated header says, for the operator to check it is the one they meant. */
function describeBackup(m: BackupManifest): string {
  return `a ${m.scope === 'keystore' ? 'key-store' : 'data'} backup made ${m.createdAt} from ${m.source === 'pglite' ? 'the embedded database' : 'PostgreSQL'}, schema ${m.migrations.at(-1) ?? 'none'}`;
}

export function registerBackupCommands(program: Command, deps: { config: () => Config; openStorage: OpenStorage }): void {
  const backup = program.command('backup').description('encrypted backups (AES-256-GCM, key wrapped by the master key)');

  backup
    .command('create')
    .description('stream a consistent, compressed, encrypted snapshot of all data tables (not the subject key store)')
    .requiredOption('--out <file>', 'backup file to write (must not exist)')
    .action(async (options: { out: string }) => {
      await withCliContext(deps.config(), deps.openStorage, async (ctx) => {
        const started = performance.now();
        const result = await createBackupFile({ connection: backupConnection(ctx), kms: ctx.crypto.kms }, options.out, 'data');
        const seconds = (performance.now() - started) / 1000;
        console.log(`Wrote ${options.out}: ${result.bytes} bytes (${(result.snapshotBytes / 1e6 / seconds).toFixed(1)} MB/s of snapshot), key ${ctx.crypto.kms.keyId}.`);
      });
    });

  backup
    .command('keystore')
    .description("back up the subject key store (keep these briefly: erasures reach them only on restore)")
    .requiredOption('--out <file>', 'backup file to write (must not exist)')
    .action(async (options: { out: string }) => {
      await withCliContext(deps.config(), deps.openStorage, async (ctx) => {
        const result = await createBackupFile({ connection: backupConnection(ctx), kms: ctx.crypto.kms }, options.out, 'keystore');
        console.log(`Wrote ${options.out}: ${result.bytes} bytes (key store).`);
      });
    });

  backup
    .command('restore')
    .description('restore a data backup into an empty database, or merge a key-store backup (honouring later erasures)')
    .requiredOption('--in <file>', 'backup file to read')
    .action(async (options: { in: string }) => {
      await withCliContext(deps.config(), deps.openStorage, async (ctx) => {
        const result = await restoreBackupFile({ connection: backupConnection(ctx), kms: ctx.crypto.kms }, options.in);
        const dropped = result.erasedKeysDropped > 0 || result.scope === 'keystore' ? `, ${result.erasedKeysDropped} erased keys dropped again` : '';
        const made = result.manifest ? ` (${describeBackup(result.manifest)})` : '';
        console.log(`Restored ${result.scope} backup${made}: ${result.tables} tables, ${result.rows} rows${dropped}.`);
        // The master key the backup was made under must be there already: a new one would open nothing.
      }, { createKeyFile: false });
    });

  backup
    .command('verify')
    .description('check every chunk of a backup without restoring it')
    .requiredOption('--in <file>', 'backup file to read')
    .action(async (options: { in: string }) => {
      // Only the master key: no database is opened or migrated, and no key file is created.
      const { kms } = await createKmsFromConfig(deps.config(), cliLog, { createKeyFile: false });
      const { bytes, manifest } = await verifyBackupFile(kms, options.in);
      console.log(`${options.in} is intact (${bytes} bytes of snapshot): ${describeBackup(manifest)}.`);
    });
}
