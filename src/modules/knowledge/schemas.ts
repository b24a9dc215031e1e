/**
 * The knowledge base's input and output shapes: one zod schema per contract, shared by the
 * routes and the service (so command-line ingestion is held to the same bounds as HTTP).
 */
import { z } from 'zod';
import { contentTypes } from './extract.ts';

/** Under the default 1 MiB request body limit (BODY_LIMIT_BYTES) with room for JSON escaping. */
export const maxContentChars = 1_000_000;
export const maxSearchLimit = 20;

export const documentInputSchema = z.strictObject({
  title: z.string().trim().min(1).max(300),
  content: z.string().min(1).max(maxContentChars),
  contentType: z.enum(contentTypes),
  url: z.url({ protocol: /^https?$/ }).max(2048).nullish(),
});

export type DocumentInput = z.input<typeof documentInputSchema>;

export const documentSchema = z.object({
  id: z.string(),
  projectId: z.string(),
  title: z.string(),
  url: z.string().nullable(),
  contentType: z.enum(contentTypes),
  chars: z.number(),
  chunks: z.number(),
  createdAt: z.string(),
});

export type DocumentView = z.infer<typeof documentSchema>;

export const passageSchema = z.object({
  documentId: z.string(),
  title: z.string(),
  url: z.string().nullable(),
  heading: z.string().nullable(),
  text: z.string(),
  score: z.number(),
});

export type Passage = z.infer<typeof passageSchema>;

export const searchQuerySchema = z.strictObject({
  q: z.string().trim().min(1).max(500),
  limit: z.coerce.number().int().min(1).max(maxSearchLimit).default(5),
});
