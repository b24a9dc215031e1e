/**
 * Writes the JSON lines of a format-1 backup (already decrypted and authenticated chunk by chunk)
 * into the database inside the caller's transaction (format 2 is restore-copy.ts; both share the
 * checks below). A data backup goes only into an empty database
 * with the same migrations; a key-store backup is merged, then every key erased after it was
 * taken (a tombstone in key_erasures) is dropped again. Owns this writing; must never commit —
 * the caller commits only after the final chunk has been verified.
 */
import { StringDecoder } from 'node:string_decoder';
import { sql, type RawBuilder } from 'kysely';
import type { Tx } from '../../platform/db/tenant.ts';
import { appliedMigrations, listTables, qualified, type Scope, type TableInfo } from './catalog.ts';
import { JSON_LINES_FORMAT, parseControl, type BackupManifest, type TableMarker } from './format.ts';

const BATCH_BYTES = 4 * 1024 * 1024;

export interface RestoreResult {
  scope: Scope;
  tables: number;
  rows: number;
  /** Key-store restores: keys dropped again because their subject was erased later. */
  erasedKeysDropped: number;
  /** The backup's authenticated header: which kind, made when, from which database, at which schema. */
  manifest?: BackupManifest;
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
    if (result.scope === 'keystore') await refuseCollidingKeys(tx, current, sql`json_populate_recordset(NULL::${sql.raw(target)}, ${payload}::json)`);
    inflight = sql`${sql.raw(`INSERT INTO ${target} (${columns}) SELECT ${columns} FROM json_populate_recordset(NULL::${target}, `)}${payload}::json)${sql.raw(conflict)}`
      .execute(tx)
      .then(() => undefined);
    inflight.catch(() => undefined); // observed by the next await
    if (wait) await inflight;
  }

  async function onHeader(m: BackupManifest): Promise<void> {
    manifest = m;
    result.scope = m.scope;
    targetTables = await acceptHeader(tx, m, JSON_LINES_FORMAT);
  }

  async function onTable(marker: TableMarker): Promise<void> {
    await flushRows();
    targetFor(targetTables, marker);
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
      if (result.scope === 'data') await setSequences(tx, control.sequences);
    } else if (control.kind === 'end') {
      await flushRows(true);
      if (control.tables !== tables || control.rows !== rows) throw new RestoreRefused('The backup is incomplete.');
      ended = true;
    } else {
      throw new RestoreRefused('The backup contains a line this format does not have.');
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

  // After either kind: a key store restored before the data had no tombstones to honour yet.
  result.erasedKeysDropped = await dropErasedKeys(tx);
  return { ...result, tables, rows };
}

/**
 * Checks a backup's header against the target inside the restore transaction: a known format
 * and scope, the same migrations, and for a data backup an empty database. Returns the target's
 * tables by name.
 */
export async function acceptHeader(tx: Tx, m: BackupManifest, format: number): Promise<Map<string, TableInfo>> {
  if (m.format !== format || (m.scope !== 'data' && m.scope !== 'keystore')) throw new RestoreRefused('This backup format is not supported.');
  const targetTables = new Map((await listTables(tx, m.scope)).map((t) => [t.name, t]));
  const migrations = await appliedMigrations(tx);
  if (!Array.isArray(m.migrations) || m.migrations.join(',') !== migrations.join(',')) {
    throw new RestoreRefused('The backup was made at another schema version than this database; upgrade or downgrade Palisade to match.');
  }
  if (m.scope === 'keystore' && targetTables.size > 0) {
    // A live merge. An erasure writing its tombstone meanwhile would delete the keys it can see
    // (not the ones this merge inserts) while the merge drops what the tombstones it can see name:
    // the erased key would come back. A key made meanwhile would slip past the collision check.
    // Both wait for this merge instead (the restore is short; shreds and new keys resume after).
    await sql`LOCK TABLE key_erasures IN SHARE MODE`.execute(tx);
    await sql.raw(`LOCK TABLE ${[...targetTables.values()].map(qualified).join(', ')} IN SHARE ROW EXCLUSIVE MODE`).execute(tx);
  }
  if (m.scope === 'data' && targetTables.size > 0) {
    // Nobody else writes to these tables from this check until the restore commits.
    await sql.raw(`LOCK TABLE ${[...targetTables.values()].map(qualified).join(', ')} IN ACCESS EXCLUSIVE MODE`).execute(tx);
    // One statement for every table (each a round trip into the database otherwise); UNION ALL
    // runs its branches in order, so the first non-empty table is the one named.
    const probes = [...targetTables.values()].map((t, i) => `(SELECT ${i} AS i FROM ${qualified(t)} LIMIT 1)`);
    const { rows: found } = await sql.raw<{ i: number }>(`${probes.join(' UNION ALL ')} LIMIT 1`).execute(tx);
    const first = found[0] === undefined ? undefined : [...targetTables.values()][found[0].i];
    if (first !== undefined) throw new RestoreRefused(`The target database is not empty (table ${first.name}); restore only into a new database.`);
  }
  return targetTables;
}

/** A backup's table must exist here with every column it carries. */
export function targetFor(targetTables: Map<string, TableInfo>, marker: TableMarker): TableInfo {
  const target = targetTables.get(marker.name);
  if (target === undefined || target.schema !== marker.schema || !marker.columns.every((c) => target.columns.includes(c))) {
    throw new RestoreRefused(`The backup's table ${marker.name} does not match this database.`);
  }
  return target;
}

/**
 * Whether key `k` counts as erased by its subject's tombstone `e`: every version up to the last one
 * the erasure saw, or, where it saw none, every key created before it.
 */
const erasedByTombstone = (k: string): RawBuilder<unknown> =>
  sql.raw(`(${k}.version <= e.last_version OR (e.last_version = 0 AND ${k}.created_at <= e.erased_at) OR ${k}.created_at <= e.unseen_keys_before)`);

/**
 * Key-store merges: a key in the backup whose scope and version name a different key here (made
 * since, e.g. by a server that took traffic between a data restore and this one). Keeping either
 * loses what the other encrypted, so the merge is refused, loudly, instead of keeping ours in
 * silence. The same key re-wrapped under another master key keeps its creation time: no
 * collision; nor is a key of the backup that an erasure here drops anyway.
 */
export async function refuseCollidingKeys(tx: Tx, target: { schema: string; name: string; columns: readonly string[] }, incoming: RawBuilder<unknown>): Promise<void> {
  if (!['scope', 'version', 'created_at'].every((c) => target.columns.includes(c))) return;
  const { rows } = await sql<{ n: number }>`
    SELECT count(*)::int AS n FROM ${incoming} m JOIN ${sql.raw(qualified(target))} t ON t.scope = m.scope AND t.version = m.version
    WHERE t.created_at IS DISTINCT FROM m.created_at
      AND NOT EXISTS (SELECT 1 FROM key_erasures e WHERE e.scope = m.scope AND ${erasedByTombstone('m')})`.execute(tx);
  const n = rows[0]?.n ?? 0;
  if (n > 0) {
    throw new RestoreRefused(
      `${n} key(s) in the backup collide with different keys made here since it was taken (same subject and version): what one of them encrypted would be lost. Nothing was restored. Restore the key store before the server takes traffic again (for example both restores into a new database, then start the server).`,
    );
  }
}

/** Key-store restores: honour erasures made after the backup was taken. */
export async function dropErasedKeys(tx: Tx): Promise<number> {
  const dropped = await sql`
    DELETE FROM keystore.subject_keys k USING key_erasures e
    WHERE k.scope = e.scope AND ${erasedByTombstone('k')}`.execute(tx);
  return Number(dropped.numAffectedRows ?? 0n);
}

export async function setSequences(tx: Tx, values: ReadonlyArray<{ name: string; value: number | null }>): Promise<void> {
  for (const s of values) {
    if (s.value === null) continue;
    await sql`SELECT setval(${`"public"."${s.name.replaceAll('"', '""')}"`}::regclass, ${s.value}, true)`.execute(tx);
  }
}
