/**
 * Reading stored settings that no longer pass today's schema: a public-suffix list update that
 * makes a saved wildcard a suffix, a bound tightened in a later version, a key written by a newer
 * instance during a rolling upgrade. Refusing them would turn one dependency bump into a tenant
 * outage no route could repair (every read, PATCH included, parses the stored row). Instead each
 * part is kept where it is still valid and narrowed where not:
 *   - allowed domains that no longer parse are dropped (fewer sites may embed the widget);
 *   - a number outside its bounds is clamped to the nearest bound (a limit under a raised minimum
 *     becomes that minimum: nothing lower is valid any more);
 *   - where a default would open something up, the safe value is taken instead (SAFE): a PII
 *     operator the reader does not know for a type it knows is `redact` (dropping it would let the
 *     project's default operator, perhaps `allow`, pass the type), an unreadable
 *     `requireIdentity` is true, an unreadable `retentionDays` keeps conversations (null);
 *   - an entry of a map for a key no longer known is dropped, the rest stay;
 *   - unknown keys are dropped; anything else invalid takes its default (the built-in answer
 *     provider, tokenize, PII scanning on).
 * Writes are still validated strictly (settings.ts).
 */
import type { z } from 'zod';
import { parseAllowedDomain } from './origin-policy.ts';

type Def = { type: string; innerType?: Schema; shape?: Record<string, Schema>; keyType?: Schema; valueType?: Schema };
type Schema = z.ZodType & { _zod: { def: Def }; minValue?: number | null; maxValue?: number | null };

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The schema under default / prefault / optional / nullable wrappers. */
function unwrapped(schema: Schema): Schema {
  let s = schema;
  while (s._zod.def.innerType && ['default', 'prefault', 'optional', 'nullable'].includes(s._zod.def.type)) s = s._zod.def.innerType;
  return s;
}

/** By path: the value an unreadable field takes where its default would open something up. */
const SAFE: Readonly<Record<string, unknown>> = {
  'pii.operators.*': 'redact',
  'widget.requireIdentity': true,
  retentionDays: null,
};

/** The value kept for one field; undefined lets the field take its default. */
function repairValue(schema: Schema, value: unknown, path: string): unknown {
  if (schema.safeParse(value).success) return value;
  const inner = unwrapped(schema);
  const def = inner._zod.def;
  const at = (key: string): string => (path ? `${path}.${key}` : key);
  if (def.type === 'object' && def.shape && isRecord(value)) {
    const out: Record<string, unknown> = {};
    for (const [key, field] of Object.entries(def.shape)) {
      const kept = repairValue(field, value[key], at(key));
      if (kept !== undefined) out[key] = kept;
    }
    return out;
  }
  if (def.type === 'record' && def.keyType && def.valueType && isRecord(value)) {
    const { keyType, valueType } = def;
    const entries = Object.entries(value).filter(([k]) => keyType.safeParse(k).success);
    return Object.fromEntries(entries.flatMap(([k, v]) => (valueType.safeParse(v).success ? [[k, v]] : at('*') in SAFE ? [[k, SAFE[at('*')]]] : [])));
  }
  if (def.type === 'number' && typeof value === 'number' && Number.isFinite(value)) {
    const clamped = Math.min(inner.maxValue ?? Infinity, Math.max(inner.minValue ?? -Infinity, Math.round(value)));
    if (schema.safeParse(clamped).success) return clamped;
  }
  return value !== undefined && path in SAFE ? SAFE[path] : undefined;
}

/** Stored settings made valid under `schema` by narrowing (see above). */
export function repairStoredSettings(schema: z.ZodType, raw: unknown): unknown {
  const stored = isRecord(raw) ? { ...raw } : {};
  if (Array.isArray(stored.allowedDomains)) {
    stored.allowedDomains = stored.allowedDomains.filter((d): d is string => typeof d === 'string' && parseAllowedDomain(d).ok);
  }
  return repairValue(schema as Schema, stored, '') ?? {};
}
