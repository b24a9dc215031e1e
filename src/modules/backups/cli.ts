/**
 * The `palisade backup …` commands: create (data), keystore (the subject key store's own
 * backup), restore (either kind, detected from the file), verify. Owns argument parsing and
 * output; must never print key material or row contents.
 */
import { createReadStream, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import type { Command } from 'commander';
import type { Config } from '../../config.ts';
import { verifyBackup } from '../../platform/crypto/backup-stream.ts';
import { openDatabase } from '../../platform/db/driver.ts';
import { withCliContext, type CliContext, type OpenStorage } from '../keys/cli-context.ts';
import { createBackupFile, restoreBackupFile, type BackupConnection } from './service.ts';

/**
 * Backups run COPY, which on the embedded database needs the PGlite instance itself, and the
 * shared Database does not expose it: embedded storage is opened here, as the driver opens it
 * (DATA_DIR/pglite, 32 MB of shared buffers). PostgreSQL goes through the usual openStorage; the
 * backup opens its own connection from DATABASE_URL.
 */
function backupStorage(openStorage: OpenStorage): { open: OpenStorage; connection(ctx: CliContext): BackupConnection } {
  let pglite: PGlite | undefined;
  return {
    async open(config) {
      if (config.databaseUrl) return openStorage(config);
      const dir = join(config.dataDir, 'pglite');
      mkdirSync(dir, { recursive: true, mode: 0o700 });
      pglite = new PGlite(dir, { postgresqlconf: ['shared_buffers=32MB'] });
      return { database: await openDatabase({ pglite }), redis: undefined };
    },
    connection(ctx) {
      if (ctx.config.databaseUrl) return { kind: 'postgres', connectionString: ctx.config.databaseUrl };
      if (pglite === undefined) throw new Error('The embedded database is not open.');
      return { kind: 'pglite', db: ctx.database.db, pglite };
    },
  };
}

export function registerBackupCommands(program: Command, deps: { config: () => Config; openStorage: OpenStorage }): void {
  const backup = program.command('backup').description('encrypted backups (AES-256-GCM, key wrapped by the master key)');

  backup
    .command('create')
    .description('stream a consistent, compressed, encrypted snapshot of all data tables (not the subject key store)')
    .requiredOption('--out <file>', 'backup file to write (must not exist)')
    .action(async (options: { out: string }) => {
      const storage = backupStorage(deps.openStorage);
      await withCliContext(deps.config(), storage.open, async (ctx) => {
        const started = performance.now();
        const result = await createBackupFile({ connection: storage.connection(ctx), kms: ctx.crypto.kms }, options.out, 'data');
        const seconds = (performance.now() - started) / 1000;
        console.log(`Wrote ${options.out}: ${result.bytes} bytes (${(result.snapshotBytes / 1e6 / seconds).toFixed(1)} MB/s of snapshot), key ${ctx.crypto.kms.keyId}.`);
      });
    });

  backup
    .command('keystore')
    .description("back up the subject key store (keep these briefly: erasures reach them only on restore)")
    .requiredOption('--out <file>', 'backup file to write (must not exist)')
    .action(async (options: { out: string }) => {
      const storage = backupStorage(deps.openStorage);
      await withCliContext(deps.config(), storage.open, async (ctx) => {
        const result = await createBackupFile({ connection: storage.connection(ctx), kms: ctx.crypto.kms }, options.out, 'keystore');
        console.log(`Wrote ${options.out}: ${result.bytes} bytes (key store).`);
      });
    });

  backup
    .command('restore')
    .description('restore a data backup into an empty database, or merge a key-store backup (honouring later erasures)')
    .requiredOption('--in <file>', 'backup file to read')
    .action(async (options: { in: string }) => {
      const storage = backupStorage(deps.openStorage);
      await withCliContext(deps.config(), storage.open, async (ctx) => {
        const result = await restoreBackupFile({ connection: storage.connection(ctx), kms: ctx.crypto.kms }, options.in);
        const dropped = result.scope === 'keystore' ? `, ${result.erasedKeysDropped} erased keys dropped again` : '';
        console.log(`Restored ${result.scope} backup: ${result.tables} tables, ${result.rows} rows${dropped}.`);
      });
    });

  backup
    .command('verify')
    .description('check every chunk of a backup without restoring it')
    .requiredOption('--in <file>', 'backup file to read')
    .action(async (options: { in: string }) => {
      await withCliContext(deps.config(), deps.openStorage, async (ctx) => {
        const { bytes } = await verifyBackup(createReadStream(options.in), { kms: ctx.crypto.kms });
        console.log(`${options.in} is intact (${bytes} bytes of snapshot).`);
      });
    });
}
