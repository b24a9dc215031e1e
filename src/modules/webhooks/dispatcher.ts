/**
 * Sends the outbox: leases deliveries that are due (any organisation's; store.claimDue), signs each
 * with its webhook's current secret and POSTs it with a 10 s time-out, no redirects followed and
 * only to the addresses the URL policy allows, then records the outcome inside the organisation's
 * transaction: a 2xx is delivered; anything else is tried again later (schedule.ts) until the
 * attempts run out. Deliveries of one webhook may arrive out of order, and (after a lost lease)
 * twice: receivers de-duplicate on `webhook-id`. Nothing here is audited (deliveries would report
 * themselves); each delivery keeps its own record instead.
 */
import type { Kysely } from 'kysely';
import type { Clock } from '../../platform/clock.ts';
import type { Cipher } from '../../platform/crypto/envelope.ts';
import type { DB } from '../../platform/db/tables.ts';
import { withTenant } from '../../platform/db/tenant.ts';
import { MAX_ATTEMPTS, nextAttemptAt } from './schedule.ts';
import { secretAad } from './service.ts';
import { signatureHeaders } from './signing.ts';
import type { ClaimedDelivery, WebhookStore } from './store.ts';

const TIMEOUT_MS = 10_000;
/** Longer than a send can take, so a lease runs out only when its runner stopped. */
const LEASE_MS = 60_000;
const BATCH = 10;
const ERROR_CHARS = 200;

type Outcome = { ok: true; httpStatus: number } | { ok: false; httpStatus: number | null; error: string };

export function createWebhookDispatcher(deps: {
  db: Kysely<DB>;
  store: WebhookStore;
  cipher: Pick<Cipher, 'decrypt'>;
  fetch: typeof fetch;
  clock: Clock;
  userAgent: string;
  onAttempt?: ((outcome: 'delivered' | 'retry' | 'failed') => void) | undefined;
}) {
  const { db, store } = deps;
  // Aborted by stop(): a send in progress ends at once (its lease runs out and it is sent again).
  const stopping = new AbortController();

  async function send(delivery: ClaimedDelivery): Promise<Outcome> {
    if (!delivery.enabled) return { ok: false, httpStatus: null, error: 'The webhook is disabled.' };
    const body = JSON.stringify(delivery.payload);
    try {
      const secret = await deps.cipher.decrypt(delivery.secret, secretAad(delivery.org_id, delivery.webhook_id));
      const response = await deps.fetch(delivery.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'user-agent': deps.userAgent, ...signatureHeaders(secret, delivery.event_id, deps.clock.now(), body) },
        body,
        redirect: 'manual',
        signal: AbortSignal.any([AbortSignal.timeout(TIMEOUT_MS), stopping.signal]),
      });
      await response.body?.cancel().catch(() => undefined); // the receiver's reply is not kept
      if (response.status >= 200 && response.status < 300) return { ok: true, httpStatus: response.status };
      return { ok: false, httpStatus: response.status, error: `The receiver answered HTTP ${response.status}.` };
    } catch (error) {
      const message = error instanceof Error ? (error.name === 'TimeoutError' ? `No answer within ${TIMEOUT_MS / 1000} s.` : error.message) : String(error);
      return { ok: false, httpStatus: null, error: message.slice(0, ERROR_CHARS) };
    }
  }

  async function deliver(delivery: ClaimedDelivery): Promise<void> {
    const outcome = await send(delivery);
    if (stopping.signal.aborted) return;
    const at = deps.clock.now();
    const attempts = delivery.attempts + 1;
    const retryAt = outcome.ok || !delivery.enabled ? undefined : nextAttemptAt(attempts, at);
    const status = outcome.ok ? 'delivered' : retryAt ? 'pending' : 'failed';
    deps.onAttempt?.(status === 'pending' ? 'retry' : status);
    await withTenant(db, delivery.org_id, (tx) =>
      store.recordAttempt(tx, delivery.id, {
        status,
        attempts,
        nextAttemptAt: retryAt ?? null,
        at,
        httpStatus: outcome.httpStatus,
        error: outcome.ok ? null : outcome.error,
      }),
    );
  }

  /** One batch of due deliveries, sent concurrently; how many were attempted. */
  async function deliverDue(): Promise<number> {
    const now = deps.clock.now();
    const claimed = await store.claimDue(db, now, new Date(now.getTime() + LEASE_MS), BATCH);
    await Promise.all(claimed.map(deliver));
    return claimed.length;
  }

  /** Until nothing is due (or `maxBatches` ran): for the timer, and for tests. */
  async function drain(maxBatches = 100): Promise<number> {
    let sent = 0;
    for (let i = 0; i < maxBatches && !stopping.signal.aborted; i++) {
      const n = await deliverDue();
      sent += n;
      if (n < BATCH) break;
    }
    return sent;
  }

  /** Ends sends in progress and further batches, for good (before the database closes). */
  const abort = (): void => stopping.abort();

  return { deliverDue, drain, abort, maxAttempts: MAX_ATTEMPTS };
}

export type WebhookDispatcher = ReturnType<typeof createWebhookDispatcher>;
