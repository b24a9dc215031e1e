/**
 * The pii module's HTTP contract: ids, bodies and the public shapes of entities and dry runs.
 * Replies are built from these shapes, never from vault rows (which hold ciphertext and hashes).
 */
import { z } from 'zod';
import { entityTypes, operators } from './policy.ts';

/** Longest text a dry run accepts, in UTF-16 code units (~100 KB of ASCII). */
export const ANALYZE_MAX_CHARS = 100_000;

export const conversationParams = z.strictObject({ conversationId: z.string().regex(/^conv_[0-9A-Za-z]{1,40}$/, 'must be a conversation id (conv_…)') });
export const entityParams = z.strictObject({ entityId: z.string().regex(/^ent_[0-9A-Za-z]{1,40}$/, 'must be an entity id (ent_…)') });

export const analyzeBody = z.strictObject({
  text: z.string().min(1).max(ANALYZE_MAX_CHARS),
  projectId: z.string().regex(/^prj_[0-9A-Za-z]{1,40}$/, 'must be a project id (prj_…)').optional(),
});

const entityType = z.enum(entityTypes);

export const entitySchema = z.object({ id: z.string(), type: entityType, token: z.string(), count: z.number().int().min(0) });
export const revealedSchema = z.object({ id: z.string(), type: entityType, token: z.string(), value: z.string() });
export const analysisSchema = z.object({
  entities: z.array(z.object({ type: entityType, start: z.number().int(), end: z.number().int(), score: z.number(), operator: z.enum(operators) })),
  anonymized: z.string(),
});

export type PublicEntity = z.infer<typeof entitySchema>;
export type RevealedEntity = z.infer<typeof revealedSchema>;
export type Analysis = z.infer<typeof analysisSchema>;
