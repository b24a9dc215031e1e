/**
 * The event outbox: an event (an audited change, `pii.detected`) handed over inside the
 * transaction of the change it reports, so it goes out exactly when that change committed. The
 * webhooks module implements it; the audit log and the chat path write to it. An event carries no
 * IP address, secret, message content or PII value.
 */
import type { Tx } from './db/tenant.ts';
import type { Principal } from './http/principal.ts';

export interface OutboxEvent {
  id: string;
  type: string;
  createdAt: string;
  orgId: string;
  actor: { type: string; id: string | null };
  target: { type: string; id: string } | null;
  data: Record<string, unknown>;
}

export type Outbox = (tx: Tx, event: OutboxEvent) => Promise<void>;

/** Who acted, as the audit log and events name them: a user's or key's id, or none (the system, nobody signed in). */
export function actorOf(actor: Principal | { kind: 'system' } | null): OutboxEvent['actor'] {
  return { type: actor?.kind ?? 'anonymous', id: actor?.kind === 'user' ? actor.userId : actor?.kind === 'api_key' ? actor.keyId : null };
}
