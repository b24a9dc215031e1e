/**
 * The API access log: every request made with a valid API key — refused ones too (a missing
 * scope, the key's rate limit) — with its key, client address, route pattern (never the URL),
 * status, duration and time. Requests alike (key, address, method, route, status) within one
 * write interval are one row with their count, the first one's time and the longest duration: a
 * row per request cost a busy key's route a third of its throughput.
 * Kept in memory and written every `intervalMs` in one statement per organisation, off the
 * request path; a batch that fails is kept for the next write while there is room
 * (`maxPending` rows; one of a deleted organisation is dropped), so a crash loses what was
 * pending: the last interval's, or more while the database could not be written.
 * Rows older than 90 days are deleted (prune, hourly with the timer).
 */
import { sql, type Kysely } from 'kysely';
import type { Clock } from '../../platform/clock.ts';
import type { DB } from '../../platform/db/tables.ts';
import { PARAMETERS_PER_STATEMENT, batches } from '../../platform/db/batches.ts';
import { withTenant } from '../../platform/db/tenant.ts';

export interface AccessEntry {
  orgId: string;
  keyId: string;
  ip: string;
  method: string;
  route: string;
  status: number;
  durationMs: number;
  at: Date;
}

/** Requests alike in one interval: the first one's entry, the longest duration, how many. */
interface PendingRow extends AccessEntry {
  count: number;
}

const KEEP_DAYS = 90;
const PRUNE_EVERY_MS = 3_600_000;

export function createAccessLog(deps: { db: Kysely<DB>; clock: Clock; intervalMs?: number; maxPending?: number; onError?: (error: unknown) => void }) {
  const intervalMs = deps.intervalMs ?? 2_000;
  const maxPending = deps.maxPending ?? 50_000;
  /** By organisation, key, address, method, route and status. */
  let pending = new Map<string, PendingRow>();
  let dropped = 0;
  let timers: NodeJS.Timeout[] = [];
  let writing: Promise<void> = Promise.resolve();

  async function writeOnce(): Promise<void> {
    const taken = pending;
    pending = new Map();
    if (dropped > 0) {
      deps.onError?.(new Error(`${dropped} API access log entries were dropped: the log could not be written fast enough`));
      dropped = 0;
    }
    const byOrg = new Map<string, PendingRow[]>();
    for (const e of taken.values()) {
      const list = byOrg.get(e.orgId);
      if (list) list.push(e);
      else byOrg.set(e.orgId, [e]);
    }
    for (const [orgId, entries] of byOrg) {
      try {
        await withTenant(deps.db, orgId, async (tx) => {
          // Nine parameters a row: a busy organisation's rows are written in several statements.
          for (const part of batches(entries, Math.floor(PARAMETERS_PER_STATEMENT / 9))) {
            await tx
              .insertInto('api_access_log')
              .values(part.map((e) => ({ org_id: orgId, key_id: e.keyId, ip: e.ip, method: e.method, route: e.route, status: e.status, duration_ms: e.durationMs, at: e.at, count: e.count })))
              .execute();
          }
        });
      } catch (error) {
        // An organisation deleted meanwhile (a foreign-key violation) would fail for good: dropped.
        if ((error as { code?: unknown }).code === '23503') continue;
        deps.onError?.(error);
        // Kept for the next write while there is room (merged with what came meanwhile).
        for (const e of entries) if (!add(e, e.count)) dropped += e.count;
      }
    }
  }

  const flush = (): Promise<void> => {
    writing = writing.then(writeOnce, writeOnce);
    return writing;
  };

  async function prune(): Promise<number> {
    const before = new Date(deps.clock.now().getTime() - KEEP_DAYS * 86_400_000);
    const result = await deps.db.deleteFrom('api_access_log').where('at', '<', before).executeTakeFirst();
    return Number(result.numDeletedRows);
  }

  async function list(
    orgId: string,
    filter: { keyId?: string | undefined; status?: number | undefined; since?: Date | undefined; until?: Date | undefined; before?: string | undefined; limit: number },
  ) {
    const rows = await withTenant(deps.db, orgId, (tx) => {
      let q = tx.selectFrom('api_access_log').selectAll().orderBy('id', 'desc').limit(filter.limit);
      if (filter.keyId) q = q.where('key_id', '=', filter.keyId);
      if (filter.status !== undefined) q = q.where('status', '=', filter.status);
      if (filter.since) q = q.where('at', '>=', filter.since);
      if (filter.until) q = q.where('at', '<', filter.until);
      if (filter.before) q = q.where(sql<boolean>`id < ${filter.before}::bigint`);
      return q.execute();
    });
    const entries = rows.map((r) => ({
      id: String(r.id),
      keyId: r.key_id,
      ip: r.ip,
      method: r.method,
      route: r.route,
      status: r.status,
      durationMs: r.duration_ms,
      at: new Date(r.at).toISOString(),
      count: r.count,
    }));
    return { entries, nextBefore: entries.length === filter.limit ? (entries.at(-1)?.id ?? null) : null };
  }

  /** Counts `count` requests like `entry` in; false when there is no room for a new row. */
  function add(entry: AccessEntry, count: number): boolean {
    const key = `${entry.orgId}\n${entry.keyId}\n${entry.ip}\n${entry.method}\n${entry.route}\n${entry.status}`;
    const row = pending.get(key);
    if (row) {
      row.count += count;
      if (entry.durationMs > row.durationMs) row.durationMs = entry.durationMs;
      if (entry.at < row.at) row.at = entry.at;
      return true;
    }
    if (pending.size >= maxPending) return false;
    pending.set(key, { ...entry, count });
    return true;
  }

  return {
    record(entry: AccessEntry): void {
      if (!add(entry, 1)) dropped += 1;
    },
    flush,
    prune,
    list,
    start(): void {
      if (timers.length) return;
      timers = [
        setInterval(() => void flush(), intervalMs).unref(),
        setInterval(() => void prune().catch((error: unknown) => deps.onError?.(error)), PRUNE_EVERY_MS).unref(),
      ];
    },
    async stop(): Promise<void> {
      for (const t of timers) clearInterval(t);
      timers = [];
      await flush();
    },
  };
}

export type AccessLog = ReturnType<typeof createAccessLog>;
