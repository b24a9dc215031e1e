/**
 * The webhooks module, wired: the outbox the audit log writes into, the service behind the routes,
 * and the dispatcher on a timer — claiming every `intervalMs` (0: this instance sends nothing;
 * another, or a scheduler calling drain() and prune(), does), and once an hour a prune of finished
 * deliveries older than 30 days. A failed run is logged and the next one tries again.
 */
import type { Kysely } from 'kysely';
import type { Clock } from '../../platform/clock.ts';
import type { Cipher } from '../../platform/crypto/envelope.ts';
import type { DB } from '../../platform/db/tables.ts';
import type { AuditService } from '../audit/service.ts';
import { createWebhookDispatcher } from './dispatcher.ts';
import { createWebhookService } from './service.ts';
import { createWebhookStore } from './store.ts';
import type { Outbox } from '../../platform/outbox.ts';
import { createUrlPolicy } from '../../platform/net/outbound-url.ts';

const KEEP_FINISHED_MS = 30 * 86_400_000;
const PRUNE_EVERY_MS = 3_600_000;

/** The outbox (platform/outbox.ts): one delivery row per subscribed webhook, in the caller's transaction. */
export function createWebhookOutbox(): Outbox {
  const store = createWebhookStore();
  return (tx, event) => store.enqueue(tx, event);
}

export function createWebhooks(deps: {
  db: Kysely<DB>;
  cipher: Pick<Cipher, 'sealer' | 'decrypt'>;
  audit: Pick<AuditService, 'record'>;
  clock: Clock;
  allowPrivateNetworks: boolean;
  log: { error(details: object, message: string): void };
  /** Told each attempt's outcome (metrics). */
  onAttempt?: ((outcome: 'delivered' | 'retry' | 'failed') => void) | undefined;
}) {
  const store = createWebhookStore();
  const urls = createUrlPolicy({ allowPrivateNetworks: deps.allowPrivateNetworks });
  const service = createWebhookService({ db: deps.db, store, cipher: deps.cipher, audit: deps.audit, urls, clock: deps.clock });
  const dispatcher = createWebhookDispatcher({
    db: deps.db,
    store,
    cipher: deps.cipher,
    urls,
    clock: deps.clock,
    userAgent: 'Palisade-Webhooks/1',
    onAttempt: deps.onAttempt,
    onError: (error) => deps.log.error({ err: error }, 'a webhook delivery could not be recorded: its lease runs out and it is sent again'),
  });

  let timers: NodeJS.Timeout[] = [];
  const prune = (): Promise<number> => store.pruneFinished(deps.db, new Date(deps.clock.now().getTime() - KEEP_FINISHED_MS));
  function start(intervalMs: number): void {
    if (intervalMs <= 0) return;
    const claimFailed = (error: unknown): void => deps.log.error({ err: error }, 'webhook deliveries could not be claimed: the next run tries again');
    dispatcher.run(claimFailed);
    const tick = (): void => {
      dispatcher.pump().catch(claimFailed);
    };
    const pruneNow = (): void => {
      prune().catch((error: unknown) => deps.log.error({ err: error }, 'old webhook deliveries could not be pruned'));
    };
    timers = [setInterval(tick, intervalMs).unref(), setInterval(pruneNow, PRUNE_EVERY_MS).unref()];
  }
  /** Stops the timers and the sends in progress (before the database closes). */
  async function stop(): Promise<void> {
    for (const t of timers) clearInterval(t);
    timers = [];
    await dispatcher.stop();
  }

  /** prune(): deletes finished deliveries older than 30 days (hourly with the timer; call it when a scheduler runs drain()). */
  return { service, dispatcher, start, stop, prune };
}

export type Webhooks = ReturnType<typeof createWebhooks>;
