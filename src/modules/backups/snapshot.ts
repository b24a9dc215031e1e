/**
 * A consistent snapshot of a database as a stream of JSON lines (see format.ts): one
 * REPEATABLE READ, READ ONLY transaction on one connection (PostgreSQL), which on PGlite's single
 * connection is trivially consistent too. Rows leave through a server-side cursor in batches, so
 * memory stays flat. Owns reading; must never write, nor include the key store in a data backup.
 */
import { PassThrough, type Readable } from 'node:stream';
import { sql, type Kysely } from 'kysely';
import type { DB } from '../../platform/db/tables.ts';
import { appliedMigrations, listTables, qualified, sequences, type Scope } from './catalog.ts';
import { BACKUP_FORMAT, endLine, headerLine, sequencesLine, tableLine } from './format.ts';

const FETCH_ROWS = 2000;
const FLUSH_BYTES = 256 * 1024;

export interface SnapshotOptions {
  scope: Scope;
  source: 'pglite' | 'postgres';
  now?: () => Date;
}

export function snapshotStream(db: Kysely<DB>, options: SnapshotOptions): Readable {
  const out = new PassThrough({ highWaterMark: 1024 * 1024 });
  let buffered: string[] = [];
  let bufferedBytes = 0;

  async function flush(): Promise<void> {
    if (buffered.length === 0) return;
    const chunk = Buffer.from(buffered.join(''), 'utf8');
    buffered = [];
    bufferedBytes = 0;
    if (out.destroyed) throw new Error('The backup output closed early.');
    if (!out.write(chunk)) {
      await new Promise<void>((resolve, reject) => {
        const done = (): void => { out.off('drain', done); out.off('close', closed); resolve(); };
        const closed = (): void => { out.off('drain', done); reject(new Error('The backup output closed early.')); };
        out.once('drain', done);
        out.once('close', closed);
      });
    }
  }

  async function push(text: string): Promise<void> {
    buffered.push(text);
    bufferedBytes += text.length;
    if (bufferedBytes >= FLUSH_BYTES) await flush();
  }

  const run = db
    .transaction()
    .setIsolationLevel('repeatable read')
    .setAccessMode('read only')
    .execute(async (tx) => {
      const tables = await listTables(tx, options.scope);
      await push(headerLine({
        format: BACKUP_FORMAT,
        scope: options.scope,
        createdAt: (options.now?.() ?? new Date()).toISOString(),
        source: options.source,
        migrations: await appliedMigrations(tx),
      }));
      let rows = 0;
      for (const table of tables) {
        await push(tableLine(table));
        await sql.raw(`DECLARE palisade_backup NO SCROLL CURSOR FOR SELECT row_to_json(t)::text AS j FROM ${qualified(table)} t`).execute(tx);
        for (;;) {
          const batch = await sql.raw<{ j: string }>(`FETCH ${FETCH_ROWS} FROM palisade_backup`).execute(tx);
          for (const row of batch.rows) await push(row.j + '\n');
          rows += batch.rows.length;
          if (batch.rows.length < FETCH_ROWS) break;
        }
        await sql.raw('CLOSE palisade_backup').execute(tx);
      }
      await push(sequencesLine(await sequences(tx, options.scope)));
      await push(endLine(tables.length, rows));
      await flush();
    });
  run.then(
    () => out.end(),
    (error: unknown) => out.destroy(error instanceof Error ? error : new Error(String(error))),
  );
  return out;
}
