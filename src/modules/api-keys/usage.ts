/**
 * Usage counting off the hot path: requests are counted in memory (per key, UTC day and route,
 * plus the last use) and written every `intervalMs` in one batched statement per organisation,
 * and once more on shutdown. A crash loses at most the counts of the current interval (default
 * 5 s) on that instance. A batch that fails
 * transiently is put back for the next flush; one whose key or organisation is gone is dropped.
 *
 * Owns: the in-memory counters and when they are flushed. Must never: write per request, or
 * record a secret (routes are route patterns such as `/v1/projects/:projectId`, never URLs).
 */
import type { Clock } from '../../platform/clock.ts';
import type { LastUse, UsageCell } from './store.ts';

export interface UsageBatch {
  orgId: string;
  cells: UsageCell[];
  lastUses: LastUse[];
}

export interface UsageRecorder {
  record(use: { orgId: string; keyId: string; route: string; ip: string; userAgent: string | null }): void;
  flush(): Promise<void>;
  start(): void;
  stop(): Promise<void>;
}

interface Pending {
  counts: Map<string, { orgId: string; cell: UsageCell }>;
  lastUses: Map<string, { orgId: string; use: LastUse }>;
}

const empty = (): Pending => ({ counts: new Map(), lastUses: new Map() });

const DAY_MS = 86_400_000;
let cachedDay = { start: 0, text: '1970-01-01' };
/** `YYYY-MM-DD` (UTC) of a time, formatted once per day rather than once per request. */
function utcDay(at: Date): string {
  const start = Math.floor(at.getTime() / DAY_MS) * DAY_MS;
  if (start !== cachedDay.start) cachedDay = { start, text: new Date(start).toISOString().slice(0, 10) };
  return cachedDay.text;
}

export function createUsageRecorder(deps: {
  /** Writes the batches; returns those that failed and should be retried with the next flush. */
  write: (batches: UsageBatch[]) => Promise<UsageBatch[]>;
  clock: Clock;
  intervalMs?: number;
  /** Distinct cells kept before an early flush is started. */
  maxCells?: number;
  onError?: (error: unknown) => void;
}): UsageRecorder {
  const intervalMs = deps.intervalMs ?? 5_000;
  const maxCells = deps.maxCells ?? 10_000;
  let current = empty();
  let timer: NodeJS.Timeout | undefined;
  let flushing: Promise<void> = Promise.resolve();

  const merge = (into: Pending, from: Pending): void => {
    for (const [k, v] of from.counts) {
      const existing = into.counts.get(k);
      if (existing) existing.cell.count += v.cell.count;
      else into.counts.set(k, v);
    }
    for (const [k, v] of from.lastUses) {
      const existing = into.lastUses.get(k);
      if (!existing || existing.use.at < v.use.at) into.lastUses.set(k, v);
    }
  };

  const flushOnce = async (): Promise<void> => {
    const taken = current;
    current = empty();
    if (taken.counts.size === 0 && taken.lastUses.size === 0) return;
    const byOrg = new Map<string, UsageBatch>();
    const batchOf = (orgId: string): UsageBatch => {
      let b = byOrg.get(orgId);
      if (!b) byOrg.set(orgId, (b = { orgId, cells: [], lastUses: [] }));
      return b;
    };
    for (const { orgId, cell } of taken.counts.values()) batchOf(orgId).cells.push({ ...cell });
    for (const { orgId, use } of taken.lastUses.values()) batchOf(orgId).lastUses.push(use);
    let failed: UsageBatch[];
    try {
      failed = await deps.write([...byOrg.values()]);
    } catch (error) {
      deps.onError?.(error);
      failed = [...byOrg.values()];
    }
    const retry = empty();
    for (const b of failed) {
      for (const cell of b.cells) retry.counts.set(`${cell.keyId}\u0000${cell.day}\u0000${cell.route}`, { orgId: b.orgId, cell });
      for (const use of b.lastUses) retry.lastUses.set(use.keyId, { orgId: b.orgId, use });
    }
    merge(current, retry);
  };

  const flush = (): Promise<void> => {
    flushing = flushing.then(flushOnce, flushOnce);
    return flushing;
  };

  return {
    record({ orgId, keyId, route, ip, userAgent }) {
      const at = deps.clock.now();
      const day = utcDay(at);
      const k = `${keyId}\u0000${day}\u0000${route}`;
      const existing = current.counts.get(k);
      if (existing) existing.cell.count += 1;
      else current.counts.set(k, { orgId, cell: { keyId, day, route, count: 1 } });
      current.lastUses.set(keyId, { orgId, use: { keyId, at, ip, userAgent: userAgent === null ? null : userAgent.slice(0, 300) } });
      if (current.counts.size >= maxCells) void flush();
    },
    flush,
    start() {
      if (timer) return;
      timer = setInterval(() => void flush(), intervalMs);
      timer.unref();
    },
    async stop() {
      if (timer) clearInterval(timer);
      timer = undefined;
      await flush();
    },
  };
}
