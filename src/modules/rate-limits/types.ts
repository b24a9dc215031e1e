/** Shared shapes of the rate-limit module. */

export interface Limit {
  /** Requests (or cost units) admitted per window. */
  points: number;
  durationSeconds: number;
}

/** A tagged result: limit checks never throw for "over the limit". */
export type Decision =
  | { ok: true; limit: number; remaining: number; resetSeconds: number }
  | {
      ok: false;
      limit: number;
      remaining: 0;
      resetSeconds: number;
      retryAfterSeconds: number;
      /** Set when the refusal comes from the penalty box rather than a counter. */
      blocked?: boolean;
    };

export interface RateLimiter {
  consume(bucket: string, key: string, limit: Limit, cost?: number): Promise<Decision>;
  reset(bucket: string, key: string): Promise<void>;
}
