/**
 * The `pii.detected` event: which entity types a visitor's message contained and how often.
 * Counts only: an event never carries a value, a token or the message.
 */
import type { EntityType } from './policy.ts';
import type { Finding } from './types.ts';

export interface PiiDetectedEvent {
  orgId: string;
  projectId: string;
  conversationId: string;
  /** Detected types only (a type that was not found is absent, never 0). */
  types: Partial<Record<EntityType, number>>;
}

export function countTypes(findings: readonly Pick<Finding, 'type'>[]): Partial<Record<EntityType, number>> {
  const types: Partial<Record<EntityType, number>> = {};
  for (const f of findings) types[f.type] = (types[f.type] ?? 0) + 1;
  return types;
}
