/**
 * Making PostgreSQL races deterministic: a transaction that takes its locks, then waits to be let
 * go (and may write before committing), and a way to see that requests reached a lock and wait.
 */
import { sql, type Kysely, type Transaction } from 'kysely';

export interface HeldLock {
  /** Resolves once the holder's transaction has finished (committed) after release(). */
  release(): Promise<void>;
}

/** Runs `take` in a transaction, holds it open until release(), then runs `beforeCommit`. */
export async function holdLocks<DB>(db: Kysely<DB>, take: (tx: Transaction<DB>) => Promise<unknown>, beforeCommit?: (tx: Transaction<DB>) => Promise<unknown>): Promise<HeldLock> {
  let letGo = (): void => undefined;
  const released = new Promise<void>((resolve) => (letGo = resolve));
  let taken = (): void => undefined;
  const isTaken = new Promise<void>((resolve) => (taken = resolve));
  const holder = db.transaction().execute(async (tx) => {
    await take(tx);
    taken();
    await released;
    await beforeCommit?.(tx);
  });
  await Promise.race([isTaken, holder]);
  return {
    async release() {
      letGo();
      await holder;
    },
  };
}

/** Waits (up to 5 s) until at least `count` statements matching `query` wait on a lock; how many did. */
export async function lockWaiters<DB>(db: Kysely<DB>, query: RegExp, count = 1): Promise<number> {
  let waiting = 0;
  for (let i = 0; i < 250; i++) {
    const { rows } = await sql<{ query: string }>`SELECT query FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'`.execute(db);
    waiting = rows.filter((r) => query.test(r.query)).length;
    if (waiting >= count) break;
    await new Promise((r) => setTimeout(r, 20));
  }
  return waiting;
}
