/**
 * Escalating blocks for clients that keep hitting a limit ("penalty box"), per IP and per visitor
 * session. Keys are namespaced by the caller (`<projectId>:<client>`), so a project's blocks are
 * a prefix listing. Memory store here; the shared Redis store is in penalty-box-redis.ts.
 */
import type { Clock } from '../../platform/clock.ts';
import { systemClock } from '../../platform/clock.ts';
import { assertPenaltyKey, decideRefusal, defaultPenaltyPolicy, stateExpiresAtMs } from './penalty-state.ts';
import type { PenaltyBlock, PenaltyDimension, PenaltyPolicy, PenaltyState } from './penalty-state.ts';

export interface PenaltyBox {
  /** The current block, if any. */
  isBlocked(dimension: PenaltyDimension, key: string): Promise<PenaltyBlock | undefined>;
  /** Counts one refusal; returns the block when this refusal starts one. */
  recordRefusal(dimension: PenaltyDimension, key: string): Promise<PenaltyBlock | undefined>;
  /** Current blocks whose key starts with `keyPrefix`, at most `limit` of them. */
  list(keyPrefix: string, limit?: number): Promise<PenaltyBlock[]>;
  /** Ends the block and forgets the history; false when there was no block. */
  lift(dimension: PenaltyDimension, key: string): Promise<boolean>;
}

export interface PenaltyBoxOptions {
  policy?: Partial<PenaltyPolicy>;
  clock?: Clock;
}

export const defaultListLimit = 1_000;

export function createMemoryPenaltyBox(options: PenaltyBoxOptions & { maxEntries?: number } = {}): PenaltyBox {
  const policy: PenaltyPolicy = { ...defaultPenaltyPolicy, ...options.policy };
  const clock = options.clock ?? systemClock;
  const maxEntries = options.maxEntries ?? 100_000;
  const states = new Map<string, { dimension: PenaltyDimension; key: string; state: PenaltyState }>();
  const id = (dimension: PenaltyDimension, key: string): string => `${dimension}\u0000${key}`;

  // At most one full sweep a second: when every entry is live, sweeping on each refusal would
  // make every refusal walk the whole map.
  let sweptAtMs = -Infinity;
  const sweep = (nowMs: number): void => {
    if (nowMs - sweptAtMs < 1_000) return;
    sweptAtMs = nowMs;
    for (const [k, entry] of states) if (stateExpiresAtMs(entry.state, policy) <= nowMs) states.delete(k);
  };
  // Full of live entries: the least recently refused one that is not blocked now goes (it holds
  // only a level that decays, or refusals short of a block). Otherwise anyone able to get many
  // keys blocked once could fill the map and switch the box off for everyone for a day.
  // Current blocks met on the way move to the back, so the next search does not meet them first.
  const forgetHistory = (nowMs: number): void => {
    let looked = 0;
    for (const [k, entry] of states) {
      states.delete(k);
      if (entry.state.untilMs <= nowMs) return;
      states.set(k, entry);
      if (++looked >= 256) return;
    }
  };
  const asBlock = (dimension: PenaltyDimension, key: string, s: PenaltyState): PenaltyBlock => ({
    dimension,
    key,
    until: new Date(s.untilMs),
    level: s.level,
  });

  return {
    async isBlocked(dimension, key) {
      const entry = states.get(id(dimension, key));
      return entry && entry.state.untilMs > clock.now().getTime() ? asBlock(dimension, key, entry.state) : undefined;
    },
    async recordRefusal(dimension, key) {
      assertPenaltyKey(key);
      const nowMs = clock.now().getTime();
      const previous = states.get(id(dimension, key))?.state;
      if (!previous && states.size >= maxEntries) {
        sweep(nowMs);
        if (states.size >= maxEntries) forgetHistory(nowMs);
        // Still full, of current blocks only: a new client is not tracked (its limits still apply,
        // only the escalation is skipped) rather than memory growing or a current block being dropped.
        if (states.size >= maxEntries) return undefined;
      }
      const { state, blockedNow } = decideRefusal(previous, nowMs, policy);
      // Re-inserted, so the map's order is the order of last refusal (least recent first).
      states.delete(id(dimension, key));
      states.set(id(dimension, key), { dimension, key, state });
      return blockedNow ? asBlock(dimension, key, state) : undefined;
    },
    async list(keyPrefix, limit = defaultListLimit) {
      const nowMs = clock.now().getTime();
      const blocks: PenaltyBlock[] = [];
      for (const { dimension, key, state } of states.values()) {
        if (blocks.length >= limit) break;
        if (state.untilMs > nowMs && key.startsWith(keyPrefix)) blocks.push(asBlock(dimension, key, state));
      }
      return blocks.sort((a, b) => a.key.localeCompare(b.key) || a.dimension.localeCompare(b.dimension));
    },
    async lift(dimension, key) {
      // Only a current block goes, with its history; a client that is not blocked keeps its level.
      const entry = states.get(id(dimension, key));
      if (entry === undefined || entry.state.untilMs <= clock.now().getTime()) return false;
      states.delete(id(dimension, key));
      return true;
    },
  };
}
