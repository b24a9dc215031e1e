/**
 * A project's settings: stored as one validated JSON document, enforced by the modules that
 * own each part (origin policy, rate limits, pii, chat). Validation happens here, on write;
 * reading never refuses a stored row (parseStoredSettings).
 */
import { z } from 'zod';
import { piiPolicySchema } from '../pii/policy.ts';
import { rateLimitSettingsSchema } from '../rate-limits/policy.ts';
import { allowedDomainsSchema } from './origin-policy.ts';
import { repairStoredSettings } from './settings-repair.ts';
import { AppError } from '../../platform/http/errors.ts';

const httpUrl = z.url({ protocol: /^https?$/ }).max(2048);

export const answerSettingsSchema = z.discriminatedUnion('provider', [
  z.strictObject({
    provider: z.literal('extractive'),
    systemPrompt: z.string().max(4000).default(''),
  }),
  z.strictObject({
    provider: z.literal('openai-compatible'),
    // The endpoint's API key is never a setting: see modules/answer-keys (stored encrypted).
    baseUrl: httpUrl,
    model: z.string().min(1).max(200),
    systemPrompt: z.string().max(4000).default(''),
    timeoutMs: z.number().int().min(1000).max(120_000).default(30_000),
  }),
]);

export const widgetSettingsSchema = z.strictObject({
  greeting: z.string().max(500).default('Hi! Ask me anything about our documentation.'),
  color: z
    .string()
    .regex(/^#[0-9a-fA-F]{6}$/, 'must be a colour like #1f6feb')
    .default('#1f6feb'),
  requireIdentity: z.boolean().default(false),
});

export const projectSettingsSchema = z.strictObject({
  allowedDomains: allowedDomainsSchema.default([]),
  rateLimits: rateLimitSettingsSchema.prefault({}),
  pii: piiPolicySchema.prefault({}),
  retentionDays: z.number().int().min(1).max(3650).nullable().default(90),
  answer: answerSettingsSchema.default({ provider: 'extractive', systemPrompt: '' }),
  widget: widgetSettingsSchema.prefault({}),
});

export type ProjectSettings = z.infer<typeof projectSettingsSchema>;

/**
 * The same object with every field optional and no defaults (a PATCH changes only what it
 * names; zod would fill an omitted field with its default, silently resetting it); `required`
 * fields stay as they are.
 */
function patchOf<S extends z.ZodRawShape>(schema: z.ZodObject<S>, required: readonly string[] = []) {
  const shape: Record<string, z.ZodType> = {};
  for (const [key, field] of Object.entries(schema.shape) as [string, z.ZodType][]) {
    const bare = field instanceof z.ZodDefault || field instanceof z.ZodPrefault ? (field.unwrap() as z.ZodType) : field;
    shape[key] = required.includes(key) ? bare : bare.optional();
  }
  return z.strictObject(shape);
}

type Patch<T> = { [K in keyof T]?: T[K] extends readonly unknown[] ? T[K] : T[K] extends object | null ? Patch<T[K]> | Extract<T[K], null> : T[K] };

/** What a PATCH (or a creation) may say: any part, and within a part any field. */
export type ProjectSettingsPatch = Omit<Patch<ProjectSettings>, 'answer'> & { answer?: { provider: ProjectSettings['answer']['provider'] } & Record<string, unknown> };

export const projectSettingsPatchSchema = z.strictObject({
  allowedDomains: allowedDomainsSchema.optional(),
  rateLimits: patchOf(rateLimitSettingsSchema).optional(),
  pii: patchOf(piiPolicySchema).optional(),
  retentionDays: z.number().int().min(1).max(3650).nullable().optional(),
  answer: z.discriminatedUnion('provider', [patchOf(answerSettingsSchema.options[0], ['provider']), patchOf(answerSettingsSchema.options[1], ['provider'])]).optional(),
  widget: patchOf(widgetSettingsSchema).optional(),
}) as unknown as z.ZodType<ProjectSettingsPatch>;

function isPlainObject(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

/**
 * `patch` merged into `base`: a part (widget, pii, …) field by field, and each field it names
 * replaced whole — a list, or the PII per-type operators table, is what the PATCH says, so a
 * policy written out in full is the policy (an override it leaves out does not linger).
 */
function merged(base: Record<string, unknown>, patch: Record<string, unknown>, depth = 0): Record<string, unknown> {
  const out = { ...base };
  for (const [key, value] of Object.entries(patch)) {
    if (value === undefined) continue;
    const was = base[key];
    out[key] = depth === 0 && isPlainObject(value) && isPlainObject(was) ? merged(was, value, depth + 1) : value;
  }
  return out;
}

/**
 * The settings a PATCH leaves: each field it names changes, nothing else does. Choosing another
 * answer provider replaces that part whole (their fields differ). Bad results are refused with
 * the field's path, as the route's own validation does.
 */
export function patchedSettings(current: ProjectSettings, patch: ProjectSettingsPatch): ProjectSettings {
  const base: Record<string, unknown> = { ...current };
  if (patch.answer && patch.answer.provider !== current.answer.provider) delete base['answer'];
  return validSettings(merged(base, patch as Record<string, unknown>));
}

/** A whole settings document checked, or a 400 naming the first field at fault. */
export function validSettings(raw: unknown): ProjectSettings {
  const result = projectSettingsSchema.safeParse(raw);
  if (result.success) return result.data;
  const errors = result.error.issues.map((issue) => ({ field: ['body', 'settings', ...issue.path.map(String)].join('.'), message: issue.message }));
  throw new AppError('invalid_request', `${errors[0]?.field}: ${errors[0]?.message}`, { details: { errors } });
}

/**
 * A stored row as it was, for the audit record of a change: valid rows parsed (defaults filled
 * in); a row today's schema refuses, as stored over the defaults — so what a PATCH repaired
 * (a dropped wildcard, a clamped limit) shows as a change too, not only what it named.
 */
export function storedForAudit(raw: unknown): Record<string, unknown> {
  const stored = projectSettingsSchema.safeParse(raw ?? {});
  if (stored.success) return stored.data;
  return { ...projectSettingsSchema.parse({}), ...(isPlainObject(raw) ? raw : {}) };
}

/**
 * A stored row, read: valid rows as they are; a row today's schema refuses (a later public-suffix
 * list, a tightened bound, a newer instance's key) narrowed part by part (settings-repair.ts)
 * rather than refused, so the project keeps working and can be fixed by a PATCH.
 */
export function parseStoredSettings(raw: unknown): ProjectSettings {
  const stored = projectSettingsSchema.safeParse(raw ?? {});
  if (stored.success) return stored.data;
  return projectSettingsSchema.parse(repairStoredSettings(projectSettingsSchema, raw));
}
