/**
 * Writes the JSON lines of a backup (already decrypted and authenticated chunk by chunk) into
 * the database inside the caller's transaction. A data backup goes only into an empty database
 * with the same migrations; a key-store backup is merged, then every key erased after it was
 * taken (a tombstone in key_erasures) is dropped again. Owns this writing; must never commit —
 * the caller commits only after the final chunk has been verified.
 */
import { StringDecoder } from 'node:string_decoder';
import { sql } from 'kysely';
import type { Tx } from '../../platform/db/tenant.ts';
import { appliedMigrations, listTables, qualified, type Scope, type TableInfo } from './catalog.ts';
import { BACKUP_FORMAT, parseControl, type BackupManifest, type TableMarker } from './format.ts';

const BATCH_BYTES = 4 * 1024 * 1024;

export interface RestoreResult {
  scope: Scope;
  tables: number;
  rows: number;
  /** Key-store restores: keys dropped again because their subject was erased later. */
  erasedKeysDropped: number;
}

export class RestoreRefused extends Error {
  override name = 'RestoreRefused';
}

export async function restoreLines(tx: Tx, source: AsyncIterable<Buffer | string>): Promise<RestoreResult> {
  const decoder = new StringDecoder('utf8');
  let carry = '';
  let manifest: BackupManifest | undefined;
  let targetTables = new Map<string, TableInfo>();
  let current: TableMarker | undefined;
  let pending: string[] = [];
  let pendingBytes = 0;
  let tables = 0;
  let rows = 0;
  let ended = false;
  const result: RestoreResult = { scope: 'data', tables: 0, rows: 0, erasedKeysDropped: 0 };

  // One INSERT in flight while the next batch is decrypted and split: Node's work and the
  // database's overlap. Awaited before the next statement, so its error is never lost.
  let inflight: Promise<void> = Promise.resolve();

  async function flushRows(wait = false): Promise<void> {
    if (current === undefined || pending.length === 0) {
      if (wait) await inflight;
      return;
    }
    const target = qualified(current);
    const columns = current.columns.map((c) => `"${c.replaceAll('"', '""')}"`).join(', ');
    const conflict = result.scope === 'keystore' ? ' ON CONFLICT DO NOTHING' : '';
    const payload = `[${pending.join(',')}]`;
    pending = [];
    pendingBytes = 0;
    await inflight;
    inflight = sql`${sql.raw(`INSERT INTO ${target} (${columns}) SELECT ${columns} FROM json_populate_recordset(NULL::${target}, `)}${payload}::json)${sql.raw(conflict)}`
      .execute(tx)
      .then(() => undefined);
    inflight.catch(() => undefined); // observed by the next await
    if (wait) await inflight;
  }

  async function onHeader(m: BackupManifest): Promise<void> {
    if (m.format !== BACKUP_FORMAT || (m.scope !== 'data' && m.scope !== 'keystore')) throw new RestoreRefused('This backup format is not supported.');
    manifest = m;
    result.scope = m.scope;
    targetTables = new Map((await listTables(tx, m.scope)).map((t) => [t.name, t]));
    const migrations = await appliedMigrations(tx);
    if (m.migrations.join(',') !== migrations.join(',')) {
      throw new RestoreRefused('The backup was made at another schema version than this database; upgrade or downgrade Palisade to match.');
    }
    if (m.scope === 'data') {
      for (const t of targetTables.values()) {
        const { rows: found } = await sql.raw<{ x: number }>(`SELECT 1 AS x FROM ${qualified(t)} LIMIT 1`).execute(tx);
        if (found.length > 0) throw new RestoreRefused(`The target database is not empty (table ${t.name}); restore only into a new database.`);
      }
    }
  }

  async function onTable(marker: TableMarker): Promise<void> {
    await flushRows();
    const target = targetTables.get(marker.name);
    if (target === undefined || target.schema !== marker.schema || !marker.columns.every((c) => target.columns.includes(c))) {
      throw new RestoreRefused(`The backup's table ${marker.name} does not match this database.`);
    }
    current = marker;
    tables += 1;
  }

  async function onLine(line: string): Promise<void> {
    if (line === '') return;
    if (ended) throw new RestoreRefused('The backup has content after its end.');
    if (!line.startsWith('#')) {
      if (current === undefined) throw new RestoreRefused('The backup has a row outside any table.');
      pending.push(line);
      pendingBytes += line.length;
      rows += 1;
      if (pendingBytes >= BATCH_BYTES) await flushRows();
      return;
    }
    const control = parseControl(line);
    if (manifest === undefined && control.kind !== 'header') throw new RestoreRefused('The backup has no header.');
    if (control.kind === 'header') {
      if (manifest !== undefined) throw new RestoreRefused('The backup has two headers.');
      await onHeader(control.manifest);
    } else if (control.kind === 'table') {
      await onTable(control.table);
    } else if (control.kind === 'sequences') {
      await flushRows(true);
      current = undefined;
      for (const s of control.sequences) {
        if (s.value === null || result.scope !== 'data') continue;
        await sql`SELECT setval(${`"public"."${s.name.replaceAll('"', '""')}"`}::regclass, ${s.value}, true)`.execute(tx);
      }
    } else {
      await flushRows(true);
      if (control.tables !== tables || control.rows !== rows) throw new RestoreRefused('The backup is incomplete.');
      ended = true;
    }
  }

  for await (const piece of source) {
    const text = carry + (typeof piece === 'string' ? piece : decoder.write(piece));
    const lines = text.split('\n');
    carry = lines.pop() ?? '';
    for (const line of lines) await onLine(line);
  }
  await onLine(carry + decoder.end());
  await inflight;
  if (!ended) throw new RestoreRefused('The backup ends before its end marker; nothing was restored.');

  if (result.scope === 'keystore') {
    // Honour erasures made after the key-store backup was taken.
    const dropped = await sql`
      DELETE FROM keystore.subject_keys k USING key_erasures e
      WHERE k.scope = e.scope AND k.created_at <= e.erased_at`.execute(tx);
    result.erasedKeysDropped = Number(dropped.numAffectedRows ?? 0n);
  }
  return { ...result, tables, rows };
}
