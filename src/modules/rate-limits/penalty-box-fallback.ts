/**
 * The Redis penalty box with a per-instance memory box behind it, as the counters have their
 * insurance limiters: while Redis is not usable (store-health.ts), or when a command fails, blocks are checked and
 * counted in memory, so an outage neither fails every message (it was a 500 after a 4 s wait)
 * nor lets an abuser out of the box on the instance that saw the abuse. Listing and lifting (the
 * owner's routes) answer 503 meanwhile (a list or a lift of only this instance's memory would
 * mislead), and once Redis is back they include this instance's memory too.
 */
import { AppError } from '../../platform/http/errors.ts';
import type { PenaltyBox } from './penalty-box.ts';
import type { StoreHealth } from './store-health.ts';

export function withMemoryFallback(
  shared: PenaltyBox,
  local: PenaltyBox,
  health: StoreHealth,
): PenaltyBox {
  async function either<T>(fromShared: () => Promise<T>, fromLocal: () => Promise<T>): Promise<T> {
    if (!health.usable()) return fromLocal();
    try {
      return await fromShared();
    } catch (error) {
      health.failed(error);
      return fromLocal();
    }
  }
  const unavailable = async (): Promise<never> => {
    throw new AppError('unavailable', 'The shared rate-limit store (Redis) is unreachable. Try again shortly.');
  };
  return {
    // The local box too: blocks recorded there while Redis refused writes (out of memory, a
    // read-only replica after a failover) but still answered reads, or during an outage now over.
    isBlocked: async (dimension, key) => (await local.isBlocked(dimension, key)) ?? either(() => shared.isBlocked(dimension, key), async () => undefined),
    recordRefusal: (dimension, key) => either(() => shared.recordRefusal(dimension, key), () => local.recordRefusal(dimension, key)),
    // With Redis back, the blocks this instance recorded in memory meanwhile are listed and lifted too.
    list: (keyPrefix, limit) =>
      either(async () => {
        const blocks = await shared.list(keyPrefix, limit);
        const seen = new Set(blocks.map((b) => `${b.dimension}\u0000${b.key}`));
        const mine = (await local.list(keyPrefix, limit)).filter((b) => !seen.has(`${b.dimension}\u0000${b.key}`));
        return [...blocks, ...mine].sort((a, b) => a.key.localeCompare(b.key) || a.dimension.localeCompare(b.dimension)).slice(0, limit);
      }, unavailable),
    lift: (dimension, key) =>
      either(async () => {
        const [fromShared, fromLocal] = await Promise.all([shared.lift(dimension, key), local.lift(dimension, key)]);
        return fromShared || fromLocal;
      }, unavailable),
  };
}
