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

/** A PATCH names only the parts it changes; each part it names is replaced whole. */
export const projectSettingsPatchSchema = z.strictObject({
  allowedDomains: allowedDomainsSchema.optional(),
  rateLimits: rateLimitSettingsSchema.optional(),
  pii: piiPolicySchema.optional(),
  retentionDays: z.number().int().min(1).max(3650).nullable().optional(),
  answer: answerSettingsSchema.optional(),
  widget: widgetSettingsSchema.optional(),
});

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
