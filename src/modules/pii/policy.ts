/**
 * A project's PII policy: which operator applies to each entity type. Stored in the project's
 * settings (projects module) and applied by the pii module on every message.
 */
import { z } from 'zod';

export const entityTypes = [
  'EMAIL',
  'PHONE',
  'CREDIT_CARD',
  'IBAN',
  'US_SSN',
  'IP_ADDRESS',
  'URL_CREDENTIALS',
  'SECRET',
  'CRYPTO_WALLET',
  'DATE_OF_BIRTH',
  'PERSON',
  'ADDRESS',
  'PASSPORT',
] as const;
export type EntityType = (typeof entityTypes)[number];

export const operators = ['tokenize', 'hash', 'mask', 'redact', 'allow'] as const;
export type Operator = (typeof operators)[number];

export const piiPolicySchema = z.strictObject({
  enabled: z.boolean().default(true),
  defaultOperator: z.enum(operators).default('tokenize'),
  operators: z.partialRecord(z.enum(entityTypes), z.enum(operators)).default({}),
  minScore: z.number().min(0).max(1).default(0.5),
});
export type PiiPolicy = z.infer<typeof piiPolicySchema>;

export const defaultPiiPolicy: PiiPolicy = piiPolicySchema.parse({});
