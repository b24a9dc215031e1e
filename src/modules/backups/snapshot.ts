/**
 * A consistent snapshot of a database as a byte stream (format 2, see format.ts): one
 * REPEATABLE READ, READ ONLY transaction (session.ts), each table leaving as COPY text in blocks
 * of about 1 MiB. Memory stays flat: backpressure from the encryption reaches the COPY.
 * Owns reading; must never write, nor include the key store in a data backup.
 */
import { PassThrough, type Readable } from 'node:stream';
import { appliedMigrations, listTables, qualified, sequences, type Scope } from './catalog.ts';
import { BACKUP_FORMAT, copyLine, endLine, headerLine, sequencesLine, tableEndLine, tableLine } from './format.ts';
import { withBackupSession, type BackupConnection } from './session.ts';

const BLOCK_BYTES = 1024 * 1024;

export interface SnapshotOptions {
  scope: Scope;
  now?: () => Date;
}

export const quoteColumns = (columns: readonly string[]): string => columns.map((c) => `"${c.replaceAll('"', '""')}"`).join(', ');

export function snapshotStream(connection: BackupConnection, options: SnapshotOptions): Readable {
  const out = new PassThrough({ highWaterMark: 4 * BLOCK_BYTES });

  async function write(bytes: Buffer): Promise<void> {
    if (out.destroyed) throw new Error('The backup output closed early.');
    if (out.write(bytes)) return;
    await new Promise<void>((resolve, reject) => {
      const done = (): void => { out.off('close', closed); resolve(); };
      const closed = (): void => { out.off('drain', done); reject(new Error('The backup output closed early.')); };
      out.once('drain', done);
      out.once('close', closed);
    });
  }
  const line = (text: string): Promise<void> => write(Buffer.from(text, 'utf8'));

  // COPY data arrives in pieces of any size (64 KiB from a socket, 1 MiB from PGlite): framed as
  // blocks of about BLOCK_BYTES, so there are few frames.
  let block: Buffer[] = [];
  let blockBytes = 0;
  async function flushBlock(): Promise<void> {
    if (blockBytes === 0) return;
    const pieces = block;
    const frame = Buffer.from(copyLine(blockBytes), 'latin1');
    block = [];
    blockBytes = 0;
    await write(frame);
    // Handed on as they came: compression cuts the stream into blocks of its own, copying once.
    for (const piece of pieces) await write(piece);
  }
  async function data(piece: Buffer): Promise<void> {
    for (let offset = 0; offset < piece.length; ) {
      const take = Math.min(piece.length - offset, BLOCK_BYTES - blockBytes);
      block.push(offset === 0 && take === piece.length ? piece : piece.subarray(offset, offset + take));
      blockBytes += take;
      offset += take;
      if (blockBytes >= BLOCK_BYTES) await flushBlock();
    }
  }

  const run = withBackupSession(connection, 'snapshot', async ({ tx, copyOut }) => {
    const tables = await listTables(tx, options.scope);
    await line(headerLine({
      format: BACKUP_FORMAT,
      scope: options.scope,
      createdAt: (options.now?.() ?? new Date()).toISOString(),
      source: connection.kind,
      migrations: await appliedMigrations(tx),
    }));
    let rows = 0;
    for (const table of tables) {
      await line(tableLine(table));
      const count = await copyOut(qualified(table), quoteColumns(table.columns), data);
      await flushBlock();
      await line(tableEndLine(count));
      rows += count;
    }
    await line(sequencesLine(await sequences(tx, options.scope)));
    await line(endLine(tables.length, rows));
  });
  run.then(
    () => out.end(),
    (error: unknown) => out.destroy(error instanceof Error ? error : new Error(String(error))),
  );
  return out;
}
