/**
 * Whether the shared store (Redis) is worth asking. Not while it is disconnected; and for a few
 * seconds after a command failed or timed out, so that a Redis that holds the connection but has
 * stopped answering costs one command timeout now and then instead of one per check (a message
 * makes several). Meanwhile every instance counts in its own memory. Failures are reported at
 * most once per 10 s: an outage under load would otherwise log once per request.
 */
const COOL_DOWN_MS = 5_000;
const REPORT_EVERY_MS = 10_000;

export interface StoreHealth {
  usable(): boolean;
  failed(error: unknown): void;
}

export function createStoreHealth(deps: { isConnected: () => boolean; onStoreError: (error: unknown) => void }): StoreHealth {
  let coolDownUntilMs = -Infinity;
  let reportedAtMs = -Infinity;
  return {
    usable: () => deps.isConnected() && Date.now() >= coolDownUntilMs,
    failed(error) {
      const now = Date.now();
      coolDownUntilMs = now + COOL_DOWN_MS;
      if (now - reportedAtMs < REPORT_EVERY_MS) return;
      reportedAtMs = now;
      deps.onStoreError(error);
    },
  };
}
