/**
 * A dry run of the message path's PII step (POST /v1/pii/analyze): the same analysis and
 * operators as production, but tokens come from a throwaway in-memory vault, so nothing is
 * stored and nothing of the organisation's vault is read. Pure: no I/O.
 */
import { randomBytes } from 'node:crypto';
import { createMemoryTokenVault, operatorFor, protect, type PiiPolicy } from './index.ts';
import type { Analysis } from './schemas.ts';

/**
 * `hash` always uses a random one-off key, never the organisation's: with it, anyone allowed to
 * read a project could hash guessed identifiers and match them against stored placeholders.
 */
export function dryRun(text: string, policy: PiiPolicy): Analysis {
  const vault = createMemoryTokenVault();
  const result = protect(text, policy, { tokenFor: vault.tokenFor, hashKey: randomBytes(32) });
  return {
    entities: result.findings.map((f) => ({ type: f.type, start: f.start, end: f.end, score: f.score, operator: operatorFor(policy, f.type) })),
    anonymized: result.text,
  };
}
