/**
 * anonymize(): applies each entity type's operator from the policy. It returns the new text and
 * one Replacement per changed span, carrying the original value so the caller can store it in
 * the encrypted vault. It never logs or keeps values itself.
 */
import type { EntityType, Operator, PiiPolicy } from './policy.ts';
import type { Finding } from './types.ts';
import { hashPlaceholder } from './hash.ts';
import type { TokenVault } from './vault.ts';

export interface AnonymizeContext {
  tokenFor: TokenVault['tokenFor'];
  /** Per-organisation HMAC key for the `hash` operator. */
  hashKey: Buffer;
}

export interface Replacement {
  type: EntityType;
  /** Span in the original text. */
  start: number;
  end: number;
  operator: Exclude<Operator, 'allow'>;
  token?: string;
  value: string;
}

export interface AnonymizeResult {
  text: string;
  replacements: Replacement[];
}

const KEEP_LAST_FOUR: ReadonlySet<EntityType> = new Set(['CREDIT_CARD', 'IBAN', 'PHONE', 'US_SSN', 'PASSPORT']);

export function maskValue(type: EntityType, value: string): string {
  if (type === 'EMAIL') {
    const at = value.lastIndexOf('@');
    return at > 0 ? `${value[0] ?? ''}***${value.slice(at)}` : '****';
  }
  if (KEEP_LAST_FOUR.has(type)) {
    const alnum = value.replace(/[^A-Za-z0-9]/g, '');
    return alnum.length >= 8 ? `****${alnum.slice(-4)}` : '****';
  }
  return '****';
}

export function operatorFor(policy: PiiPolicy, type: EntityType): Operator {
  return policy.operators[type] ?? policy.defaultOperator;
}

/** analyze() already returns findings sorted by start: then no copy needs sorting. */
function sortedByStart(findings: readonly Finding[]): boolean {
  for (let i = 1; i < findings.length; i++) if ((findings[i]?.start ?? 0) < (findings[i - 1]?.start ?? 0)) return false;
  return true;
}

export function anonymize(text: string, findings: readonly Finding[], policy: PiiPolicy, ctx: AnonymizeContext): AnonymizeResult {
  if (!policy.enabled) return { text, replacements: [] };
  const sorted = sortedByStart(findings) ? findings : [...findings].sort((a, b) => a.start - b.start);
  // Built by concatenation: V8 joins the pieces as a rope, with no array of parts to fill and join.
  let result = '';
  const replacements: Replacement[] = [];
  let cursor = 0;
  for (const f of sorted) {
    if (f.start < cursor || f.end > text.length) continue;
    const op = operatorFor(policy, f.type);
    if (op === 'allow') continue;
    const value = text.slice(f.start, f.end);
    let out: string;
    let token: string | undefined;
    if (op === 'tokenize') out = token = ctx.tokenFor(f.type, value);
    else if (op === 'hash') out = token = hashPlaceholder(f.type, value, ctx.hashKey);
    else if (op === 'mask') out = maskValue(f.type, value);
    else out = '[REDACTED]';
    result += text.slice(cursor, f.start) + out;
    cursor = f.end;
    replacements.push(token ? { type: f.type, start: f.start, end: f.end, operator: op, token, value } : { type: f.type, start: f.start, end: f.end, operator: op, value });
  }
  return { text: cursor === 0 ? text : result + text.slice(cursor), replacements };
}
