/**
 * The penalty box's pure decision: given a client's state and a new refusal, the next state.
 * The memory store runs this function; the Redis store runs the same rules in one Lua script
 * (penalty-box-redis.ts) so that concurrent instances cannot race. Keep the two in step.
 */

export const penaltyDimensions = ['ip', 'session'] as const;
export type PenaltyDimension = (typeof penaltyDimensions)[number];

export interface PenaltyPolicy {
  /** Refusals within `windowSeconds` that put a client in the box. */
  refusalsBeforeBlock: number;
  windowSeconds: number;
  /** First block; each further block doubles, up to `maxBlockSeconds`. */
  baseBlockSeconds: number;
  maxBlockSeconds: number;
  /** A client with no block for this long starts again at the first level. */
  levelDecaySeconds: number;
}

export const defaultPenaltyPolicy: PenaltyPolicy = {
  refusalsBeforeBlock: 10,
  windowSeconds: 60,
  baseBlockSeconds: 60,
  maxBlockSeconds: 3_600,
  levelDecaySeconds: 86_400,
};

export interface PenaltyState {
  refusals: number;
  windowStartMs: number;
  /** Blocks served since the level last decayed; the current block's level. */
  level: number;
  untilMs: number;
  lastBlockMs: number;
}

export interface PenaltyBlock {
  dimension: PenaltyDimension;
  key: string;
  until: Date;
  level: number;
}

export function blockSeconds(level: number, policy: PenaltyPolicy): number {
  return Math.min(policy.baseBlockSeconds * 2 ** Math.max(0, level - 1), policy.maxBlockSeconds);
}

export function decideRefusal(
  previous: PenaltyState | undefined,
  nowMs: number,
  policy: PenaltyPolicy,
): { state: PenaltyState; blockedNow: boolean } {
  const s: PenaltyState = previous
    ? { ...previous }
    : { refusals: 0, windowStartMs: nowMs, level: 0, untilMs: 0, lastBlockMs: 0 };
  // Refusals while already boxed are the block working, not fresh offences.
  if (s.untilMs > nowMs) return { state: s, blockedNow: false };
  if (s.level > 0 && nowMs - s.lastBlockMs >= policy.levelDecaySeconds * 1000) s.level = 0;
  if (nowMs - s.windowStartMs >= policy.windowSeconds * 1000) {
    s.refusals = 0;
    s.windowStartMs = nowMs;
  }
  s.refusals += 1;
  if (s.refusals < policy.refusalsBeforeBlock) return { state: s, blockedNow: false };
  s.level += 1;
  s.untilMs = nowMs + blockSeconds(s.level, policy) * 1000;
  s.refusals = 0;
  s.windowStartMs = nowMs;
  s.lastBlockMs = nowMs;
  return { state: s, blockedNow: true };
}

/** When the state can be forgotten: nothing in it matters any more after this instant. */
export function stateExpiresAtMs(s: PenaltyState, policy: PenaltyPolicy): number {
  const window = s.windowStartMs + policy.windowSeconds * 1000;
  const decay = s.level > 0 ? s.lastBlockMs + policy.levelDecaySeconds * 1000 : 0;
  return Math.max(s.untilMs, window, decay);
}

export function assertPenaltyKey(key: string): void {
  if (key.length === 0 || key.length > 512 || key.includes('\u0000')) {
    throw new RangeError('penalty box keys must be 1-512 characters without NUL');
  }
}
