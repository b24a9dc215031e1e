/**
 * Restores the plaintext of a backup (already decrypted and authenticated chunk by chunk) inside
 * the caller's session transaction: format 2 hands each table's COPY text blocks straight to
 * COPY … FROM; format 1 (JSON lines) goes to restore.ts. A data backup goes only into an empty
 * database with the same migrations; a key-store backup is merged (COPY into a temporary table,
 * then INSERT … ON CONFLICT DO NOTHING), then keys erased after it was taken are dropped again.
 * Owns this writing; must never commit: the caller commits only after the final chunk has been
 * authenticated, so a refused restore leaves nothing behind.
 */
import { sql } from 'kysely';
import { qualified, type TableInfo } from './catalog.ts';
import { bulkLoad, LARGE_TABLE_BYTES } from './bulk-load.ts';
import { BACKUP_FORMAT, JSON_LINES_FORMAT, parseControl, type BackupManifest, type ControlLine } from './format.ts';
import { acceptHeader, dropErasedKeys, refuseCollidingKeys, restoreLines, RestoreRefused, setSequences, targetFor, type RestoreResult } from './restore.ts';
import type { BackupSession, CopySink } from './session.ts';
import { quoteColumns } from './snapshot.ts';

const MAX_LINE_BYTES = 16 * 1024 * 1024;
const NEWLINE = 0x0a;
const MERGE_TABLE = 'pg_temp.palisade_restore_merge';

/** Control lines and exact-length blocks over a byte stream, without copying the blocks. */
class PlainReader {
  private piece: Buffer = Buffer.alloc(0);
  private offset = 0;
  private readonly iterator: AsyncIterator<Buffer | string>;

  constructor(source: AsyncIterable<Buffer | string>) {
    this.iterator = source[Symbol.asyncIterator]();
  }

  private async fill(): Promise<boolean> {
    while (this.offset >= this.piece.length) {
      const next = await this.iterator.next();
      if (next.done === true) return false;
      this.piece = typeof next.value === 'string' ? Buffer.from(next.value, 'utf8') : next.value;
      this.offset = 0;
    }
    return true;
  }

  /** The next line without its newline; undefined at the end of the stream. */
  async line(): Promise<string | undefined> {
    const parts: Buffer[] = [];
    let length = 0;
    for (;;) {
      if (!(await this.fill())) {
        if (length === 0) return undefined;
        throw new RestoreRefused('The backup ends inside a line.');
      }
      const end = this.piece.indexOf(NEWLINE, this.offset);
      const stop = end < 0 ? this.piece.length : end;
      parts.push(this.piece.subarray(this.offset, stop));
      length += stop - this.offset;
      this.offset = end < 0 ? stop : end + 1;
      if (length > MAX_LINE_BYTES) throw new RestoreRefused('The backup has a line too long to be a control line.');
      if (end >= 0) return Buffer.concat(parts, length).toString('utf8');
    }
  }

  /** Exactly `length` bytes, handed on in the pieces they arrived in. */
  async *block(length: number): AsyncGenerator<Buffer> {
    let left = length;
    while (left > 0) {
      if (!(await this.fill())) throw new RestoreRefused('The backup ends inside a data block.');
      const take = Math.min(left, this.piece.length - this.offset);
      yield this.piece.subarray(this.offset, this.offset + take);
      this.offset += take;
      left -= take;
    }
  }

  /** The unread rest of the stream, the current piece first. */
  async *rest(): AsyncGenerator<Buffer | string> {
    if (this.offset < this.piece.length) yield this.piece.subarray(this.offset);
    for (;;) {
      const next = await this.iterator.next();
      if (next.done === true) return;
      yield next.value;
    }
  }
}

export async function restorePlaintext(session: BackupSession, source: AsyncIterable<Buffer | string>): Promise<RestoreResult> {
  const reader = new PlainReader(source);
  const first = await reader.line();
  if (first === undefined || !first.startsWith('#palisade-backup ')) throw new RestoreRefused('The backup has no header.');
  const header = parseControl(first);
  if (header.kind !== 'header') throw new RestoreRefused('The backup has no header.');
  if (header.manifest.format === JSON_LINES_FORMAT) {
    const restored = await restoreLines(session.tx, (async function* () {
      yield `${first}\n`;
      yield* reader.rest();
    })());
    return { ...restored, manifest: header.manifest };
  }
  return { ...(await restoreCopy(session, reader, header.manifest)), manifest: header.manifest };
}

async function restoreCopy(session: BackupSession, reader: PlainReader, manifest: BackupManifest): Promise<RestoreResult> {
  const { tx } = session;
  const targetTables = await acceptHeader(tx, manifest, BACKUP_FORMAT);
  const merge = manifest.scope === 'keystore';
  // A data restore fills empty tables: large ones load without their indexes and foreign keys.
  // Key-store merges go into live tables: their constraints stay in place.
  const load = bulkLoad(tx);
  let tables = 0;
  let rows = 0;
  // The table being restored; its COPY opens at its first block, once its size is known.
  let current: { target: TableInfo; columns: string; sink?: CopySink } | undefined;

  async function openSink(table: NonNullable<typeof current>, firstBlock: number): Promise<CopySink> {
    if (merge) {
      // Merge: keys already here win, like INSERT … ON CONFLICT DO NOTHING row by row.
      await sql.raw(`CREATE TEMPORARY TABLE ${MERGE_TABLE} (LIKE ${qualified(table.target)} INCLUDING DEFAULTS) ON COMMIT DROP`).execute(tx);
      return session.copyIn(MERGE_TABLE, table.columns);
    }
    const freeze = firstBlock >= LARGE_TABLE_BYTES && (await load.suspend(table.target));
    return session.copyIn(qualified(table.target), table.columns, { freeze });
  }

  async function onControl(control: ControlLine): Promise<boolean> {
    if (control.kind === 'copy') {
      if (current === undefined) throw new RestoreRefused('The backup has data outside any table.');
      const sink = current.sink ?? (current.sink = await openSink(current, control.bytes));
      for await (const bytes of reader.block(control.bytes)) await sink.write(bytes);
      return false;
    }
    if (current !== undefined && control.kind !== 'tableEnd') throw new RestoreRefused('The backup has a table without its end.');
    if (control.kind === 'table') {
      current = { target: targetFor(targetTables, control.table), columns: quoteColumns(control.table.columns) };
      tables += 1;
    } else if (control.kind === 'tableEnd') {
      if (current === undefined) throw new RestoreRefused('The backup ends a table it did not start.');
      const { target, columns, sink } = current;
      const copied = sink === undefined ? 0 : await sink.end();
      current = undefined;
      if (copied !== control.rows) throw new RestoreRefused('The backup is incomplete.');
      rows += copied;
      if (!merge) {
        await load.rebuild(target);
      } else if (sink !== undefined) {
        await refuseCollidingKeys(tx, target, sql.raw(MERGE_TABLE));
        await sql.raw(`INSERT INTO ${qualified(target)} (${columns}) SELECT ${columns} FROM ${MERGE_TABLE} ON CONFLICT DO NOTHING`).execute(tx);
        await sql.raw(`DROP TABLE ${MERGE_TABLE}`).execute(tx);
      }
    } else if (control.kind === 'sequences') {
      if (!merge) await setSequences(tx, control.sequences);
    } else if (control.kind === 'end') {
      if (control.tables !== tables || control.rows !== rows) throw new RestoreRefused('The backup is incomplete.');
      if ((await reader.line()) !== undefined) throw new RestoreRefused('The backup has content after its end.');
      return true;
    } else {
      throw new RestoreRefused('The backup has two headers.');
    }
    return false;
  }

  try {
    for (;;) {
      const text = await reader.line();
      if (text === undefined) throw new RestoreRefused('The backup ends before its end marker; nothing was restored.');
      let control: ControlLine;
      try {
        control = parseControl(text);
      } catch {
        throw new RestoreRefused('The backup contains a line this version does not understand.');
      }
      if (await onControl(control)) break;
    }
  } catch (error) {
    // A COPY left open would hold the connection; the caller's rollback must be able to run.
    current?.sink?.abort();
    throw error;
  }
  await load.finish();
  // After either kind: a key store restored before the data had no tombstones to honour yet.
  const erasedKeysDropped = await dropErasedKeys(tx);
  return { scope: manifest.scope, tables, rows, erasedKeysDropped };
}
