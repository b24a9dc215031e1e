/**
 * Sends the outbox: leases deliveries that are due (any organisation's; store.claimDue: one per
 * webhook at a time, up to 10 in flight, claimed as slots free up), signs each with its webhook's
 * current secret and POSTs it with a 10 s time-out, no redirects followed and only where the URL
 * policy allows today, then records the outcome inside the organisation's transaction, if its
 * lease still holds: a 2xx is delivered; anything else is tried again later (schedule.ts) until
 * the attempts run out. A retry can overtake a later event, and a delivery whose lease ran out can
 * arrive twice: receivers de-duplicate on `webhook-id`. Nothing here is audited (deliveries would
 * report themselves); each delivery keeps its own record instead.
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
import type { UrlPolicy } from '../../platform/net/outbound-url.ts';
import { LookupsBusyError } from '../../platform/net/guarded-fetch.ts';

const TIMEOUT_MS = 10_000;
/** Longer than a send can take, so a lease runs out only when its runner stopped. */
const LEASE_MS = 60_000;
const MAX_IN_FLIGHT = 10;
const ERROR_CHARS = 200;
/** When a delivery this server could not start (its DNS look-ups were busy) is tried again. */
const BUSY_RETRY_MS = 5_000;

/** Why a request failed, for the delivery record: fetch's own "fetch failed" says nothing. */
function describe(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  if (error.name === 'TimeoutError') return `No answer within ${TIMEOUT_MS / 1000} s.`;
  const cause = (error as { cause?: unknown }).cause;
  if (cause instanceof Error) return `${error.message}: ${(cause as { code?: string }).code ?? cause.message}`;
  return error.message;
}

type Outcome = { ok: true; httpStatus: number } | { ok: false; httpStatus: number | null; error: string; busy?: true };

export function createWebhookDispatcher(deps: {
  db: Kysely<DB>;
  store: WebhookStore;
  cipher: Pick<Cipher, 'decrypt'>;
  urls: Pick<UrlPolicy, 'check' | 'fetch'>;
  clock: Clock;
  userAgent: string;
  onAttempt?: ((outcome: 'delivered' | 'retry' | 'failed') => void) | undefined;
  onError?: ((error: unknown) => void) | undefined;
}) {
  const { db, store } = deps;
  // Aborted by stop(): a send in progress ends at once (its lease runs out and it is sent again).
  const stopping = new AbortController();

  async function send(delivery: ClaimedDelivery): Promise<Outcome> {
    if (!delivery.enabled) return { ok: false, httpStatus: null, error: 'The webhook is disabled.' };
    const body = JSON.stringify(delivery.payload);
    try {
      // Today's rules, not those of the day the URL was saved (the operator may have tightened them).
      deps.urls.check(delivery.url);
      const secret = await deps.cipher.decrypt(delivery.secret, secretAad(delivery.org_id, delivery.webhook_id));
      const response = await deps.urls.fetch(delivery.url, {
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
      // Names whose DNS never answers, chosen by one tenant, can keep the shared look-ups busy:
      // the others' deliveries wait for them, without losing attempts to it.
      if (error instanceof LookupsBusyError) return { ok: false, httpStatus: null, error: error.message.slice(0, ERROR_CHARS), busy: true };
      return { ok: false, httpStatus: null, error: describe(error).slice(0, ERROR_CHARS) };
    }
  }

  /** Sends and records one delivery; whether its slot may be refilled at once (not after a busy resolver). */
  async function deliver(delivery: ClaimedDelivery): Promise<boolean> {
    const outcome = await send(delivery);
    if (stopping.signal.aborted) return false;
    const at = deps.clock.now();
    const busy = !outcome.ok && outcome.busy === true;
    const retryAt = outcome.ok || !delivery.enabled ? undefined : busy ? new Date(at.getTime() + BUSY_RETRY_MS) : nextAttemptAt(delivery.attempts + 1, at);
    const status = outcome.ok ? 'delivered' : retryAt ? 'pending' : 'failed';
    deps.onAttempt?.(status === 'pending' ? 'retry' : status);
    await withTenant(db, delivery.org_id, (tx) =>
      store.recordAttempt(tx, delivery.id, delivery.claimed_until, {
        status,
        nextAttemptAt: retryAt ?? null,
        at,
        httpStatus: outcome.httpStatus,
        error: outcome.ok ? null : outcome.error,
        counted: !busy,
      }),
    );
    // A busy resolver fails at once: refilling would run through the whole backlog in a loop,
    // each one failing the same way. The timer's next tick claims again.
    return !busy;
  }

  // Sends in flight: new ones are claimed as slots free up, so one slow receiver holds one slot.
  const inFlight = new Set<Promise<void>>();
  let claiming = false;
  // Set by run(): a finished send claims the next at once, not on the next tick of the timer.
  let onRefillError: ((error: unknown) => void) | undefined;
  let refillWanted = false;

  function refill(): void {
    if (onRefillError && !stopping.signal.aborted) pump().catch(onRefillError);
  }

  /** Claims due deliveries for the free slots and starts them; how many it started. */
  async function pump(): Promise<number> {
    if (stopping.signal.aborted) return 0;
    if (claiming) {
      refillWanted = true; // slots freed during a claim are filled right after it
      return 0;
    }
    const free = MAX_IN_FLIGHT - inFlight.size;
    if (free <= 0) return 0;
    claiming = true;
    refillWanted = false;
    try {
      const now = deps.clock.now();
      const claimed = await store.claimDue(db, now, new Date(now.getTime() + LEASE_MS), free);
      for (const delivery of claimed) {
        const sending: Promise<void> = deliver(delivery)
          .catch((error: unknown) => (deps.onError?.(error), false))
          .then((mayRefill) => {
            inFlight.delete(sending);
            if (mayRefill) refill();
          });
        inFlight.add(sending);
      }
      return claimed.length;
    } finally {
      claiming = false;
      if (refillWanted) refill();
    }
  }

  /** Keeps the slots full from now on (the timer of module.ts still claims what becomes due). */
  function run(onError: (error: unknown) => void): void {
    onRefillError = onError;
  }

  /** Until nothing is due (or `maxRounds` ran), waiting for every send: for tests and schedulers. */
  async function drain(maxRounds = 1000): Promise<number> {
    let sent = 0;
    for (let i = 0; i < maxRounds && !stopping.signal.aborted; i++) {
      const started = await pump();
      sent += started;
      if (started === 0 && inFlight.size === 0) break;
      await Promise.race(inFlight);
    }
    await Promise.all(inFlight);
    return sent;
  }

  /** Ends sends in progress and further claims, for good, and waits for them (before the database closes). */
  async function stop(): Promise<void> {
    stopping.abort();
    await Promise.all(inFlight);
  }

  return { pump, run, drain, stop, maxAttempts: MAX_ATTEMPTS };
}

export type WebhookDispatcher = ReturnType<typeof createWebhookDispatcher>;
