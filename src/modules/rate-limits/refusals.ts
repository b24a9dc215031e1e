/**
 * Counts refusals per dimension and cause, and forwards each one to the listener the events
 * module connects (`onRefusal`). A throwing listener never turns a refusal into a 500.
 */
import { notifyListener, type Listener } from '../../platform/listeners.ts';
import type { RefusalEvent } from './service.ts';

export interface RefusalCounter {
  record(event: RefusalEvent): void;
  /** `{ "ip:limit": 3, "session:penalty_box": 1, … }` since start. */
  snapshot(): Record<string, number>;
}

export function createRefusalCounter(deps: { onRefusal?: Listener<RefusalEvent> | undefined; onError?: (error: unknown) => void } = {}): RefusalCounter {
  const counts = new Map<string, number>();
  return {
    record(event) {
      const k = `${event.dimension}:${event.cause}`;
      counts.set(k, (counts.get(k) ?? 0) + 1);
      notifyListener(deps.onRefusal, event, deps.onError);
    },
    snapshot: () => Object.fromEntries(counts),
  };
}
