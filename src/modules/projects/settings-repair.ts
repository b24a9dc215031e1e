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

/**
 * The value kept for one field; undefined lets the field take its default. `broken`: the field's
 * parent was there but unreadable, so its safe value (if any) applies though the field is absent.
 */
function repairValue(schema: Schema, value: unknown, path: string, broken = false): unknown {
  if (value !== undefined && schema.safeParse(value).success) return value;
  const inner = unwrapped(schema);
  const def = inner._zod.def;
  const at = (key: string): string => (path ? `${path}.${key}` : key);
  const unreadable = broken || value !== undefined;
  if (def.type === 'object' && def.shape && (isRecord(value) || unreadable)) {
    const source = isRecord(value) ? value : {};
    const out: Record<string, unknown> = {};
    for (const [key, field] of Object.entries(def.shape)) {
      const kept = repairValue(field, source[key], at(key), unreadable && !isRecord(value));
      if (kept !== undefined) out[key] = kept;
    }
    return out;
  }
  if (def.type === 'record' && def.keyType && def.valueType && (isRecord(value) || unreadable)) {
    const { keyType, valueType } = def;
    const safe = at('*') in SAFE ? SAFE[at('*')] : undefined;
    if (!isRecord(value)) {
      // A map it cannot read at all: every key it knows takes the safe value, if there is one.
      const keys = (keyType as unknown as { options?: readonly string[] }).options ?? [];
      return safe === undefined ? undefined : Object.fromEntries(keys.map((k) => [k, safe]));
    }
    const entries = Object.entries(value).filter(([k]) => keyType.safeParse(k).success);
    return Object.fromEntries(entries.flatMap(([k, v]) => (valueType.safeParse(v).success ? [[k, v]] : safe !== undefined ? [[k, safe]] : [])));
  }
  if (unreadable && path in SAFE) return SAFE[path];
  if (def.type === 'number' && typeof value === 'number' && Number.isFinite(value)) {
    const clamped = Math.min(inner.maxValue ?? Infinity, Math.max(inner.minValue ?? -Infinity, Math.round(value)));
    if (schema.safeParse(clamped).success) return clamped;
  }
  return undefined;
}

/** Stored settings made valid under `schema` by narrowing (see above). */
export function repairStoredSettings(schema: z.ZodType, raw: unknown): unknown {
  const stored = isRecord(raw) ? { ...raw } : {};
  if (Array.isArray(stored.allowedDomains)) {
    stored.allowedDomains = stored.allowedDomains.filter((d): d is string => typeof d === 'string' && parseAllowedDomain(d).ok);
  }
  // A stored document that is not an object at all is unreadable as a whole: safe values throughout.
  return repairValue(schema as Schema, isRecord(raw) ? stored : (raw ?? undefined), '') ?? {};
}
