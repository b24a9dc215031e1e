/**
 * The pii module's public API: detection (analyze), anonymisation (anonymize, protect),
 * restoration of tokens (restore) and keyed identifier hashes for erasure look-ups.
 * Pure code: no I/O, no logging of values.
 */
import type { PiiPolicy } from './policy.ts';
import { analyze } from './analyzer.ts';
import { anonymize, type AnonymizeContext, type AnonymizeResult } from './anonymizer.ts';

export { analyze, type AnalyzeOptions } from './analyzer.ts';
export { anonymize, maskValue, operatorFor, type AnonymizeContext, type AnonymizeResult, type Replacement } from './anonymizer.ts';
export { restore } from './restore.ts';
export { hashIdentifier, hashPlaceholder } from './hash.ts';
export { normalizeValue } from './normalize.ts';
export { createMemoryTokenVault, type MemoryTokenVault, type TokenVault } from './vault.ts';
export type { Finding } from './types.ts';
export * from './policy.ts';

/** analyze() with the policy's threshold, then anonymize(): the message-path entry point. */
export function protect(text: string, policy: PiiPolicy, ctx: AnonymizeContext): AnonymizeResult & { findings: ReturnType<typeof analyze> } {
  if (!policy.enabled) return { text, replacements: [], findings: [] };
  const findings = analyze(text, { minScore: policy.minScore });
  return { ...anonymize(text, findings, policy, ctx), findings };
}
