/**
 * The event outbox: an event (an audited change, `pii.detected`) handed over inside the
 * transaction of the change it reports, so it goes out exactly when that change committed. The
 * webhooks module implements it; the audit log and the chat path write to it. An event carries no
 * IP address, secret, message content or PII value.
 */
import type { Tx } from './db/tenant.ts';

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
