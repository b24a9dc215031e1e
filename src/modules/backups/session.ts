/**
 * One database session for a backup or a restore: a transaction, a Kysely bound to it for the
 * catalogue and control statements, and COPY in text format on that same transaction for the
 * table contents (the fast path both PostgreSQL and PGlite have):
 *
 *   PostgreSQL  its own connection; COPY … TO STDOUT / FROM STDIN through pg-copy-streams
 *   PGlite      the embedded instance (one session: Kysely's single connection and the instance
 *               are the same backend); COPY … TO / FROM a device of its own (pglite-copy-device.ts)
 *
 * Every setting that shapes COPY text (date, interval and float output, bytea, encoding) is pinned
 * with SET LOCAL on both sides, so a backup reads the same into any server version or backend.
 * Owns the transaction's lifetime: it commits only when the body resolves; any error rolls back.
 * Must never run COPY outside that transaction.
 */
import { finished } from 'node:stream/promises';
import type { PGlite } from '@electric-sql/pglite';
import { Kysely, PostgresDialect, sql, type PostgresPool, type PostgresPoolClient } from 'kysely';
import pg from 'pg';
import { from as copyFrom, to as copyTo } from 'pg-copy-streams';
import type { DB } from '../../platform/db/tables.ts';
import type { Tx } from '../../platform/db/tenant.ts';
import { copyDevice } from './pglite-copy-device.ts';

export type BackupConnection =
  | { readonly kind: 'pglite'; readonly db: Kysely<DB>; readonly pglite: PGlite }
  | { readonly kind: 'postgres'; readonly connectionString: string };

export interface CopySink {
  /** Bytes of COPY text; any split, rows may straddle two calls. */
  write(bytes: Buffer): Promise<void>;
  /** Ends the COPY; resolves with the number of rows the database took. */
  end(): Promise<number>;
  /** Abandons the COPY after an error elsewhere, so the transaction can roll back. */
  abort(): void;
}

export interface BackupSession {
  readonly tx: Tx;
  /** Streams `COPY <target> (<columns>) TO …`, one piece at a time; resolves with the row count. */
  copyOut(target: string, columns: string, onData: (bytes: Buffer) => Promise<void>): Promise<number>;
  /** `freeze`: COPY … WITH (FREEZE); only for a table created or truncated in this transaction. */
  copyIn(target: string, columns: string, options?: { freeze?: boolean }): CopySink;
}

// What pg_dump pins too: text that any PostgreSQL reads back to the same values.
const COPY_SETTINGS = sql`SELECT set_config('datestyle', 'ISO, YMD', true), set_config('intervalstyle', 'postgres', true),
  set_config('timezone', 'UTC', true), set_config('extra_float_digits', '3', true), set_config('bytea_output', 'hex', true),
  set_config('client_encoding', 'UTF8', true)`;

// JavaScript sees a PGlite COPY only whole, once the statement is done: big tables leave in slices
// of pages (TID range scans, PostgreSQL 14+, which PGlite always is) and come back in batches of
// complete rows, so memory stays bounded.
const PGLITE_PAGES_PER_COPY = 2048; // 16 MiB of heap
// Small batches: a COPY holds the main thread, and the backup's blocks inflate on the thread pool
// only a step at a time between two of them; 2 MiB lets that overlap instead of queueing behind
// each batch, and COPY itself is no slower than with 16 MiB.
const PGLITE_COPY_IN_BYTES = 2 * 1024 * 1024;
const NEWLINE = 0x0a;
const COPY_IN_BUFFER = 8 * 1024 * 1024;

export async function withBackupSession<T>(
  connection: BackupConnection,
  mode: 'snapshot' | 'restore',
  body: (session: BackupSession) => Promise<T>,
): Promise<T> {
  if (connection.kind === 'pglite') return inTransaction(connection.db, mode, (tx) => body(pgliteSession(tx, connection.pglite)));

  const client = new pg.Client({ connectionString: connection.connectionString });
  client.on('error', () => undefined); // a dropped connection fails the statement in flight
  await client.connect();
  // Kysely over this one connection, so catalogue queries run inside the same transaction.
  const poolClient = Object.assign(client, { release: () => undefined }) as unknown as PostgresPoolClient;
  const pool: PostgresPool = { connect: async () => poolClient, end: async () => undefined };
  const db = new Kysely<DB>({ dialect: new PostgresDialect({ pool }) });
  // If the body failed, its error is the one to report, not the rollback's on a closed connection.
  let failure: { error: unknown } | undefined;
  try {
    return await inTransaction(db, mode, async (tx) => {
      try {
        return await body(postgresSession(tx, client));
      } catch (error) {
        failure = { error };
        throw error;
      }
    });
  } catch (error) {
    throw failure === undefined ? error : failure.error;
  } finally {
    await db.destroy();
    await client.end().catch(() => undefined);
  }
}

function inTransaction<T>(db: Kysely<DB>, mode: 'snapshot' | 'restore', body: (tx: Tx) => Promise<T>): Promise<T> {
  // The snapshot: one REPEATABLE READ, read-only transaction sees every table at one instant.
  const builder = mode === 'snapshot' ? db.transaction().setIsolationLevel('repeatable read').setAccessMode('read only') : db.transaction();
  return builder.execute(async (tx) => {
    await COPY_SETTINGS.execute(tx);
    return body(tx);
  });
}

const freezeOption = (options?: { freeze?: boolean }): string => (options?.freeze === true ? ' WITH (FREEZE)' : '');

function postgresSession(tx: Tx, client: pg.Client): BackupSession {
  return {
    tx,
    async copyOut(target, columns, onData) {
      const stream = client.query(copyTo(`COPY ${target} (${columns}) TO STDOUT`));
      try {
        for await (const piece of stream as AsyncIterable<Buffer>) await onData(piece);
      } catch (error) {
        // A COPY OUT cannot be stopped half-way on the wire: close the connection, so the
        // rollback fails fast instead of queueing behind it (the server rolls back on its own).
        await client.end().catch(() => undefined);
        throw error;
      }
      return stream.rowCount;
    },
    copyIn(target, columns, options) {
      // A deep buffer: the next blocks are decrypted and inflated while the server takes these.
      const stream = client.query(copyFrom(`COPY ${target} (${columns}) FROM STDIN${freezeOption(options)}`, { highWaterMark: COPY_IN_BUFFER }));
      let failure: Error | undefined;
      stream.on('error', (error: Error) => { failure ??= error; });
      return {
        async write(bytes) {
          if (failure !== undefined) throw failure;
          if (!stream.write(bytes)) {
            await new Promise<void>((resolve) => {
              const done = (): void => {
                stream.off('drain', done);
                stream.off('close', done);
                resolve();
              };
              stream.on('drain', done);
              stream.on('close', done); // destroyed by an error: `failure` says why
            });
          }
          if (failure !== undefined) throw failure;
        },
        async end() {
          stream.end();
          await finished(stream);
          if (failure !== undefined) throw failure;
          return stream.rowCount;
        },
        abort() {
          // pg-copy-streams answers a destroy with CopyFail: the server ends the COPY with an
          // error and the transaction can roll back.
          if (!stream.writableFinished) stream.destroy(new Error('The restore was abandoned.'));
        },
      };
    },
  };
}

function pgliteSession(tx: Tx, pglite: PGlite): BackupSession {
  const device = copyDevice(pglite);
  return {
    tx,
    async copyOut(target, columns, onData) {
      const { rows } = await sql<{ pages: number }>`
        SELECT (pg_relation_size(${target}::regclass) / current_setting('block_size')::int)::int AS pages`.execute(tx);
      const pages = rows[0]?.pages ?? 0;
      let count = 0;
      for (let first = 0; ; first += PGLITE_PAGES_PER_COPY) {
        // The last slice is open-ended: whatever the snapshot sees past the size read above.
        const last = first + PGLITE_PAGES_PER_COPY >= pages;
        const range = `ctid >= '(${first},0)'::tid` + (last ? '' : ` AND ctid < '(${first + PGLITE_PAGES_PER_COPY},0)'::tid`);
        const { result, pieces } = await device.collect(() => pglite.query(`COPY (SELECT ${columns} FROM ${target} WHERE ${range}) TO '${device.path}'`));
        count += result.affectedRows ?? 0;
        for (const piece of pieces) await onData(piece);
        if (last) return count;
      }
    },
    copyIn(target, columns, options) {
      let pending: Buffer[] = [];
      let pendingBytes = 0;
      let count = 0;
      const statement = `COPY ${target} (${columns}) FROM '${device.path}'${freezeOption(options)}`;
      async function load(pieces: Buffer[]): Promise<void> {
        const result = await device.feed(pieces, () => pglite.query(statement));
        count += result.affectedRows ?? 0;
      }
      return {
        async write(bytes) {
          pending.push(bytes);
          pendingBytes += bytes.length;
          if (pendingBytes < PGLITE_COPY_IN_BYTES) return;
          // Cut after the last complete row: in COPY text a newline byte only ever ends a row.
          const cut = bytes.lastIndexOf(NEWLINE);
          if (cut < 0) return;
          const whole = pending.slice(0, -1);
          whole.push(bytes.subarray(0, cut + 1));
          const rest = bytes.subarray(cut + 1);
          pending = rest.length > 0 ? [rest] : [];
          pendingBytes = rest.length;
          await load(whole);
        },
        async end() {
          if (pendingBytes > 0) await load(pending);
          pending = [];
          pendingBytes = 0;
          return count;
        },
        abort() {
          pending = [];
          pendingBytes = 0;
        },
      };
    },
  };
}
